"""The archiver in-process: rows, conflicts, dead letters, replicas, shutdown."""

from __future__ import annotations

from typing import Any

import nats
import orjson

from central.events import CloudEvent, from_structured
from central.streams import BY_DOMAIN
from central_archiver.rows import ack_number

QUAKE = BY_DOMAIN["quake"]
SUBJECT = "central.quake.test.usgs.u0n"


async def consumer_info(nc: Any, domain: str = "quake") -> Any:
    spec = BY_DOMAIN[domain]
    return await nc.jetstream().consumer_info(spec.name, spec.durable)


def inserted(archiver: Any, stream: str = QUAKE.name) -> float:
    return float(archiver.metrics.value("central_archiver_rows_inserted_total", stream))


async def _ack_pending_is_zero(nc: Any) -> bool:
    return bool((await consumer_info(nc)).num_ack_pending == 0)


def rebuilt(row: Any) -> CloudEvent:
    body = orjson.loads(row["attributes"])
    if row["data"] is not None:
        body["data"] = orjson.loads(row["data"])
    return from_structured(orjson.dumps(body))


async def test_archive_stores_every_event_once_with_geometry_and_trace_id(
    archiver: Any,
    nc: Any,
    db: Any,
    rows: Any,
    make: Any,
    pub: Any,
    wait_until: Any,
    trace_hex: str,
) -> None:
    events = [make(n) for n in range(40)] + [make(n, domain="wx") for n in range(10)]
    plain = make(99).model_copy(update={"data": {"n": 99}, "subject": None})
    for event in events:
        await pub(nc, event)
    await pub(nc, plain, traceparent=None)

    await wait_until(rows.reach(51), 10, "51 archived events")

    found = await db.fetch(
        "SELECT *, ST_AsText(geom) AS wkt, ST_SRID(geom) AS srid FROM events"
    )
    by_id = {row["id"]: row for row in found}
    for event in events:
        row = by_id[event.id]
        assert rebuilt(row) == event
        assert (row["time"], row["source"], row["type"], row["subject"]) == (
            event.time,
            event.source,
            event.type,
            event.subject,
        )
        assert row["trace_id"] == trace_hex
        lon, lat, _depth = event.data["geometry"]["coordinates"]
        assert (row["wkt"], row["srid"]) == (f"POINT({lon:g} {lat:g})", 4326)
        domain = event.type.split(".")[1]
        assert row["stream"] == BY_DOMAIN[domain].name
        assert row["nats_subject"] == f"central.{domain}.test.usgs.u0n"
        assert row["received_at"] is not None
    quake_seqs = sorted(r["stream_seq"] for r in found if r["stream"] == QUAKE.name)
    assert quake_seqs == list(range(1, 42))
    plain_row = by_id[plain.id]
    assert (plain_row["geom"], plain_row["trace_id"]) == (None, None)
    assert rebuilt(plain_row) == plain
    await wait_until(
        lambda: inserted(archiver) == 41 and inserted(archiver, "CENTRAL_WX") == 10,
        5,
        "the per-stream counters",
    )
    await wait_until(lambda: _ack_pending_is_zero(nc), 3, "every message acked")
    assert (await consumer_info(nc)).num_pending == 0


async def test_archive_counts_a_conflict_when_an_event_is_published_again(
    archiver: Any, nc: Any, rows: Any, make: Any, pub: Any, wait_until: Any
) -> None:
    event = make(1)
    await pub(nc, event)
    await wait_until(rows.reach(1), 10, "the first copy")

    # A new message id gets past JetStream's duplicate window, as a re-poll after
    # the window would: only the database can tell it is the same event.
    await pub(nc, event, msg_id="republished")

    await wait_until(
        lambda: archiver.metrics.value("central_archiver_conflicts_total", QUAKE.name),
        10,
        "the conflict to be counted",
    )
    assert await rows.count() == 1
    assert inserted(archiver) == 1
    await wait_until(lambda: _ack_pending_is_zero(nc), 3, "every message acked")


async def test_archive_dead_letters_poison_without_blocking_the_next_message(
    archiver: Any, nc: Any, db: Any, rows: Any, make: Any, pub: Any, wait_until: Any
) -> None:
    js = nc.jetstream()
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "p1",
        "ce-source": "s",
        "ce-type": "t",
        "ce-time": "2024-02-06T12:00:00Z",
        "x-origin": "test",
    }
    no_id = {k: v for k, v in headers.items() if k != "ce-id"}
    await js.publish(SUBJECT, b"\x00not json", headers=headers)
    await js.publish(SUBJECT, b'{"a": 1}', headers=no_id)
    await pub(nc, make(7))

    await wait_until(rows.reach(1), 10, "the good event after the poison")
    await wait_until(rows.reach(2, "dead_letters"), 5, "two dead letters")

    dead = await db.fetch("SELECT * FROM dead_letters ORDER BY stream_seq")
    assert [(d["stream_seq"], d["reason"]) for d in dead] == [
        (1, "body is not JSON"),
        (2, "missing required attribute 'id'"),
    ]
    assert dead[0]["body"] == b"\x00not json"
    assert orjson.loads(dead[0]["headers"]) == headers
    assert (dead[0]["stream"], dead[0]["nats_subject"]) == (QUAKE.name, SUBJECT)
    assert (
        archiver.metrics.value("central_archiver_dead_letters_total", QUAKE.name) == 2
    )
    await wait_until(lambda: _ack_pending_is_zero(nc), 3, "every message settled")
    assert (await consumer_info(nc)).num_redelivered == 0


async def test_archive_dead_letters_only_the_rows_postgis_rejects(
    nc: Any,
    db: Any,
    rows: Any,
    make: Any,
    pub: Any,
    wait_until: Any,
    start_archiver: Any,
) -> None:
    for n in range(30):
        await pub(nc, make(n))
    await pub(nc, make(1000, geometry={"type": "Point", "coordinates": "north"}))
    await pub(nc, make(1001, geometry={"type": "Circle", "coordinates": [0, 0]}))

    # Started after publishing, so good and bad rows share one batch.
    service = await start_archiver(batch_size=500, batch_linger_s=0.2)

    await wait_until(rows.reach(2, "dead_letters"), 10, "the rejected rows")
    assert await rows.count() == 30
    dead = await db.fetch("SELECT * FROM dead_letters ORDER BY stream_seq")
    assert [d["stream_seq"] for d in dead] == [31, 32]
    assert all(d["reason"].startswith("database refused the event") for d in dead)
    assert service.metrics.value("central_archiver_batches_total", QUAKE.name) == 1
    await wait_until(lambda: _ack_pending_is_zero(nc), 3, "every message acked")


async def test_replicas_share_each_durable_consumer_without_doubling(
    nc: Any, rows: Any, make: Any, pub_many: Any, wait_until: Any, start_archiver: Any
) -> None:
    replicas = [await start_archiver(batch_size=50) for _ in range(2)]
    total = 1500
    await pub_many(nc, [make(n) for n in range(total)], QUAKE.name)

    await wait_until(
        lambda: sum(inserted(a) for a in replicas) == total,
        20,
        "both replicas to archive everything",
    )

    assert await rows.count() == total
    assert all(inserted(a) > 0 for a in replicas)
    conflicts = [
        a.metrics.value("central_archiver_conflicts_total", QUAKE.name)
        for a in replicas
    ]
    assert conflicts == [0, 0]


async def test_stop_hands_back_messages_so_the_next_archiver_needs_no_ack_wait(
    nc: Any, rows: Any, make: Any, pub_many: Any, wait_until: Any, start_archiver: Any
) -> None:
    total = 4000
    await pub_many(nc, [make(n) for n in range(total)], QUAKE.name)
    first = await start_archiver(batch_size=100, db_writers=1, ack_wait_s=120)
    await wait_until(lambda: inserted(first) > 0, 10, "the first batch")

    await first.stop()

    # Acks and naks travel on the archiver's connection, info on ours: allow the
    # server a moment to apply them, far less than ack_wait.
    await wait_until(
        lambda: _ack_pending_is_zero(nc), 20, "every delivered message settled"
    )
    assert 0 < await rows.count() < total
    await start_archiver(batch_size=500, ack_wait_s=120)
    await wait_until(rows.reach(total), 15, "the rest, long before ack_wait")
    await wait_until(lambda: _ack_pending_is_zero(nc), 3, "every message acked")


async def test_archiver_waits_for_a_stream_created_after_it_started(
    nats_url: str,
    rows: Any,
    make: Any,
    pub: Any,
    wait_until: Any,
    start_archiver: Any,
    streams: Any,
    quiet_log: Any,
) -> None:
    await start_archiver()
    assert quiet_log.events("stream_missing")

    await streams(nats_url)
    client = await nats.connect(nats_url)
    try:
        await pub(client, make(5))
        await wait_until(rows.reach(1), 15, "the event on the late stream")
    finally:
        await client.close()


async def test_consumer_pending_gauge_reads_the_ack_subject_and_ends_at_zero(
    nc: Any,
    rows: Any,
    make: Any,
    pub: Any,
    wait_until: Any,
    start_archiver: Any,
) -> None:
    for n in range(30):
        await pub(nc, make(n))
    # A real server's ack subject: the pending token counts what is left after it.
    probe = await nc.jetstream().pull_subscribe(SUBJECT, "probe", stream=QUAKE.name)
    (first,) = await probe.fetch(1, timeout=5)
    assert ack_number(first.reply, 2) == 29
    assert ack_number(first.reply, 0) == 1
    assert ack_number(first.reply, 1) is not None

    service = await start_archiver(batch_size=10, batch_linger_s=0.05)

    await wait_until(rows.reach(30), 10, "30 archived events")
    await wait_until(
        lambda: (
            service.metrics.registry.get_sample_value(
                "central_archiver_consumer_pending", {"stream": QUAKE.name}
            )
            == 0
        ),
        5,
        "the pending gauge at zero",
    )
    assert service.metrics.value("central_archiver_batches_total", QUAKE.name) >= 3

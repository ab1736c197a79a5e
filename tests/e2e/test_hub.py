"""The whole hub in containers, on a real engine: replay to rows, and faults in flow.

The tests run in file order on one compose project (the ``hub`` fixture): the
recorded payloads first, with the trace of one archived row and the counters of the
replay (before any restart resets them), then scaling, redeploys and restarts while
synthetic events flow, the NATS permissions, and last a ``down`` / ``up`` cycle.
Synthetic events are published as ``adapter-quake`` on
``central.quake.earthquake.e2e.<phase>`` with a source of their own per phase, so
each phase is counted exactly: every event sent must be a row, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import PurePosixPath

import orjson
import pytest
from e2e.hub import (
    SUMMARY,
    TRACING,
    Hub,
    Producer,
    count,
    metric_families,
    phase,
    replay_expectation,
    sample_total,
    stream_subject_count,
    traced_services,
    wait_until,
)
from e2e.traces import CONSUMER, check_trace, table

from central.dev import ADAPTERS
from central.streams import ARCHIVED as ARCHIVED_STREAMS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    # Earlier suites' subprocesses (a timed-out test's, say) may be garbage-collected
    # while this suite runs; it starts none that outlive their call. (No colon in
    # the patterns: it separates a filter's fields.)
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in.*(SubprocessTransport|ReadPipeTransport|Popen)"
        ":pytest.PytestUnraisableExceptionWarning",
        "ignore:Exception ignored in. <_io.FileIO"
        ":pytest.PytestUnraisableExceptionWarning",
    ),
]

ARCHIVED = "central_archiver_rows_inserted_total"
#: Names of files that must never reach an image.
SECRET_FILES = {".env", "e2e.env", "id_rsa", "id_ed25519", "secrets.env"}
CONFLICTS = "central_archiver_conflicts_total"
PUBLISHED = "central_adapter_records_total"
ADAPTER_METRICS = {
    "central_adapter_polls_total",
    PUBLISHED,
    "central_adapter_upstream_seconds",
    "central_adapter_upstream_errors_total",
    "central_adapter_last_success_timestamp_seconds",
}
ARCHIVER_METRICS = {
    "central_archiver_batches_total",
    ARCHIVED,
    CONFLICTS,
    "central_archiver_dead_letters_total",
    "central_archiver_batch_seconds",
    "central_archiver_consumer_pending",
}


async def _archived(hub: Hub, producer: Producer, timeout: float) -> None:
    """Wait until every event the producer sent is a row; check once each."""
    sent = producer.report.sent

    async def all_rows() -> bool:
        rows, _ = await hub.rows_of(producer.source)
        return rows >= sent

    await wait_until(
        all_rows, f"{sent} rows of phase {producer.phase}", timeout=timeout
    )
    rows, ids = await hub.rows_of(producer.source)
    stored = await stream_subject_count(hub, "CENTRAL_QUAKE", producer.subject)
    count("synthetic events sent", sent)
    count("synthetic events archived", ids)
    count("events sent (all)", sent)
    count("events archived (all)", ids)
    count("duplicate rows", rows - ids)
    count("duplicate stream messages", stored - sent)
    count("publish retries", producer.report.retries)
    assert (rows, ids) == (sent, sent), f"phase {producer.phase}: rows, distinct ids"
    assert stored == sent, f"phase {producer.phase}: messages stored in the stream"


def _quake_rows_by_replica(hub: Hub) -> dict[str, float]:
    """Events each archiver replica took from CENTRAL_QUAKE (inserted or present)."""
    taken = {}
    for box in hub.containers("archiver"):
        samples = hub.metrics(box)
        key = '{stream="CENTRAL_QUAKE"}'
        taken[box.name] = samples.get(ARCHIVED + key, 0) + samples.get(
            CONFLICTS + key, 0
        )
    return taken


async def test_every_replayed_record_is_archived_once(hub: Hub) -> None:
    """Each accepted record of each recorded payload becomes exactly one row."""
    expected = replay_expectation()
    ids = expected.all_ids
    assert ids, "central.dev.ADAPTERS maps no recorded payload"

    async def rows() -> tuple[int, int]:
        conn = await hub.db()
        try:
            row = await conn.fetchrow(
                "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM events "
                "WHERE id = ANY($1::text[])",
                ids,
            )
        finally:
            await conn.close()
        return int(row["n"]), int(row["ids"])

    async def all_present() -> bool:
        n, _ = await rows()
        return n >= len(ids)

    with phase("replay to rows"):
        await wait_until(
            all_present, f"{len(ids)} replayed records as rows", timeout=240, interval=1
        )
    n, distinct = await rows()
    count("replayed records (accepted)", len(ids))
    count("replayed records archived", distinct)
    count("events sent (all)", len(ids))
    count("events archived (all)", distinct)
    count("duplicate rows", n - distinct)
    assert (n, distinct) == (len(ids), len(ids))


async def test_archived_row_leads_to_one_trace_from_poll_to_insert(hub: Hub) -> None:
    """A row's trace_id: the adapter's poll, the JetStream hop, the batch's insert."""
    quake_ids = sorted(replay_expectation().ids["adapter-quake"])
    conn = await hub.db()
    try:
        trace_id = await conn.fetchval(
            "SELECT trace_id FROM events WHERE id = ANY($1::text[]) "
            "AND trace_id IS NOT NULL ORDER BY stream_seq LIMIT 1",
            quake_ids,
        )
    finally:
        await conn.close()
    assert trace_id, "no replayed quake row carries a trace id"

    with phase("trace of one row"):
        check = await wait_until(
            lambda: check_trace(trace_id, hub.spans),
            f"poll, producer, receive, batch and insert spans of trace {trace_id}",
            timeout=30,
        )
    SUMMARY["trace"] = {"trace_id": trace_id, "rows": table(check)}
    assert check.poll is not None and check.receive is not None
    assert check.batch is not None and check.insert is not None
    assert check.poll["service"] == "adapter-quake"
    assert check.poll["trace_id"] == check.receive["trace_id"] == trace_id
    producer_ids = {span["span_id"] for span in check.producers}
    assert check.receive["parent_span_id"] in producer_ids
    link = {"trace_id": check.batch["trace_id"], "span_id": check.batch["span_id"]}
    assert check.receive["links"] == [link]
    assert check.batch["service"] == "archiver"
    assert check.batch["kind"] == CONSUMER
    assert int(check.insert["attributes"]["central.rows.inserted"]) >= 1
    environments = {
        span["resource"]["deployment.environment"]
        for span in check.spans + check.batch_spans
    }
    assert environments == {TRACING["CENTRAL_ENVIRONMENT"]}


@dataclass(frozen=True)
class Tally:
    """Records the adapters published, rows the archiver inserted, rows archived."""

    published: float
    inserted: float
    rows: int

    def __bool__(self) -> bool:
        return self.published == self.inserted == self.rows


async def test_counters_match_the_archive_after_the_replay(hub: Hub) -> None:
    """Each service's /metrics has its counters; published = inserted = rows."""
    expected = len(replay_expectation().all_ids)
    adapters = [hub.container(s) for s in traced_services() if s != "archiver"]
    archiver = hub.container("archiver")
    for box, names in [(box, ADAPTER_METRICS) for box in adapters] + [
        (archiver, ARCHIVER_METRICS)
    ]:
        declared = metric_families(hub.exposition(box))
        assert names <= declared, f"{box.name} lacks {sorted(names - declared)}"

    published: dict[str, float] = {}

    async def tally() -> Tally:
        for box in adapters:
            samples = hub.metrics(box)
            service = box.labels["com.docker.compose.service"]
            published[service] = sample_total(samples, PUBLISHED, outcome="published")
        conn = await hub.db()
        try:
            rows = int(await conn.fetchval("SELECT count(*) FROM events"))
        finally:
            await conn.close()
        inserted = sample_total(hub.metrics(archiver), ARCHIVED)
        return Tally(sum(published.values()), inserted, rows)

    with phase("replay counters"):
        found = await wait_until(
            tally, "published = inserted = rows archived", timeout=30, interval=1
        )
    batches = sample_total(hub.metrics(archiver), "central_archiver_batches_total")
    SUMMARY["metrics"] = {
        **{f"{name} published": int(n) for name, n in sorted(published.items())},
        "adapters: records published (sum)": int(found.published),
        "archiver: rows inserted": int(found.inserted),
        "archiver: batches": int(batches),
        "rows archived": found.rows,
    }
    assert found.rows == expected


def _saved_layers_leak(hub: Hub, images: list[str], secrets: list[bytes]) -> list[str]:
    """What of ``secrets`` (or of secret-looking files) ``docker save`` shows.

    One save of all the images holds each layer once, uncompressed, so a secret
    written into any file of any layer appears verbatim in the stream.
    """
    found: list[str] = []
    keep = max(len(s) for s in secrets)
    tail = b""
    with tempfile.TemporaryFile() as saved:
        subprocess.run(["docker", "save", *images], stdout=saved, check=True)
        saved.seek(0)
        while chunk := saved.read(1 << 20):
            window = tail + chunk
            found += [s.decode() for s in secrets if s in window]
            tail = window[-keep:]
        saved.seek(0)
        with tarfile.open(fileobj=saved) as outer:
            for member in outer:
                # Layers are the tar members of the save (layer.tar, or OCI blobs).
                if not member.isfile():
                    continue
                layer = outer.extractfile(member)
                if layer is None:
                    continue
                with (
                    contextlib.suppress(tarfile.ReadError),
                    tarfile.open(fileobj=layer) as files,
                ):
                    found += [
                        f.name
                        for f in files
                        if PurePosixPath(f.name).name in SECRET_FILES
                    ]
    return sorted(set(found))


async def test_no_secret_in_image_layers_logs_or_metrics(hub: Hub) -> None:
    """Images hold no password file or value; logs and /metrics name no secret."""
    secrets = [v for k, v in hub.env.items() if k.endswith("PASSWORD")]
    assert len(secrets) >= 10
    boxes = [b for b in hub.containers() if b.status == "running"]
    images = sorted(
        {
            b.image.tags[0]
            for b in boxes
            if b.image.tags and "central/" in b.image.tags[0]
        }
    )
    assert len(images) >= 7, images

    for image in images:
        env = hub.docker.images.get(image).attrs["Config"].get("Env") or []
        named = [e for e in env if re.search(r"PASSWORD|SECRET|TOKEN", e.split("=")[0])]
        assert named == [], f"{image} sets {named}"
    with phase("secret scan of image layers"):
        leaks = _saved_layers_leak(hub, images, [s.encode() for s in secrets])
    assert leaks == [], "found in image layers"

    logs = hub.run("logs", "--no-color", timeout=120)
    assert len(logs) > 10_000
    assert [s for s in secrets if s in logs] == [], "found in container logs"
    for box in boxes:
        if box.labels.get("com.docker.compose.service") in traced_services():
            exposition = hub.exposition(box)
            assert [s for s in secrets if s in exposition] == [], box.name
    count("secrets checked (images, logs, /metrics)", len(secrets))


async def test_scaling_archiver_to_three_loses_and_doubles_nothing(hub: Hub) -> None:
    """``--scale archiver=3`` mid-flow: no gap, no duplicate, all three take part."""
    before = _quake_rows_by_replica(hub)
    nc = await hub.nats("adapter-quake")
    producer = Producer(nc.jetstream(), "scale", total=3000, rate=100)
    try:
        with phase("scale archiver to 3"):
            flow = asyncio.create_task(producer.run())
            await asyncio.sleep(3)
            await asyncio.to_thread(hub.up, "--scale", "archiver=3")
            await flow
            await _archived(hub, producer, timeout=120)
    finally:
        await nc.close()

    after = _quake_rows_by_replica(hub)
    assert len(after) == 3, f"archiver replicas: {sorted(after)}"
    took = {name: after[name] - before.get(name, 0) for name in after}
    SUMMARY["counts"]["events per archiver replica (scaling)"] = sorted(
        int(v) for v in took.values()
    )
    assert all(v > 0 for v in took.values()), f"events taken per replica: {took}"


# While nats restarts, docker's port proxy accepts the producer's reconnect and
# closes it at once; nats-py then drops that half-open stream without closing it.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in.*StreamWriter:pytest.PytestUnraisableExceptionWarning"
)
async def test_redeploy_and_server_restarts_lose_and_double_nothing(hub: Hub) -> None:
    """Recreate adapter-quake, restart nats, then db, all while events flow."""
    expected = replay_expectation().ids.get("adapter-quake", set())
    old_adapter = hub.container("adapter-quake").id
    nc = await hub.nats("adapter-quake")
    producer = Producer(nc.jetstream(), "restart", total=4000, rate=100)
    try:
        with phase("redeploy and restarts"):
            flow = asyncio.create_task(producer.run())
            await asyncio.sleep(3)
            await asyncio.to_thread(hub.up, "--force-recreate", "adapter-quake")
            for service in ("nats", "db"):
                await asyncio.to_thread(hub.container(service).restart, timeout=20)
                await wait_until(
                    hub.all_healthy,
                    f"every service healthy after {service}",
                    timeout=120,
                )
            await flow
            await _archived(hub, producer, timeout=180)
            await wait_until(
                hub.all_healthy, "every service healthy at the end", timeout=120
            )
    finally:
        await nc.close()

    conn = await hub.db()
    try:
        rows = await conn.fetchval(
            "SELECT count(*) FROM events WHERE id = ANY($1::text[])", sorted(expected)
        )
    finally:
        await conn.close()
    assert rows == len(expected), "the redeployed adapter's records, once each"
    assert hub.container("adapter-quake").id != old_adapter, "a new container"


@pytest.mark.parametrize(
    ("user", "subject"),
    [
        ("adapter-quake", "central.wx.alert.e2e.none"),
        ("adapter-quake", "central.meta.status.adapter-wx"),
        ("archiver", "central.quake.earthquake.e2e.none"),
    ],
    ids=["adapter-other-domain", "adapter-other-status", "archiver-any-event"],
)
async def test_publish_outside_permissions_is_refused(
    hub: Hub, user: str, subject: str
) -> None:
    """A container on the hub's network publishing where its user may not."""
    script = (
        "import asyncio, sys, nats\n"
        "async def main():\n"
        "    errors = []\n"
        "    async def on_error(exc):\n"
        "        errors.append(str(exc))\n"
        "    nc = await nats.connect(sys.argv[1], error_cb=on_error,\n"
        "                            max_reconnect_attempts=0)\n"
        "    await nc.publish(sys.argv[2], b'{}')\n"
        "    await nc.flush(timeout=5)\n"
        "    for _ in range(50):\n"
        "        if errors:\n"
        "            break\n"
        "        await asyncio.sleep(0.1)\n"
        "    await nc.close()\n"
        "    print(errors[0] if errors else 'accepted')\n"
        "asyncio.run(main())\n"
    )
    url = hub.nats_url(user).replace(
        f"127.0.0.1:{hub.env['CENTRAL_NATS_PORT']}", "nats:4222"
    )
    # Only the e2e subjects are quiet enough to count; others carry live traffic.
    quiet = ".e2e." in subject
    if quiet:
        before = await stream_subject_count(hub, _stream_of(subject), subject)
    with phase("permission refusals"):
        output = await asyncio.to_thread(
            hub.docker.containers.run,
            hub.containers(user)[0].image,
            entrypoint=["python3", "-c", script],
            command=[url, subject],
            network=hub.network(),
            remove=True,
        )
    said = output.decode().strip()
    # nats-py lower-cases the server's error text.
    assert said == f'nats: permissions violation for publish to "{subject.lower()}"'
    log = hub.container("nats").logs(since=int(time.time()) - 60).decode()
    assert re.search(
        rf'Publish Violation - User "{user}", Subject "{re.escape(subject)}"', log
    )
    if quiet:
        assert await stream_subject_count(hub, _stream_of(subject), subject) == before
    count("publishes refused", 1)


def _stream_of(subject: str) -> str:
    return f"CENTRAL_{subject.split('.')[1].upper()}"


async def test_down_then_up_keeps_archive_streams_and_state(hub: Hub) -> None:
    """Volumes outlive the containers: rows, streams, consumers, adapter state."""
    conn = await hub.db()
    try:
        rows = await conn.fetchval("SELECT count(*) FROM events")
    finally:
        await conn.close()
    before = await _jetstream_identity(hub)

    with phase("stop"):
        await asyncio.to_thread(hub.run, "stop")
    # SIGTERM, work in hand finished or naked, exit 0: not killed at the deadline.
    stopped = {}
    for box in hub.containers():
        box.reload()
        stopped[box.name] = box.attrs["State"]["ExitCode"]
    assert set(stopped.values()) == {0}, stopped
    with phase("down"):
        await asyncio.to_thread(hub.down, volumes=False)
    with phase("up again"):
        await asyncio.to_thread(hub.up)

    conn = await hub.db()
    try:
        assert await conn.fetchval("SELECT count(*) FROM events") == rows
    finally:
        await conn.close()
    # The same streams and durable consumers (created at the same instant), with
    # every message they held.
    assert await _jetstream_identity(hub) == before

    # The adapter's first polls after the restart find its state in the bucket.
    quake = hub.container("adapter-quake")
    feeds = set(ADAPTERS["adapter-quake"])
    polls = await wait_until(
        lambda: _first_polls(quake.logs().decode(), feeds),
        f"adapter-quake's first poll of each of {sorted(feeds)} after up",
        timeout=120,
        interval=1,
    )
    assert all(line["published"] == 0 for line in polls.values()), polls


async def _jetstream_identity(hub: Hub) -> dict[str, object]:
    """Each archived stream's creation time and messages, and its consumer's."""
    found: dict[str, object] = {}
    provisioner = await hub.nats("stream-provisioner")
    archiver = await hub.nats("archiver")
    try:
        for spec in ARCHIVED_STREAMS:
            stream = await provisioner.jetstream().stream_info(spec.name)
            durable = await archiver.jetstream().consumer_info(spec.name, spec.durable)
            found[spec.name] = (stream.created, stream.state.last_seq, durable.created)
    finally:
        await provisioner.close()
        await archiver.close()
    return found


def _first_polls(log: str, feeds: set[str]) -> dict[str, dict[str, object]] | None:
    """The first ``poll_finished`` line of each feed, once every feed has one."""
    first: dict[str, dict[str, object]] = {}
    for text in log.splitlines():
        with contextlib.suppress(orjson.JSONDecodeError):
            line = orjson.loads(text)
            if isinstance(line, dict) and line.get("event") == "poll_finished":
                first.setdefault(str(line.get("feed")), line)
    return first if feeds <= set(first) else None

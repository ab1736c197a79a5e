"""The adapter runtime on the earthquake feeds: faults, revisions, leases, meta."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import nats
import orjson
import pytest
from nats.js.api import DeliverPolicy
from prometheus_client import REGISTRY, generate_latest

from adapter_contract import FIXTURES, adapter, provision, stream_messages, wait_until
from central.devservers import NatsServer
from central.replay import Fault, ReplayApp, running
from central_adapter_quake.feeds import FEEDS

USGS = FIXTURES / "usgs-earthquake" / "usgs_4.5_day_2024-02-06_api1.10.3.geojson"
USGS_COUNT = 13


@pytest.fixture
async def provisioned(nats_url: str) -> str:
    await provision(nats_url)
    return nats_url


def _revised(body: bytes, index: int) -> bytes:
    doc = orjson.loads(body)
    doc["features"][index]["properties"]["updated"] += 60_000
    doc["features"][index]["properties"]["mag"] += 0.1
    return orjson.dumps(doc)


async def _subjects(nats_url: str) -> list[str]:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    sub = await js.pull_subscribe("central.quake.>", stream="CENTRAL_QUAKE")
    msgs = await sub.fetch(100, timeout=2)
    await nc.close()
    return [m.headers["ce-subject"] for m in msgs if m.headers]


async def test_revised_record_publishes_one_new_event_with_same_subject(
    provisioned: str,
) -> None:
    app = ReplayApp()
    route = app.serve("/usgs", USGS.read_bytes())
    async with (
        running(app) as base,
        adapter("adapter-quake", FEEDS, provisioned, {"usgs": f"{base}/usgs"}),
    ):
        await wait_until(lambda: route.hits >= 1, 10, "first poll")
        await wait_until(
            lambda: stream_messages(provisioned, "CENTRAL_QUAKE"), 10, "first events"
        )
        revised_subject = orjson.loads(USGS.read_bytes())["features"][3]["id"]
        app.serve("/usgs", _revised(USGS.read_bytes(), 3))
        await wait_until(
            lambda: _count_is(provisioned, USGS_COUNT + 1), 10, "the revision"
        )

    subjects = await _subjects(provisioned)
    assert subjects.count(revised_subject) == 2
    assert len(subjects) == USGS_COUNT + 1


async def _count_is(nats_url: str, expected: int) -> bool:
    return await stream_messages(nats_url, "CENTRAL_QUAKE") == expected


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        pytest.param(Fault(status=500), "error:http_status", id="500"),
        pytest.param(Fault(delay_s=1.5), "error:timeout", id="timeout"),
        pytest.param(Fault(truncate=True), "error:format", id="truncated"),
    ],
)
async def test_upstream_fault_backs_off_then_recovers_losing_nothing(
    provisioned: str, fault: Fault, kind: str
) -> None:
    app = ReplayApp()
    route = app.serve("/usgs", USGS.read_bytes())
    route.fault = fault
    async with (
        running(app) as base,
        adapter(
            "adapter-quake",
            FEEDS,
            provisioned,
            {"usgs": f"{base}/usgs"},
            http_timeout_s=0.5,
        ) as rt,
    ):
        loop = rt.loops[0]
        await wait_until(lambda: loop.status.last_result == kind, 10, f"a {kind}")
        assert await stream_messages(provisioned, "CENTRAL_QUAKE") == 0
        route.fault = Fault()
        await wait_until(lambda: loop.status.last_result == "ok", 10, "recovery")

    assert await stream_messages(provisioned, "CENTRAL_QUAKE") == USGS_COUNT


async def test_retry_after_is_honoured_before_the_next_poll(provisioned: str) -> None:
    app = ReplayApp()
    route = app.serve("/usgs", USGS.read_bytes())
    route.fault = Fault(status=429, retry_after="2")
    async with (
        running(app) as base,
        adapter(
            "adapter-quake",
            FEEDS,
            provisioned,
            {"usgs": f"{base}/usgs"},
            backoff_cap_s=5.0,
        ),
    ):
        await wait_until(lambda: route.hits >= 1, 10, "the first poll")
        await asyncio.sleep(1.0)
        hits_during_retry_after = route.hits
        route.fault = Fault()
        await wait_until(lambda: route.hits >= 2, 10, "the poll after Retry-After")

    assert hits_during_retry_after == 1


async def test_two_replicas_poll_a_feed_once_and_the_survivor_takes_over(
    provisioned: str,
) -> None:
    app = ReplayApp()
    route = app.serve("/usgs", USGS.read_bytes())
    async with running(app) as base:
        urls = {"usgs": f"{base}/usgs"}
        async with adapter("adapter-quake", FEEDS, provisioned, dict(urls)) as first:
            async with adapter(
                "adapter-quake", FEEDS, provisioned, dict(urls)
            ) as second:
                await wait_until(lambda: route.hits >= 5, 10, "several polls")
                leased = [first.loops[0].status.leased, second.loops[0].status.leased]
                assert leased.count(True) == 1
                polled = [
                    first.loops[0].status.last_poll,
                    second.loops[0].status.last_poll,
                ]
                assert polled.count(None) == 1, "the standby replica never polled"
            holder_gone = route.hits
            await wait_until(lambda: route.hits > holder_gone + 2, 10, "polls go on")
            assert first.loops[0].status.leased

    assert await stream_messages(provisioned, "CENTRAL_QUAKE") == USGS_COUNT


async def test_poll_outlasting_the_lease_ttl_keeps_the_standby_replica_idle(
    provisioned: str,
) -> None:
    """The holder renews its lease while it polls, however long the poll takes."""
    app = ReplayApp()
    route = app.serve("/usgs", USGS.read_bytes())
    # Longer than the 3 s lease the adapter helper sets.
    route.fault = Fault(delay_s=5.0)
    async with running(app) as base:
        urls = {"usgs": f"{base}/usgs"}
        async with (
            adapter(
                "adapter-quake", FEEDS, provisioned, dict(urls), usgs_interval_s=3600.0
            ) as first,
            adapter(
                "adapter-quake", FEEDS, provisioned, dict(urls), usgs_interval_s=3600.0
            ) as second,
        ):
            loops = [first.loops[0], second.loops[0]]
            await wait_until(
                lambda: any(lp.status.last_result == "ok" for lp in loops),
                20,
                "the slow poll",
            )
            polled = [lp.status.last_poll for lp in loops]

    assert route.hits == 1
    assert polled.count(None) == 1, "the standby polled during the holder's poll"


async def test_rejects_and_heartbeats_are_published_on_meta_subjects(
    provisioned: str,
) -> None:
    doc = orjson.loads(USGS.read_bytes())
    doc["features"][0]["properties"]["time"] = None
    app = ReplayApp()
    app.serve("/usgs", orjson.dumps(doc))
    nc = await nats.connect(provisioned)
    js = nc.jetstream()
    async with (
        running(app) as base,
        adapter("adapter-quake", FEEDS, provisioned, {"usgs": f"{base}/usgs"}),
    ):
        await wait_until(lambda: _count_is(provisioned, USGS_COUNT - 1), 10, "events")
        rejected = await js.pull_subscribe(
            "central.meta.rejected.adapter-quake", stream="CENTRAL_META"
        )
        status = await js.pull_subscribe(
            "central.meta.status.adapter-quake", stream="CENTRAL_META"
        )
        reject = orjson.loads((await rejected.fetch(1, timeout=5))[0].data)
        beat = orjson.loads((await status.fetch(1, timeout=5))[0].data)
    await nc.close()

    assert reject["feed"] == "usgs"
    assert reject["record_id"] == doc["features"][0]["id"]
    assert "time" in reject["reason"]
    assert beat["service"] == "adapter-quake"
    assert "usgs" in beat["feeds"]


async def test_record_over_the_max_payload_is_rejected_alone(tmp_path: Path) -> None:
    conf = tmp_path / "small.conf"
    conf.write_text("max_payload: 4096\n")
    server = NatsServer(tmp_path, extra_args=("-c", str(conf))).start()
    try:
        await provision(server.url)
        doc = orjson.loads(USGS.read_bytes())
        doc["features"][2]["properties"]["place"] = "x" * 5000
        app = ReplayApp()
        app.serve("/usgs", orjson.dumps(doc))
        async with (
            running(app) as base,
            adapter("adapter-quake", FEEDS, server.url, {"usgs": f"{base}/usgs"}) as rt,
        ):
            await wait_until(
                lambda: rt.loops[0].status.last_result == "ok", 10, "a poll"
            )
            counts = dict(rt.loops[0].status.counts)
        assert counts["rejected"] == 1
        assert await stream_messages(server.url, "CENTRAL_QUAKE") == USGS_COUNT - 1
    finally:
        server.stop()


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_metrics_count_each_polls_records_errors_and_last_success(
    provisioned: str,
) -> None:
    doc = orjson.loads(USGS.read_bytes())
    doc["features"][0]["properties"]["time"] = "not a time"
    app = ReplayApp()
    route = app.serve("/usgs", orjson.dumps(doc))
    names = ("fetched", "published", "duplicate", "rejected")
    before = {
        o: _sample("central_adapter_records_total", feed="usgs", outcome=o)
        for o in names
    }
    ok_before = _sample("central_adapter_polls_total", feed="usgs", result="ok")
    errors_before = _sample(
        "central_adapter_upstream_errors_total", feed="usgs", kind="http"
    )
    async with (
        running(app) as base,
        adapter("adapter-quake", FEEDS, provisioned, {"usgs": f"{base}/usgs"}) as rt,
    ):
        loop = rt.loops[0]
        await wait_until(lambda: loop.status.last_result == "ok", 10, "a first poll")
        route.fault = Fault(status=503)
        await wait_until(
            lambda: loop.status.last_result.startswith("error:"), 10, "a failed poll"
        )
        kind = loop.status.last_result.split(":", 1)[1]
        route.fault = Fault()
        await wait_until(
            lambda: loop.status.last_result != f"error:{kind}", 10, "recovery"
        )
    after = {
        o: _sample("central_adapter_records_total", feed="usgs", outcome=o)
        for o in names
    }

    assert after["fetched"] - before["fetched"] >= USGS_COUNT
    assert after["published"] - before["published"] == USGS_COUNT - 1
    assert after["rejected"] - before["rejected"] >= 1
    assert _sample("central_adapter_polls_total", feed="usgs", result="ok") > ok_before
    errors = _sample("central_adapter_upstream_errors_total", feed="usgs", kind=kind)
    assert errors > (errors_before if kind == "http" else 0)
    assert _sample("central_adapter_upstream_seconds_count", feed="usgs") >= 2
    last = _sample("central_adapter_last_success_timestamp_seconds", feed="usgs")
    assert abs(last - time.time()) < 30
    exposed = generate_latest(REGISTRY).decode()
    for name in (
        "central_adapter_polls_total",
        "central_adapter_records_total",
        "central_adapter_upstream_seconds_bucket",
        "central_adapter_upstream_errors_total",
        "central_adapter_last_success_timestamp_seconds",
    ):
        assert f"\n{name}{{" in exposed, name


async def test_heartbeat_reports_version_uptime_and_each_feeds_last_poll(
    provisioned: str,
) -> None:
    app = ReplayApp()
    app.serve("/usgs", USGS.read_bytes())
    nc = await nats.connect(provisioned)
    js = nc.jetstream()
    try:
        async with (
            running(app) as base,
            adapter(
                "adapter-quake", FEEDS, provisioned, {"usgs": f"{base}/usgs"}
            ) as rt,
        ):
            await wait_until(
                lambda: (
                    rt.loops[0].status.last_result in ("ok", "not_modified")
                    and rt.loops[0].status.counts.get("published") is not None
                ),
                10,
                "a poll",
            )
            sub = await js.subscribe(
                "central.meta.status.adapter-quake",
                stream="CENTRAL_META",
                deliver_policy=DeliverPolicy.NEW,
            )
            beat = orjson.loads((await sub.next_msg(timeout=5)).data)
    finally:
        await nc.close()

    assert beat["service"] == "adapter-quake"
    assert beat["version"] == "test"
    assert beat["uptime_s"] > 0
    feed = beat["feeds"]["usgs"]
    assert feed["leased"] is True
    assert feed["last_result"] in ("ok", "not_modified")
    assert feed["last_success"] is not None
    assert set(feed["counts"]) >= {"fetched", "published", "duplicates", "rejected"}

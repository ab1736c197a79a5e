"""``/api/live`` (server-sent events, filtered at the broker) and ``/api/adapters``.

Both run on a NATS server of the test's own: the live feed receives events
published after the client connected; the adapters' answer is the real adapter
runtime's heartbeat.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import nats
import orjson
import pytest
from dashboard.harness import FIXTURES, Running, serving, settings_for, wait_for
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter_contract import adapter, provision
from central.events import CloudEvent, encode_data, to_nats_headers
from central.ids import event_id
from central.replay import ReplayApp, running
from central.streams import BY_DOMAIN
from central.subjects import cell, event_subject
from central_adapter_quake.feeds import FEEDS
from central_dashboard.live import cell_count, cells_covering, subscriptions

QUAKE = "central.quake.earthquake"
CALIFORNIA = "-125,32,-114,42"
USGS_PATH = "usgs-earthquake/usgs_4.5_day_2024-02-06_api1.10.3.geojson"


@pytest.fixture
async def own(nats_url: str, own_archive: str) -> AsyncIterator[Running]:
    await provision(nats_url)
    async with serving(settings_for(nats_url, own_archive)) as running_:
        yield running_


def _event(kind: str, lon: float, lat: float, n: int) -> CloudEvent:
    return CloudEvent(
        id=event_id("live", f"{kind}-{lon}-{lat}", str(n)),
        source="https://example.org/live-test",
        type=kind,
        time="2024-02-06T12:00:00Z",
        subject=f"live-{n}",
        data={"n": n, "geometry": {"type": "Point", "coordinates": [lon, lat]}},
    )


async def _publish(nats_url: str, events: list[CloudEvent]) -> None:
    """Publish as an adapter does: binary mode, subject cell from the geometry."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for event in events:
            domain, kind = event.type.split(".")[1:]
            subject = event_subject(domain, kind, "test", event.data["geometry"])
            headers = {**to_nats_headers(event), "content-type": "application/json"}
            await js.publish(
                subject,
                encode_data(event),
                headers=headers,
                stream=BY_DOMAIN[domain].name,
            )
    finally:
        await nc.close()


async def _next_data(lines: AsyncIterator[str]) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        async for line in lines:
            if line.startswith("data:"):
                return dict(orjson.loads(line[5:]))
        pytest.fail("the live stream ended")

    return await asyncio.wait_for(read(), 10)


async def _subscribed(lines: AsyncIterator[str]) -> None:
    async def read() -> None:
        async for line in lines:
            if line.startswith(": subscribed"):
                return
        pytest.fail("the live stream ended before subscribing")

    await asyncio.wait_for(read(), 10)


def _filtered(dashboard: Running, outcome: str) -> float:
    return dashboard.hub.metrics.value(
        "central_dashboard_live_events_total", outcome=outcome
    )


async def test_live_sends_events_published_after_connecting_by_type_and_bbox(
    own: Running, nats_url: str
) -> None:
    inside = _event(QUAKE, -120.0, 36.0, 1)
    far = _event(QUAKE, 10.0, 50.0, 2)
    other_type = _event("central.wx.alert", -120.0, 36.0, 3)
    # Inside a covering cell, outside the box: only the in-process check stops it.
    edge = _event(QUAKE, -125.1, 35.0, 4)
    last = _event(QUAKE, -115.0, 40.0, 5)

    async with own.client.stream(
        "GET", "/api/live", params={"type": QUAKE, "bbox": CALIFORNIA}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        await _subscribed(lines)
        await _publish(nats_url, [far, other_type, edge, inside, last])

        got = [await _next_data(lines), await _next_data(lines)]

    assert [e["id"] for e in got] == [inside.id, last.id]
    assert got[0]["type"] == QUAKE and got[0]["specversion"] == "1.0"
    assert got[0]["data"]["geometry"]["coordinates"] == [-120.0, 36.0]
    # The broker never sent the far quake or the alert; the edge quake it did.
    assert _filtered(own, "filtered") == 1
    assert _filtered(own, "sent") == 2
    await wait_for(
        lambda: own.hub.metrics.value("central_dashboard_live_clients") == 0,
        10,
        "the client's subscriptions to end",
    )


async def test_live_with_a_large_box_filters_in_the_process(
    own: Running, nats_url: str
) -> None:
    """A box of thousands of cells subscribes per type and checks each event."""
    inside = _event(QUAKE, -120.0, 36.0, 1)
    outside = _event(QUAKE, 10.0, 50.0, 2)

    async with own.client.stream(
        "GET", "/api/live", params={"type": QUAKE, "bbox": "-130,20,0,60"}
    ) as response:
        lines = response.aiter_lines()
        await _subscribed(lines)
        await _publish(nats_url, [outside, inside])

        got = await _next_data(lines)

    assert got["id"] == inside.id
    assert _filtered(own, "filtered") == 1


async def test_live_without_filters_sends_every_event_type(
    own: Running, nats_url: str
) -> None:
    events = [_event(QUAKE, 1.0, 2.0, 1), _event("central.wx.alert", 3.0, 4.0, 2)]

    async with own.client.stream("GET", "/api/live") as response:
        lines = response.aiter_lines()
        await _subscribed(lines)
        await _publish(nats_url, events)

        got = [await _next_data(lines), await _next_data(lines)]

    assert {e["id"] for e in got} == {e.id for e in events}


def test_subscriptions_widen_when_the_cover_is_too_large() -> None:
    california = (-125.0, 32.0, -114.0, 42.0)
    cells = cells_covering(california)

    exact = subscriptions((QUAKE,), california, 128)
    by_type = subscriptions((QUAKE,), california, 10)
    everything = subscriptions(tuple(f"central.x.k{i}" for i in range(5)), None, 3)

    assert exact == [f"{QUAKE}.*.{c}" for c in cells]
    assert len(cells) == cell_count(california) <= 128
    assert by_type == [f"{QUAKE}.*.*"]
    assert everything == ["central.*.*.*.*"]


boxes = st.tuples(
    st.floats(-180, 180), st.floats(-90, 90), st.floats(0, 20), st.floats(0, 20)
).map(lambda t: (t[0], t[1], min(180.0, t[0] + t[2]), min(90.0, t[1] + t[3])))


@settings(max_examples=200, deadline=None)
@given(box=boxes, u=st.floats(0, 1), v=st.floats(0, 1))
def test_cover_holds_the_cell_of_every_point_in_the_box(
    box: tuple[float, float, float, float], u: float, v: float
) -> None:
    min_lon, min_lat, max_lon, max_lat = box
    point = (min_lon + u * (max_lon - min_lon), min_lat + v * (max_lat - min_lat))

    assert cell(point) in cells_covering(box)


async def _adapters(dashboard: Running) -> list[dict[str, Any]]:
    answer = await dashboard.client.get("/api/adapters")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["adapters"])


async def test_adapters_show_a_real_heartbeat_fresh_then_stale(
    nats_url: str, own_archive: str
) -> None:
    await provision(nats_url)
    replay = ReplayApp()
    replay.serve("/usgs", (FIXTURES / USGS_PATH).read_bytes())
    async with (
        running(replay) as base,
        adapter(
            "adapter-quake", {"usgs": FEEDS["usgs"]}, nats_url, {"usgs": f"{base}/usgs"}
        ),
        serving(settings_for(nats_url, own_archive)) as dashboard,
    ):

        async def polled() -> list[dict[str, Any]]:
            beats = await _adapters(dashboard)
            feeds = beats[0]["feeds"] if beats else {}
            return beats if feeds.get("usgs", {}).get("last_success") else []

        beats = await wait_for(polled, 20, "a heartbeat after a poll")

    beat = beats[0]
    assert [b["service"] for b in beats] == ["adapter-quake"]
    assert beat["stale"] is False
    assert 0 <= beat["age_s"] < 5
    assert beat["version"] == "test"
    assert beat["feeds"]["usgs"]["last_result"] in {"ok", "not_modified"}
    assert beat["feeds"]["usgs"]["leased"] is True
    assert beat["time"].endswith("Z")

    stale_soon = settings_for(
        nats_url, own_archive, status_interval_s=0.1, stale_after_intervals=2
    )
    async with serving(stale_soon) as dashboard:

        async def stale() -> bool:
            return (await _adapters(dashboard))[0]["stale"] is True

        await wait_for(stale, 10, "the heartbeat to grow stale")


async def test_adapters_skip_and_count_a_heartbeat_not_json(
    own: Running, nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await js.publish(
            "central.meta.status.broken", b"not json", stream="CENTRAL_META"
        )
        await js.publish(
            "central.meta.status.adapter-x",
            orjson.dumps({"service": "adapter-x", "time": "2024-01-01T00:00:00Z"}),
            stream="CENTRAL_META",
        )
    finally:
        await nc.close()

    beats = await _adapters(own)

    assert [b["service"] for b in beats] == ["adapter-x"]
    assert beats[0]["stale"] is True
    assert own.hub.metrics.value("central_dashboard_unreadable_heartbeats_total") == 1


async def test_adapters_without_the_meta_stream_answer_503(
    own: Running, nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().delete_stream("CENTRAL_META")
    finally:
        await nc.close()

    answer = await own.client.get("/api/adapters")

    assert answer.status_code == 503
    assert answer.json()["error"]["parameter"] is None

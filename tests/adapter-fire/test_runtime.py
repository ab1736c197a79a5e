"""The adapter runtime on FIRMS payloads, through real NATS and a replay server."""

from __future__ import annotations

import nats
import orjson
import pytest

from adapter_contract import FIXTURES, adapter, provision, stream_messages, wait_until
from central.replay import Fault, ReplayApp, running
from central.state import FeedState, StateStore, digest
from central.streams import ADAPTER_BUCKET
from central.upstream import Validators
from central_adapter_fire.feeds import FEEDS

MODIS = FIXTURES / "nasa-firms" / "firms_modis_c6.1_global_24h_2023-08-02.csv"
VIIRS = FIXTURES / "nasa-firms" / "firms_viirs_snpp_c2_europe_24h_2022-09-05.csv"
MODIS_COUNT = 36_555
VIIRS_COUNT = 1_205


@pytest.fixture
async def provisioned(nats_url: str) -> str:
    await provision(nats_url)
    return nats_url


async def _count_is(nats_url: str, expected: int) -> bool:
    return await stream_messages(nats_url, "CENTRAL_FIRE") == expected


def _with_line(body: bytes, index: int, edit: bytes) -> bytes:
    lines = body.split(b"\n")
    lines[index] = edit
    return b"\n".join(lines)


async def test_poll_of_global_modis_file_already_published_publishes_nothing(
    provisioned: str,
) -> None:
    """36,555 rows whose events a previous poll published: none goes out again.

    The previous poll is stood in for by its saved state (the digests of every
    event id of the file), which is what the runtime keeps between polls; the
    stream stays empty, so a single re-published event would show.
    """
    body = MODIS.read_bytes()
    feed = FEEDS["firms"]
    seen = {digest(feed.normalize(row).event.id) for row in feed.parse(body)}
    nc = await nats.connect(provisioned)
    kv = await nc.jetstream().key_value(ADAPTER_BUCKET)
    await StateStore(kv, "adapter-fire").save("firms", FeedState(Validators(), seen))
    await nc.close()
    app = ReplayApp()
    route = app.serve("/firms", body, content_type="text/csv")
    # The server ignores the conditional GET, so the poll parses every row again.
    route.fault = Fault(ignore_validators=True)
    async with (
        running(app) as base,
        adapter(
            "adapter-fire",
            FEEDS,
            provisioned,
            {"firms": f"{base}/firms"},
            firms_interval_s=3600.0,
        ) as rt,
    ):
        loop = rt.loops[0]
        await wait_until(lambda: loop.status.last_result == "ok", 60, "the poll")
        counts = dict(loop.status.counts)

    assert len(seen) == MODIS_COUNT
    assert (counts["fetched"], counts["duplicates"]) == (MODIS_COUNT, MODIS_COUNT)
    assert (counts["new"], counts["published"], counts["rejected"]) == (0, 0, 0)
    assert route.hits == 1
    assert await stream_messages(provisioned, "CENTRAL_FIRE") == 0


async def test_revised_row_publishes_one_new_event_with_same_subject(
    provisioned: str,
) -> None:
    body = VIIRS.read_bytes()
    header = body.split(b"\n", 1)[0]
    app = ReplayApp()
    app.serve("/firms", body, content_type="text/csv")
    # Line 2 with another FRP and version: a reprocessed detection.
    revised = _with_line(
        body,
        1,
        b"46.06979,13.63111,297.87,0.58,0.52,2022-09-04,0024,N,nominal,2.0,283.65,"
        b"1.07,N",
    )
    async with (
        running(app) as base,
        adapter("adapter-fire", FEEDS, provisioned, {"firms": f"{base}/firms"}),
    ):
        await wait_until(
            lambda: _count_is(provisioned, VIIRS_COUNT), 20, "the first events"
        )
        app.serve("/firms", revised, content_type="text/csv")
        await wait_until(
            lambda: _count_is(provisioned, VIIRS_COUNT + 1), 20, "the revision"
        )

    nc = await nats.connect(provisioned)
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        "central.fire.hotspot.firms.u21", stream="CENTRAL_FIRE"
    )
    msgs = await sub.fetch(100, timeout=5)
    await nc.close()
    subjects = [m.headers["ce-subject"] for m in msgs if m.headers]
    assert header.startswith(b"latitude,longitude,bright_ti4")
    assert subjects.count("VIIRS/N/2022-09-04T00:24Z/46.06979/13.63111") == 2
    assert orjson.loads(msgs[-1].data)["frp_mw"] == 1.07


async def test_malformed_line_is_published_as_reject_naming_its_line(
    provisioned: str,
) -> None:
    body = VIIRS.read_bytes()
    first_row = body.split(b"\n")[1]
    app = ReplayApp()
    app.serve("/firms", _with_line(body, 1, first_row + b",surplus"))
    nc = await nats.connect(provisioned)
    js = nc.jetstream()
    async with (
        running(app) as base,
        adapter("adapter-fire", FEEDS, provisioned, {"firms": f"{base}/firms"}),
    ):
        await wait_until(
            lambda: _count_is(provisioned, VIIRS_COUNT - 1), 20, "the other events"
        )
        rejected = await js.pull_subscribe(
            "central.meta.rejected.adapter-fire", stream="CENTRAL_META"
        )
        reject = orjson.loads((await rejected.fetch(1, timeout=5))[0].data)
    await nc.close()

    assert (reject["feed"], reject["record_id"]) == ("firms", "line 2")
    assert reject["reason"] == "line 2 has 14 cells, the header has 13"

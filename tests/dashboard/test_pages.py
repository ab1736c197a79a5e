"""The HTML pages over real HTTP: the real app, real NATS, a real archive.

Read-only tests use the archive the whole run shares (every recorded payload
through the real pipeline, see harness.py). Tests that break or change things use
a site of their own (:func:`own_site`): a NATS server and a database of the test's
own, filled by adapter-quake polling a replayed USGS payload and by the archiver,
then recorded EMSC events published while the archiver is stopped, so that its
consumer lags.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import nats
import orjson
import pytest
from dashboard.harness import FIXTURES, Archive, Quiet, Running, serving, settings_for
from dashboard.harness import wait_for as wait_until

from adapter_contract import adapter, provision
from central.events import CloudEvent, encode_data, to_nats_headers
from central.replay import ReplayApp, running
from central.streams import DASHBOARD, REGISTRY
from central.subjects import event_subject
from central_adapter_quake.feeds import FEEDS
from central_archiver.migrations import default_dir, migrate
from central_archiver.service import Archiver
from central_archiver.settings import ArchiverSettings

USGS = FIXTURES / "usgs-earthquake" / "usgs_all_day_2016-11-03_api1.5.2.geojson"
EMSC = FIXTURES / "emsc-seismicportal" / "emsc_fdsnws_event_json_2025-04-26.json"
USGS_RECORDS = 151
#: A subject no page may show unescaped.
MARKUP = '<img src=x onerror="alert(1)"></script><b>x</b>'
QUAKE_TYPE = "central.quake.earthquake"


@dataclass
class Site:
    """A dashboard over a NATS server and a database that one test owns."""

    running: Running
    nats_url: str
    database_url: str
    #: Messages in CENTRAL_QUAKE, and how many of them the archiver has not read.
    quake_messages: int
    quake_pending: int
    markup_id: str


def markup_event() -> CloudEvent:
    geometry = {"type": "Point", "coordinates": [12.5, 41.9, 10.0]}
    return CloudEvent(
        id="markup-1",
        source="https://example.org/markup-test",
        type=QUAKE_TYPE,
        time="2016-11-03T12:00:00Z",
        subject=MARKUP,
        data={"magnitude": 1.0, "geometry": geometry},
    )


async def publish_events(nats_url: str, events: list[CloudEvent]) -> None:
    """Publish ``events`` as an adapter does (binary mode), each acked."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for event in events:
            geometry = (
                event.data.get("geometry") if isinstance(event.data, dict) else None
            )
            _, domain, kind = event.type.split(".")
            subject = event_subject(domain, kind, "test", geometry)
            await js.publish(
                subject, encode_data(event), headers=to_nats_headers(event)
            )
    finally:
        await nc.close()


def recorded_emsc_events() -> list[CloudEvent]:
    feed = FEEDS["emsc"]
    return [feed.normalize(record).event for record in feed.parse(EMSC.read_bytes())]


async def stream_state(nats_url: str, name: str) -> tuple[int, int]:
    """``(messages, pending summed over its consumers)`` of stream ``name``."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(name)
        pending = sum(c.num_pending for c in await js.consumers_info(name))
    finally:
        await nc.close()
    return int(info.state.messages), int(pending)


async def row_count(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM events"))
    finally:
        await conn.close()


async def _quake_messages(nats_url: str) -> int:
    return (await stream_state(nats_url, "CENTRAL_QUAKE"))[0]


@pytest.fixture
async def own_site(nats_url: str, database_url: str) -> AsyncIterator[Site]:
    """A site filled by adapter-quake and the archiver, its consumer lagging."""
    await migrate(database_url, default_dir(), Quiet())
    await provision(nats_url)
    archiver = Archiver(
        ArchiverSettings(
            nats_url=nats_url, database_url=database_url, batch_linger_s=0.005
        ),
        log=Quiet(),
    )
    await archiver.start()
    try:
        replay = ReplayApp()
        replay.serve("/usgs", USGS.read_bytes())
        async with (
            running(replay) as base,
            adapter("adapter-quake", FEEDS, nats_url, {"usgs": f"{base}/usgs"}),
        ):
            await wait_until(
                lambda: _equals(_quake_messages(nats_url), USGS_RECORDS),
                30,
                "adapter-quake to publish the USGS records",
            )
            beats = (await stream_state(nats_url, "CENTRAL_META"))[0]
            await wait_until(
                lambda: _more(stream_state(nats_url, "CENTRAL_META"), beats),
                10,
                "a heartbeat after the poll",
            )
        await publish_events(nats_url, [markup_event()])
        await wait_until(
            lambda: _equals(row_count(database_url), USGS_RECORDS + 1),
            30,
            "the archiver to write every event",
        )
    finally:
        await archiver.stop()
    emsc = recorded_emsc_events()
    await publish_events(nats_url, emsc)
    messages, pending = await stream_state(nats_url, "CENTRAL_QUAKE")
    assert (messages, pending) == (USGS_RECORDS + 1 + len(emsc), len(emsc))
    async with serving(settings_for(nats_url, database_url)) as running_:
        yield Site(running_, nats_url, database_url, messages, pending, "markup-1")


async def _equals(value: Any, expected: int) -> bool:
    return await value == expected


async def _more(state: Any, than: int) -> bool:
    return (await state)[0] > than


async def delete_stream(nats_url: str, name: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().delete_stream(name)
    finally:
        await nc.close()


# Reading the pages: small, exact patterns over the templates' own markup.


def card(page: str, stream: str) -> str:
    match = re.search(
        rf'<article class="card[^"]*" data-stream="{stream}">(.*?)</article>',
        page,
        re.S,
    )
    assert match, f"no card for {stream}"
    return match.group(0)


def field(block: str, name: str) -> str:
    match = re.search(rf'data-field="{name}">(.*?)</(?:dd|span)>', block, re.S)
    assert match, f"no field {name}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def row_ids(page: str) -> list[str]:
    return [
        html.unescape(i)
        for i in re.findall(r'<tr class="event-row" data-id="([^"]*)"', page)
    ]


def json_blocks(page: str) -> list[Any]:
    blocks = re.findall(r'<pre class="json">(.*?)</pre>', page, re.S)
    return [
        orjson.loads(html.unescape(b)) for b in blocks if b.lstrip().startswith("{")
    ]


async def get_page(client: Any, path: str, status: int = 200) -> str:
    answer = await client.get(path)
    assert answer.status_code == status, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html")
    return str(answer.text)


async def test_overview_cards_show_jetstream_counts_for_dashboard_streams(
    dashboard: Running, archive: Archive
) -> None:
    page = await get_page(dashboard.client, "/")

    for spec in DASHBOARD:
        messages, pending = await stream_state(archive.nats_url, spec.name)
        block = card(page, spec.name)
        assert field(block, "messages") == f"{messages:,}", spec.name
        assert field(block, "lag") == f"{pending:,}", spec.name
        assert "card-error" not in block
    assert 'data-stream="CENTRAL_META"' not in page
    assert page.count('<article class="card') == len(DASHBOARD)


async def test_overview_lists_each_adapter_heartbeat_with_its_feeds(
    dashboard: Running,
) -> None:
    beats = (await dashboard.client.get("/api/adapters")).json()["adapters"]
    page = await get_page(dashboard.client, "/")

    assert len(beats) == 5
    for beat in beats:
        service = beat["service"]
        match = re.search(
            rf'<tr class="adapter-row[^"]*" data-service="{service}">(.*?)</tr>',
            page,
            re.S,
        )
        assert match, beat["service"]
        row = match.group(1)
        assert beat["version"] in row
        assert ("stale" in row) == beat["stale"]
        for name, feed in beat["feeds"].items():
            assert re.search(
                rf'class="feed">{re.escape(name)}</span>\s*<span class="badge [a-z]+">'
                rf"{re.escape(feed['last_result'])}<",
                row,
            ), (beat["service"], name)


async def test_overview_latest_events_are_the_newest_archived(
    dashboard: Running,
) -> None:
    newest = (await dashboard.client.get("/api/events", params={"limit": 10})).json()
    page = await get_page(dashboard.client, "/")

    assert row_ids(page) == [event["id"] for event in newest["events"]]


async def test_overview_shows_an_error_card_for_a_deleted_stream_and_the_rest(
    own_site: Site,
) -> None:
    await delete_stream(own_site.nats_url, "CENTRAL_FIRE")

    page = await get_page(own_site.running.client, "/")

    broken = card(page, "CENTRAL_FIRE")
    assert "card-error" in broken
    assert field(broken, "error") == "stream does not exist in JetStream"
    quake = card(page, "CENTRAL_QUAKE")
    assert field(quake, "messages") == f"{own_site.quake_messages:,}"
    assert field(quake, "lag") == f"{own_site.quake_pending:,}"
    for spec in DASHBOARD:
        if spec.name not in ("CENTRAL_FIRE", "CENTRAL_QUAKE"):
            assert field(card(page, spec.name), "messages") == "0"
    assert 'data-service="adapter-quake"' in page


async def test_pages_render_their_failed_parts_as_errors_when_the_database_is_gone(
    own_site: Site, pg_server_url: str
) -> None:
    name = own_site.database_url.rpartition("/")[2]
    conn = await asyncpg.connect(pg_server_url)
    try:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await conn.close()
    client = own_site.running.client

    overview = await get_page(client, "/")
    assert "Could not load streams" in overview
    assert "Could not load latest events" in overview
    assert 'data-service="adapter-quake"' in overview, "adapters come from NATS"
    streams = await get_page(client, "/streams")
    assert "Could not load streams" in streams
    explorer = await get_page(client, "/explorer?type=central.quake.earthquake")
    assert "Could not load events" in explorer
    await get_page(client, "/map")


async def test_pages_load_only_assets_the_service_serves(dashboard: Running) -> None:
    for path in ("/", "/map", "/streams", "/explorer"):
        page = await get_page(dashboard.client, path)
        links = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
        assert links, path
        for link in links:
            assert link.startswith("/static/"), (path, link)
            answer = await dashboard.client.get(link)
            assert answer.status_code == 200, (path, link)
    for script in ("map.js", "mappage.js", "streams.js", "explorer.js", "overview.js"):
        text = (await dashboard.client.get(f"/static/{script}")).text
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), script


def _inside(lon: float, lat: float, ring: list[float]) -> bool:
    inside = False
    xs, ys = ring[0::2], ring[1::2]
    j = len(xs) - 1
    for i in range(len(xs)):
        if (ys[i] > lat) != (ys[j] > lat):
            cross = xs[i] + (lat - ys[i]) * (xs[j] - xs[i]) / (ys[j] - ys[i])
            if lon < cross:
                inside = not inside
        j = i
    return inside


@pytest.mark.parametrize(
    ("place", "lon", "lat", "land"),
    [
        ("Paris", 2.35, 48.85, True),
        ("Denver", -104.99, 39.74, True),
        ("Nairobi", 36.82, -1.29, True),
        ("Alice Springs", 133.88, -23.70, True),
        ("Manaus", -60.02, -3.12, True),
        ("Chukotka past 180", 185.0, 66.0, True),
        ("South pole", 0.0, -89.0, True),
        ("mid Atlantic", -30.0, 0.0, False),
        ("south Pacific", -150.0, -30.0, False),
        ("Indian Ocean", 80.0, -20.0, False),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
async def test_world_outline_holds_land_where_land_is(
    dashboard: Running, place: str, lon: float, lat: float, land: bool
) -> None:
    world = (await dashboard.client.get("/static/world-110m.json")).json()

    assert len(world["land"]) > 100 and len(world["borders"]) > 200
    assert any(_inside(lon, lat, ring) for ring in world["land"]) == land, place


async def test_streams_page_shows_each_stream_limits_from_config_streams(
    dashboard: Running, shared_database: str
) -> None:
    conn = await asyncpg.connect(shared_database)
    try:
        rows = {r["name"]: r for r in await conn.fetch("SELECT * FROM config.streams")}
    finally:
        await conn.close()
    page = await get_page(dashboard.client, "/streams")

    for spec in REGISTRY:
        match = re.search(
            rf'<form class="stream-form" data-stream="{spec.name}">(.*?)</form>',
            page,
            re.S,
        )
        assert match, spec.name
        values = dict(re.findall(r'name="([a-z_]+)"[^>]*?\svalue="([^"]*)"', match[1]))
        row = rows[spec.name]
        assert float(values["max_age_s"]) == row["max_age_s"]
        assert int(values["max_bytes"]) == row["max_bytes"]
        assert float(values["duplicate_window_s"]) == row["duplicate_window_s"]
        assert int(values["replicas"]) == row["replicas"]


async def test_explorer_pages_through_results_as_the_api_does(
    dashboard: Running,
) -> None:
    params = {"type": QUAKE_TYPE, "limit": "25"}
    api_first = (await dashboard.client.get("/api/events", params=params)).json()
    api_second = (
        await dashboard.client.get(
            "/api/events", params={**params, "cursor": api_first["next_cursor"]}
        )
    ).json()

    first = await get_page(dashboard.client, f"/explorer?type={QUAKE_TYPE}&limit=25")
    next_href = re.search(r'<a id="next-page" href="([^"]+)"', first)
    assert next_href
    second = await get_page(dashboard.client, html.unescape(next_href[1]))

    assert row_ids(first) == [e["id"] for e in api_first["events"]]
    assert row_ids(second) == [e["id"] for e in api_second["events"]]
    assert len(row_ids(first)) == 25
    assert not set(row_ids(first)) & set(row_ids(second))
    assert f'value="{QUAKE_TYPE}"' in second, "the form keeps its filters"


async def test_explorer_shows_each_event_json_as_the_api_serves_it(
    dashboard: Running,
) -> None:
    params = {"type": "central.wx.alert", "limit": "5"}
    api = (await dashboard.client.get("/api/events", params=params)).json()

    page = await get_page(dashboard.client, "/explorer?type=central.wx.alert&limit=5")

    assert api["events"]
    assert json_blocks(page) == api["events"]
    embedded = re.search(
        r'<script type="application/json" id="explorer-events">(.*?)</script>',
        page,
        re.S,
    )
    assert embedded and orjson.loads(embedded[1]) == api["events"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("bbox=1,2", "bbox"),
        ("bbox=10,0,-10,5", "bbox"),
        ("since=yesterday", "since"),
        ("type=quake", "type"),
        ("limit=0", "limit"),
        ("near=0,0,-5", "near"),
        ("cursor=garbage", "cursor"),
        ("since=2024-02-02T00:00:00Z&until=2024-02-01T00:00:00Z", "until"),
    ],
    ids=lambda v: v,
)
async def test_explorer_refuses_a_bad_filter_with_400_naming_it_and_counts_it(
    dashboard: Running, query: str, parameter: str
) -> None:
    metric = "central_dashboard_rejected_requests_total"
    before = dashboard.hub.metrics.value(metric, parameter=parameter)

    page = await get_page(dashboard.client, f"/explorer?{query}", status=400)

    assert f"Bad {parameter}:" in page
    assert '<form id="explorer-filters"' in page
    assert dashboard.hub.metrics.value(metric, parameter=parameter) == before + 1


async def test_explorer_escapes_markup_from_event_fields(own_site: Site) -> None:
    client = own_site.running.client
    answer = await client.get("/explorer", params={"subject": MARKUP})
    page = answer.text

    assert answer.status_code == 200
    assert row_ids(page) == [own_site.markup_id]
    assert MARKUP not in page
    assert "&lt;img src=x" in page
    assert page.count("</script>") == page.count("<script")

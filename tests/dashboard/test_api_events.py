"""``GET /api/events``: every filter against an independent reading of the archive.

The archive is the one the real pipeline filled from the recorded payloads. The
expected answers are computed here in Python from the rows themselves (shapely for
boxes), not by the dashboard's SQL, and each answer is read through every page.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import orjson
import pytest
from dashboard.harness import Archive, Running
from shapely.geometry import box, shape

QUAKE = "central.quake.earthquake"
CALIFORNIA = (-125.0, 32.0, -114.0, 42.0)


@dataclass(frozen=True)
class Row:
    time: datetime
    source: str
    id: str
    type: str
    subject: str | None
    geometry: dict[str, Any] | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.id)


@pytest.fixture(scope="session")
def rows(archive: Archive, shared_database: str) -> list[Row]:
    """Every archived event, read directly, newest first in the API's order."""

    async def read() -> list[Row]:
        conn = await asyncpg.connect(shared_database)
        try:
            found = await conn.fetch(
                "SELECT time, source, id, type, subject, data->'geometry' AS g "
                "FROM events"
            )
        finally:
            await conn.close()
        return [
            Row(
                r["time"],
                r["source"],
                r["id"],
                r["type"],
                r["subject"],
                orjson.loads(r["g"]) if r["g"] else None,
            )
            for r in found
        ]

    found = asyncio.run(read())
    return sorted(found, key=lambda r: (r.time, r.source, r.id), reverse=True)


async def collect(
    client: Any, params: dict[str, Any], page: int = 1000
) -> list[dict[str, Any]]:
    """Every event of a query, following next_cursor to the last page."""
    events: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = {**params, "limit": page, **({"cursor": cursor} if cursor else {})}
        answer = await client.get("/api/events", params=query)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        events.extend(body["events"])
        cursor = body["next_cursor"]
        if cursor is None:
            return events
    pytest.fail("more than 1000 pages")


def keys(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["source"], e["id"]) for e in events]


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def test_paging_visits_every_event_once_newest_first(
    dashboard: Running, rows: list[Row], archive: Archive
) -> None:
    events = await collect(dashboard.client, {})

    assert len(events) == archive.rows == len(rows)
    assert keys(events) == [r.key for r in rows]
    for event in events[:50]:
        assert event["specversion"] == "1.0"
        assert {"id", "source", "type", "time", "datacontenttype", "data"} <= set(event)


async def test_default_page_holds_100_events_and_a_cursor(
    dashboard: Running, rows: list[Row]
) -> None:
    answer = await dashboard.client.get("/api/events")

    body = answer.json()
    assert answer.headers["content-type"] == "application/json"
    assert keys(body["events"]) == [r.key for r in rows[:100]]
    assert body["next_cursor"].startswith("v1.")


@pytest.mark.parametrize("given", ["since", "until", "both"])
async def test_time_filters_keep_events_inside_the_window(
    dashboard: Running, rows: list[Row], given: str
) -> None:
    times = sorted({r.time for r in rows})
    since, until = times[len(times) // 4], times[len(times) // 2]
    params = {
        "since": {"since": iso(since)},
        "until": {"until": iso(until)},
        "both": {"since": iso(since), "until": iso(until)},
    }[given]
    low = since if "since" in params else datetime.min.replace(tzinfo=UTC)
    high = until if "until" in params else datetime.max.replace(tzinfo=UTC)
    expected = [r.key for r in rows if low <= r.time < high]
    assert 0 < len(expected) < len(rows)

    assert keys(await collect(dashboard.client, params)) == expected


async def test_time_without_offset_is_read_as_utc(
    dashboard: Running, rows: list[Row]
) -> None:
    since = sorted({r.time for r in rows})[len(rows) // 3]
    naive = since.astimezone(UTC).replace(tzinfo=None).isoformat()
    offset = since.astimezone(timezone(timedelta(hours=2))).isoformat()

    first = await collect(dashboard.client, {"since": naive})
    second = await collect(dashboard.client, {"since": offset})

    assert keys(first) == keys(second) == [r.key for r in rows if r.time >= since]


async def test_type_filter_keeps_one_type(dashboard: Running, rows: list[Row]) -> None:
    expected = [r.key for r in rows if r.type == QUAKE]
    assert expected

    assert keys(await collect(dashboard.client, {"type": QUAKE})) == expected


async def test_repeated_type_keeps_any_of_them(
    dashboard: Running, rows: list[Row]
) -> None:
    wanted = {QUAKE, "central.fire.hotspot", "central.wx.alert"}
    present = {r.type for r in rows} & wanted
    assert len(present) >= 2, {r.type for r in rows}
    expected = [r.key for r in rows if r.type in wanted]

    got = await collect(dashboard.client, {"type": sorted(wanted)})

    assert keys(got) == expected


async def test_source_filter_keeps_one_source(
    dashboard: Running, rows: list[Row]
) -> None:
    source = "https://earthquake.usgs.gov/earthquakes/feed/v1.0"
    expected = [r.key for r in rows if r.source == source]
    assert expected

    assert keys(await collect(dashboard.client, {"source": source}, page=37)) == (
        expected
    )


async def test_subject_filter_keeps_one_record(
    dashboard: Running, rows: list[Row], archive: Archive
) -> None:
    expected = [r.key for r in rows if r.subject == archive.revised_subject]
    assert len(expected) == 2

    got = await collect(dashboard.client, {"subject": archive.revised_subject})

    assert keys(got) == expected


def _intersects(row: Row, bbox: tuple[float, float, float, float]) -> bool:
    return row.geometry is not None and shape(row.geometry).intersects(box(*bbox))


@pytest.mark.parametrize(
    "bbox",
    [CALIFORNIA, (-30.0, 30.0, 45.0, 72.0), (100.0, -50.0, 180.0, 10.0)],
    ids=["california", "europe", "southeast"],
)
async def test_bbox_keeps_events_whose_geometry_intersects_the_box(
    dashboard: Running, rows: list[Row], bbox: tuple[float, float, float, float]
) -> None:
    expected = [r.key for r in rows if _intersects(r, bbox)]
    assert 0 < len(expected) < len(rows)

    got = await collect(dashboard.client, {"bbox": ",".join(map(str, bbox))})

    assert keys(got) == expected


async def test_bbox_is_read_longitude_first(
    dashboard: Running, rows: list[Row]
) -> None:
    """California, lon/lat order, holds USGS's quakes; its lat/lon twin does not."""
    lon_first = await collect(dashboard.client, {"bbox": "-125,32,-114,42"})
    lat_first = await dashboard.client.get(
        "/api/events", params={"bbox": "32,-125,42,-114"}
    )

    assert any(e["source"].startswith("https://earthquake.usgs.gov") for e in lon_first)
    assert lat_first.status_code == 400
    assert lat_first.json()["error"]["parameter"] == "bbox"


async def test_near_keeps_events_within_the_distance(
    dashboard: Running, rows: list[Row], shared_database: str
) -> None:
    lon, lat, km = -118.0, 34.0, 300.0
    conn = await asyncpg.connect(shared_database)
    try:
        found = await conn.fetch(
            "SELECT source, id FROM events WHERE geom IS NOT NULL AND "
            "ST_Distance(geom::geography, ST_MakePoint($1, $2)::geography) <= $3",
            lon,
            lat,
            km * 1000,
        )
    finally:
        await conn.close()
    within = {(r["source"], r["id"]) for r in found}
    expected = [r.key for r in rows if r.key in within]
    assert 0 < len(expected) < len(rows)

    got = await collect(dashboard.client, {"near": f"{lon},{lat},{km}"})

    assert keys(got) == expected


async def test_filters_combine_as_and(dashboard: Running, rows: list[Row]) -> None:
    since = min(r.time for r in rows if r.type == QUAKE) + timedelta(hours=6)
    expected = [
        r.key
        for r in rows
        if r.type == QUAKE and r.time >= since and _intersects(r, CALIFORNIA)
    ]
    assert expected

    got = await collect(
        dashboard.client,
        {"type": QUAKE, "since": iso(since), "bbox": "-125,32,-114,42"},
        page=7,
    )

    assert keys(got) == expected


async def test_page_size_is_the_limit(dashboard: Running, rows: list[Row]) -> None:
    answer = await dashboard.client.get("/api/events", params={"limit": 1000})

    assert len(answer.json()["events"]) == 1000

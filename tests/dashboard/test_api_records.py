"""One event, one record's history, GeoJSON pages, and paging while events arrive."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import asyncpg
import orjson
import pytest
from dashboard.harness import Archive, Running, serving, settings_for

USGS = "https://earthquake.usgs.gov/earthquakes/feed/v1.0"
QUAKE = "central.quake.earthquake"
GEOMETRY_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}


async def _first(dashboard: Running, **params: Any) -> dict[str, Any]:
    answer = await dashboard.client.get("/api/events", params={"limit": 1, **params})
    event: dict[str, Any] = answer.json()["events"][0]
    return event


@pytest.mark.parametrize("encoded", [True, False], ids=["percent-encoded", "raw"])
async def test_event_by_source_and_id_is_the_listed_event(
    dashboard: Running, encoded: bool
) -> None:
    listed = await _first(dashboard, source=USGS)
    source = quote(USGS, safe="") if encoded else USGS

    answer = await dashboard.client.get(f"/api/events/{source}/{listed['id']}")

    assert answer.status_code == 200, answer.text
    assert answer.json() == listed


async def test_event_of_another_source_with_that_id_is_absent(
    dashboard: Running,
) -> None:
    listed = await _first(dashboard, source=USGS)
    other = quote("https://www.seismicportal.eu/fdsnws/event/1", safe="")

    answer = await dashboard.client.get(f"/api/events/{other}/{listed['id']}")

    assert answer.status_code == 404


async def test_history_lists_every_revision_oldest_first(
    dashboard: Running, archive: Archive
) -> None:
    answer = await dashboard.client.get(
        f"/api/subjects/{quote(archive.revised_subject, safe='')}/history"
    )

    body = answer.json()
    assert answer.status_code == 200
    assert body["subject"] == archive.revised_subject
    assert body["truncated"] is False
    revisions = body["events"]
    assert [e["subject"] for e in revisions] == [archive.revised_subject] * 2
    assert revisions[0]["id"] != revisions[1]["id"]
    assert revisions[1]["data"]["magnitude"] == 3.3
    assert revisions[0]["data"]["magnitude"] != 3.3
    assert revisions[0]["data"]["updated"] < revisions[1]["data"]["updated"]


async def test_history_narrowed_to_another_source_is_absent(
    dashboard: Running, archive: Archive
) -> None:
    answer = await dashboard.client.get(
        f"/api/subjects/{archive.revised_subject}/history",
        params={"source": "https://www.seismicportal.eu/fdsnws/event/1"},
    )

    assert answer.status_code == 404


def _positions(coordinates: Any) -> list[list[float]]:
    if coordinates and isinstance(coordinates[0], int | float):
        return [coordinates]
    return [p for part in coordinates for p in _positions(part)]


def _check_geometry(geometry: dict[str, Any]) -> None:
    kind = geometry["type"]
    assert kind in GEOMETRY_TYPES
    if kind == "GeometryCollection":
        for part in geometry["geometries"]:
            _check_geometry(part)
        return
    positions = _positions(geometry["coordinates"])
    assert positions, geometry
    for position in positions:
        assert len(position) in (2, 3)
        lon, lat = position[0], position[1]
        assert math.isfinite(lon) and -180 <= lon <= 180
        assert math.isfinite(lat) and -90 <= lat <= 90
    rings = []
    if kind == "Polygon":
        rings = geometry["coordinates"]
    elif kind == "MultiPolygon":
        rings = [ring for polygon in geometry["coordinates"] for ring in polygon]
    for ring in rings:
        assert len(ring) >= 4 and ring[0] == ring[-1], "a closed linear ring"


@pytest.mark.parametrize("how", ["format", "accept"])
async def test_geojson_page_is_a_valid_feature_collection(
    dashboard: Running, how: str
) -> None:
    if how == "format":
        answer = await dashboard.client.get(
            "/api/events", params={"format": "geojson", "limit": 1000}
        )
    else:
        answer = await dashboard.client.get(
            "/api/events",
            params={"limit": 1000},
            headers={"Accept": "application/geo+json"},
        )

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/geo+json"
    body = answer.json()
    assert body["type"] == "FeatureCollection"
    assert body["next_cursor"].startswith("v1.")
    assert len(body["features"]) == 1000
    with_geometry = 0
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert set(feature) == {"type", "id", "geometry", "properties"}
        properties = feature["properties"]
        assert properties["id"] == feature["id"]
        assert properties["specversion"] == "1.0"
        if feature["geometry"] is not None:
            with_geometry += 1
            _check_geometry(feature["geometry"])
            assert "geometry" not in properties["data"]
    assert with_geometry > 0


async def test_geojson_of_every_kind_of_geometry_is_valid(dashboard: Running) -> None:
    """All events with a geometry, every provider and shape, through the pages."""
    cursor = None
    kinds: set[str] = set()
    while True:
        params = {"format": "geojson", "limit": 1000, "bbox": "-180,-90,180,90"}
        answer = await dashboard.client.get(
            "/api/events", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        body = answer.json()
        for feature in body["features"]:
            _check_geometry(feature["geometry"])
            kinds.add(feature["geometry"]["type"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert {"Point", "Polygon"} <= kinds


async def test_json_wins_when_format_says_so_over_accept(dashboard: Running) -> None:
    answer = await dashboard.client.get(
        "/api/events",
        params={"format": "cloudevents", "limit": 1},
        headers={"Accept": "application/geo+json"},
    )

    assert answer.headers["content-type"] == "application/json"
    assert "events" in answer.json()


async def _insert_newer(database_url: str, count: int, tag: str) -> None:
    """Events newer than anything archived, as the archiver would write them."""
    now = datetime.now(UTC) + timedelta(days=1)
    conn = await asyncpg.connect(database_url)
    try:
        for n in range(count):
            when = now + timedelta(seconds=n)
            attributes = {
                "specversion": "1.0",
                "id": f"{tag}{n:04d}",
                "source": USGS,
                "type": QUAKE,
                "time": when.isoformat().replace("+00:00", "Z"),
                "subject": f"{tag}{n}",
                "datacontenttype": "application/json",
            }
            await conn.execute(
                "INSERT INTO events (time, id, source, type, subject, nats_subject, "
                "stream, stream_seq, geom, data, attributes) VALUES ($1, $2, $3, $4, "
                "$5, 'central.quake.earthquake.usgs.9q5', 'CENTRAL_QUAKE', $6, "
                "ST_SetSRID(ST_MakePoint(-120, 36), 4326), $7::jsonb, $8::jsonb)",
                when,
                attributes["id"],
                USGS,
                QUAKE,
                attributes["subject"],
                1_000_000 + n,
                orjson.dumps(
                    {"geometry": {"type": "Point", "coordinates": [-120, 36]}}
                ).decode(),
                orjson.dumps(attributes).decode(),
            )
    finally:
        await conn.close()


async def test_paging_neither_repeats_nor_skips_while_newer_events_arrive(
    archive: Archive, own_archive: str
) -> None:
    async with serving(settings_for(archive.nats_url, own_archive)) as dashboard:
        params = {"type": QUAKE, "limit": 25}
        everything = {"type": QUAKE, "limit": 1000}
        before = (await dashboard.client.get("/api/events", params=everything)).json()
        expected = [(e["source"], e["id"]) for e in before["events"]]
        assert len(expected) > 75 and before["next_cursor"] is None

        seen: list[tuple[str, str]] = []
        cursor = None
        page = 0
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            body = (await dashboard.client.get("/api/events", params=query)).json()
            seen += [(e["source"], e["id"]) for e in body["events"]]
            page += 1
            if page in (1, 2):
                await _insert_newer(own_archive, 10, f"late{page}-")
            cursor = body["next_cursor"]
            if cursor is None:
                break

        assert seen == expected
        fresh = await dashboard.client.get("/api/events", params=params)
        assert fresh.json()["events"][0]["id"] == "late2-0009"

"""The batch writer's SQL: geometry shortcuts and error classification."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
import pytest

from central.events import encode_data, to_nats_headers
from central_archiver.database import Database
from central_archiver.rows import split
from central_archiver.settings import ArchiverSettings
from central_archiver.writer import GEOMETRY_SQL, BatchWriter, is_data_error

GEOMETRIES = {
    "point": {"type": "Point", "coordinates": [12.5, 41.9]},
    "point-z": {"type": "Point", "coordinates": [-122.4, 37.8, 10.0]},
    "point-ints": {"type": "Point", "coordinates": [0, -90]},
    "point-exponent": {"type": "Point", "coordinates": [1.5e2, -2.25e-3]},
    "point-zm": {"type": "Point", "coordinates": [1, 2, 3, 4]},
    "point-one-number": {"type": "Point", "coordinates": [1]},
    "point-text": {"type": "Point", "coordinates": ["1", "2"]},
    "point-null-z": {"type": "Point", "coordinates": [1, 2, None]},
    "point-scalar": {"type": "Point", "coordinates": "north"},
    "point-object": {"type": "Point", "coordinates": {"0": 1, "1": 2}},
    "point-crs": {
        "type": "Point",
        "coordinates": [5, 6],
        "crs": {"type": "name", "properties": {"name": "EPSG:3857"}},
    },
    "polygon": {
        "type": "Polygon",
        "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]],
    },
    "multipoint": {"type": "MultiPoint", "coordinates": [[0, 0], [1, 1, 5]]},
    "unknown-type": {"type": "Circle", "coordinates": [0, 0]},
}


async def _geometry(db: Any, sql: str, value: Any) -> tuple[str, str | None]:
    try:
        async with db.transaction():
            text = await db.fetchval(sql, orjson.dumps(value).decode())
    except asyncpg.PostgresError as exc:
        return ("error", type(exc).__name__)
    return ("ok", text)


async def test_geometry_sql_matches_postgis_geojson_reader(db: Any) -> None:
    """Same geometry, or an error for both, on every shape (one database)."""
    ours = f"SELECT ST_AsEWKT({GEOMETRY_SQL}) FROM (SELECT $1::jsonb AS g) AS geometry"
    reference = (
        "SELECT ST_AsEWKT(ST_Force2D(ST_SetSRID(ST_GeomFromGeoJSON($1::jsonb), 4326)))"
    )

    results = {
        name: (await _geometry(db, ours, value), await _geometry(db, reference, value))
        for name, value in GEOMETRIES.items()
    }

    assert {name: got for name, (got, want) in results.items() if got != want} == {}
    assert results["point-z"][0] == ("ok", "SRID=4326;POINT(-122.4 37.8)")


async def test_geometry_sql_gives_null_when_geometry_is_not_an_object(db: Any) -> None:
    sql = f"SELECT {GEOMETRY_SQL} FROM (SELECT $1::jsonb AS g) AS geometry"
    for value in (None, [1, 2], "text", 3):
        assert await db.fetchval(sql, orjson.dumps(value).decode()) is None, value


async def test_is_data_error_tells_bad_values_from_lost_connections(db: Any) -> None:
    with pytest.raises(asyncpg.PostgresError) as bad_json:
        await db.execute('SELECT \'{"a": "\\u0000"}\'::jsonb')
    with pytest.raises(asyncpg.PostgresError) as missing_table:
        await db.execute("SELECT * FROM no_such_table")

    assert is_data_error(bad_json.value)
    assert not is_data_error(missing_table.value)
    assert not is_data_error(ConnectionResetError())
    assert not is_data_error(asyncpg.ConnectionDoesNotExistError("gone"))


class _Msg:
    def __init__(self, event: Any, seq: int) -> None:
        self.headers = to_nats_headers(event)
        self.data = encode_data(event)
        self.subject = "central.quake.test.usgs.u0n"
        self.reply = f"$JS.ACK.CENTRAL_QUAKE.archiver-quake.1.{seq}.{seq}.1.0"


async def test_write_dead_letters_exactly_the_refused_rows_of_a_batch(
    migrated_url: str, db: Any, make: Any, quiet_log: Any
) -> None:
    bad_geometry = {"type": "Point", "coordinates": "north"}
    events = [make(n) for n in range(50)]
    refused = {0, 17, 18, 49}
    for index in refused:
        events[index] = make(index, geometry=bad_geometry)
    events[30] = events[30].model_copy(update={"subject": "nul\x00byte"})
    refused.add(30)
    events.append(events[5])  # the same event twice in one batch: one conflict
    msgs = [_Msg(event, seq) for seq, event in enumerate(events, start=1)]
    database = await Database.open(
        ArchiverSettings(database_url=migrated_url), quiet_log
    )
    try:
        result = await BatchWriter(database.pool).write(split("CENTRAL_QUAKE", msgs))
    finally:
        await database.close()

    assert set(result.rejected) == refused
    assert (result.rows, result.inserted, result.conflicts) == (51, 45, 1)
    assert result.dead_letters == len(refused)
    assert await db.fetchval("SELECT count(*) FROM events") == 45
    dead = await db.fetch("SELECT stream_seq, reason FROM dead_letters ORDER BY 1")
    assert [d["stream_seq"] for d in dead] == sorted(i + 1 for i in refused)
    assert all(d["reason"].startswith("database refused the event") for d in dead)

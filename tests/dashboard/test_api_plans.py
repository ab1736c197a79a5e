"""Archive queries run as the read-only role, bind every value, and use the indexes.

The plans are the dashboard's own statements (:func:`events_sql` and the Hub's),
explained on its own query pool; with sequential scans priced out, as they are on
a table of production size, each filter must reach its index.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from dashboard.harness import Archive, Running, serving, settings_for

from central_dashboard.cursor import Position, encode
from central_dashboard.hub import _EVENT_SQL, _HISTORY_SQL
from central_dashboard.queries import EventQuery, build_query, events_sql

USGS = "https://earthquake.usgs.gov/earthquakes/feed/v1.0"


def _indexes(plan: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(plan, dict):
        if "Index Name" in plan:
            found.add(plan["Index Name"])
        for value in plan.values():
            found |= _indexes(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= _indexes(value)
    return found


async def _plan(dashboard: Running, sql: str, args: list[Any]) -> set[str]:
    async with dashboard.hub.database.reader.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    return _indexes(json.loads(plan) if isinstance(plan, str) else plan)


def _keyset(query: EventQuery) -> EventQuery:
    position = Position(datetime(2024, 1, 1, tzinfo=UTC), USGS, "x")
    values = query.model_dump()
    values["cursor"] = encode(position, query.digest())
    return EventQuery(**values)


CASES = [
    ("bbox", {"bbox": "-125,32,-114,42"}, "events_geom_gist"),
    (
        "type-and-time",
        {"types": ["central.quake.earthquake"], "since": "2016-11-01T00:00:00Z"},
        "events_type_time_idx",
    ),
    ("near", {"near": "-118,34,100"}, "events_geog_gist"),
    ("source", {"source": USGS}, "events_source_time_idx"),
    ("subject", {"subject": "us10007b8y"}, "events_subject_time_idx"),
    ("keyset", {}, "events_time_source_id_key"),
]


@pytest.mark.parametrize(
    ("values", "index"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_event_query_uses_its_index(
    dashboard: Running, values: dict[str, Any], index: str
) -> None:
    query = build_query(values)
    if not values:
        query = _keyset(query)
    sql, args = events_sql(query)

    assert index in await _plan(dashboard, sql, args)


async def test_a_wide_circle_walks_the_time_index_instead_of_sorting(
    dashboard: Running,
) -> None:
    """Near the whole globe nearly every event matches: the newest come from the
    time index, filtered by distance, rather than all of them sorted."""
    sql, args = events_sql(build_query({"near": "0,0,20038"}))

    assert "events_time_source_id_key" in await _plan(dashboard, sql, args)


@pytest.mark.parametrize(
    "near", ["-118,34,100", "-120,38,500", "140,36,3000", "0,0,20038", "-75,-50,800"]
)
async def test_near_finds_exactly_what_st_dwithin_finds(
    dashboard: Running, near: str
) -> None:
    query = build_query({"near": near, "limit": 1000})
    sql, args = events_sql(query)
    lon, lat, km = (float(v) for v in near.split(","))
    async with dashboard.hub.database.reader.acquire() as conn:
        ours = [(r["source"], r["id"]) for r in await conn.fetch(sql, *args)]
        theirs = [
            (r["source"], r["id"])
            for r in await conn.fetch(
                "SELECT source, id FROM events WHERE ST_DWithin(geom::geography, "
                "ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3) "
                "ORDER BY time DESC, source DESC, id DESC LIMIT 1001",
                lon,
                lat,
                km * 1000,
            )
        ]

    assert ours == theirs
    assert ours or near == "-75,-50,800", "the archive has events there"


async def test_one_event_and_history_use_their_indexes(dashboard: Running) -> None:
    event = await _plan(dashboard, _EVENT_SQL, [USGS, "abc"])
    history = await _plan(dashboard, _HISTORY_SQL, ["us10007b8y", None, 1001])

    assert "events_id_idx" in event
    assert "events_subject_time_idx" in history


def test_values_travel_as_parameters_not_as_text() -> None:
    query = build_query(
        {
            "bbox": "-125.25,32.5,-114.75,42.125",
            "near": "-118.375,34.0625,12.5",
            "types": ["central.quake.earthquake"],
            "source": "src'; DROP TABLE events; --",
            "subject": "sub",
            "since": "2016-11-02T03:04:05Z",
        }
    )

    sql, args = events_sql(query)

    for literal in ("125.25", "118.375", "DROP", "quake", "sub'", "2016"):
        assert literal not in sql
    assert "src'; DROP TABLE events; --" in args
    assert -125.25 in args and 12500.0 in args


async def test_query_pool_runs_as_the_reader_role_read_only(
    dashboard: Running,
) -> None:
    pool = dashboard.hub.database.reader
    for _ in range(3):
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT current_user") == "central_reader"
            assert await conn.fetchval("SHOW transaction_read_only") == "on"
            assert await conn.fetchval("SHOW statement_timeout") == "5s"

    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await conn.execute("DELETE FROM events")
        # Even a transaction made read-write may not touch what the role only reads.
        for statement in (
            "DELETE FROM events",
            "UPDATE config.streams SET replicas = 1",
            "INSERT INTO config.stream_changes (stream, actor, before, after) "
            "VALUES ('x', 'y', '{}', '{}')",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await _read_write(conn, statement)


async def _read_write(conn: Any, statement: str) -> None:
    async with conn.transaction():
        await conn.execute("SET TRANSACTION READ WRITE")
        await conn.execute(statement)


async def test_statement_timeout_cancels_a_long_query(
    archive: Archive, shared_database: str
) -> None:
    settings = settings_for(
        archive.nats_url, shared_database, db_statement_timeout_s=0.2
    )
    async with (
        serving(settings) as dashboard,
        dashboard.hub.database.reader.acquire() as conn,
    ):
        with pytest.raises(asyncpg.QueryCanceledError):
            await conn.fetchval("SELECT pg_sleep(2)")

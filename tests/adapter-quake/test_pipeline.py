"""The event path end to end: replayed feeds → adapter → JetStream → archiver → rows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import orjson

from adapter_contract import FIXTURES, adapter, provision, wait_until
from central.replay import Fault, ReplayApp, running
from central_adapter_quake.feeds import FEEDS
from central_archiver.service import Archiver
from central_archiver.settings import ArchiverSettings

USGS = FIXTURES / "usgs-earthquake" / "usgs_all_day_2016-11-03_api1.5.2.geojson"
EMSC = FIXTURES / "emsc-seismicportal" / "emsc_fdsnws_event_json_2025-04-26.json"
USGS_SOURCE = "https://earthquake.usgs.gov/earthquakes/feed/v1.0"
EMSC_SOURCE = "https://www.seismicportal.eu/fdsnws/event/1"


def migrate(nats_url: str, database_url: str) -> None:
    env = {
        **os.environ,
        "CENTRAL_NATS_URL": nats_url,
        "CENTRAL_DATABASE_URL": database_url,
    }
    subprocess.run(
        [str(Path(sys.executable).parent / "central-archiver"), "migrate"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT source, count(*) AS n FROM events GROUP BY source")
    return {row["source"]: int(row["n"]) for row in rows}


async def test_replayed_feeds_land_once_each_and_revisions_add_one_row(
    nats_url: str, database_url: str
) -> None:
    await provision(nats_url)
    migrate(nats_url, database_url)
    emsc = orjson.loads(EMSC.read_bytes())
    broken_id = emsc["features"][7]["properties"]["unid"]
    emsc["features"][7]["geometry"] = None
    app = ReplayApp()
    usgs_route = app.serve("/usgs", USGS.read_bytes())
    emsc_route = app.serve("/emsc", orjson.dumps(emsc))
    for route in (usgs_route, emsc_route):
        route.fault = Fault(ignore_validators=True)
    archiver = Archiver(ArchiverSettings(nats_url=nats_url, database_url=database_url))
    await archiver.start()
    conn = await asyncpg.connect(database_url)
    try:
        async with (
            running(app) as base,
            adapter(
                "adapter-quake",
                FEEDS,
                nats_url,
                {"usgs": f"{base}/usgs", "emsc": f"{base}/emsc"},
            ),
        ):
            expected = {USGS_SOURCE: 151, EMSC_SOURCE: 429}
            await wait_until(
                lambda: _equal(conn, expected), 30, "every record as a row"
            )
            polls = usgs_route.hits, emsc_route.hits
            await wait_until(
                lambda: (
                    usgs_route.hits > polls[0] + 2 and emsc_route.hits > polls[1] + 2
                ),
                20,
                "more polls of the same payloads",
            )
            assert await counts(conn) == expected, "a re-poll added rows"

            usgs = orjson.loads(USGS.read_bytes())
            revised = usgs["features"][10]
            revised["properties"]["updated"] += 1000
            revised["properties"]["mag"] = 3.3
            app.serve("/usgs", orjson.dumps(usgs))
            expected[USGS_SOURCE] += 1
            await wait_until(lambda: _equal(conn, expected), 20, "the revision's row")

        history = await conn.fetch(
            "SELECT data->>'magnitude' AS mag FROM events WHERE subject = $1 "
            "ORDER BY data->>'updated'",
            revised["id"],
        )
        assert [r["mag"] for r in history][-1] == "3.3"
        assert len(history) == 2
        assert not await conn.fetchval(
            "SELECT count(*) FROM events WHERE subject = $1", broken_id
        )
        assert not await conn.fetchval("SELECT count(*) FROM events WHERE geom IS NULL")
        lon, lat = await conn.fetchrow(
            "SELECT ST_X(geom), ST_Y(geom) FROM events WHERE subject = $1",
            usgs["features"][0]["id"],
        )
        assert [lon, lat] == usgs["features"][0]["geometry"]["coordinates"][:2]
        assert not await conn.fetchval("SELECT count(*) FROM dead_letters")
    finally:
        await conn.close()
        await archiver.stop()


async def _equal(conn: asyncpg.Connection, expected: dict[str, int]) -> bool:
    return await counts(conn) == expected

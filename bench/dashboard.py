"""Dashboard query latency on an archive of a million events, through HTTP.

    uv run python bench/dashboard.py [--events N] [--requests M]

1. **fill**: N synthetic but realistic events (default 1,000,000) are copied
   (``COPY``) into ``events`` of a migrated database: spread over a year, 15
   types in the proportions a hub sees (fire hotspots most, declarations
   fewest), points spread evenly over the globe (space weather without any),
   ``data`` and ``attributes`` shaped as the adapters write them. The indexes are
   dropped for the copy and made again afterwards, then the table is analyzed.
2. **serve**: ``central-dashboard run`` (a child process) serves the archive.
3. **query**: M requests (default 300, after a warm-up) of each kind, one at a
   time, with httpx: ``GET /api/events`` with a 20 by 20 degree ``bbox``, a
   30-day ``since``/``until`` window and one ``type``; and with ``near`` (a point
   and 200 km). Each request's parameters are drawn at random; p50 and p95 are
   the client's wall-clock latency, HTTP included. Before, the indexes the
   planner picks for one query of each kind are printed.

Uses ``CENTRAL_NATS_URL`` / ``CENTRAL_DATABASE_URL`` when set, else starts its own
NATS and PostgreSQL. Prints each figure; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import orjson
from archiver import servers

from central.devservers import free_port
from central.provisioning import reconcile_all
from central_dashboard.queries import events_sql, parse_event_query

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
END = datetime(2025, 6, 1, tzinfo=UTC)
YEAR_S = 365 * 86_400
CHUNK = 50_000
SEED = 20250601

# type -> (share of events, source, has a geometry)
TYPES: dict[str, tuple[float, str, bool]] = {
    "central.fire.hotspot": (0.40, "https://firms.modaps.eosdis.nasa.gov", True),
    "central.quake.earthquake": (0.12, "https://earthquake.usgs.gov", True),
    "central.quake.quarry-blast": (0.01, "https://earthquake.usgs.gov", True),
    "central.quake.explosion": (0.005, "https://www.seismicportal.eu", True),
    "central.quake.other": (0.005, "https://www.seismicportal.eu", True),
    "central.wx.alert": (0.15, "https://api.weather.gov/alerts", True),
    "central.disaster.alert": (0.03, "https://www.gdacs.org", True),
    "central.disaster.natural-event": (0.02, "https://eonet.gsfc.nasa.gov", True),
    "central.disaster.declaration": (0.01, "https://www.fema.gov", True),
    "central.space.solar-wind-plasma": (0.10, "https://www.swpc.noaa.gov/sw", False),
    "central.space.xray-flux": (0.10, "https://www.swpc.noaa.gov/xray", False),
    "central.space.kp-index": (0.02, "https://www.swpc.noaa.gov/kp", False),
    "central.space.kp-index-1m": (0.02, "https://www.swpc.noaa.gov/kp1m", False),
    "central.space.xray-flare": (0.005, "https://www.swpc.noaa.gov/flares", False),
    "central.space.alert": (0.005, "https://www.swpc.noaa.gov/alerts", False),
}
GEO_TYPES = [name for name, (_, _, geo) in TYPES.items() if geo]
COLUMNS = (
    "time",
    "id",
    "source",
    "type",
    "subject",
    "nats_subject",
    "stream",
    "stream_seq",
    "received_at",
    "geom",
    "data",
    "attributes",
)


def say(message: str) -> None:
    print(message, flush=True)


def child_env(nats_url: str, database_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        CENTRAL_NATS_URL=nats_url,
        CENTRAL_DATABASE_URL=database_url,
        CENTRAL_HTTP_HOST="127.0.0.1",
        CENTRAL_HTTP_PORT=str(port),
        CENTRAL_LOG_LEVEL="WARNING",
    )
    return env


async def prepare(nats_url: str, database_url: str) -> None:
    """Migrate, provision the streams, and empty the events table."""
    subprocess.run(  # noqa: ASYNC221 - a one-shot step before anything is timed
        [str(BIN / "central-archiver"), "migrate"],
        check=True,
        env=child_env(nats_url, database_url, free_port()),
        stdout=subprocess.DEVNULL,
    )
    nc = await nats.connect(nats_url)
    await reconcile_all(nc.jetstream())
    await nc.close()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("TRUNCATE events")
    finally:
        await conn.close()


# -- the archive -----------------------------------------------------------------


def _point(rng: random.Random) -> tuple[float, float]:
    """A point spread evenly over the sphere (not over the lon/lat rectangle)."""
    lon = rng.uniform(-180.0, 180.0)
    lat = math.degrees(math.asin(rng.uniform(-1.0, 1.0)))
    return round(lon, 4), round(lat, 4)


def _row(rng: random.Random, n: int, kind: str) -> list[Any]:
    _, source, geo = TYPES[kind]
    when = END - timedelta(seconds=rng.uniform(0, YEAR_S))
    stamp = when.isoformat().replace("+00:00", "Z")
    domain = kind.split(".")[1]
    event_id = f"{n:016x}{rng.getrandbits(64):016x}"
    subject = f"{domain}-{n % 400_000:06d}"
    data: dict[str, Any] = {
        "magnitude": round(rng.uniform(0.5, 7.5), 1),
        "status": rng.choice(("automatic", "reviewed")),
        "title": f"Synthetic {kind.rsplit('.', 1)[1]} {n}",
        "updated": stamp,
        "extra": {"network": rng.choice(("us", "ci", "nc", "ak", "hv"))},
    }
    geom = None
    if geo:
        lon, lat = _point(rng)
        data["geometry"] = {"type": "Point", "coordinates": [lon, lat]}
        geom = f"SRID=4326;POINT({lon} {lat})"
    attributes = {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": kind,
        "time": stamp,
        "subject": subject,
        "datacontenttype": "application/json",
    }
    return [
        when.isoformat(),
        event_id,
        source,
        kind,
        subject,
        f"{kind}.bench.none",
        f"CENTRAL_{domain.upper()}",
        n + 1,
        when.isoformat(),
        geom,
        orjson.dumps(data).decode(),
        orjson.dumps(attributes).decode(),
    ]


def _chunks(count: int) -> Iterator[bytes]:
    rng = random.Random(SEED)
    kinds = list(TYPES)
    weights = [TYPES[k][0] for k in kinds]
    for start in range(0, count, CHUNK):
        out = io.StringIO()
        writer = csv.writer(out)
        picked = rng.choices(kinds, weights, k=min(CHUNK, count - start))
        for offset, kind in enumerate(picked):
            writer.writerow(_row(rng, start + offset, kind))
        yield out.getvalue().encode()


async def fill(database_url: str, count: int) -> float:
    """Copy ``count`` events in, indexes dropped meanwhile; seconds taken."""
    started = time.monotonic()
    conn = await asyncpg.connect(database_url, command_timeout=3600)
    try:
        indexes = await conn.fetch(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.schemaname = 'public' AND i.tablename = 'events' "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conname = i.indexname)"
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX public."{index["indexname"]}"')

        async def source() -> AsyncIterator[bytes]:
            for chunk in _chunks(count):
                yield chunk
                await asyncio.sleep(0)

        await conn.copy_to_table(
            "events", source=source(), columns=COLUMNS, format="csv", null=""
        )
        copied = time.monotonic() - started
        say(f"  copied {count:,} events in {copied:.0f} s; making the indexes ...")
        for index in indexes:
            await conn.execute(index["indexdef"])
        await conn.execute("ANALYZE events")
    finally:
        await conn.close()
    return time.monotonic() - started


# -- the dashboard ---------------------------------------------------------------


@dataclass
class Dashboard:
    """A ``central-dashboard run`` child process and its URL."""

    proc: asyncio.subprocess.Process
    url: str

    def rss_mb(self, key: str = "VmRSS") -> float:
        """The process's RSS now (``VmHWM``: its peak) in MiB."""
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
        return 0.0


@contextlib.asynccontextmanager
async def dashboard(
    nats_url: str,
    database_url: str,
    env: dict[str, str] | None = None,
    nice: int = 0,
) -> AsyncIterator[Dashboard]:
    """``central-dashboard run`` (with ``env`` added, at ``nice``), ready."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "central-dashboard"),
        "run",
        env={**child_env(nats_url, database_url, port), **(env or {})},
        stdout=subprocess.DEVNULL,
        preexec_fn=(lambda: os.nice(nice)) if nice else None,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        break
                if time.monotonic() > deadline or proc.returncode is not None:
                    raise RuntimeError("central-dashboard did not become ready")
                await asyncio.sleep(0.1)
        yield Dashboard(proc, url)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def bbox_query(rng: random.Random) -> dict[str, Any]:
    lon = rng.uniform(-180, 160)
    lat = rng.uniform(-80, 60)
    since = END - timedelta(days=rng.uniform(30, 365))
    return {
        "bbox": f"{lon:.3f},{lat:.3f},{lon + 20:.3f},{lat + 20:.3f}",
        "since": since.isoformat(),
        "until": (since + timedelta(days=30)).isoformat(),
        "type": rng.choice(GEO_TYPES),
    }


def near_query(rng: random.Random) -> dict[str, Any]:
    lon, lat = _point(rng)
    return {"near": f"{lon},{lat},200"}


def _index_names(plan: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(plan, dict):
        if "Index Name" in plan:
            found.add(str(plan["Index Name"]))
        for value in plan.values():
            found |= _index_names(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= _index_names(value)
    return found


async def plan_indexes(database_url: str, make: Any) -> list[str]:
    """The indexes the planner picks for one query of a kind, as the dashboard
    asks it (its own SQL, as central_reader, default planner settings)."""
    params = make(random.Random(SEED))
    items = [(k, v) for k, value in params.items() for v in ([value] if value else [])]
    sql, args = events_sql(parse_event_query(items))
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET ROLE central_reader")
        plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    finally:
        await conn.close()
    return sorted(_index_names(orjson.loads(plan)))


async def measure(
    url: str, make: Any, requests: int, warmup: int = 30
) -> tuple[float, float, float]:
    """p50 and p95 in milliseconds, and the mean number of events per answer."""
    rng = random.Random(SEED + requests)
    latencies: list[float] = []
    sizes: list[int] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for n in range(warmup + requests):
            params = make(rng)
            started = time.perf_counter()
            answer = await client.get("/api/events", params=params)
            elapsed = (time.perf_counter() - started) * 1000
            if answer.status_code != 200:
                raise RuntimeError(f"{params}: {answer.status_code} {answer.text}")
            if n >= warmup:
                latencies.append(elapsed)
                sizes.append(len(answer.json()["events"]))
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49], cuts[94], statistics.fmean(sizes)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    async with servers() as (nats_url, database_url):
        await prepare(nats_url, database_url)
        say(f"filling the archive with {args.events:,} events ...")
        seconds = await fill(database_url, args.events)
        say(f"  archive ready in {seconds:.0f} s")
        bbox_plan = await plan_indexes(database_url, bbox_query)
        near_plan = await plan_indexes(database_url, near_query)
        say(f"plans: bbox + time + type uses {bbox_plan}; near uses {near_plan}")
        async with dashboard(nats_url, database_url) as served:
            url = served.url
            bbox = await measure(url, bbox_query, args.requests)
            say(
                f"bbox + time + type: p50 {bbox[0]:.1f} ms, p95 {bbox[1]:.1f} ms "
                f"({bbox[2]:.0f} events per answer on average)"
            )
            near = await measure(url, near_query, args.requests)
            say(
                f"near (200 km): p50 {near[0]:.1f} ms, p95 {near[1]:.1f} ms "
                f"({near[2]:.0f} events per answer on average)"
            )

    print(
        orjson.dumps(
            {
                "events": args.events,
                "requests": args.requests,
                "fill_s": round(seconds, 1),
                "bbox_time_type_p50_ms": round(bbox[0], 2),
                "bbox_time_type_p95_ms": round(bbox[1], 2),
                "bbox_time_type_mean_events": round(bbox[2], 1),
                "near_p50_ms": round(near[0], 2),
                "near_p95_ms": round(near[1], 2),
                "near_mean_events": round(near[2], 1),
                "bbox_time_type_indexes": bbox_plan,
                "near_indexes": near_plan,
            }
        ).decode()
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""The archiver's drain rate while a thousand dashboard clients flood the archive.

    uv run python bench/dashboard_attack.py [--archive M] [--events N] [--clients C]
        [--query-connections Q] [--dashboard-nice D] [--load-nice L]
        [--tolerance T]

1. **fill**: M synthetic events (default 1,000,000) are copied into ``events``,
   as ``bench/dashboard.py`` does, so the dashboard has a real archive to query;
   ``central-dashboard run`` (a child process at nice D, default 6; default
   settings but ``CENTRAL_DB_QUERY_CONNECTIONS`` = Q, default 4) serves it.
2. **quiet drain**: N quake events (default 100,000) are published to
   ``CENTRAL_QUAKE`` and drained by ``central-archiver run`` (a child process)
   into the same table, as ``bench/archiver.py`` does; events/s from the first
   row to the last.
3. **flooded drain**: N more are drained while C concurrent clients (default
   1,000, each from a loopback address of its own) ask the dashboard, each one
   request after another and never waiting for ``Retry-After``, for a mix:
   pages of 100 and of 1,000, a box with a window and a type, a distance,
   GeoJSON, the whole globe, one event, a history, the streams, the adapters,
   and bad input (a bad limit, an injection, a forged cursor). The flood runs
   in a child process at nice L (default 19), starts before the archiver and
   stops after the last row; the CPU time the archiver, the dashboard, its
   query pool's server processes and the load generator used meanwhile is
   printed.
4. **quiet drain** again, so the quiet rate is the mean of one run before and
   one after the flood.

Prints both rates and their ratio, the dashboard's peak RSS, the flood's request
p50/p95 and status counts; exits 1 when the ratio is below T (default 0.7).

The priorities stand for a deployment: the dashboard at nice 6 weighs about a
quarter of the archiver, as ``cpu_shares: 256`` in ``compose.yaml`` and
``CPUWeight=25`` in the quadlet make it; the load generator at nice 19 gets only
the CPU the hub leaves, as clients on other machines would take none of it.
``--dashboard-nice 0 --load-nice 0`` puts all on one footing: then the ratio also
pays for the CPU the load generator takes to make its requests.
Uses ``CENTRAL_NATS_URL`` / ``CENTRAL_DATABASE_URL`` when set, else starts its own
NATS and PostgreSQL. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import nats
import nats.js.errors
import orjson
from archiver import (
    DURABLE,
    STREAM,
    make_events,
    prepare,
    publish,
    servers,
    start_archiver,
    stop_archiver,
)
from dashboard import Dashboard, bbox_query, dashboard, fill, near_query, say

from central.devservers import loopback_client

SEED = 20251203
Query = Callable[[random.Random], tuple[str, dict[str, str]]]


# -- the dashboard ---------------------------------------------------------------


async def mix(url: str) -> list[tuple[str, Query]]:
    """The flood's request kinds, each a function of a random generator."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        page = (await client.get("/api/events", params={"limit": 2})).json()
    event = page["events"][0]
    one = f"/api/events/{quote(event['source'], safe='')}/{event['id']}"
    history = f"/api/subjects/{quote(event['subject'], safe='')}/history"

    def fixed(path: str, **params: str) -> Query:
        return lambda rng: (path, params)

    return [
        ("page", fixed("/api/events")),
        ("page-1000", fixed("/api/events", limit="1000")),
        ("bbox-time-type", lambda rng: ("/api/events", bbox_query(rng))),
        ("near", lambda rng: ("/api/events", near_query(rng))),
        ("geojson", fixed("/api/events", format="geojson", limit="500")),
        ("whole-globe", fixed("/api/events", near="0,0,20038", limit="1000")),
        ("event", fixed(one)),
        ("history", fixed(history)),
        ("streams", fixed("/api/streams")),
        ("adapters", fixed("/api/adapters")),
        ("bad-limit", fixed("/api/events", limit="1000abc")),
        ("injection", fixed("/api/events", source="' OR '1'='1")),
        ("forged-cursor", fixed("/api/events", cursor="v1.WzFd")),
    ]


@dataclass
class Flood:
    """C clients asking one request after another until stopped."""

    url: str
    kinds: list[tuple[str, Query]]
    clients: int
    statuses: Counter[str] = field(default_factory=Counter)
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    latencies_s: list[float] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set once as many answers came back as there are clients.
    warm: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        # Each client connects from a loopback address of its own, so that the
        # dashboard sees as many peers as there are clients. A fresh connection
        # per request: a kept-alive one may be closed by the server's idle timer
        # while this busy process gets round to reusing it, which would count as
        # a failure that is not the server's.
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=0)
        pool = [
            loopback_client(n, self.url, timeout=60, limits=limits)
            for n in range(self.clients)
        ]
        try:
            await asyncio.gather(
                *(self._client(n, pool[n]) for n in range(self.clients))
            )
        finally:
            for client in pool:
                await client.aclose()

    async def _client(self, n: int, client: httpx.AsyncClient) -> None:
        rng = random.Random(SEED + n)
        while not self.stop.is_set():
            kind, make = rng.choice(self.kinds)
            path, params = make(rng)
            started = time.perf_counter()
            try:
                status = str((await client.get(path, params=params)).status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            self.latencies_s.append(time.perf_counter() - started)
            self.statuses[status] += 1
            self.by_kind.setdefault(kind, Counter())[status] += 1
            if len(self.latencies_s) >= self.clients:
                self.warm.set()

    def report(self) -> dict[str, Any]:
        cuts = statistics.quantiles(self.latencies_s, n=100, method="inclusive")
        return {
            "requests": len(self.latencies_s),
            "p50_ms": round(cuts[49] * 1000, 1),
            "p95_ms": round(cuts[94] * 1000, 1),
            "statuses": dict(self.statuses),
            "by_kind": {kind: dict(c) for kind, c in sorted(self.by_kind.items())},
        }


def flood_process(
    url: str, clients: int, nice: int, warm: Any, stop: Any, out: Any
) -> None:
    """A child process's flood: ``warm`` is set at full strength; after ``stop``
    the report goes to ``out``. At ``nice`` > 0 it stands for clients on other
    machines, which take none of the hub's CPU to make their requests."""
    if nice:
        os.nice(nice)

    async def run() -> None:
        flood = Flood(url, await mix(url), clients)
        task = asyncio.create_task(flood.run())
        await flood.warm.wait()
        warm.set()
        await asyncio.to_thread(stop.wait)
        flood.stop.set()
        await task
        out.put(flood.report())

    asyncio.run(run())


# -- draining --------------------------------------------------------------------


async def drained(
    nats_url: str,
    database_url: str,
    since: Any,
    expected: int,
    proc: subprocess.Popen[bytes],
) -> tuple[int, float]:
    """Wait until ``expected`` rows arrived after ``since``; (rows, span s).

    Progress is read from the archiver's consumer (it acks after each commit):
    counting rows in a table of a million would itself take CPU from the drain.
    """
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    deadline = time.monotonic() + max(300, expected / 500)
    try:
        last = (await js.stream_info(STREAM)).state.last_seq
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the archiver exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expected} rows not archived")
            with contextlib.suppress(nats.js.errors.NotFoundError):
                info = await js.consumer_info(STREAM, DURABLE)
                if info.ack_floor.stream_seq >= last:
                    break
            await asyncio.sleep(0.2)
    finally:
        await nc.close()
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, extract(epoch FROM max(received_at) - "
            "min(received_at)) AS span FROM public.events WHERE received_at >= $1",
            since,
        )
    finally:
        await conn.close()
    return int(row["n"]), float(row["span"] or 0.0)


def cpu_s(pid: int) -> float:
    """User and system CPU seconds process ``pid`` has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Drain:
    events_per_s: float
    #: CPU seconds the archiver process used.
    archiver_cpu_s: float


async def drain(nats_url: str, database_url: str, count: int) -> Drain:
    """Let the archiver drain ``count`` events already published."""
    conn = await asyncpg.connect(database_url)
    since = await conn.fetchval("SELECT now()")
    await conn.close()
    proc = start_archiver(nats_url, database_url)
    try:
        rows, span = await drained(nats_url, database_url, since, count, proc)
        used = cpu_s(proc.pid)
    finally:
        await asyncio.to_thread(stop_archiver, proc)
    if rows != count:
        raise RuntimeError(f"archived {rows} rows, expected {count}")
    return Drain(count / span, used)


async def query_backends_cpu_s(database_url: str) -> dict[int, float]:
    """CPU seconds so far of each server process of the dashboard's query pool."""
    conn = await asyncpg.connect(database_url)
    try:
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity "
            "WHERE application_name = 'central-dashboard'"
        )
    finally:
        await conn.close()
    found = {}
    for row in pids:
        with contextlib.suppress(OSError):
            found[row["pid"]] = cpu_s(row["pid"])
    return found


@dataclass(frozen=True)
class FloodedDrain:
    drain: Drain
    #: CPU seconds meanwhile of the dashboard, of its query pool's server
    #: processes, and of the load generator.
    dashboard_cpu_s: float
    queries_cpu_s: float
    load_cpu_s: float
    flood: dict[str, Any]


async def flooded_drain(
    nats_url: str,
    database_url: str,
    count: int,
    served: Dashboard,
    clients: int,
    load_nice: int,
) -> FloodedDrain:
    """The drain with the flood running from before its start to after its end."""
    spawn = multiprocessing.get_context("spawn")
    warm, stop, out = spawn.Event(), spawn.Event(), spawn.Queue()
    load = spawn.Process(
        target=flood_process, args=(served.url, clients, load_nice, warm, stop, out)
    )
    load.start()
    try:
        # Every client has had an answer: the flood is at full strength.
        if not await asyncio.to_thread(warm.wait, 300):
            raise RuntimeError("the flood did not get going")
        dashboard_before = cpu_s(served.proc.pid)
        queries_before = await query_backends_cpu_s(database_url)
        assert load.pid is not None
        load_before = cpu_s(load.pid)
        drained_ = await drain(nats_url, database_url, count)
        queries_after = await query_backends_cpu_s(database_url)
        # A backend that started meanwhile counts from zero.
        queries = sum(
            used - queries_before.get(pid, 0.0) for pid, used in queries_after.items()
        )
        dashboard_used = cpu_s(served.proc.pid) - dashboard_before
        load_used = cpu_s(load.pid) - load_before
    finally:
        stop.set()
    report = await asyncio.to_thread(out.get, True, 120)
    await asyncio.to_thread(load.join, 30)
    return FloodedDrain(drained_, dashboard_used, queries, load_used, report)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument(
        "--query-connections",
        type=int,
        default=4,
        help="the dashboard's CENTRAL_DB_QUERY_CONNECTIONS (default 4, its own)",
    )
    parser.add_argument(
        "--dashboard-nice",
        type=int,
        default=6,
        help="nice value of the dashboard process (default 6: about the quarter "
        "CPU weight compose and the quadlet give it; 0 for the archiver's)",
    )
    parser.add_argument(
        "--load-nice",
        type=int,
        default=19,
        help="nice value of the load generator (default 19: it stands for clients "
        "on other machines; 0 makes it compete with the hub)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.7,
        help="exit 1 when the flooded / quiet ratio is below this (default 0.7)",
    )
    args = parser.parse_args()
    n = args.events

    async with servers() as (nats_url, database_url):
        await prepare(nats_url, database_url)
        say(f"filling the archive with {args.archive:,} events ...")
        say(f"  archive ready in {await fill(database_url, args.archive):.0f} s")
        async with dashboard(
            nats_url,
            database_url,
            {"CENTRAL_DB_QUERY_CONNECTIONS": str(args.query_connections)},
            args.dashboard_nice,
        ) as served:
            await publish(nats_url, make_events(n, 0))
            before = await drain(nats_url, database_url, n)
            say(f"archiver drain, dashboard idle: {before.events_per_s:,.0f} events/s")
            # Published before the flood, so that only the drain runs during it.
            await publish(nats_url, make_events(n, n))
            rss_idle = served.rss_mb()
            flooded = await flooded_drain(
                nats_url, database_url, n, served, args.clients, args.load_nice
            )
            peak = served.rss_mb("VmHWM")
            flood = flooded.flood
            say(
                f"archiver drain, {args.clients} dashboard clients: "
                f"{flooded.drain.events_per_s:,.0f} events/s; "
                f"{flood['requests']:,} requests, p50 {flood['p50_ms']:.0f} ms, "
                f"p95 {flood['p95_ms']:.0f} ms, statuses {flood['statuses']}"
            )
            for kind, counts in flood["by_kind"].items():
                say(f"  {kind}: {counts}")
            say(
                "CPU during the flooded drain: archiver "
                f"{flooded.drain.archiver_cpu_s:.1f} s (idle drain "
                f"{before.archiver_cpu_s:.1f} s), dashboard "
                f"{flooded.dashboard_cpu_s:.1f} s, its query backends "
                f"{flooded.queries_cpu_s:.1f} s, load generator "
                f"{flooded.load_cpu_s:.1f} s"
            )
            say(f"dashboard RSS: {rss_idle:.0f} MB idle, peak {peak:.0f} MB")
            await publish(nats_url, make_events(n, 2 * n))
            after = await drain(nats_url, database_url, n)
            say(
                "archiver drain, dashboard idle again: "
                f"{after.events_per_s:,.0f} events/s"
            )
    quiet = (before.events_per_s + after.events_per_s) / 2
    ratio = flooded.drain.events_per_s / quiet
    say(f"ratio flooded / quiet: {ratio:.2f} (tolerated: {args.tolerance:.2f})")
    print(
        orjson.dumps(
            {
                "archive_events": args.archive,
                "drained_events": n,
                "clients": args.clients,
                "query_connections": args.query_connections,
                "dashboard_nice": args.dashboard_nice,
                "load_nice": args.load_nice,
                "quiet_events_per_s": round(quiet),
                "quiet_before_events_per_s": round(before.events_per_s),
                "quiet_after_events_per_s": round(after.events_per_s),
                "flooded_events_per_s": round(flooded.drain.events_per_s),
                "ratio": round(ratio, 3),
                "tolerance": args.tolerance,
                "requests": flood["requests"],
                "p50_ms": flood["p50_ms"],
                "p95_ms": flood["p95_ms"],
                "statuses": flood["statuses"],
                "dashboard_idle_rss_mb": round(rss_idle, 1),
                "dashboard_peak_rss_mb": round(peak, 1),
                "flooded_cpu_s": {
                    "archiver": round(flooded.drain.archiver_cpu_s, 1),
                    "dashboard": round(flooded.dashboard_cpu_s, 1),
                    "dashboard_query_backends": round(flooded.queries_cpu_s, 1),
                    "load_generator": round(flooded.load_cpu_s, 1),
                },
                "quiet_archiver_cpu_s": round(before.archiver_cpu_s, 1),
            }
        ).decode()
    )
    return 0 if ratio >= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

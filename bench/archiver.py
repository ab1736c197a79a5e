"""Archiver throughput: drain, raw ceiling and live, on the same servers and table.

    uv run python bench/archiver.py [--events N] [--live-events M]

1. **drain**: N quake-shaped events already in ``CENTRAL_QUAKE`` are drained by the
   archiver (``central-archiver run``, a child process) into ``events``; events/s
   from the first row to the last.
2. **raw ceiling**: the same N events drained into the same table by the plainest
   fast loop: nats-py pull requests to a private inbox with the next batch asked
   for while the previous one commits, two writer connections, staged ``COPY``
   then ``INSERT ... ON CONFLICT DO NOTHING``.
3. **traced drain**: the drain again (the consumer deleted, the table emptied)
   with the archiver exporting its spans over OTLP/HTTP to a local receiver
   (``central otlp-sink``, a child process); the overhead is the traced rate's
   shortfall against the untraced one. Then once more with
   ``CENTRAL_TRACE_LINKS=trace`` (one link per producer trace).
4. **live**: a producer publishes M events as fast as it can while the archiver
   runs; the archiver's rate and its lag (events not yet archived) when the
   producer finishes.

Every event carries a ``traceparent`` as an adapter's would: one trace per thousand
events (one poll), one producer span per event.

Uses ``CENTRAL_NATS_URL`` / ``CENTRAL_DATABASE_URL`` when set, else starts its own
NATS and PostgreSQL.  Prints each figure; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import orjson
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig

from central.devservers import NatsServer, PostgresServer, free_port, throwaway_dir
from central.events import CloudEvent, percent_decode, to_nats_headers
from central.feeds import normalized
from central.ids import event_id
from central.provisioning import desired_streams, reconcile_all
from central.streams import BY_DOMAIN, GIB, StreamLimits

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STREAM = BY_DOMAIN["quake"].name
DURABLE = BY_DOMAIN["quake"].durable
TEMPLATE = (
    ROOT / "tests/fixtures/usgs-earthquake/usgs_4.5_day_2024-02-06_api1.10.3.geojson"
)


def say(message: str) -> None:
    print(message, flush=True)


# -- servers ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def servers() -> AsyncIterator[tuple[str, str]]:
    """NATS and database URLs: from the environment, else servers of our own."""
    nats_url = os.environ.get("CENTRAL_NATS_URL")
    database_url = os.environ.get("CENTRAL_DATABASE_URL")
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(throwaway_dir("central-bench-"))
        if not nats_url:
            nats_server = NatsServer(folder).start()
            stack.callback(nats_server.stop)
            nats_url = nats_server.url
        if not database_url:
            pg = PostgresServer(folder / "pg").start()
            stack.callback(pg.stop, "immediate")
            conn = await asyncpg.connect(pg.url)
            await conn.execute("CREATE DATABASE central_bench")
            await conn.close()
            database_url = pg.url.rsplit("/", 1)[0] + "/central_bench"
        yield nats_url, database_url


def archiver_env(
    nats_url: str,
    database_url: str,
    otlp_endpoint: str | None = None,
    trace_links: str = "message",
) -> dict[str, str]:
    env = {
        **os.environ,
        "CENTRAL_NATS_URL": nats_url,
        "CENTRAL_DATABASE_URL": database_url,
        # On loopback only: on every address, the port could clash with a
        # client socket of a load test bound to another loopback address.
        "CENTRAL_HTTP_HOST": "127.0.0.1",
        "CENTRAL_HTTP_PORT": str(free_port()),
        "CENTRAL_LOG_LEVEL": "WARNING",
    }
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    env.pop("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", None)
    if otlp_endpoint:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_endpoint
        env["CENTRAL_TRACE_LINKS"] = trace_links
    return env


async def prepare(nats_url: str, database_url: str) -> None:
    """Migrate, and (re)create the quake stream large enough for the run."""
    subprocess.run(  # noqa: ASYNC221 - a one-shot step before anything is timed
        [str(BIN / "central-archiver"), "migrate"],
        check=True,
        env=archiver_env(nats_url, database_url),
        stdout=subprocess.DEVNULL,
    )
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.delete_stream(STREAM)
    big = {
        STREAM: StreamLimits(
            max_age_s=7 * 86400, max_bytes=8 * GIB, duplicate_window_s=120
        )
    }
    await reconcile_all(js, desired_streams(big))
    await nc.close()


# -- producing -------------------------------------------------------------------


def template_features() -> list[dict[str, Any]]:
    return list(orjson.loads(TEMPLATE.read_bytes())["features"])


def make_event(
    templates: list[dict[str, Any]], n: int, base: datetime
) -> tuple[str, dict[str, str], bytes]:
    """The n-th synthetic quake: a real USGS feature with a fresh id, time and place."""
    feature = templates[n % len(templates)]
    lon, lat, depth = feature["geometry"]["coordinates"]
    lon = ((lon + n * 0.37) + 180) % 360 - 180
    lat = max(-89.0, min(89.0, lat + (n % 100) * 0.01))
    native = f"bench{n:09d}"
    when = base + timedelta(milliseconds=n)
    data = dict(feature["properties"])
    data["geometry"] = {"type": "Point", "coordinates": [lon, lat]}
    data["depth_km"] = depth
    event = CloudEvent(
        id=event_id("bench", native, "1"),
        source="https://earthquake.usgs.gov/earthquakes/feed/v1.0",
        type="central.quake.earthquake",
        time=when,
        subject=native,
        data=data,
    )
    item = normalized(event, "quake", "earthquake", "usgs", data["geometry"])
    headers = to_nats_headers(event)
    headers["traceparent"] = f"00-{n // 1000 + 1:032x}-{n + 1:016x}-01"
    return item.nats_subject, headers, item.body


def make_events(count: int, offset: int) -> list[tuple[str, dict[str, str], bytes]]:
    templates = template_features()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return [make_event(templates, n, base) for n in range(offset, offset + count)]


async def publish(
    nats_url: str, events: list[tuple[str, dict[str, str], bytes]]
) -> float:
    """Publish prepared events with acks pipelined; returns events/s."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream(publish_async_max_pending=8000)
    started = time.monotonic()
    futures = []
    for subject, headers, body in events:
        futures.append(await js.publish_async(subject, body, headers=headers))
        if len(futures) >= 20_000:
            await asyncio.gather(*futures)
            futures.clear()
    await asyncio.gather(*futures)
    rate = len(events) / (time.monotonic() - started)
    await nc.close()
    return rate


# -- database helpers ------------------------------------------------------------


async def reset_table(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    await conn.execute("TRUNCATE public.events")
    await conn.close()


async def row_span(database_url: str) -> tuple[int, float]:
    """Rows in ``events`` and seconds between the first and the last commit."""
    conn = await asyncpg.connect(database_url)
    row = await conn.fetchrow(
        "SELECT count(*) AS n, extract(epoch FROM max(received_at) - min(received_at))"
        " AS span FROM public.events"
    )
    await conn.close()
    return int(row["n"]), float(row["span"] or 0.0)


async def wait_rows(database_url: str, expected: int, timeout: float) -> None:
    conn = await asyncpg.connect(database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if await conn.fetchval("SELECT count(*) FROM public.events") >= expected:
                return
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    raise TimeoutError(f"{expected} rows not archived in {timeout}s")


async def delete_consumer(nats_url: str, name: str) -> None:
    nc = await nats.connect(nats_url)
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await nc.jetstream().delete_consumer(STREAM, name)
    await nc.close()


# -- the raw ceiling -------------------------------------------------------------

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS raw_stage (
    time timestamptz, id text, source text, type text, subject text,
    nats_subject text, stream_seq bigint, data jsonb, attributes jsonb, trace_id text
)"""
_INSERT = """
INSERT INTO public.events (time, id, source, type, subject, nats_subject, stream,
                           stream_seq, received_at, geom, data, attributes, trace_id)
SELECT time, id, source, type, subject, nats_subject, $1, stream_seq, now(),
       ST_SetSRID(ST_GeomFromGeoJSON(data -> 'geometry'), 4326), data, attributes,
       trace_id
FROM raw_stage
ON CONFLICT (time, source, id) DO NOTHING"""
_COLUMNS = (
    "time",
    "id",
    "source",
    "type",
    "subject",
    "nats_subject",
    "stream_seq",
    "data",
    "attributes",
    "trace_id",
)


def raw_row(msg: Msg) -> tuple[Any, ...]:
    attrs = {
        k[3:]: percent_decode(v)
        for k, v in (msg.headers or {}).items()
        if k.startswith("ce-")
    }
    seq = int(msg.reply.split(".")[-4]) if msg.reply else 0
    when = datetime.fromisoformat(attrs["time"].replace("Z", "+00:00"))
    return (
        when,
        attrs["id"],
        attrs["source"],
        attrs["type"],
        attrs.get("subject"),
        msg.subject,
        seq,
        msg.data.decode(),
        orjson.dumps(attrs).decode(),
        None,
    )


async def raw_drain(
    nats_url: str, database_url: str, expected: int, batch: int = 2000
) -> float:
    """Drain the stream with the plainest fast loop; returns events/s."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name="bench-raw",
            ack_policy=AckPolicy.EXPLICIT,
            max_ack_pending=-1,
            ack_wait=60,
        ),
    )
    inbox = nc.new_inbox()
    ready: asyncio.Queue[list[Msg]] = asyncio.Queue()
    current: list[Msg] = []

    async def on_message(msg: Msg) -> None:
        nonlocal current
        if msg.headers and msg.headers.get("Status"):
            if current:
                ready.put_nowait(current)
                current = []
            else:
                ready.put_nowait([])
            return
        current.append(msg)
        if len(current) >= batch:
            ready.put_nowait(current)
            current = []

    await nc.subscribe(
        inbox, cb=on_message, pending_msgs_limit=-1, pending_bytes_limit=-1
    )
    request = orjson.dumps({"batch": batch, "expires": 2_000_000_000})

    async def ask() -> None:
        await nc.publish(
            f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.bench-raw", request, reply=inbox
        )

    pool = await asyncpg.create_pool(
        database_url, min_size=2, max_size=2, init=lambda c: c.execute(_STAGE)
    )
    writers = asyncio.Semaphore(2)
    done = 0
    tasks: set[asyncio.Task[None]] = set()

    async def write(msgs: list[Msg]) -> None:
        nonlocal done
        rows = [raw_row(m) for m in msgs]
        async with writers, pool.acquire() as conn, conn.transaction():
            await conn.execute("TRUNCATE raw_stage")
            await conn.copy_records_to_table(
                "raw_stage", records=rows, columns=_COLUMNS
            )
            await conn.execute(_INSERT, STREAM)
        for m in msgs:
            await nc.publish(m.reply, b"+ACK")
        done += len(msgs)

    started = time.monotonic()
    received = 0
    await ask()
    while received < expected:
        msgs = await ready.get()
        await ask()  # the next batch travels while this one commits
        if not msgs:
            continue
        received += len(msgs)
        while len(tasks) >= 2:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.create_task(write(msgs))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    await nc.flush()
    elapsed = time.monotonic() - started
    await pool.close()
    await js.delete_consumer(STREAM, "bench-raw")
    await nc.close()
    rows, span = await row_span(database_url)
    if rows != expected:
        raise RuntimeError(f"raw drain archived {rows} rows, expected {expected}")
    return expected / (span or elapsed)


# -- the archiver ----------------------------------------------------------------


def start_archiver(
    nats_url: str,
    database_url: str,
    otlp_endpoint: str | None = None,
    trace_links: str = "message",
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "central-archiver"), "run"],
        env=archiver_env(nats_url, database_url, otlp_endpoint, trace_links),
        stdout=subprocess.DEVNULL,
    )


#: The peak RSS of each archiver process run, in kB, in run order.
_ARCHIVER_PEAKS_KB: list[int] = []


def stop_archiver(proc: subprocess.Popen[bytes]) -> None:
    # VmHWM is the process's own peak RSS; read it before the process goes.
    with contextlib.suppress(OSError), open(f"/proc/{proc.pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                kb = int(line.split()[1])
                _ARCHIVER_PEAKS_KB.append(kb)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def archiver_drain(
    nats_url: str,
    database_url: str,
    expected: int,
    otlp_endpoint: str | None = None,
    trace_links: str = "message",
) -> float:
    proc = start_archiver(nats_url, database_url, otlp_endpoint, trace_links)
    try:
        await wait_rows(database_url, expected, timeout=max(120, expected / 1000))
    finally:
        stop_archiver(proc)
    rows, span = await row_span(database_url)
    if rows != expected:
        raise RuntimeError(f"archiver archived {rows} rows, expected {expected}")
    return expected / span


async def live(
    nats_url: str, database_url: str, count: int, offset: int
) -> tuple[float, int, float]:
    """Producer and archiver together; (archiver events/s, lag, producer events/s)."""
    events = make_events(count, offset)
    proc = start_archiver(nats_url, database_url)
    try:
        await asyncio.sleep(1.0)  # let the archiver connect before the clock starts
        produced = await publish(nats_url, events)
        rows_at_end, _ = await row_span(database_url)
        await wait_rows(database_url, count, timeout=max(120, count / 1000))
    finally:
        stop_archiver(proc)
    rows, span = await row_span(database_url)
    return rows / span, count - rows_at_end, produced


@contextlib.asynccontextmanager
async def otlp_sink() -> AsyncIterator[str]:
    """A ``central otlp-sink`` child process on loopback; yields its endpoint."""
    port = free_port()
    proc = subprocess.Popen(  # noqa: ASYNC220 - started before anything is timed
        [str(BIN / "central"), "otlp-sink", "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def span_count(url: str) -> int:
    async with httpx.AsyncClient(timeout=30) as client:
        return len((await client.get(f"{url}/spans")).json()["spans"])


def peak_rss_mb() -> float:
    """Peak RSS of the archiver processes (not of the servers this script ran)."""
    return round(max(_ARCHIVER_PEAKS_KB, default=0) / 1024, 1)


def last_rss_mb() -> float:
    """Peak RSS of the archiver process that ran last."""
    return round(_ARCHIVER_PEAKS_KB[-1] / 1024, 1) if _ARCHIVER_PEAKS_KB else 0.0


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--live-events", type=int, default=100_000)
    args = parser.parse_args()
    n = args.events

    async with servers() as (nats_url, database_url):
        await prepare(nats_url, database_url)
        say(f"publishing {n} events to {STREAM} ...")
        say(
            f"  published at {await publish(nats_url, make_events(n, 0)):,.0f} events/s"
        )

        await reset_table(database_url)
        raw = await raw_drain(nats_url, database_url, n)
        say(f"raw ceiling: {raw:,.0f} events/s")

        await reset_table(database_url)
        drained = await archiver_drain(nats_url, database_url, n)
        rss_untraced = last_rss_mb()
        say(
            f"archiver drain: {drained:,.0f} events/s "
            f"(ratio to raw ceiling {drained / raw:.2f}; peak RSS {rss_untraced} MB)"
        )

        await reset_table(database_url)
        await delete_consumer(nats_url, DURABLE)
        async with otlp_sink() as endpoint:
            traced = await archiver_drain(nats_url, database_url, n, endpoint)
            spans = await span_count(endpoint)
        overhead = 1 - traced / drained
        rss_traced = last_rss_mb()
        say(
            f"archiver drain, tracing exported: {traced:,.0f} events/s "
            f"({spans} spans received; overhead {overhead:.1%} against "
            f"{drained:,.0f} events/s untraced; peak RSS {rss_traced} MB)"
        )

        await reset_table(database_url)
        await delete_consumer(nats_url, DURABLE)
        async with otlp_sink() as endpoint:
            per_trace = await archiver_drain(
                nats_url, database_url, n, endpoint, trace_links="trace"
            )
        per_trace_overhead = 1 - per_trace / drained
        say(
            f"archiver drain, tracing exported, one link per trace: "
            f"{per_trace:,.0f} events/s (overhead {per_trace_overhead:.1%}; "
            f"peak RSS {last_rss_mb()} MB)"
        )

        await reset_table(database_url)
        await delete_consumer(nats_url, DURABLE)
        await prepare(nats_url, database_url)
        rate, lag, produced = await live(nats_url, database_url, args.live_events, n)
        say(
            f"live: producer {produced:,.0f} events/s, archiver {rate:,.0f} events/s,"
            f" lag at producer end {lag} events"
        )

    rss = peak_rss_mb()
    say(f"peak RSS (archiver process): {rss} MB")
    print(
        orjson.dumps(
            {
                "archiver_events_per_s": round(drained),
                "raw_events_per_s": round(raw),
                "ratio": round(drained / raw, 3),
                "traced_events_per_s": round(traced),
                "tracing_overhead": round(overhead, 3),
                "spans_exported": spans,
                "traced_per_trace_links_events_per_s": round(per_trace),
                "tracing_per_trace_links_overhead": round(per_trace_overhead, 3),
                "live_events_per_s": round(rate),
                "live_lag_events": lag,
                "peak_rss_mb": rss,
                "drain_peak_rss_mb": rss_untraced,
                "traced_peak_rss_mb": rss_traced,
                "events": n,
            }
        ).decode()
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""What the attack tests need: raw HTTP, a dashboard process to measure, a storm.

- :func:`raw_request` writes bytes to the server as they are, for what httpx
  refuses to send (a megabyte of query string, a NUL in a header, a body that
  never arrives) and reads the status line of the answer.
- :class:`DashboardProcess` runs ``central-dashboard run`` as its own process,
  so its resident memory is the server's alone, and its log goes to a file.
- :func:`storm` fires many requests at once from several clients, while a
  prober asks ``/healthz`` on fresh connections, and a sampler follows the
  server's RSS.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import orjson
from dashboard.harness import TOKEN, wait_for

from central.devservers import free_port, loopback_client

BINARY = str(Path(sys.executable).parent / "central-dashboard")


@dataclass(frozen=True)
class RawAnswer:
    """What came back: the status (None when the server closed without one)."""

    status: int | None
    head: bytes
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


async def raw_request(
    port: int, head: bytes, body: bytes = b"", *, timeout: float = 15.0
) -> RawAnswer:
    """Send ``head`` (a request line and headers) and ``body`` verbatim.

    A server that answers and closes while the request is still being written
    may reset the connection; what was read by then is returned.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = b""
    try:
        with contextlib.suppress(ConnectionError):
            writer.write(head + body)
            await writer.drain()
        async with asyncio.timeout(timeout):
            with contextlib.suppress(ConnectionError):
                while b"\r\n\r\n" not in data or not _complete(data):
                    chunk = await reader.read(65536)
                    if not chunk:
                        break
                    data += chunk
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    head_bytes, _, rest = data.partition(b"\r\n\r\n")
    parts = head_bytes.split(b" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    return RawAnswer(status, head_bytes, rest)


def _complete(data: bytes) -> bool:
    head, _, rest = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(rest) >= int(value.strip())
    return True


def get(target: bytes, *headers: bytes) -> bytes:
    """The head of a GET of ``target`` with extra header lines."""
    lines = [b"GET " + target + b" HTTP/1.1", b"Host: 127.0.0.1", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


@dataclass
class DashboardProcess:
    """``central-dashboard run`` serving one archive, on a free loopback port."""

    proc: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def memory_mb(self) -> dict[str, float]:
        """``rss`` (now) and ``peak`` (the high-water mark) in MiB."""
        found: dict[str, float] = {}
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key = "rss" if line.startswith("VmRSS") else "peak"
                    found[key] = int(line.split()[1]) / 1024
        return found

    def log_events(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.log.read_bytes().splitlines():
            with contextlib.suppress(orjson.JSONDecodeError):
                lines.append(orjson.loads(raw))
        return lines


def _log_file(path: Path) -> BinaryIO:
    return path.open("wb")


@contextlib.asynccontextmanager
async def dashboard_process(
    nats_url: str, database_url: str, folder: Path, **settings: str
) -> AsyncIterator[DashboardProcess]:
    """Run the dashboard until the block ends; ready (``/readyz`` 200) on entry."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CENTRAL_", "OTEL_"))
    }
    port = free_port()
    env.update(
        {
            "CENTRAL_NATS_URL": nats_url,
            "CENTRAL_DATABASE_URL": database_url,
            "CENTRAL_HTTP_HOST": "127.0.0.1",
            "CENTRAL_HTTP_PORT": str(port),
            "CENTRAL_DASHBOARD_TOKEN": TOKEN,
            "CENTRAL_LOG_LEVEL": "WARNING",
            **settings,
        }
    )
    log = folder / f"dashboard-{port}.log"
    with _log_file(log) as out:
        proc = await asyncio.create_subprocess_exec(
            BINARY, "run", env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    running = DashboardProcess(proc, port, log)
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=5) as client:

            async def ready() -> bool:
                if proc.returncode is not None:
                    raise AssertionError(log.read_text()[-2000:])
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_for(ready, 40, "central-dashboard run to be ready")
        yield running
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()


@dataclass(frozen=True)
class Shot:
    """One request of a storm: a name for the report, a path and its parameters."""

    kind: str
    path: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class StormReport:
    """What a storm gave: statuses by kind, latencies, health probes, memory."""

    statuses: Counter[int | str] = field(default_factory=Counter)
    by_kind: dict[str, Counter[int | str]] = field(default_factory=dict)
    latencies_s: list[float] = field(default_factory=list)
    unavailable_reasons: Counter[str] = field(default_factory=Counter)
    health: list[tuple[int | str, float]] = field(default_factory=list)
    rss_before_mb: float = 0.0
    peak_rss_mb: float = 0.0
    wall_s: float = 0.0

    def quantile_ms(self, q: int) -> float:
        cuts = statistics.quantiles(self.latencies_s, n=100, method="inclusive")
        return cuts[q - 1] * 1000

    def summary(self) -> dict[str, Any]:
        return {
            "requests": len(self.latencies_s),
            "wall_s": round(self.wall_s, 2),
            "p50_ms": round(self.quantile_ms(50), 1),
            "p95_ms": round(self.quantile_ms(95), 1),
            "max_ms": round(max(self.latencies_s) * 1000, 1),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items(), key=str)},
            "health_probes": len(self.health),
            "health_max_ms": round(max((h[1] for h in self.health), default=0) * 1e3),
            "rss_before_mb": round(self.rss_before_mb, 1),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
        }


async def storm(
    server: DashboardProcess,
    shots: Sequence[Shot],
    *,
    clients: int = 10,
    timeout: float = 60.0,
) -> StormReport:
    """Fire every shot at once, spread over ``clients`` httpx clients.

    Each client connects from a loopback address of its own, so the server sees
    ``clients`` peers. A transport error or a client timeout is counted under its
    exception's name in place of a status.
    """
    report = StormReport(rss_before_mb=server.memory_mb()["rss"])
    per_client = len(shots) // clients + 1
    limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=0)
    pool = [
        loopback_client(n, server.url, timeout=timeout, limits=limits)
        for n in range(clients)
    ]
    done = asyncio.Event()

    async def fire(n: int, shot: Shot) -> None:
        started = time.perf_counter()
        try:
            answer = await pool[n % clients].get(shot.path, params=shot.params)
            status: int | str = answer.status_code
            if status == 503:
                report.unavailable_reasons[answer.json()["error"]["reason"]] += 1
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        report.latencies_s.append(time.perf_counter() - started)
        report.statuses[status] += 1
        report.by_kind.setdefault(shot.kind, Counter())[status] += 1

    async def probe() -> None:
        # Fresh connections: a reused one may be closed by the server's
        # keep-alive timer while this client waits for its turn on a busy loop.
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=server.url, timeout=timeout, limits=no_reuse
        ) as client:
            while not done.is_set():
                started = time.perf_counter()
                try:
                    status: int | str = (await client.get("/healthz")).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                report.health.append((status, time.perf_counter() - started))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), 0.1)

    async def sample() -> None:
        while not done.is_set():
            report.peak_rss_mb = max(report.peak_rss_mb, server.memory_mb()["rss"])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.05)

    watchers = [asyncio.create_task(probe()), asyncio.create_task(sample())]
    started = time.perf_counter()
    try:
        await asyncio.gather(*(fire(n, shot) for n, shot in enumerate(shots)))
    finally:
        report.wall_s = time.perf_counter() - started
        done.set()
        await asyncio.gather(*watchers)
        for client in pool:
            await client.aclose()
    report.peak_rss_mb = max(report.peak_rss_mb, server.memory_mb()["peak"])
    return report

"""Fixtures for the archiver: migrated databases, registry streams, event makers.

Everything runs against the real servers of the root conftest: a NATS server per
test and a fresh database per test. The streams are created here from the registry
(the stream-provisioner is a separate service).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest
from nats.js.api import DiscardPolicy, StorageType, StreamConfig

from central.events import CloudEvent, encode_data, to_nats_headers
from central.logs import configure
from central.streams import REGISTRY
from central_archiver.migrations import default_dir, migrate
from central_archiver.service import Archiver
from central_archiver.settings import ArchiverSettings

Predicate = Callable[[], Any]
BASE_TIME = datetime(2024, 2, 6, 12, 0, tzinfo=UTC)
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def wait_until(predicate: Predicate, timeout: float, what: str) -> Any:
    """Poll ``predicate`` (sync or async) until truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = predicate()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            pytest.fail(
                f"timed out after {timeout}s waiting for {what} (last: {last!r})"
            )
        await asyncio.sleep(0.05)


@pytest.fixture(autouse=True)
def _hermetic_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own CENTRAL_* variables out of the archiver's settings."""
    for name in list(os.environ):
        if name.startswith("CENTRAL_") and not name.startswith("CENTRAL_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[[Predicate, float, str], Awaitable[Any]]:
    return wait_until


class _Log:
    """A logger stand-in that records (event, fields) and ignores levels."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def bind(self, **fields: Any) -> _Log:
        return self

    def _record(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))

    debug = info = warning = error = exception = _record

    def events(self, name: str) -> list[dict[str, Any]]:
        return [fields for event, fields in self.lines if event == name]


@pytest.fixture
def quiet_log() -> _Log:
    configure("archiver", "WARNING")
    return _Log()


@pytest.fixture
async def migrated_url(database_url: str, quiet_log: _Log) -> str:
    """A fresh database with every migration applied."""
    await migrate(database_url, default_dir(), quiet_log)
    return database_url


@pytest.fixture
async def db(migrated_url: str) -> AsyncIterator[Any]:
    conn = await asyncpg.connect(migrated_url)
    try:
        yield conn
    finally:
        await conn.close()


async def create_streams(url: str) -> None:
    """Create every registry stream the way the provisioner would."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    for spec in REGISTRY:
        await js.add_stream(
            StreamConfig(
                name=spec.name,
                subjects=list(spec.subjects),
                max_age=spec.limits.max_age_s,
                max_bytes=spec.limits.max_bytes,
                duplicate_window=spec.limits.duplicate_window_s,
                num_replicas=spec.limits.replicas,
                storage=StorageType.FILE,
                discard=DiscardPolicy.OLD,
            )
        )
    await nc.close()


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Any]:
    """A publishing client on a server that has the registry streams."""
    await create_streams(nats_url)
    client = await nats.connect(nats_url)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def settings_for(
    quiet_log: _Log,
) -> Callable[..., ArchiverSettings]:
    def make(nats_url: str, database_url: str, **overrides: Any) -> ArchiverSettings:
        values: dict[str, Any] = {
            "nats_url": nats_url,
            "database_url": database_url,
            "batch_size": 200,
            "batch_linger_s": 0.005,
            "log_interval_s": 0,
            "nak_delay_s": 0.2,
            "db_backoff_max_s": 0.5,
            "pull_expires_s": 0.3,
            "shutdown_timeout_s": 10,
        }
        values.update(overrides)
        return ArchiverSettings(**values)

    return make


StartArchiver = Callable[..., Awaitable[Archiver]]


@pytest.fixture
async def start_archiver(
    nats_url: str,
    migrated_url: str,
    settings_for: Callable[..., ArchiverSettings],
    quiet_log: _Log,
) -> AsyncIterator[StartArchiver]:
    """Start in-process archivers on this test's servers; all stopped at the end."""
    started: list[Archiver] = []

    async def start(**overrides: Any) -> Archiver:
        urls = {"nats_url": nats_url, "database_url": migrated_url}
        urls.update(
            {
                k: overrides.pop(k)
                for k in ("nats_url", "database_url")
                if k in overrides
            }
        )
        service = Archiver(
            settings_for(urls["nats_url"], urls["database_url"], **overrides),
            log=quiet_log,
        )
        await service.start()
        started.append(service)
        return service

    yield start
    for service in started:
        await service.stop()


@pytest.fixture
async def archiver(nc: Any, start_archiver: StartArchiver) -> Archiver:
    """A running in-process archiver on this test's NATS server and database."""
    return await start_archiver()


def make_event(
    n: int,
    *,
    domain: str = "quake",
    geometry: dict[str, Any] | None = None,
    source: str = "https://earthquake.usgs.gov/feeds/test",
) -> CloudEvent:
    """Event number ``n``: distinct id and time, a point unless told otherwise."""
    geom = geometry or {"type": "Point", "coordinates": [10.0 + n % 100, 45.5, 7.0]}
    return CloudEvent(
        id=f"test-{domain}-{n}",
        source=source,
        type=f"central.{domain}.test",
        time=BASE_TIME + timedelta(seconds=n, microseconds=123_000),
        subject=f"rec{n}",
        data={"n": n, "magnitude": 4.2, "geometry": geom},
        extensions={"provider": "test"},
    )


async def publish(
    nc: Any,
    event: CloudEvent,
    *,
    traceparent: str | None = TRACEPARENT,
    msg_id: str | None = None,
) -> Any:
    """Publish ``event`` in binary mode on its domain's subject; the JetStream ack."""
    headers = to_nats_headers(event)
    if traceparent:
        headers["traceparent"] = traceparent
    if msg_id is not None:
        headers["Nats-Msg-Id"] = msg_id
    domain = event.type.split(".")[1]
    return await nc.jetstream().publish(
        f"central.{domain}.test.usgs.u0n", encode_data(event), headers=headers
    )


async def publish_many(nc: Any, events: list[CloudEvent], stream: str) -> None:
    """Publish without waiting for each ack, then wait until ``stream`` has them."""
    js = nc.jetstream()
    before = (await js.stream_info(stream)).state.messages
    for event in events:
        headers = {**to_nats_headers(event), "traceparent": TRACEPARENT}
        domain = event.type.split(".")[1]
        await nc.publish(
            f"central.{domain}.test.usgs.u0n", encode_data(event), headers=headers
        )
    await nc.flush()

    async def stored() -> bool:
        count = (await js.stream_info(stream)).state.messages
        return bool(count == before + len(events))

    await wait_until(stored, 20, f"{len(events)} messages stored in {stream}")


@pytest.fixture
def pub_many() -> Callable[[Any, list[CloudEvent], str], Awaitable[None]]:
    return publish_many


@pytest.fixture
def make() -> Callable[..., CloudEvent]:
    return make_event


@pytest.fixture
def pub() -> Callable[..., Awaitable[Any]]:
    return publish


@pytest.fixture
def streams() -> Callable[[str], Awaitable[None]]:
    """``await streams(url)`` creates the registry streams on that server."""
    return create_streams


class Rows:
    """Counting helpers for one database connection, for ``wait_until``."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def count(self, table: str = "events") -> int:
        return int(await self.conn.fetchval(f"SELECT count(*) FROM {table}"))

    def reach(self, n: int, table: str = "events") -> Predicate:
        """A predicate: the table holds exactly ``n`` rows."""

        async def check() -> bool:
            return await self.count(table) == n

        return check


@pytest.fixture
def rows(db: Any) -> Rows:
    return Rows(db)


@pytest.fixture
def trace_hex() -> str:
    """The trace id of the ``traceparent`` that ``publish`` adds."""
    return TRACEPARENT.split("-")[1]


class ArchiverProcess:
    """``central-archiver run`` as a child process, its output in a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ArchiverProcess:
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "central-archiver"), "run"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def signal(self, sig: signal.Signals) -> None:
        if self.process is not None:
            self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        if self.process is None:
            raise RuntimeError("the archiver process was never started")
        return self.process.wait(timeout=timeout)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.running() and self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def archiver_process(tmp_path: Path) -> Iterator[Callable[..., ArchiverProcess]]:
    """A factory of archiver child processes; any left running are killed."""
    made: list[ArchiverProcess] = []

    def spawn(env: dict[str, str], name: str = "archiver") -> ArchiverProcess:
        full = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        proc = ArchiverProcess(full, tmp_path / f"{name}.log").start()
        made.append(proc)
        return proc

    yield spawn
    for proc in made:
        proc.kill()

"""What the dashboard tests run on: a filled archive, and dashboards over HTTP.

:func:`fill` (once per session, see conftest.py) runs the real thing: its own NATS with
JetStream, a migrated database, the streams provisioned, the archiver, and every
adapter polling the recorded payloads of ``central dev --replay`` from a local
replay server, until each stream's messages are all rows; then one USGS record is
revised, so it has two revisions. Nobody connects to that database afterwards:
tests read a copy made from it as a template, and a test that writes clones its
own (:meth:`Archive.clone`).

:func:`serving` runs a dashboard app under uvicorn on a free loopback port, with
an httpx client pointed at it, so the tests go through real HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import orjson
import pytest
import uvicorn

from adapter_contract import adapter, provision
from central.dev import ADAPTERS
from central.devservers import free_port
from central.replay import ReplayApp, running
from central.streams import ARCHIVED
from central_archiver.migrations import default_dir, migrate
from central_archiver.service import Archiver
from central_archiver.settings import ArchiverSettings
from central_dashboard.app import create_app
from central_dashboard.settings import DashboardSettings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOKEN = "t0ken-for-tests"
USGS_PATH = ADAPTERS["adapter-quake"]["usgs"]
FILL_TIMEOUT_S = 90.0


class Quiet:
    """A logger that drops every line (what is under test is not the log)."""

    def bind(self, **_: Any) -> Quiet:
        return self

    def __getattr__(self, _name: str) -> Any:
        return lambda *_a, **_k: None


async def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    """Poll ``predicate`` (sync or async) until truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@dataclass
class Archive:
    """The filled archive: its NATS, the pristine database and what it holds."""

    pg_server_url: str
    nats_url: str
    pristine: str
    #: The upstream id of the USGS record that was revised once.
    revised_subject: str
    rows: int
    clones: list[str] = field(default_factory=list)

    def url(self, database: str) -> str:
        base, _, _ = self.pg_server_url.rpartition("/")
        return f"{base}/{database}"

    async def clone(self) -> str:
        """A new database copied from the pristine archive; its URL."""
        name = f"dash_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(self.pg_server_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.pristine}"')
        finally:
            await conn.close()
        self.clones.append(name)
        return self.url(name)


async def drop_databases(pg_server_url: str, names: list[str]) -> None:
    conn = await asyncpg.connect(pg_server_url)
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def fill(pg_server_url: str, template: str, nats_url: str, name: str) -> Archive:
    conn = await asyncpg.connect(pg_server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()
    base, _, _ = pg_server_url.rpartition("/")
    database_url = f"{base}/{name}"
    await migrate(database_url, default_dir(), Quiet())
    await provision(nats_url)

    app = ReplayApp()
    urls: dict[str, dict[str, str]] = {}
    runtimes: list[Any] = []
    archiver = Archiver(
        ArchiverSettings(
            nats_url=nats_url, database_url=database_url, batch_linger_s=0.005
        ),
        log=Quiet(),
    )
    await archiver.start()
    try:
        async with running(app) as replay, AsyncExitStack() as stack:
            for service, feeds in ADAPTERS.items():
                urls[service] = {}
                for feed, path in feeds.items():
                    body = (FIXTURES / path).read_bytes()
                    kind = "application/xml" if path.endswith(".xml") else None
                    kind = "text/csv" if path.endswith(".csv") else kind
                    app.serve(f"/{path}", body, kind or "application/json")
                    urls[service][feed] = f"{replay}/{path}"
                runtimes.append(
                    await stack.enter_async_context(_adapter(service, nats_url, urls))
                )
            # A poll has succeeded once it has published all it fetched.
            await wait_for(
                lambda: all(
                    loop.status.last_success for rt in runtimes for loop in rt.loops
                ),
                FILL_TIMEOUT_S,
                "a completed poll of every recorded payload",
            )
            rows = await wait_for(
                lambda: _archived(nats_url, database_url), FILL_TIMEOUT_S, "all rows"
            )
            revised = await _revise(app, nats_url, database_url, rows)
    finally:
        await archiver.stop()
    # Planner statistics travel with every copy made from this database.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return Archive(pg_server_url, nats_url, name, revised, rows + 1)


@asynccontextmanager
async def _adapter(
    service: str, nats_url: str, urls: dict[str, dict[str, str]]
) -> AsyncIterator[Any]:
    package = "central_" + service.replace("-", "_")
    feeds = importlib.import_module(f"{package}.feeds").FEEDS
    intervals = {f"{feed.replace('-', '_')}_interval_s": 0.5 for feed in urls[service]}
    async with adapter(
        service,
        {name: feeds[name] for name in urls[service]},
        nats_url,
        urls[service],
        **intervals,
    ) as runtime:
        yield runtime


async def _archived(nats_url: str, database_url: str) -> int:
    """The row count once every archived stream's messages are all rows, else 0."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        published = 0
        for spec in ARCHIVED:
            published += int((await js.stream_info(spec.name)).state.messages)
    finally:
        await nc.close()
    conn = await asyncpg.connect(database_url)
    try:
        rows = int(await conn.fetchval("SELECT count(*) FROM events"))
    finally:
        await conn.close()
    return rows if rows == published and rows > 0 else 0


async def _revise(app: ReplayApp, nats_url: str, database_url: str, rows: int) -> str:
    """Serve one USGS record revised and wait for its second row; its subject."""
    usgs = orjson.loads((FIXTURES / USGS_PATH).read_bytes())
    record = usgs["features"][10]
    record["properties"]["updated"] += 1000
    record["properties"]["mag"] = 3.3
    app.serve(f"/{USGS_PATH}", orjson.dumps(usgs))

    async def one_more() -> bool:
        return await _archived(nats_url, database_url) == rows + 1

    await wait_for(one_more, FILL_TIMEOUT_S, "the revision's row")
    return str(record["id"])


def settings_for(nats_url: str, database_url: str, **extra: Any) -> DashboardSettings:
    values: dict[str, Any] = {
        "nats_url": nats_url,
        "database_url": database_url,
        "dashboard_token": TOKEN,
        "http_host": "127.0.0.1",
        "http_port": 0,
    }
    values.update(extra)
    return DashboardSettings(**values)


@dataclass
class Running:
    """A dashboard served over HTTP, and a client for it."""

    app: Any
    url: str
    client: httpx.AsyncClient

    @property
    def hub(self) -> Any:
        return self.app.state.hub


@asynccontextmanager
async def serving(settings: DashboardSettings) -> AsyncIterator[Running]:
    """``create_app(settings)`` under uvicorn on a free loopback port."""
    app = create_app(settings)
    app.state.hub.log = Quiet()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            lifespan="on",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=2,
        )
    )
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: server.started or task.done(), 20, "uvicorn to start")
    if not server.started:
        await task
        pytest.fail("the dashboard did not start")
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            yield Running(app, url, client)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)

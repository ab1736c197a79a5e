"""Fixtures of the dashboard tests: the filled archive and a dashboard serving it.

``archive`` is filled once per session by the real pipeline (see
:func:`dashboard.harness.fill`); ``shared_database`` is a copy of it for tests that
only read, ``own_archive`` a copy of a test's own, and ``dashboard`` an app over the
shared copy and the archive's NATS, served over HTTP.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from dashboard.harness import (
    Archive,
    Running,
    drop_databases,
    fill,
    serving,
    settings_for,
)

from central.devservers import NatsServer, throwaway_dir


@pytest.fixture(scope="session")
def archive(pg_server_url: str, _template: str) -> Iterator[Archive]:
    """The archive of every recorded payload, filled by the real pipeline."""
    with throwaway_dir("central-dash-") as folder:
        server = NatsServer(folder).start()
        name = f"dash_pristine_{uuid.uuid4().hex[:8]}"
        drops = [name]
        try:
            filled = asyncio.run(fill(pg_server_url, _template, server.url, name))
            try:
                yield filled
            finally:
                drops += filled.clones
        finally:
            server.stop()
            asyncio.run(drop_databases(pg_server_url, drops))


@pytest.fixture(scope="session")
def shared_database(archive: Archive) -> str:
    """A copy of the archive for tests that only read (never write to it)."""
    return asyncio.run(archive.clone())


@pytest.fixture
async def own_archive(archive: Archive) -> str:
    """A copy of the archive of this test's own, to write to."""
    return await archive.clone()


@pytest.fixture
async def dashboard(archive: Archive, shared_database: str) -> AsyncIterator[Running]:
    """A dashboard over the shared (read-only) archive and its NATS."""
    async with serving(settings_for(archive.nats_url, shared_database)) as running_:
        yield running_

"""The archive database: the writer pool, its staging table, and a health gate.

Each pooled connection gets a session-local staging table when it is opened (and
again after any reconnect), so a batch is one ``COPY`` into it followed by one
``INSERT ... SELECT``. The gate turns a failed batch into a paused archiver: it is
tripped once, probes the server with ``SELECT 1`` under exponential back-off with
jitter, and reopens when the server answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

import asyncpg

from central_archiver.errors import SchemaMissingError
from central_archiver.settings import ArchiverSettings

STAGING_TABLE = "archiver_staging"
#: Column order of the staging table and of every record copied into it.
STAGING_COLUMNS = (
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
# ON COMMIT DELETE ROWS empties it at every commit, so a batch never sees the rows
# of the one before, even after a failed transaction.
_STAGING_DDL = f"""
CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} (
    time         timestamptz,
    id           text,
    source       text,
    type         text,
    subject      text,
    nats_subject text,
    stream_seq   bigint,
    data         jsonb,
    attributes   jsonb,
    trace_id     text
) ON COMMIT DELETE ROWS
"""
_REQUIRED_TABLES = ("public.events", "public.dead_letters")


async def timescaledb_active(conn: Any) -> bool:
    """True when the timescaledb extension is installed and ``events`` a hypertable."""
    if not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"
    ):
        return False
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables "
            "WHERE hypertable_schema = 'public' AND hypertable_name = 'events')"
        )
    )


async def missing_tables(conn: Any) -> list[str]:
    """The archive tables that do not exist (empty when migrated)."""
    missing = []
    for table in _REQUIRED_TABLES:
        if await conn.fetchval("SELECT to_regclass($1)", table) is None:
            missing.append(table)
    return missing


async def _prepare_session(conn: Any) -> None:
    await conn.execute(_STAGING_DDL)


async def _keep_session(conn: Any) -> None:
    # asyncpg's default reset on release costs a round trip per batch and would
    # buy nothing: writers change no session state besides the staging table,
    # which is meant to live as long as the connection.
    return None


class Backoff:
    """Exponential back-off with jitter: 0.1 s doubling up to ``ceiling``."""

    def __init__(self, ceiling: float, base: float = 0.1) -> None:
        self._ceiling = ceiling
        self._base = base
        self._attempt = 0

    def next_delay(self) -> float:
        """The next delay in seconds (between half and all of the nominal value)."""
        nominal = min(self._ceiling, self._base * 2**self._attempt)
        self._attempt = min(self._attempt + 1, 30)
        return float(nominal * random.uniform(0.5, 1.0))

    def reset(self) -> None:
        self._attempt = 0


class Database:
    """The writer pool and the health gate every stream consumer waits on.

    Note: the pool holds ``db_writers + 1`` connections; the extra one keeps
    readiness probes from queueing behind busy writers.
    """

    def __init__(self, pool: Any, settings: ArchiverSettings, log: Any) -> None:
        self.pool = pool
        self._settings = settings
        self._log = log
        self._healthy = asyncio.Event()
        self._healthy.set()
        self._recovery: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def open(cls, settings: ArchiverSettings, log: Any) -> Database:
        """Connect the pool and check the schema.

        Raises SchemaMissingError when the archive tables do not exist, and lets
        connection errors propagate: start-up fails fast, outages later are ridden
        out by the gate.
        """
        size = settings.db_writers + 1
        pool = await asyncpg.create_pool(
            settings.database_url,
            min_size=size,
            max_size=size,
            init=_prepare_session,
            reset=_keep_session,
            command_timeout=settings.db_command_timeout_s,
            timeout=10,
            # A batch is acked once its commit returns: the commit must then be
            # on disk, whatever the server's default, or a crash of the server
            # would forget events JetStream has already let go.
            server_settings={"synchronous_commit": "on"},
        )
        try:
            async with pool.acquire() as conn:
                missing = await missing_tables(conn)
                if missing:
                    raise SchemaMissingError(missing)
                log.info("archive_mode", timescaledb=await timescaledb_active(conn))
        except BaseException:
            await pool.close()
            raise
        return cls(pool, settings, log)

    @property
    def healthy(self) -> bool:
        """False from a failed batch until the server answers a probe again."""
        return self._healthy.is_set()

    async def wait_healthy(self) -> None:
        await self._healthy.wait()

    async def ping(self, timeout: float = 2.0) -> bool:
        """True when ``SELECT 1`` answers within ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                async with self.pool.acquire() as conn:
                    return bool(await conn.fetchval("SELECT 1") == 1)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
            return False

    def trip(self, error: BaseException) -> None:
        """Mark the database down and start probing, unless that is under way."""
        if self._closed or not self._healthy.is_set():
            return
        self._healthy.clear()
        self._log.error("database_unavailable", error=_describe(error))
        self._recovery = asyncio.create_task(self._recover(), name="db-recovery")

    async def _recover(self) -> None:
        backoff = Backoff(self._settings.db_backoff_max_s)
        attempts = 0
        while not self._closed:
            await asyncio.sleep(backoff.next_delay())
            attempts += 1
            if await self.ping(timeout=5.0):
                self._log.info("database_recovered", attempts=attempts)
                self._healthy.set()
                return

    async def close(self) -> None:
        self._closed = True
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovery
        # terminate() rather than close(): close() waits for every connection to
        # be released and answer, which never happens while the server is down.
        try:
            async with asyncio.timeout(5):
                await self.pool.close()
        except (TimeoutError, OSError, asyncpg.InterfaceError):
            self.pool.terminate()


def _describe(error: BaseException) -> str:
    cause = error.__cause__ or error
    return f"{cause.__class__.__name__}: {cause}"

"""The dashboard's two connection pools: read-only queries, and the few writes.

Every connection of the query pool switches to the ``central_reader`` role
(``SET ROLE``, made by ``sql/005_dashboard.sql``: SELECT on the archive and
``config.streams``, nothing else) and runs with ``default_transaction_read_only``
and a ``statement_timeout``, so a query can neither write nor run away. Both are
connection start-up settings, which asyncpg's reset on release keeps (``RESET ALL``
returns to them, and never touches the role). Plans are made per execution
(``plan_cache_mode``), since the selectivity of a time window or a bounding box
varies too much for one generic plan, without parallel workers
(``max_parallel_workers_per_gather`` 0), so that the pool's size bounds the
backends the dashboard keeps busy, whatever its clients ask, and without JIT
compilation (``jit`` off).

The query pool connects to ``CENTRAL_DATABASE_READ_URL`` when it is set (a read
replica, so that queries take no CPU from the server the archiver writes to),
else to ``CENTRAL_DATABASE_URL``. The write pool (``config.streams`` and the audit
table) always connects to the latter, as the configured user without those
restrictions.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from central_dashboard.errors import UnavailableError
from central_dashboard.settings import DashboardSettings

READER_ROLE = "central_reader"


async def _json_codecs(conn: Any) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name,
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


async def _reader_session(conn: Any) -> None:
    await _json_codecs(conn)
    await conn.execute(f"SET ROLE {READER_ROLE}")


@dataclass
class Database:
    """The query pool (``reader``) and the write pool (``writer``)."""

    reader: Any
    writer: Any

    @classmethod
    async def open(cls, settings: DashboardSettings) -> Database:
        """Connect both pools; UnavailableError when the database cannot be used.

        Fails when the server is unreachable, the ``central_reader`` role does
        not exist or cannot be assumed, or the migrations have not run.
        """
        timeout_ms = int(settings.db_statement_timeout_s * 1000)
        try:
            reader = await asyncpg.create_pool(
                settings.query_database_url,
                min_size=1,
                max_size=settings.db_query_connections,
                init=_reader_session,
                server_settings={
                    "default_transaction_read_only": "on",
                    "statement_timeout": str(timeout_ms),
                    "plan_cache_mode": "force_custom_plan",
                    # One backend per query: parallel workers would let each of
                    # the pool's connections take several cores from the archiver.
                    "max_parallel_workers_per_gather": "0",
                    # Compiling a plan costs tens of milliseconds of CPU, more
                    # than most archive queries take to run.
                    "jit": "off",
                    "application_name": "central-dashboard",
                },
                command_timeout=settings.db_statement_timeout_s + 5,
                timeout=10,
            )
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise UnavailableError("database", _describe(exc)) from exc
        try:
            writer = await asyncpg.create_pool(
                settings.database_url,
                min_size=1,
                max_size=settings.db_write_connections,
                init=_json_codecs,
                server_settings={"application_name": "central-dashboard-writer"},
                command_timeout=30,
                timeout=10,
            )
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            await reader.close()
            raise UnavailableError("database", _describe(exc)) from exc
        database = cls(reader, writer)
        try:
            await database._check_schema()
        except BaseException:
            await database.close()
            raise
        return database

    async def _check_schema(self) -> None:
        try:
            async with self.reader.acquire() as conn:
                missing = await conn.fetchval(
                    "SELECT to_regclass('config.stream_changes') IS NULL"
                )
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise UnavailableError("database", _describe(exc)) from exc
        if missing:
            raise UnavailableError(
                "database",
                "the schema is not migrated (config.stream_changes is missing): "
                "run `central-archiver migrate` first",
            )

    async def ping(self, timeout: float = 2.0) -> bool:
        """True when the query pool answers ``SELECT 1`` within ``timeout``."""
        try:
            async with asyncio.timeout(timeout), self.reader.acquire() as conn:
                return bool(await conn.fetchval("SELECT 1") == 1)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
            return False

    async def close(self) -> None:
        for pool in (self.reader, self.writer):
            try:
                async with asyncio.timeout(5):
                    await pool.close()
            except (TimeoutError, OSError, asyncpg.InterfaceError):
                pool.terminate()


def _describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"

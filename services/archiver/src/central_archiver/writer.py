"""Writing one batch in one transaction.

The fast path is ``COPY`` of every event record into the connection's staging
table, one ``INSERT INTO events ... SELECT ... ON CONFLICT DO NOTHING`` (the
geometry built by PostGIS from ``data.geometry``), and a ``COPY`` of the dead
letters, all committed together. The difference between rows staged and rows
inserted is the number of events already archived (conflicts).

Note: ``geom`` is two-dimensional (the column is ``geometry(Geometry, 4326)``), so
a third coordinate such as an earthquake's depth is dropped there; ``data`` keeps
the GeoJSON as published.

When the database refuses the data itself (a geometry PostGIS cannot read, a NUL
character, an oversized key), the transaction is rolled back and the batch is
written again in halves, each under its own savepoint, halving again wherever the
database still refuses, down to single rows; the rows it refuses become dead
letters with its reason. A few bad rows among a thousand cost a few dozen
statements rather than a thousand.

Any other failure is raised as
:class:`~central_archiver.errors.DatabaseUnavailableError` after two quick retries
for deadlocks and serialization failures: the caller naks the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

from central_archiver.database import STAGING_COLUMNS, STAGING_TABLE
from central_archiver.errors import DatabaseUnavailableError
from central_archiver.rows import DEAD_LETTER_COLUMNS, EVENT_SEQ, Batch, dead_letter

# Transient conflicts between the concurrent writers; retrying the same
# transaction is correct and cheap.
_RETRYABLE = frozenset({"40001", "40P01"})
_ATTEMPTS = 3

_TARGET = (
    "time, id, source, type, subject, nats_subject, stream, stream_seq, "
    "received_at, geom, data, attributes, trace_id"
)


# The geometry of data.geometry (g). A well-formed Point, by far the most common
# shape, is built from its numbers directly: the same 2-D point PostGIS's GeoJSON
# reader would give, at a fraction of the cost. Every other value goes through
# ST_GeomFromGeoJSON, which also raises for malformed points.
GEOMETRY_SQL = """
CASE
    WHEN g ->> 'type' = 'Point'
     AND jsonb_typeof(g -> 'coordinates' -> 0) = 'number'
     AND jsonb_typeof(g -> 'coordinates' -> 1) = 'number'
     AND coalesce(jsonb_typeof(g -> 'coordinates' -> 2), 'number') = 'number'
     AND g -> 'coordinates' -> 3 IS NULL
    THEN ST_SetSRID(ST_MakePoint((g -> 'coordinates' ->> 0)::float8,
                                 (g -> 'coordinates' ->> 1)::float8), 4326)
    WHEN jsonb_typeof(g) = 'object'
    THEN ST_Force2D(ST_SetSRID(ST_GeomFromGeoJSON(g), 4326))
END"""


def _insert_sql(source: str, stream_param: str) -> str:
    return f"""
INSERT INTO public.events ({_TARGET})
SELECT s.time, s.id, s.source, s.type, s.subject, s.nats_subject, {stream_param},
       s.stream_seq, now(), {GEOMETRY_SQL},
       s.data, s.attributes, s.trace_id
FROM {source}, LATERAL (SELECT s.data -> 'geometry' AS g) AS geometry
ON CONFLICT (time, source, id) DO NOTHING
"""


_INSERT_STAGED = _insert_sql(f"pg_temp.{STAGING_TABLE} AS s", "$1")
# Within one transaction the staging table must be emptied by hand between parts.
_CLEAR_STAGED = f"DELETE FROM pg_temp.{STAGING_TABLE}"


@dataclass
class WriteResult:
    """What one committed batch did; ``rejected`` indexes ``Batch.events``."""

    rows: int
    inserted: int
    dead_letters: int
    rejected: dict[int, str] = field(default_factory=dict)

    @property
    def conflicts(self) -> int:
        """Events already in the archive (the same time, source and id)."""
        return self.rows - len(self.rejected) - self.inserted


def is_data_error(exc: BaseException) -> bool:
    """True when the database refused the values rather than the work.

    Data exceptions (class 22), integrity violations (23), program limits such as
    an index row too large (54000), PostGIS parse errors (XX000) and asyncpg's
    client-side encoding errors all point at particular rows.
    """
    if isinstance(exc, asyncpg.InterfaceError) and isinstance(exc, ValueError):
        # asyncpg's client-side DataError: a value could not be encoded.
        return True
    state = getattr(exc, "sqlstate", None)
    if not isinstance(exc, asyncpg.PostgresError) or not isinstance(state, str):
        return False
    return state[:2] in {"22", "23"} or state in {"54000", "XX000"}


class BatchWriter:
    """Writes batches through ``pool`` (an asyncpg pool whose connections have the
    staging table)."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def write(self, batch: Batch) -> WriteResult:
        """Commit ``batch``; raise DatabaseUnavailableError if it was not committed.

        Note: after a lost connection the commit may in fact have happened; the
        redelivered messages then count as conflicts and add no rows.
        """
        attempt = 1
        while True:
            try:
                return await self._write_once(batch)
            except asyncpg.PostgresError as exc:
                if exc.sqlstate in _RETRYABLE and attempt < _ATTEMPTS:
                    attempt += 1
                    continue
                raise DatabaseUnavailableError(_reason(exc)) from exc
            except (asyncpg.InterfaceError, OSError, TimeoutError) as exc:
                raise DatabaseUnavailableError(_reason(exc)) from exc

    async def _write_once(self, batch: Batch) -> WriteResult:
        async with self._pool.acquire() as conn:
            try:
                async with conn.transaction():
                    return await self._write_bulk(conn, batch)
            except Exception as exc:
                if not is_data_error(exc):
                    raise
            async with conn.transaction():
                return await self._write_isolated(conn, batch)

    async def _write_bulk(self, conn: Any, batch: Batch) -> WriteResult:
        inserted = await _insert(conn, batch.stream, batch.events)
        if batch.dead:
            await _copy_dead(conn, batch.dead)
        return WriteResult(
            rows=len(batch.events), inserted=inserted, dead_letters=len(batch.dead)
        )

    async def _write_isolated(self, conn: Any, batch: Batch) -> WriteResult:
        rejected: dict[int, str] = {}
        middle = len(batch.events) // 2
        inserted = await _insert_part(conn, batch, 0, middle, rejected)
        inserted += await _insert_part(conn, batch, middle, len(batch.events), rejected)

        dead = list(batch.dead)
        for index, reason in sorted(rejected.items()):
            seq = batch.events[index][EVENT_SEQ]
            dead.append(dead_letter(batch.stream, batch.event_msgs[index], seq, reason))
        if dead:
            await _copy_dead(conn, dead)
        return WriteResult(
            rows=len(batch.events),
            inserted=inserted,
            dead_letters=len(dead),
            rejected=rejected,
        )


async def _insert(conn: Any, stream: str, records: list[tuple[Any, ...]]) -> int:
    if not records:
        return 0
    await conn.copy_records_to_table(
        STAGING_TABLE, records=records, columns=STAGING_COLUMNS
    )
    return _count(await conn.execute(_INSERT_STAGED, stream))


async def _insert_part(
    conn: Any, batch: Batch, start: int, stop: int, rejected: dict[int, str]
) -> int:
    """Insert events[start:stop] under a savepoint, halving where refused."""
    if start >= stop:
        return 0
    try:
        async with conn.transaction():
            inserted = await _insert(conn, batch.stream, batch.events[start:stop])
            await conn.execute(_CLEAR_STAGED)
        return inserted
    except Exception as exc:
        if not is_data_error(exc):
            raise
        if stop - start == 1:
            rejected[start] = f"database refused the event: {_reason(exc)}"
            return 0
    middle = (start + stop) // 2
    return await _insert_part(conn, batch, start, middle, rejected) + (
        await _insert_part(conn, batch, middle, stop, rejected)
    )


async def _copy_dead(conn: Any, records: list[tuple[Any, ...]]) -> None:
    await conn.copy_records_to_table(
        "dead_letters",
        schema_name="public",
        records=records,
        columns=DEAD_LETTER_COLUMNS,
    )


def _count(status: str) -> int:
    # "INSERT 0 <n>": the last token is the row count.
    return int(status.rsplit(" ", 1)[-1])


def _reason(exc: BaseException) -> str:
    state = getattr(exc, "sqlstate", None)
    prefix = f"{state} " if isinstance(state, str) else ""
    return f"{prefix}{exc.__class__.__name__}: {exc}".strip()

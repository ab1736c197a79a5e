"""Reading the operator-set stream limits from ``config.streams``."""

from __future__ import annotations

import asyncpg

from central.streams import StreamLimits

QUERY = """
SELECT name, max_age_s, max_bytes, duplicate_window_s, replicas
FROM config.streams
"""


class LimitsError(RuntimeError):
    """``config.streams`` cannot be read (database down, migrations not applied)."""


async def read_limits(database_url: str) -> dict[str, StreamLimits]:
    """The ``config.streams`` rows by stream name."""
    try:
        conn = await asyncpg.connect(database_url, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise LimitsError(f"cannot connect to the database: {exc}") from exc
    try:
        rows = await conn.fetch(QUERY)
    except asyncpg.UndefinedTableError as exc:
        raise LimitsError(
            "table config.streams does not exist: run `central-archiver migrate` first"
        ) from exc
    finally:
        await conn.close()
    return {
        row["name"]: StreamLimits(
            max_age_s=float(row["max_age_s"]),
            max_bytes=int(row["max_bytes"]),
            duplicate_window_s=float(row["duplicate_window_s"]),
            replicas=int(row["replicas"]),
        )
        for row in rows
    }

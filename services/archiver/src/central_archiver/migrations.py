"""Schema migrations: ordered ``NNN_what.sql`` files and a ledger of applied ones.

:func:`migrate` takes a session advisory lock first, so concurrent runs (several
replicas starting at once) apply each file exactly once: the second run waits, then
finds everything applied. Every applied file's SHA-256 is checked against the ledger
before anything new runs, and a changed file stops the run with
:class:`~central_archiver.errors.MigrationChecksumError` naming it. Each pending file
runs in its own transaction together with its ledger row, so a failing file leaves
no trace. After the files, ``config.streams`` is seeded from the stream registry
(missing rows only: operator edits are never overwritten).

The folder is ``CENTRAL_MIGRATIONS_DIR`` when set; otherwise the first ``sql/``
folder holding migration files found walking up from this module, which is the
repository's ``sql/`` in a workspace checkout.

Note: files run inside a transaction, so they must not contain ``BEGIN``/``COMMIT``
or statements that refuse transactions (``CREATE INDEX CONCURRENTLY``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from central.streams import REGISTRY
from central_archiver.database import timescaledb_active
from central_archiver.errors import (
    MigrationChecksumError,
    MigrationError,
    MigrationsDirError,
)

FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
#: Key of the session advisory lock serialising migrate runs ("CENTRAL" in ASCII).
LOCK_KEY = int.from_bytes(b"CENTRAL", "big")

_LEDGER = """
CREATE TABLE IF NOT EXISTS public.central_migrations (
    version    int         PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
_SEED = """
INSERT INTO config.streams (name, max_age_s, max_bytes, duplicate_window_s, replicas)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (name) DO NOTHING
"""


@dataclass(frozen=True)
class Migration:
    """One migration file: its number, name, text and SHA-256 of its bytes."""

    version: int
    name: str
    path: Path
    sql: str
    checksum: str


@dataclass(frozen=True)
class MigrationReport:
    """What a :func:`migrate` run did."""

    applied: tuple[str, ...]
    already_applied: int
    seeded_streams: tuple[str, ...]
    timescaledb: bool


def default_dir(start: Path | None = None) -> Path:
    """The first ``sql/`` folder with migration files above ``start`` (this file).

    Raises MigrationsDirError when there is none, naming the setting to use.
    """
    here = (start or Path(__file__)).resolve()
    for folder in here.parents:
        candidate = folder / "sql"
        if candidate.is_dir() and any(
            FILE_NAME.match(p.name) for p in candidate.iterdir()
        ):
            return candidate
    raise MigrationsDirError(
        f"no sql/ folder with migrations above {here}; set CENTRAL_MIGRATIONS_DIR"
    )


def discover(folder: Path) -> list[Migration]:
    """The migrations in ``folder`` in version order.

    Every ``.sql`` file must be named ``NNN_what.sql`` (lower-case) and versions must
    be unique; anything else raises MigrationError naming the file, since a
    misnamed file would otherwise be skipped silently.
    """
    if not folder.is_dir():
        raise MigrationsDirError(f"migrations folder {folder} does not exist", folder)
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"migration file {path.name} is not named NNN_what.sql", path
            )
        version = int(match[1])
        if version in found:
            raise MigrationError(
                f"migrations {found[version].path.name} and {path.name} share "
                f"version {version:03d}",
                path,
            )
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MigrationError(f"migration {path.name} is not UTF-8", path) from exc
        found[version] = Migration(
            version=version,
            name=path.name,
            path=path,
            sql=text,
            checksum=hashlib.sha256(raw).hexdigest(),
        )
    return [found[v] for v in sorted(found)]


async def migrate(
    database_url: str,
    folder: Path,
    log: Any,
    role_passwords: dict[str, str] | None = None,
) -> MigrationReport:
    """Apply pending migrations in ``folder`` and seed ``config.streams``.

    ``role_passwords`` (role → password) then turns LOGIN on for those roles with
    that password, every run, so a rotated password takes effect on the next one.

    Safe to run concurrently and repeatedly. Raises MigrationChecksumError when an
    applied file changed, MigrationError when a file fails (its transaction is
    rolled back and later files are not tried); connection errors propagate as
    asyncpg/OSError exceptions.
    """
    migrations = discover(folder)
    conn = await asyncpg.connect(database_url)
    # RAISE NOTICE/WARNING in a migration (004 says which mode it chose) would
    # otherwise be dropped by asyncpg.
    conn.add_log_listener(
        lambda _conn, message: log.info(
            "migration_notice", severity=message.severity, message=message.message
        )
    )
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        try:
            applied = await _apply_all(conn, migrations, log)
            seeded = await _seed_streams(conn)
            await _set_logins(conn, role_passwords or {}, log)
            timescaledb = await timescaledb_active(conn)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    finally:
        await conn.close()

    report = MigrationReport(
        applied=tuple(m.name for m in applied),
        already_applied=len(migrations) - len(applied),
        seeded_streams=seeded,
        timescaledb=timescaledb,
    )
    log.info(
        "migrations_finished",
        applied=list(report.applied),
        already_applied=report.already_applied,
        seeded_streams=list(report.seeded_streams),
    )
    log.info("archive_mode", timescaledb=timescaledb)
    return report


async def _set_logins(conn: Any, passwords: dict[str, str], log: Any) -> None:
    for role, password in sorted(passwords.items()):
        # ALTER ROLE takes no bind parameters; format() quotes both on the server.
        statement = await conn.fetchval(
            "SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', $1::text, $2::text)",
            role,
            password,
        )
        try:
            await conn.execute(statement)
        except asyncpg.PostgresError as exc:
            raise MigrationError(f"role {role}: {exc.__class__.__name__}") from exc
        log.info("role_login_set", role=role)


async def _apply_all(
    conn: Any, migrations: list[Migration], log: Any
) -> list[Migration]:
    await conn.execute(_LEDGER)
    rows = await conn.fetch(
        "SELECT version, name, checksum FROM public.central_migrations"
    )
    ledger = {row["version"]: row for row in rows}

    for migration in migrations:
        row = ledger.get(migration.version)
        if row is not None and row["checksum"] != migration.checksum:
            raise MigrationChecksumError(
                migration.path, row["checksum"], migration.checksum
            )
    known = {m.version for m in migrations}
    for version in sorted(set(ledger) - known):
        log.warning(
            "migration_file_missing", version=version, name=ledger[version]["name"]
        )

    pending = [m for m in migrations if m.version not in ledger]
    for migration in pending:
        await _apply_one(conn, migration)
        log.info("migration_applied", name=migration.name)
    return pending


async def _apply_one(conn: Any, migration: Migration) -> None:
    try:
        async with conn.transaction():
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO public.central_migrations (version, name, checksum) "
                "VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
    except asyncpg.PostgresError as exc:
        raise MigrationError(
            f"migration {migration.name} failed: {exc.__class__.__name__}: {exc}",
            migration.path,
        ) from exc


async def _seed_streams(conn: Any) -> tuple[str, ...]:
    seeded: list[str] = []
    for spec in REGISTRY:
        limits = spec.limits
        status = await conn.execute(
            _SEED,
            spec.name,
            float(limits.max_age_s),
            int(limits.max_bytes),
            float(limits.duplicate_window_s),
            int(limits.replicas),
        )
        if status.endswith(" 1"):
            seeded.append(spec.name)
    return tuple(seeded)

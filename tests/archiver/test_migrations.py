"""Migrations: a fresh database, re-runs, concurrent runs, changed files."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from central.streams import REGISTRY
from central_archiver.errors import (
    MigrationChecksumError,
    MigrationError,
    MigrationsDirError,
)
from central_archiver.migrations import default_dir, discover, migrate

CLI = str(Path(sys.executable).parent / "central-archiver")


@pytest.fixture
def sql_copy(tmp_path: Path) -> Path:
    """A private copy of the migrations folder that a test may edit."""
    folder = tmp_path / "sql"
    shutil.copytree(default_dir(), folder)
    return folder


async def _fetch(url: str, query: str) -> list[Any]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


def test_default_dir_finds_the_repository_sql_folder() -> None:
    folder = default_dir()
    assert folder == Path(__file__).resolve().parents[2] / "sql"
    assert discover(folder)[0].name == "001_events.sql"


def test_default_dir_raises_when_no_folder_is_above(tmp_path: Path) -> None:
    with pytest.raises(MigrationsDirError, match="CENTRAL_MIGRATIONS_DIR"):
        default_dir(tmp_path / "a" / "b.py")


def test_discover_refuses_a_misnamed_file(sql_copy: Path) -> None:
    (sql_copy / "5_oops.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"5_oops\.sql is not named NNN_what\.sql"):
        discover(sql_copy)


async def test_migrate_creates_the_schema_when_database_is_fresh(
    database_url: str, quiet_log: Any
) -> None:
    report = await migrate(database_url, default_dir(), quiet_log)

    assert report.applied == tuple(m.name for m in discover(default_dir()))
    assert report.timescaledb is False
    assert quiet_log.events("archive_mode") == [{"timescaledb": False}]
    columns = await _fetch(
        database_url,
        "SELECT column_name, data_type, udt_name, is_nullable "
        "FROM information_schema.columns WHERE table_name = 'events' "
        "ORDER BY ordinal_position",
    )
    assert [(c["column_name"], c["udt_name"]) for c in columns] == [
        ("time", "timestamptz"),
        ("id", "text"),
        ("source", "text"),
        ("type", "text"),
        ("subject", "text"),
        ("nats_subject", "text"),
        ("stream", "text"),
        ("stream_seq", "int8"),
        ("received_at", "timestamptz"),
        ("geom", "geometry"),
        ("data", "jsonb"),
        ("attributes", "jsonb"),
        ("trace_id", "text"),
    ]
    geom = await _fetch(
        database_url,
        "SELECT type, srid FROM geometry_columns WHERE f_table_name = 'events'",
    )
    assert [(g["type"], g["srid"]) for g in geom] == [("GEOMETRY", 4326)]
    indexes = {
        r["indexname"]: r["indexdef"]
        for r in await _fetch(
            database_url,
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events'",
        )
    }
    assert "UNIQUE" in indexes["events_time_source_id_key"]
    assert '("time", source, id)' in indexes["events_time_source_id_key"]
    assert "USING brin" in indexes["events_time_brin"]
    assert '(type, "time" DESC)' in indexes["events_type_time_idx"]
    assert '(subject, "time" DESC)' in indexes["events_subject_time_idx"]
    assert "USING gist (geom)" in indexes["events_geom_gist"]
    dead = await _fetch(
        database_url,
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'dead_letters' ORDER BY ordinal_position",
    )
    assert [c["column_name"] for c in dead] == [
        "id",
        "received_at",
        "stream",
        "stream_seq",
        "nats_subject",
        "reason",
        "headers",
        "body",
    ]


async def test_migrate_seeds_config_streams_from_the_registry(
    migrated_url: str,
) -> None:
    rows = await _fetch(migrated_url, "SELECT * FROM config.streams ORDER BY name")

    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == {s.name for s in REGISTRY}
    for spec in REGISTRY:
        row = by_name[spec.name]
        assert row["max_age_s"] == spec.limits.max_age_s
        assert row["max_bytes"] == spec.limits.max_bytes
        assert row["duplicate_window_s"] == spec.limits.duplicate_window_s
        assert row["replicas"] == spec.limits.replicas
        assert row["updated_by"] == "seed"


async def test_migrate_changes_nothing_when_run_again(
    migrated_url: str, quiet_log: Any
) -> None:
    conn = await asyncpg.connect(migrated_url)
    await conn.execute(
        "UPDATE config.streams SET max_age_s = 60, updated_by = 'ops' "
        "WHERE name = 'CENTRAL_WX'"
    )
    before = await conn.fetch("SELECT * FROM central_migrations ORDER BY version")
    await conn.close()

    report = await migrate(migrated_url, default_dir(), quiet_log)

    assert report.applied == ()
    assert report.already_applied == len(before)
    assert report.seeded_streams == ()
    after = await _fetch(
        migrated_url, "SELECT * FROM central_migrations ORDER BY version"
    )
    assert after == before
    wx = await _fetch(
        migrated_url,
        "SELECT max_age_s, updated_by FROM config.streams WHERE name = 'CENTRAL_WX'",
    )
    assert tuple(wx[0]) == (60, "ops")


async def test_migrate_applies_each_file_once_when_runs_are_concurrent(
    database_url: str, quiet_log: Any
) -> None:
    reports = await asyncio.gather(
        *(migrate(database_url, default_dir(), quiet_log) for _ in range(3))
    )

    applied = [name for report in reports for name in report.applied]
    assert sorted(applied) == [m.name for m in discover(default_dir())]
    ledger = await _fetch(database_url, "SELECT version FROM central_migrations")
    assert len(ledger) == len(applied)


def test_migrate_commands_both_succeed_when_started_together(
    database_url: str,
) -> None:
    env = {"CENTRAL_DATABASE_URL": database_url}
    runs = [
        subprocess.Popen(
            [CLI, "migrate"],
            env=_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    applied_lines = [
        line
        for out, _ in outputs
        for line in out.decode().splitlines()
        if '"migration_applied"' in line
    ]
    assert len(applied_lines) == len(discover(default_dir()))
    assert all(
        b'"archive_mode"' in out and b'"timescaledb":false' in out for out, _ in outputs
    )


async def test_migrate_refuses_when_an_applied_file_changed(
    database_url: str, sql_copy: Path, quiet_log: Any
) -> None:
    await migrate(database_url, sql_copy, quiet_log)
    target = sql_copy / "002_dead_letters.sql"
    target.write_text(target.read_text() + "\n-- edited\n")

    with pytest.raises(
        MigrationChecksumError, match=r"002_dead_letters\.sql was changed"
    ):
        await migrate(database_url, sql_copy, quiet_log)


def test_migrate_command_exits_nonzero_naming_the_changed_file(
    database_url: str, sql_copy: Path
) -> None:
    env = {
        "CENTRAL_DATABASE_URL": database_url,
        "CENTRAL_MIGRATIONS_DIR": str(sql_copy),
    }
    first = subprocess.run(
        [CLI, "migrate"], env=_env(env), capture_output=True, timeout=60
    )
    assert first.returncode == 0, first.stderr
    target = sql_copy / "003_config_streams.sql"
    target.write_text(target.read_text().replace("seed", "seeded"))

    second = subprocess.run(
        [CLI, "migrate"], env=_env(env), capture_output=True, timeout=60
    )

    assert second.returncode == 1
    assert b"003_config_streams.sql was changed after it was applied" in second.stderr


async def test_migrate_rolls_back_a_failing_file_and_stops(
    database_url: str, sql_copy: Path, quiet_log: Any
) -> None:
    (sql_copy / "900_broken.sql").write_text(
        "CREATE TABLE public.half_done (x int);\nSELECT no_such_function();\n"
    )
    (sql_copy / "901_after.sql").write_text("CREATE TABLE public.after (x int);\n")

    with pytest.raises(MigrationError, match=r"migration 900_broken\.sql failed"):
        await migrate(database_url, sql_copy, quiet_log)

    tables = await _fetch(
        database_url,
        "SELECT to_regclass('public.half_done') AS a, to_regclass('public.after') AS b",
    )
    assert tuple(tables[0]) == (None, None)
    versions = await _fetch(database_url, "SELECT version FROM central_migrations")
    assert 900 not in {v["version"] for v in versions}


async def test_timescaledb_migration_keeps_a_plain_table_when_extension_is_absent(
    migrated_url: str,
) -> None:
    rows = await _fetch(
        migrated_url,
        "SELECT relkind FROM pg_class WHERE oid = 'public.events'::regclass",
    )
    assert rows[0]["relkind"] == b"r"
    ext = await _fetch(migrated_url, "SELECT extname FROM pg_extension")
    assert "timescaledb" not in {e["extname"] for e in ext}


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **extra}

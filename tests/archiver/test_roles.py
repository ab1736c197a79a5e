"""Roles by duty: each service's database role may do its work and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from central_archiver.migrations import default_dir, migrate

PASSWORDS = {
    "central_archiver": "archiver-pw-1",
    "central_dashboard": "dashboard-pw-2",
    "central_provisioner": "provisioner-pw-3",
}
EVENT = (
    "INSERT INTO events (time, id, source, type, nats_subject, stream, stream_seq,"
    " attributes) VALUES (now(), $1, 'urn:test', 'central.quake.earthquake',"
    " 'central.quake.x', 'CENTRAL_QUAKE', 1, '{}')"
)


def as_role(url: str, role: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{role}:{PASSWORDS[role]}@{host}"))


@pytest.fixture
async def roles_url(database_url: str, quiet_log: Any) -> str:
    await migrate(database_url, default_dir(), quiet_log, PASSWORDS)
    return database_url


@pytest.fixture
async def connect(roles_url: str) -> AsyncIterator[Any]:
    opened: list[asyncpg.Connection] = []

    async def open_as(role: str) -> asyncpg.Connection:
        conn = await asyncpg.connect(as_role(roles_url, role))
        opened.append(conn)
        return conn

    yield open_as
    for conn in opened:
        await conn.close()


async def _refused(conn: asyncpg.Connection, sql: str, *args: Any) -> bool:
    try:
        await conn.execute(sql, *args)
    except asyncpg.InsufficientPrivilegeError:
        return True
    return False


async def test_migrate_turns_login_on_for_each_role_given_a_password(
    roles_url: str,
) -> None:
    conn = await asyncpg.connect(roles_url)
    try:
        rows = await conn.fetch(
            "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb"
            " FROM pg_roles WHERE rolname = ANY($1::text[])",
            list(PASSWORDS),
        )
    finally:
        await conn.close()
    assert {r["rolname"]: r["rolcanlogin"] for r in rows} == dict.fromkeys(
        PASSWORDS, True
    )
    assert not any(
        r["rolsuper"] or r["rolcreaterole"] or r["rolcreatedb"] for r in rows
    )


async def test_archiver_role_inserts_events_and_may_do_nothing_else(
    connect: Any,
) -> None:
    conn = await connect("central_archiver")
    await conn.execute(EVENT, "e1")
    await conn.execute(
        "INSERT INTO dead_letters (stream, nats_subject, reason, body)"
        " VALUES ('CENTRAL_QUAKE', 'central.quake.x', 'test', '\\x00')"
    )
    await conn.execute(EVENT + " ON CONFLICT DO NOTHING", "e1")

    assert await _refused(conn, "SELECT data FROM events")
    assert await _refused(conn, "UPDATE events SET type = 'x'")
    assert await _refused(conn, "DELETE FROM events")
    assert await _refused(conn, "TRUNCATE events")
    assert await _refused(conn, "SELECT * FROM dead_letters")
    assert await _refused(conn, "SELECT * FROM config.streams")
    assert await _refused(conn, "UPDATE config.streams SET replicas = 3")
    assert await _refused(conn, "CREATE TABLE public.intruder (x int)")
    assert await _refused(conn, "DROP TABLE events")


async def test_dashboard_role_reads_and_tunes_limits_but_never_writes_the_archive(
    connect: Any,
) -> None:
    conn = await connect("central_dashboard")
    await conn.execute("SET ROLE central_reader")
    assert await conn.fetchval("SELECT count(*) FROM events") == 0
    assert await _refused(conn, EVENT, "e2")
    assert await _refused(conn, "UPDATE config.streams SET replicas = 3")
    await conn.execute("RESET ROLE")

    await conn.execute(
        "UPDATE config.streams SET max_age_s = 3600, updated_by = 'test'"
        " WHERE name = 'CENTRAL_QUAKE'"
    )
    await conn.execute(
        "INSERT INTO config.stream_changes (stream, actor, before, after)"
        " VALUES ('CENTRAL_QUAKE', 'test', '{}', '{}')"
    )
    assert await _refused(conn, EVENT, "e3")
    assert await _refused(conn, "DELETE FROM events")
    assert await _refused(conn, "DELETE FROM config.streams")
    assert await _refused(
        conn,
        "INSERT INTO config.streams (name, max_age_s,"
        " max_bytes, duplicate_window_s, replicas)"
        " VALUES ('X', 1, 1, 1, 1)",
    )
    assert await _refused(conn, "UPDATE config.stream_changes SET actor = 'forged'")
    assert await _refused(conn, "DELETE FROM config.stream_changes")


async def test_provisioner_role_reads_limits_only(connect: Any) -> None:
    conn = await connect("central_provisioner")
    assert await conn.fetchval("SELECT count(*) FROM config.streams") > 0
    assert await _refused(conn, "UPDATE config.streams SET replicas = 3")
    assert await _refused(conn, "SELECT count(*) FROM events")
    assert await _refused(conn, EVENT, "e4")


async def test_archiver_service_archives_as_its_own_role(
    roles_url: str, nc: Any, make: Any, pub: Any, wait_until: Any, start_archiver: Any
) -> None:
    for n in range(20):
        await pub(nc, make(n))
    await pub(nc, make(0))  # a redelivered duplicate: ON CONFLICT must still work
    await start_archiver(database_url=as_role(roles_url, "central_archiver"))

    owner = await asyncpg.connect(roles_url)
    try:

        async def all_rows() -> bool:
            return bool(await owner.fetchval("SELECT count(*) FROM events") == 20)

        await wait_until(all_rows, 10, "20 rows written by central_archiver")
        assert await owner.fetchval("SELECT count(*) FROM dead_letters") == 0
    finally:
        await owner.close()

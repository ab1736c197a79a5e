"""``central dev --replay`` brings up the whole hub and stops it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from pathlib import Path

import asyncpg
import orjson
import pytest

from central.devservers import free_port
from central.streams import ARCHIVED

ROOT = Path(__file__).resolve().parents[2]
EVENT_DOMAINS = {spec.domain for spec in ARCHIVED}


async def _line_matching(
    stream: asyncio.StreamReader, pattern: str, timeout: float, seen: list[str]
) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        raw = await asyncio.wait_for(stream.readline(), left)
        if not raw:
            break
        line = raw.decode(errors="replace")
        seen.append(line)
        if match := re.search(pattern, line):
            return match
    pytest.fail(f"no line matching {pattern!r}; got:\n{''.join(seen)}")


@pytest.mark.slow
@pytest.mark.timeout(400)
async def test_dev_replay_archives_every_domain_then_stops_on_ctrl_c() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CENTRAL_NATS_URL", "CENTRAL_DATABASE_URL")
    }
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "central"),
        "dev",
        "--replay",
        "--http-port",
        str(free_port()),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        match = await _line_matching(
            proc.stderr,
            r"NATS with JetStream listening on (\S+), one user per service \((\d+)\)",
            60,
            seen,
        )
        nats_url, users = match.group(1), int(match.group(2))
        assert users >= 7
        # Every service is a user of its own; nobody gets in without a password.
        assert (await _server_info(nats_url))["auth_required"] is True
        match = await _line_matching(
            proc.stderr, r"PostgreSQL with PostGIS listening on (\S+)", 60, seen
        )
        database_url = match.group(1)
        await _line_matching(proc.stderr, r"adapter-quake started", 60, seen)
        # Keep reading, so that no child ever blocks on a full stderr pipe.
        drain = asyncio.create_task(_drain(proc.stderr, seen))
        conn = await _connect(database_url)
        deadline = time.monotonic() + 120
        domains: set[str] = set()
        while time.monotonic() < deadline and len(domains) < len(EVENT_DOMAINS):
            rows = await conn.fetch(
                "SELECT DISTINCT split_part(type, '.', 2) AS domain FROM events"
            )
            domains = {row["domain"] for row in rows}
            await asyncio.sleep(0.5)
        await conn.close()
        assert domains == EVENT_DOMAINS, "every adapter's events reached the archive"

        proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), 60)
        await drain
        assert code == 0, "".join(seen[-20:])
    finally:
        # Shown by pytest when the test fails: what central dev said last.
        print("".join(seen[-40:]))
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _server_info(url: str) -> dict[str, object]:
    """The INFO a NATS server greets a client with (the protocol's first line)."""
    host, port = url.removeprefix("nats://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        line = await asyncio.wait_for(reader.readline(), 5)
    finally:
        writer.close()
        await writer.wait_closed()
    assert line.startswith(b"INFO "), line
    info: dict[str, object] = orjson.loads(line[5:])
    return info


async def _drain(stream: asyncio.StreamReader, seen: list[str]) -> None:
    while raw := await stream.readline():
        seen.append(raw.decode(errors="replace"))


async def _connect(url: str) -> asyncpg.Connection:
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            return await asyncpg.connect(url)
        if time.monotonic() > deadline:
            pytest.fail(f"cannot connect to {url}")
        await asyncio.sleep(0.2)

"""``central-archiver run`` as a process: HTTP, signals, a kill mid-batch."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from central.devservers import free_port

CLI = str(Path(sys.executable).parent / "central-archiver")


def run_env(nats_url: str, database_url: str, **extra: str) -> dict[str, str]:
    return {
        "CENTRAL_NATS_URL": nats_url,
        "CENTRAL_DATABASE_URL": database_url,
        "CENTRAL_HTTP_HOST": "127.0.0.1",
        "CENTRAL_HTTP_PORT": str(free_port()),
        "CENTRAL_BATCH_LINGER_S": "0.005",
        "CENTRAL_PULL_EXPIRES_S": "0.3",
        **extra,
    }


async def http_status(port: str, path: str) -> int:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            response = await client.get(f"http://127.0.0.1:{port}{path}")
    except httpx.TransportError:
        return 0
    return response.status_code


def json_lines(text: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]


async def test_run_serves_health_ready_metrics_and_exits_zero_on_sigterm(
    nats_url: str,
    nc: Any,
    migrated_url: str,
    rows: Any,
    make: Any,
    pub: Any,
    wait_until: Any,
    archiver_process: Any,
) -> None:
    # Trust authentication ignores the password; the logs must not show it.
    with_password = migrated_url.replace("postgres@", "postgres:s3cret-pw@")
    env = run_env(nats_url, with_password)
    port = env["CENTRAL_HTTP_PORT"]
    proc = archiver_process(env)
    await wait_until(
        lambda: http_status(port, "/readyz"), 20, "the archiver's HTTP server"
    )
    assert await http_status(port, "/readyz") == 200
    assert await http_status(port, "/healthz") == 200

    for n in range(25):
        await pub(nc, make(n))
    await wait_until(rows.reach(25), 10, "the events archived by the process")
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    assert (
        'central_archiver_rows_inserted_total{stream="CENTRAL_QUAKE"} 25.0' in metrics
    )
    assert "central_archiver_batch_seconds_bucket" in metrics

    proc.signal(signal.SIGTERM)

    assert proc.wait(timeout=20) == 0
    assert "s3cret-pw" not in proc.output()
    lines = json_lines(proc.output())
    assert all(line["service"] == "archiver" for line in lines)
    events = [line["event"] for line in lines]
    for wanted in ("starting", "archive_mode", "batch_written", "archiver_stopped"):
        assert wanted in events
    mode = next(line for line in lines if line["event"] == "archive_mode")
    assert mode["timescaledb"] is False
    batches = [line for line in lines if line["event"] == "batch_written"]
    assert sum(line["rows"] for line in batches) == 25
    assert {line["stream"] for line in batches} == {"CENTRAL_QUAKE"}


async def test_run_reports_not_ready_while_the_database_refuses(
    nats_url: str,
    nc: Any,
    migrated_url: str,
    pg_server_url: str,
    wait_until: Any,
    archiver_process: Any,
) -> None:
    env = run_env(nats_url, migrated_url)
    port = env["CENTRAL_HTTP_PORT"]
    proc = archiver_process(env)
    await wait_until(lambda: http_status(port, "/readyz"), 20, "the HTTP server")
    database = migrated_url.rsplit("/", 1)[1]

    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            database,
        )
        await wait_until(
            lambda: _is(http_status(port, "/readyz"), 503), 10, "readyz to fail"
        )
        assert await http_status(port, "/healthz") == 200
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        await wait_until(
            lambda: _is(http_status(port, "/readyz"), 200), 10, "readyz to recover"
        )
    finally:
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        await admin.close()
    proc.signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


async def test_run_loses_and_doubles_nothing_when_killed_mid_batch(
    nats_url: str,
    nc: Any,
    migrated_url: str,
    db: Any,
    rows: Any,
    make: Any,
    pub_many: Any,
    wait_until: Any,
    archiver_process: Any,
) -> None:
    total = 6000
    await pub_many(nc, [make(n) for n in range(total)], "CENTRAL_QUAKE")
    env = run_env(
        nats_url,
        migrated_url,
        CENTRAL_BATCH_SIZE="250",
        CENTRAL_DB_WRITERS="1",
        CENTRAL_ACK_WAIT_S="2",
    )

    first = archiver_process(env, name="first")
    await wait_until(lambda: _more_than(rows.count(), 500), 20, "some batches")
    first.signal(signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL
    killed_at = await rows.count()
    assert killed_at < total

    second = archiver_process(env, name="second")
    await wait_until(rows.reach(total), 30, "every event after the restart")

    summary = await db.fetchrow(
        "SELECT count(*) AS n, count(DISTINCT stream_seq) AS seqs, "
        "min(stream_seq) AS first, max(stream_seq) AS last FROM events"
    )
    assert tuple(summary) == (total, total, 1, total)
    second.signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0


def test_run_exits_2_naming_the_variable_when_a_setting_is_invalid() -> None:
    result = subprocess.run(
        [CLI, "run"],
        env={"CENTRAL_BATCH_SIZE": "lots", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        timeout=30,
    )

    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "CENTRAL_BATCH_SIZE" in lines[0]


@pytest.mark.usefixtures("nc")
def test_run_exits_1_when_the_database_is_not_migrated(
    nats_url: str, database_url: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [CLI, "run"],
        env={**run_env(nats_url, database_url), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert b"central-archiver migrate" in result.stdout


async def _is(status: Any, wanted: int) -> bool:
    return bool(await status == wanted)


async def _more_than(value: Any, floor: int) -> bool:
    return bool(await value > floor)

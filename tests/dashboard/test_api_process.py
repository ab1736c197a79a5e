"""``central-dashboard run`` as a process: settings, readiness, metrics, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest
from dashboard.harness import wait_for

from adapter_contract import provision
from central.devservers import free_port

BINARY = str(Path(sys.executable).parent / "central-dashboard")


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRAL_")}
    env.update(values)
    return env


async def _lines(
    proc: asyncio.subprocess.Process, seen: list[dict[str, object]]
) -> None:
    assert proc.stdout is not None
    while raw := await proc.stdout.readline():
        try:
            seen.append(orjson.loads(raw))
        except orjson.JSONDecodeError:
            seen.append({"raw": raw.decode(errors="replace")})


async def test_run_serves_health_readiness_and_metrics_then_stops_on_sigterm(
    nats_url: str, own_archive: str
) -> None:
    await provision(nats_url)
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        BINARY,
        "run",
        env=_env(
            CENTRAL_NATS_URL=nats_url,
            CENTRAL_DATABASE_URL=own_archive,
            CENTRAL_HTTP_HOST="127.0.0.1",
            CENTRAL_HTTP_PORT=str(port),
            CENTRAL_DASHBOARD_TOKEN="secret",
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    seen: list[dict[str, object]] = []
    reader = asyncio.create_task(_lines(proc, seen))
    try:
        await wait_for(
            lambda: any(line.get("event") == "hub_started" for line in seen),
            30,
            "the hub to start",
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_for(ready, 20, "/readyz to answer 200")
            assert (await client.get("/healthz")).json() == {"status": "alive"}
            await client.get("/api/events", params={"limit": "x"})
            metrics = (await client.get("/metrics")).text
            spec = (await client.get("/openapi.json")).json()

        assert 'central_dashboard_rejected_requests_total{parameter="limit"} 1.0' in (
            metrics
        )
        assert "/api/events" in spec["paths"]
        starting = next(line for line in seen if line.get("event") == "starting")
        assert starting["service"] == "dashboard"
        assert starting["dashboard_token"] == "***"
        assert "secret" not in str(seen)

        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
        await reader
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    assert code == 0, seen[-10:]
    assert any(line.get("event") == "shutdown_complete" for line in seen)


async def test_run_on_a_database_not_migrated_fails_naming_the_step(
    nats_url: str, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        # The role exists server-wide once any database was migrated; make sure.
        await conn.execute(
            "DO $$ BEGIN CREATE ROLE central_reader NOLOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
    finally:
        await conn.close()
    done = await asyncio.create_subprocess_exec(
        BINARY,
        "run",
        env=_env(
            CENTRAL_NATS_URL=nats_url,
            CENTRAL_DATABASE_URL=database_url,
            CENTRAL_HTTP_PORT=str(free_port()),
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(done.communicate(), 60)

    assert done.returncode == 1
    assert b"central-archiver migrate" in out
    assert b'"event":"start_failed"' in out


@pytest.mark.parametrize(
    ("name", "value"),
    [("CENTRAL_HTTP_PORT", "eighty"), ("CENTRAL_DB_STATEMENT_TIMEOUT_S", "0")],
)
async def test_run_with_an_invalid_setting_exits_2_naming_it(
    name: str, value: str
) -> None:
    done = await asyncio.create_subprocess_exec(
        BINARY,
        "run",
        env=_env(**{name: value}),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(done.communicate(), 30)

    assert done.returncode == 2
    assert name.encode() in err

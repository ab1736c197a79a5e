"""No secret in a log line, an error message or ``/metrics``.

The services run as their own console scripts with secrets in every place an
operator puts them: the NATS password in ``CENTRAL_NATS_URL`` (against a NATS that
checks it), an API key in a feed URL's path (as FIRMS wants its MAP_KEY) and in its
query, and a database password the archiver fails to use. Everything they print and
serve is then scanned for the secrets.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import nats
import orjson

from adapter_contract import FIXTURES, provision, wait_until
from central.devservers import NatsServer, free_port
from central.replay import Fault, ReplayApp, running

NATS_PASSWORD = "natsPw7c1e9d0b2a44f6"
MAP_KEY = "0f3c5e7a9b1d2f4e6a8c0e2b4d6f8a1c"
QUERY_KEY = "qk5b8e1d4a7c0f3e6b9d2a5c"
DB_PASSWORD = "dbPw4e7a1c9f2b5d8e0a3c"
SECRETS = (NATS_PASSWORD, MAP_KEY, QUERY_KEY, DB_PASSWORD)
FIRMS = FIXTURES / "nasa-firms" / "firms_viirs_snpp_c2_europe_24h_2022-09-05.csv"
BIN = Path(sys.executable).parent


def _auth_server(tmp_path: Path) -> NatsServer:
    conf = tmp_path / "auth.conf"
    conf.write_text(
        "authorization {\n"
        f'  users: [{{user: adapter-fire, password: "{NATS_PASSWORD}"}}]\n'
        "}\n"
    )
    return NatsServer(tmp_path, extra_args=("-c", str(conf))).start()


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


async def test_adapter_prints_and_serves_no_secret_while_polling_and_failing(
    tmp_path: Path,
) -> None:
    server = _auth_server(tmp_path)
    nats_url = f"nats://adapter-fire:{NATS_PASSWORD}@127.0.0.1:{server.port}"
    app = ReplayApp()
    path = f"/api/area/csv/{MAP_KEY}/VIIRS_SNPP_NRT/world/1"
    route = app.serve(path, FIRMS.read_bytes(), "text/csv")
    route.fault = Fault(status=500)
    port = free_port()
    try:
        await provision(nats_url)
        async with running(app) as base:
            env = {
                **os.environ,
                "CENTRAL_NATS_URL": nats_url,
                "CENTRAL_FEED_FIRMS_URL": f"{base}{path}?token={QUERY_KEY}&area=world",
                "CENTRAL_FEED_FIRMS_INTERVAL_S": "0.5",
                "CENTRAL_BACKOFF_BASE_S": "0.1",
                "CENTRAL_BACKOFF_CAP_S": "0.2",
                "CENTRAL_HTTP_PORT": str(port),
                "CENTRAL_HTTP_HOST": "127.0.0.1",
            }
            proc = subprocess.Popen(  # noqa: ASYNC220 - the service under test
                [str(BIN / "central-adapter-fire"), "run"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            try:
                await wait_until(lambda: route.hits >= 2, 20, "failed polls")
                route.fault = Fault()
                nc = await nats.connect(nats_url)
                js = nc.jetstream()

                async def archived_some() -> bool:
                    info = await js.stream_info("CENTRAL_FIRE")
                    return bool(info.state.messages > 0)

                await wait_until(archived_some, 30, "the recovered poll's events")
                await nc.close()
                async with httpx.AsyncClient() as client:
                    metrics = (
                        await client.get(f"http://127.0.0.1:{port}/metrics")
                    ).text
                    ready = (await client.get(f"http://127.0.0.1:{port}/readyz")).text
            finally:
                proc.send_signal(signal.SIGTERM)
                out, err = await asyncio.to_thread(proc.communicate, timeout=30)
    finally:
        server.stop()

    printed = out.decode() + err.decode()
    lines = [orjson.loads(line) for line in out.decode().splitlines() if line]
    failed = [line for line in lines if line["event"] == "poll_failed"]
    # The scan would catch them: the lines that carry the URL are there, masked.
    assert failed
    assert "/api/area/csv/***/" in failed[0]["url"]
    assert "token=***" in failed[0]["url"]
    assert any(line["event"] == "service_starting" for line in lines)
    assert "central_adapter_records_total" in metrics
    assert _leaks(printed) == []
    assert _leaks(metrics) == []
    assert _leaks(ready) == []


async def test_archiver_start_failure_names_no_database_password(
    nats_url: str,
) -> None:
    closed = free_port()
    env = {
        **os.environ,
        "CENTRAL_NATS_URL": nats_url,
        "CENTRAL_DATABASE_URL": f"postgresql://central:{DB_PASSWORD}@127.0.0.1:{closed}/x",
        "CENTRAL_HTTP_PORT": str(free_port()),
        "CENTRAL_HTTP_HOST": "127.0.0.1",
    }
    for command in ("migrate", "run"):
        done = await asyncio.to_thread(
            subprocess.run,
            [str(BIN / "central-archiver"), command],
            env=env,
            capture_output=True,
            timeout=60,
        )
        printed = done.stdout.decode() + done.stderr.decode()
        assert done.returncode != 0, command
        assert "127.0.0.1" in printed or "unreachable" in printed, printed
        assert _leaks(printed) == [], command

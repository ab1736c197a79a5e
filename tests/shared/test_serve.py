"""A service run by ``central.service.serve`` as a process: its SIGTERM exit."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import orjson

from adapter_contract import provision, wait_until
from central.devservers import free_port

BIN = Path(sys.executable).parent


async def _ready(port: int) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            response = await client.get(f"http://127.0.0.1:{port}/readyz")
    except httpx.TransportError:
        return False
    return response.status_code == 200


async def test_adapter_exits_zero_after_its_clean_shutdown_on_sigterm(
    nats_url: str,
) -> None:
    await provision(nats_url)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CENTRAL_")},
        "CENTRAL_NATS_URL": nats_url,
        # Nothing listens there: the polls fail, which is beside the point here.
        "CENTRAL_FEED_FIRMS_URL": f"http://127.0.0.1:{free_port()}/firms.csv",
        "CENTRAL_HTTP_PORT": str(port),
        "CENTRAL_HTTP_HOST": "127.0.0.1",
    }
    proc = subprocess.Popen(  # noqa: ASYNC220 - the service under test
        [str(BIN / "central-adapter-fire"), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        await wait_until(lambda: _ready(port), 30, "the adapter's readiness")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.to_thread(proc.communicate, timeout=30)

    events = [
        orjson.loads(line)["event"] for line in out.splitlines() if line[:1] == b"{"
    ]
    assert proc.returncode == 0
    assert "adapter_stopped" in events
    assert events[-1] == "service_stopped"

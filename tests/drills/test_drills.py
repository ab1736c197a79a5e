"""The fault drills of ``bench/drills.py`` at CI size, as one slow test.

The script owns every server it uses (throwaway NATS, a NATS cluster, PostgreSQL,
the services as child processes); the test runs it as a child process, checks its
exit code and its closing JSON line drill by drill, and leaves the table for the
terminal summary (``conftest.py``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from drills.report import REPORT

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "drills.py"
DRILLS = (
    "archiver-kill",
    "postgres-restart",
    "nats-restart",
    "nats-cluster",
    "adapter-kill",
    "replicas",
    "disk-pressure",
)
MODIS_EVENTS = 36_555
#: archiver-kill at its full size (100,000 events, 20 kills); the other producer
#: drills at 20,000 events each.
ARGS = ("--events", "100000", "--fault-events", "20000")
#: The whole run at this size took 287 s on a 2-core machine that other test runs
#: were loading (load average 5 to 7).
BUDGET_S = 480


def run_drills() -> tuple[int, str, float]:
    """Run the script; on overrunning the budget, SIGTERM it so it cleans up."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRAL_")}
    started = time.monotonic()
    with subprocess.Popen(
        [sys.executable, str(SCRIPT), *ARGS],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        try:
            out, _ = proc.communicate(timeout=BUDGET_S)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=90)
            pytest.fail(f"drills overran {BUDGET_S} s:\n{out[-4000:]}")
    return proc.returncode, out, round(time.monotonic() - started, 1)


@pytest.mark.slow
@pytest.mark.timeout(BUDGET_S + 120)
def test_drills_lose_and_double_nothing_when_services_and_servers_fail() -> None:
    code, out, seconds = run_drills()
    last = out.strip().splitlines()[-1] if out.strip() else ""
    report: dict[str, Any] = json.loads(last) if last.startswith("{") else {}
    REPORT.update(report, exit_code=code, seconds=seconds)
    drills = {d["name"]: d for d in report.get("drills", [])}

    assert code == 0, out[-4000:]
    assert tuple(drills) == DRILLS
    for name, drill in drills.items():
        assert (drill["duplicates"], drill["lost"]) == (0, 0), name
    kill = drills["archiver-kill"]
    assert kill["offered"] == kill["published"] == kill["archived"] == 100_000
    assert "20 SIGKILLs" in kill["note"]
    for name in ("postgres-restart", "nats-restart", "nats-cluster"):
        assert drills[name]["archived"] == drills[name]["offered"] == 20_000, name
    for name in ("adapter-kill", "replicas"):
        assert drills[name]["archived"] == MODIS_EVENTS, name
    full = drills["disk-pressure"]
    assert full["accepted_loss"] > 0, "the stream never reached its max_bytes"
    assert full["archived"] + full["accepted_loss"] == full["published"]

"""Prints the fault drills' table into the pytest terminal summary.

The figures then show in CI logs like the end-to-end summary does, closed by one
``drills-summary`` line of JSON.
"""

from __future__ import annotations

import json

import pytest
from drills.report import REPORT, table


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORT:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fault drills")
    for row in table(REPORT.get("drills", [])):
        write(row)
    write(f"script: exit code {REPORT['exit_code']}, {REPORT['seconds']} s")
    write("drills-summary " + json.dumps(REPORT, sort_keys=True))

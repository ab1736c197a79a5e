"""``central-dashboard``: the dashboard service's command line."""

from __future__ import annotations


def main() -> int:
    raise SystemExit("central-dashboard: not built yet")

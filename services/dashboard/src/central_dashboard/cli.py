"""``central-dashboard``: ``run`` serves the dashboard until SIGTERM or SIGINT.

Exit codes: 0 after a clean shutdown, 1 when start-up failed (NATS or the
database unreachable, the migrations not applied, the port taken), 2 when a
setting is missing or invalid (one line on stderr naming the variable).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from central.errors import SettingsError
from central.logs import configure, get_logger
from central.settings import load
from central_dashboard import __version__
from central_dashboard.settings import DashboardSettings

SERVICE = "dashboard"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, read settings, run; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="central-dashboard",
        description="Serve Central's dashboard: pages and a query API over the "
        "archive and the streams.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="serve HTTP on CENTRAL_HTTP_PORT")
    parser.parse_args(argv)

    try:
        settings = load(DashboardSettings)
        settings.nats_tls()  # an unreadable certificate stops start-up here
    except SettingsError as exc:
        print(f"central-dashboard: {exc}", file=sys.stderr)
        return 2
    secrets = settings.secrets()
    if settings.dashboard_token is not None:
        secrets.append(settings.dashboard_token.get_secret_value())
    configure(SERVICE, settings.log_level, secrets)
    log = get_logger()
    log.info("starting", version=__version__, **settings.summary())
    return _run(settings, log)


def _run(settings: DashboardSettings, log: Any) -> int:
    # Imported here so that a settings error answers before the web stack loads.
    from central.service import serve_until_stopped
    from central.telemetry import setup
    from central_dashboard.app import create_app
    from central_dashboard.tracing import traced

    try:
        telemetry = setup(SERVICE, __version__)
    except SettingsError as exc:
        print(f"central-dashboard: {exc}", file=sys.stderr)
        return 2
    app = traced(create_app(settings), telemetry)
    # Live clients hold their connections open; they are cut after 5 s.
    try:
        return serve_until_stopped(app, settings, log, graceful_s=5)
    finally:
        telemetry.shutdown()


if __name__ == "__main__":
    sys.exit(main())

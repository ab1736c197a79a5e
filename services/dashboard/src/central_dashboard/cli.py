"""``central-dashboard``: ``run`` serves the dashboard until SIGTERM or SIGINT.

Exit codes: 0 after a clean shutdown, 1 when start-up failed (NATS or the
database unreachable, the migrations not applied, the port taken), 2 when a
setting is missing or invalid (one line on stderr naming the variable).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
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
    import uvicorn

    from central.telemetry import setup
    from central_dashboard.app import create_app
    from central_dashboard.tracing import traced

    try:
        telemetry = setup(SERVICE, __version__)
    except SettingsError as exc:
        print(f"central-dashboard: {exc}", file=sys.stderr)
        return 2
    app = traced(create_app(settings), telemetry)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        lifespan="on",
        log_config=None,
        access_log=False,
        # Live clients hold their connections open; they are cut after this.
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it has shut down; with
    # the default handler SIGTERM would then kill the process after a clean
    # shutdown. Handlers that ignore it keep the exit code ours.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _ignore_signal)
    try:
        asyncio.run(server.serve())
    except SystemExit as exc:
        log.error("startup_failed", uvicorn_exit_code=exc.code)
        return 1
    finally:
        telemetry.shutdown()
    if not server.started:
        log.error("startup_failed")
        return 1
    log.info("shutdown_complete")
    return 0


def _ignore_signal(signum: int, frame: Any) -> None:
    return None


if __name__ == "__main__":
    sys.exit(main())

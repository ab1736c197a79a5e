"""``central-archiver``: ``migrate`` (one-shot schema step) and ``run`` (the service).

Exit codes: 0 on success (``run``: after a graceful SIGTERM/SIGINT shutdown), 1 when
the work failed (a migration refused or failing, start-up failing), 2 when a setting
is missing or invalid (one line on stderr naming the variable).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from central.errors import SettingsError
from central.logs import configure, get_logger
from central.settings import load
from central_archiver.errors import ArchiverError
from central_archiver.migrations import default_dir, migrate
from central_archiver.settings import ArchiverSettings

SERVICE = "archiver"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, read settings, run the command; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="central-archiver",
        description="Archive Central's events from NATS JetStream into PostgreSQL.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply the schema migrations and exit")
    commands.add_parser("run", help="run the archiver (HTTP on CENTRAL_HTTP_PORT)")
    args = parser.parse_args(argv)

    try:
        settings = load(ArchiverSettings)
    except SettingsError as exc:
        print(f"central-archiver: {exc}", file=sys.stderr)
        return 2
    configure(SERVICE, settings.log_level, settings.secrets())
    log = get_logger()
    log.info("starting", command=args.command, **settings.summary())

    if args.command == "migrate":
        return _migrate(settings, log)
    return _run(settings, log)


def _migrate(settings: ArchiverSettings, log: Any) -> int:
    try:
        folder = settings.migrations_dir or default_dir()
        asyncio.run(
            migrate(settings.database_url, folder, log, settings.role_passwords())
        )
    except ArchiverError as exc:
        log.error("migrate_failed", error=str(exc))
        print(f"central-archiver: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        log.error("migrate_failed", error=repr(exc))
        print(f"central-archiver: database unreachable: {exc}", file=sys.stderr)
        return 1
    return 0


def _run(settings: ArchiverSettings, log: Any) -> int:
    # Imported here: FastStream and uvicorn take about a second to import, which
    # the one-shot migrate step need not pay.
    from central.service import serve_until_stopped
    from central.telemetry import setup
    from central_archiver import __version__
    from central_archiver.app import create_app

    try:
        # A batch span links to every message in the batch.
        telemetry = setup(SERVICE, __version__, max_links=settings.batch_size)
    except SettingsError as exc:
        print(f"central-archiver: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings, telemetry=telemetry)
    try:
        return serve_until_stopped(app, settings, log)
    finally:
        telemetry.shutdown()


if __name__ == "__main__":
    sys.exit(main())

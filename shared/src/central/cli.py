"""``central``: developer commands for the whole hub (``dev``, ``replay``,
``otlp-sink``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from central import dev
from central.replay import serve_replay
from central.settings import DevSettings, load


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``central`` console script."""
    parser = argparse.ArgumentParser(prog="central")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("dev", help="run the whole hub here, no containers")
    run.add_argument(
        "--replay",
        action="store_true",
        help="poll a local server replaying recorded payloads",
    )
    run.add_argument(
        "--fixtures",
        type=Path,
        default=Path("tests/fixtures"),
        help="folder of recorded payloads (default: tests/fixtures)",
    )
    run.add_argument(
        "--http-port",
        type=int,
        default=8080,
        help="first HTTP port; each service takes the next one",
    )
    replay = commands.add_parser(
        "replay", help="serve recorded payloads over HTTP (for tests and compose)"
    )
    replay.add_argument("--fixtures", type=Path, default=Path("tests/fixtures"))
    replay.add_argument("--host", default="127.0.0.1")
    replay.add_argument("--port", type=int, default=8080)
    sink = commands.add_parser(
        "otlp-sink", help="receive OTLP/HTTP traces and keep them (for tests)"
    )
    sink.add_argument("--host", default="127.0.0.1")
    sink.add_argument("--port", type=int, default=4318)
    args = parser.parse_args(argv)

    if args.command == "otlp-sink":
        from central.otlpsink import serve_sink

        return serve_sink(args.host, args.port)
    if args.command == "replay":
        if not args.fixtures.is_dir():
            print(f"error: --fixtures {args.fixtures} is not a folder", file=sys.stderr)
            return 2
        return serve_replay(args.fixtures, args.host, args.port)

    if args.replay and not args.fixtures.is_dir():
        print(f"error: --fixtures {args.fixtures} is not a folder", file=sys.stderr)
        return 2
    settings = load(DevSettings)
    options = dev.DevOptions(
        replay=args.replay,
        fixtures=args.fixtures.resolve(),
        nats_url=settings.nats_url or None,
        database_url=settings.database_url or None,
        http_port=args.http_port,
    )
    return dev.run(options)


if __name__ == "__main__":
    sys.exit(main())

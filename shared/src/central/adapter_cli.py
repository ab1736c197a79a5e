"""The command line every adapter shares: ``normalize`` and ``run``.

``normalize --feed NAME FILE...`` prints one structured-mode CloudEvent per line for
every accepted record and nothing else on stdout; each rejected record is one line
on stderr and does not change the exit code; a file that is not a payload of the
feed at all exits 2 with a one-line message.  ``run`` starts the service.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from central.adapter import AdapterRuntime
from central.errors import FeedFormatError, RecordError, SettingsError
from central.events import to_structured
from central.feeds import Feed
from central.logs import configure, get_logger
from central.service import build_app, make_broker, serve
from central.settings import adapter_settings, load
from central.telemetry import setup


def normalize_files(feed: Feed, files: Sequence[Path]) -> int:
    """The ``normalize`` command; returns the exit code.

    Records are read lazily, so a payload of a hundred thousand rows costs one
    event at a time.  A closed stdout (``normalize ... | head``) ends quietly.
    """
    out = sys.stdout.buffer
    try:
        for path in files:
            code = _normalize_file(feed, path, out)
            if code:
                return code
        out.flush()
    except BrokenPipeError:
        # The reader went away; keep Python from complaining again at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _normalize_file(feed: Feed, path: Path, out: BinaryIO) -> int:
    try:
        records = iter(feed.parse(path.read_bytes()))
    except OSError as exc:
        print(f"error: {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except FeedFormatError as exc:
        print(f"error: {path}: not a {feed.name} payload: {exc}", file=sys.stderr)
        return 2
    for raw in records:
        try:
            item = feed.normalize(raw)
        except RecordError as exc:
            rid = exc.native_id or _record_id(feed, raw) or "?"
            print(f"rejected: {path}: record {rid}: {exc.reason}", file=sys.stderr)
            continue
        out.write(to_structured(item.event) + b"\n")
    return 0


def _record_id(feed: Feed, raw: object) -> str | None:
    try:
        return feed.record_id(raw)
    except Exception:
        return None


def run_service(service: str, version: str, feeds: dict[str, Feed]) -> int:
    """The ``run`` command: the adapter as a FastStream service until SIGTERM."""
    settings_cls = adapter_settings(
        service, {n: (f.default_url, f.default_interval_s) for n, f in feeds.items()}
    )
    try:
        settings = load(settings_cls)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure(service, settings.log_level, settings.secrets())
    log = get_logger()
    unknown = {f.strip() for f in settings.feeds.split(",") if f.strip()} - set(feeds)
    if unknown:
        print(
            f"error: setting CENTRAL_FEEDS: unknown feed(s) {sorted(unknown)}",
            file=sys.stderr,
        )
        return 2
    log.info("service_starting", version=version, settings=settings.summary())

    try:
        telemetry = setup(service, version)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    broker = make_broker(settings, service, telemetry)
    runtime = AdapterRuntime(service, version, feeds, settings, broker, telemetry)
    app = build_app(
        broker, service, after_startup=[runtime.start], on_shutdown=[runtime.stop]
    )
    try:
        code = serve(app, settings)
    finally:
        telemetry.shutdown()
    log.info("service_stopped", exit_code=code)
    return code


def adapter_main(
    service: str,
    version: str,
    feeds: dict[str, Feed],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse ``argv`` and run the chosen command; returns the exit code."""
    parser = argparse.ArgumentParser(prog=f"central-{service}")
    commands = parser.add_subparsers(dest="command", required=True)
    norm = commands.add_parser("normalize", help="print recorded payloads as events")
    norm.add_argument("--feed", required=True, choices=sorted(feeds))
    norm.add_argument("files", nargs="+", type=Path, metavar="FILE")
    commands.add_parser("run", help="poll the feeds and publish to NATS")
    args = parser.parse_args(argv)

    if args.command == "normalize":
        return normalize_files(feeds[args.feed], args.files)
    return run_service(service, version, feeds)

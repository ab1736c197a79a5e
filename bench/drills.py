"""Fault drills: Central loses and doubles nothing when its parts fail under load.

    uv run python bench/drills.py [--only NAME] [--events N] [--fault-events M]
                                  [--rate R] [--seed S] [--keep]

Every drill runs on loopback servers this run starts in a throwaway folder (NATS,
PostgreSQL with PostGIS, the services as child processes), never on a shared one:

- ``archiver-kill``: the archiver SIGKILLed 20 times at random moments while N
  events (default 100,000) flow, restarted each time;
- ``postgres-restart``: PostgreSQL shut down fast, later immediately, mid-run,
  with the server's default ``synchronous_commit = off``;
- ``nats-restart``: NATS stopped (SIGTERM) and later killed (SIGKILL) mid-run,
  started again on its store each time;
- ``nats-cluster``: a 3-node cluster, streams at 3 replicas; a node killed and
  brought back, then the stream leader;
- ``adapter-kill``: ``central-adapter-fire`` SIGKILLed while it publishes the
  36,555-row MODIS file, then restarted;
- ``replicas``: two adapter replicas and three archivers; the lease holder and
  one archiver killed mid-run;
- ``disk-pressure``: the quake stream at a small ``max_bytes`` while the archiver
  is stopped; what the stream dropped is the accepted loss.

The producer drills offer M events (default 30 % of N) at R events/s with acks
pipelined, re-publishing unacked events with the same ``Nats-Msg-Id``. Each drill
prints a line of counts (offered, published = acked, archived = distinct rows,
duplicates = rows and stream messages beyond one per event id, lost = acked and
not archived) and its seconds; the last line printed is one JSON object. The exit
code is 1 when any drill ends with duplicates, with a loss the design does not
accept, or not at all.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from archiver import make_events
from drillkit import adapter_drills, archiver_drills
from drillkit.census import DrillResult
from drillkit.lab import Lab
from drillkit.producer import Event
from drillkit.servers import Archive

from central.devservers import throwaway_dir

Drill = Callable[[Lab, int], Awaitable[DrillResult]]

#: Every drill by name, in running order; each is given the lab and its size.
DRILLS: dict[str, Drill] = {
    "archiver-kill": archiver_drills.archiver_kill,
    "postgres-restart": archiver_drills.postgres_restart,
    "nats-restart": archiver_drills.nats_restart,
    "nats-cluster": archiver_drills.nats_cluster,
    "adapter-kill": lambda lab, _size: adapter_drills.adapter_kill(lab),
    "replicas": lambda lab, _size: adapter_drills.replicas(lab),
    "disk-pressure": archiver_drills.disk_pressure,
}
#: The drills whose events come from the recorded MODIS file, not the producer.
ADAPTER_DRILLS = frozenset({"adapter-kill", "replicas"})
COLUMNS = ("offered", "published", "archived", "duplicates", "lost", "accepted_loss")


def say(message: str) -> None:
    print(message, flush=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(DRILLS),
        metavar="NAME",
        help="run only this drill (repeatable); names: " + ", ".join(DRILLS),
    )
    parser.add_argument(
        "--events", type=int, default=100_000, help="events of archiver-kill"
    )
    parser.add_argument(
        "--fault-events",
        type=int,
        default=None,
        help="events of the other producer drills (default: 30 %% of --events)",
    )
    parser.add_argument(
        "--rate", type=float, default=2500.0, help="producer pace, events/s"
    )
    parser.add_argument("--seed", type=int, default=None, help="for the kill moments")
    parser.add_argument(
        "--keep", action="store_true", help="keep the run's folder (logs, stores)"
    )
    args = parser.parse_args(argv)
    if args.fault_events is None:
        args.fault_events = max(1000, int(args.events * 0.3))
    if args.seed is None:
        args.seed = random.randrange(1_000_000)
    return args


def size(name: str, args: argparse.Namespace) -> int:
    """The events a drill's producer offers (none for the adapter drills)."""
    if name in ADAPTER_DRILLS:
        return 0
    return int(args.events if name == "archiver-kill" else args.fault_events)


def line(result: DrillResult) -> str:
    counts = "  ".join(f"{name} {getattr(result, name):>7,}" for name in COLUMNS)
    verdict = "ok  " if result.passed else "FAIL"
    return f"{verdict} {result.name:<16} {counts}  {result.seconds:6.1f} s"


async def run(args: argparse.Namespace, folder: Path) -> list[DrillResult]:
    names = args.only or list(DRILLS)
    biggest = max((size(name, args) for name in names), default=0)
    started = time.monotonic()
    events = [Event(*e) for e in make_events(biggest, 0)]
    if events:
        say(f"{len(events):,} events prepared in {time.monotonic() - started:.1f} s")
    archive = Archive(folder)
    await archive.start()
    lab = Lab(folder, archive, events, args.rate, random.Random(args.seed), say)
    results = []
    try:
        for name in names:
            say(f"{name}: starting")
            drill_started = time.monotonic()
            try:
                result = await DRILLS[name](lab, size(name, args))
            except Exception as exc:
                traceback.print_exc()
                seconds = time.monotonic() - drill_started
                result = DrillResult.broken(name, seconds, f"drill failed: {exc!r}")
            results.append(result)
            say(line(result))
            say(f"     {result.as_json()['note']}")
    finally:
        archive.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # SIGTERM as Ctrl-C: the drills' clean-up then stops every server and child.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    say(
        f"drills: seed {args.seed}, rate {args.rate:,.0f} events/s, archiver-kill "
        f"{args.events:,} events, other producer drills {args.fault_events:,}"
    )
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(throwaway_dir("central-drills-"))
        if args.keep:
            kept = folder.with_name(folder.name + "-kept")
            ignore = shutil.ignore_patterns(".s.PGSQL.*")
            stack.callback(shutil.copytree, folder, kept, ignore=ignore)
            stack.callback(say, f"run folder kept in {kept}")
        results = asyncio.run(run(args, folder))
    total = time.monotonic() - started
    failed = [r.name for r in results if not r.passed]
    say(
        f"{len(results)} drills in {total:.1f} s: "
        + (f"FAILED {', '.join(failed)}" if failed else "all passed")
    )
    print(orjson.dumps({"drills": [r.as_json() for r in results]}).decode())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

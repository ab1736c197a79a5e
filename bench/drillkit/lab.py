"""What every drill is given, and the harness of the drills that a producer feeds.

A producer drill owns a NATS (one node or a cluster) and a fresh database, runs
archivers as child processes, and feeds ``CENTRAL_QUAKE`` from a paced
:class:`~drillkit.producer.Producer` while its fault script runs beside it. When
both are done it waits for the archiver's durable consumer to settle, stops the
archivers, and counts the stream and the archive.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from central.streams import BY_DOMAIN, StreamLimits
from drillkit.census import DrillResult, count_archive, scan_stream, settle, tally
from drillkit.producer import Event, Producer
from drillkit.servers import Archive, Nats, Service, archiver, stop_all

STREAM = BY_DOMAIN["quake"].name
DURABLE = BY_DOMAIN["quake"].durable


@dataclass
class Lab:
    """The run's folder, its PostgreSQL, the prepared events and the pace."""

    folder: Path
    archive: Archive
    events: list[Event]
    rate: float
    rng: random.Random
    say: Callable[[str], None]

    def workdir(self, name: str) -> Path:
        path = self.folder / name
        path.mkdir()
        return path


@dataclass
class Run:
    """One producer drill under way, as its fault script sees it."""

    lab: Lab
    name: str
    nats: Nats
    database_url: str
    archivers: list[Service]
    producer: Producer
    nc: Any
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    #: Notes written once the archive has settled (what the services logged).
    epilogue: list[Callable[[], str]] = field(default_factory=list)

    def say(self, message: str) -> None:
        self.lab.say(f"  {self.name} {self.producer.elapsed():6.1f} s  {message}")

    async def until(self, seconds: float) -> None:
        """Return once the producer has run ``seconds``."""
        await self.producer.running_for(seconds)


Faults = Callable[[Run], Coroutine[Any, Any, None]]


async def producer_drill(
    lab: Lab,
    name: str,
    size: int,
    faults: Faults,
    *,
    nodes: int = 1,
    archivers: int = 1,
    limits: Mapping[str, StreamLimits] | None = None,
    accept_limit_drops: bool = False,
    settle_s: float = 180.0,
) -> DrillResult:
    """Feed ``size`` events at the lab's rate while ``faults`` runs; count the result.

    Every archiver the fault script left stopped stays stopped; the consumer is
    given ``settle_s`` to settle once the producer is done.
    """
    started = time.monotonic()
    folder = lab.workdir(name)
    nats = Nats(folder, nodes).start()
    services: list[Service] = []
    try:
        await nats.jetstream_ready()
        await nats.provision(limits, replicas=nodes)
        database_url = await lab.archive.database(name.replace("-", "_"))
        services = [
            archiver(folder, f"archiver-{n}", nats.url, database_url)
            for n in range(1, archivers + 1)
        ]
        for service in services:
            service.start()
        for service in services:
            await service.ready()
        producer = Producer(nats.urls, lab.events[:size], lab.rate)
        nc = await nats.connect()
        run = Run(lab, name, nats, database_url, services, producer, nc)
        try:
            await _produce_with(run, faults)
            settled, state = await settle(nc, STREAM, DURABLE, settle_s)
            if not settled:
                run.failures.append(f"archive did not settle in {settle_s:.0f} s")
            run.say(f"settled: {state}")
            # A settled consumer takes no more rows: the archivers stop (each
            # waits out its pull requests) while the stream is read.
            stopping = asyncio.create_task(asyncio.to_thread(stop_all, services))
            stream = await scan_stream(nc, STREAM)
            run.failures.extend(await stopping)
            run.notes.extend(note() for note in run.epilogue)
        finally:
            await nc.close()
        archive = await count_archive(database_url)
    finally:
        for service in services:
            service.kill()
        nats.stop()
    events = lab.events[:size]
    acked = {events[i].id: (a.seq, a.at_s) for i, a in producer.acks.items()}
    notes = [producer.summary(), archive.rate(), *run.notes]
    return tally(
        name,
        (e.id for e in events),
        acked,
        stream,
        archive,
        time.monotonic() - started,
        note="; ".join(n for n in notes if n),
        failures=run.failures,
        accept_limit_drops=accept_limit_drops,
    )


async def _produce_with(run: Run, faults: Faults) -> None:
    """Run the producer and the fault script together; the first failure stops both."""
    producing = asyncio.create_task(run.producer.run(), name="producer")
    producing.add_done_callback(lambda task: _producer_done(run, task))
    scripted = asyncio.create_task(faults(run), name="faults")
    tasks = (producing, scripted)
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _producer_done(run: Run, task: asyncio.Task[None]) -> None:
    if task.cancelled() or task.exception() is not None:
        return
    run.say(
        f"producer done: {len(run.producer.acks):,} of "
        f"{len(run.producer.events):,} acked"
    )

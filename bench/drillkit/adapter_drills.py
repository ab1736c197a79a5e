"""The adapter drills: an adapter killed mid-publish, and replicas of both services.

``central-adapter-fire run`` polls the recorded 36,555-row MODIS file from a replay
server on loopback (``CENTRAL_FEED_FIRMS_URL``) and publishes its events to
``CENTRAL_FIRE``; archivers write them into the drill's database. The adapter
advances its seen-set only after every publish of a poll is acked, so an adapter
killed while publishing re-publishes the whole file on its next poll, and
JetStream's duplicate window (``Nats-Msg-Id`` = event id) must absorb what was
already stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from nats.js.errors import KeyDeletedError, KeyNotFoundError

from central.errors import RecordError
from central.replay import ReplayApp, running
from central.streams import ADAPTER_BUCKET, BY_DOMAIN
from central_adapter_fire.feeds import FEEDS
from drillkit.census import DrillResult, count_archive, scan_stream, settle, tally
from drillkit.lab import Lab
from drillkit.servers import (
    BIN,
    DrillError,
    Nats,
    Service,
    archiver,
    service_env,
    stop_all,
)

ROOT = Path(__file__).resolve().parents[2]
MODIS = ROOT / "tests/fixtures/nasa-firms/firms_modis_c6.1_global_24h_2023-08-02.csv"
FIRE = BY_DOMAIN["fire"]
LEASE_KEY = "lease.adapter-fire.firms"
STATE_KEY = "state.adapter-fire.firms"
#: Short, so that a killed holder's lease expires within the drill.
LEASE_TTL_S = 3


@functools.cache
def payload_ids() -> tuple[str, ...]:
    """The distinct event ids of the MODIS file, as the adapter normalizes them."""
    feed = FEEDS["firms"]
    ids: dict[str, None] = {}
    for raw in feed.parse(MODIS.read_bytes()):
        with contextlib.suppress(RecordError):
            ids[feed.normalize(raw).event.id] = None
    return tuple(ids)


def fire_adapter(folder: Path, name: str, nats_url: str, feed_url: str) -> Service:
    """A ``central-adapter-fire run`` child polling ``feed_url`` once an hour."""
    env = service_env(
        CENTRAL_NATS_URL=nats_url,
        CENTRAL_FEED_FIRMS_URL=feed_url,
        CENTRAL_FEED_FIRMS_INTERVAL_S="3600",
        CENTRAL_LEASE_TTL_S=str(LEASE_TTL_S),
        CENTRAL_STATUS_INTERVAL_S="5",
        CENTRAL_BACKOFF_BASE_S="0.5",
        CENTRAL_BACKOFF_CAP_S="2",
    )
    command = [str(BIN / "central-adapter-fire"), "run"]
    return Service(name, command, env, folder / f"{name}.log")


@dataclass
class Watch:
    """The fire stream and the adapter's keys, sampled from a background task.

    ``holders`` lists each change of the lease's holder as (drill seconds,
    holder or None).
    """

    nc: Any
    kv: Any
    started: float = field(default_factory=time.monotonic)
    messages: int = 0
    holder: str | None = None
    holders: list[tuple[float, str | None]] = field(default_factory=list)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def run(self) -> None:
        """Sample every 20 ms until cancelled; a failed read keeps the last value."""
        js = self.nc.jetstream(timeout=5)
        while True:
            with contextlib.suppress(Exception):
                self.messages = int((await js.stream_info(FIRE.name)).state.messages)
            with contextlib.suppress(Exception):
                holder = self._holder(await self.get(LEASE_KEY))
                if holder != self.holder:
                    self.holder = holder
                    self.holders.append((self.elapsed(), holder))
            await asyncio.sleep(0.02)

    @staticmethod
    def _holder(value: bytes | None) -> str | None:
        holder = orjson.loads(value).get("holder") if value else None
        return str(holder) if holder else None

    async def get(self, key: str) -> bytes | None:
        """The value under ``key``; None when there is none (or it was deleted)."""
        try:
            entry = await self.kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return bytes(entry.value) if entry.value else None

    async def saved_count(self) -> int | None:
        """How many ids the adapter's saved state holds; None before any save."""
        value = await self.get(STATE_KEY)
        return int(orjson.loads(value)["count"]) if value else None


def holder_pid(holder: str | None) -> int | None:
    """The process id inside a lease holder name (``host-pid-token``)."""
    if not holder:
        return None
    with contextlib.suppress(IndexError, ValueError):
        return int(holder.rsplit("-", 2)[1])
    return None


async def wait_for(
    check: Callable[[], Awaitable[bool] | bool], timeout: float, what: str
) -> None:
    """Poll ``check`` until true; DrillError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = check()
        if not isinstance(answer, bool):
            answer = await answer
        if answer:
            return
        await asyncio.sleep(0.02)
    raise DrillError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Rig:
    """NATS, the archive database, the replay server and the services of a drill."""

    lab: Lab
    name: str
    folder: Path
    nats: Nats
    database_url: str
    feed_url: str
    watch: Watch
    services: list[Service] = field(default_factory=list)

    def say(self, message: str) -> None:
        self.lab.say(f"  {self.name} {self.watch.elapsed():6.1f} s  {message}")

    def add(self, service: Service) -> Service:
        self.services.append(service.start())
        return service


Script = Callable[[Rig], Awaitable[tuple[list[str], list[str]]]]


async def adapter_drill(
    lab: Lab, name: str, archivers: int, script: Script
) -> DrillResult:
    """Run ``script`` against a fresh rig; count the fire stream and the archive.

    The script returns its notes and failures; it leaves the adapter state
    saved, and the archivers it did not kill running.
    """
    started = time.monotonic()
    ids = payload_ids()
    folder = lab.workdir(name)
    nats = Nats(folder).start()
    rig: Rig | None = None
    try:
        await nats.jetstream_ready()
        await nats.provision()
        database_url = await lab.archive.database(name.replace("-", "_"))
        app = ReplayApp()
        app.serve("/modis.csv", MODIS.read_bytes(), "text/csv")
        nc = await nats.connect()
        try:
            kv = await nc.jetstream(timeout=5).key_value(ADAPTER_BUCKET)
            async with running(app) as base:
                watch = Watch(nc, kv)
                url = f"{base}/modis.csv"
                rig = Rig(lab, name, folder, nats, database_url, url, watch)
                notes, failures = await _run_script(rig, archivers, script)
                # A settled consumer takes no more rows: the services stop while
                # the stream is read.
                stopping = asyncio.create_task(
                    asyncio.to_thread(stop_all, rig.services)
                )
                stream = await scan_stream(nc, FIRE.name)
                failures.extend(await stopping)
        finally:
            await nc.close()
        archive = await count_archive(database_url)
    finally:
        for service in rig.services if rig else ():
            service.kill()
        nats.stop()
    acked = {i: (seq, 0.0) for i, seq in stream.seqs.items()}
    return tally(
        name,
        ids,
        acked,
        stream,
        archive,
        time.monotonic() - started,
        note="; ".join(notes),
        failures=failures,
    )


async def _run_script(
    rig: Rig, archivers: int, script: Script
) -> tuple[list[str], list[str]]:
    """Start the archivers, run ``script``, and let the archive settle."""
    for n in range(1, archivers + 1):
        rig.add(archiver(rig.folder, f"archiver-{n}", rig.nats.url, rig.database_url))
    for service in rig.services:
        await service.ready()
    watcher = asyncio.create_task(rig.watch.run())
    try:
        notes, failures = await script(rig)
        settled, state = await settle(rig.watch.nc, FIRE.name, FIRE.durable, 180)
    finally:
        watcher.cancel()
    rig.say(f"settled: {state}")
    if not settled:
        failures.append("archive did not settle in 180 s")
    return notes, failures


async def _kill_when(rig: Rig, service: Service, target: int) -> tuple[float, int]:
    """SIGKILL ``service`` once the stream holds ``target`` messages.

    Returns when (drill seconds) and the stream's count once the publishes
    already in flight have landed.
    """
    total = len(payload_ids())
    await wait_for(lambda: rig.watch.messages >= target, 180, f"{target} messages")
    service.kill()
    killed = rig.watch.elapsed()
    await asyncio.sleep(0.5)
    count = int((await rig.watch.nc.jetstream().stream_info(FIRE.name)).state.messages)
    rig.say(f"SIGKILL {service.name} at {count:,} of {total:,} messages")
    return killed, count


def _last_poll(service: Service) -> dict[str, Any]:
    polls = [line for line in service.lines() if line.get("event") == "poll_finished"]
    return polls[-1] if polls else {}


async def adapter_kill(lab: Lab) -> DrillResult:
    """Kill the adapter while it publishes; the restart's re-publish must dedupe."""

    async def script(rig: Rig) -> tuple[list[str], list[str]]:
        total = len(payload_ids())
        adapter = rig.add(
            fire_adapter(rig.folder, "adapter-fire", rig.nats.url, rig.feed_url)
        )
        target = lab.rng.randint(total // 5, total * 4 // 5)
        _, at_kill = await _kill_when(rig, adapter, target)
        saved = await rig.watch.saved_count()
        failures = []
        if saved is not None:
            failures.append(f"state already saved ({saved} ids) at the kill")
        if not 0 < at_kill < total:
            failures.append(f"kill outside the publish ({at_kill} of {total})")
        adapter.start()
        await wait_for(
            _saved(rig.watch, total), 180, "the restarted adapter's saved state"
        )
        poll = _last_poll(adapter)
        rig.say(f"restarted adapter done: {_poll_text(poll)}")
        if poll.get("published") != total - at_kill:
            failures.append(
                f"restarted poll stored {poll.get('published')} events, "
                f"expected {total - at_kill}"
            )
        notes = [
            f"killed at {at_kill:,} of {total:,} stream messages, before the "
            "seen-set was saved; restarted poll: " + _poll_text(poll)
        ]
        return notes, failures

    return await adapter_drill(lab, "adapter-kill", 1, script)


def _saved(watch: Watch, total: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await watch.saved_count() == total

    return check


def _poll_text(poll: dict[str, Any]) -> str:
    return (
        f"{poll.get('new', 0):,} new, {poll.get('published', 0):,} stored, "
        f"{poll.get('duplicates', 0):,} absorbed by the duplicate window"
    )


async def replicas(lab: Lab) -> DrillResult:
    """Two adapter replicas and three archivers; kill the lease holder and one more.

    The adapter holding the feed's lease is killed while it publishes, and one
    archiver at another random moment; the other adapter must take the lease
    once it expires (``CENTRAL_LEASE_TTL_S``) and finish the feed, the other two
    archivers the archive.
    """

    async def script(rig: Rig) -> tuple[list[str], list[str]]:
        total = len(payload_ids())
        archivers = list(rig.services)
        adapters = [
            rig.add(
                fire_adapter(
                    rig.folder, f"adapter-fire-{n}", rig.nats.url, rig.feed_url
                )
            )
            for n in (1, 2)
        ]
        await wait_for(lambda: rig.watch.holder is not None, 60, "a lease holder")
        first_holder = rig.watch.holder
        holder = next(a for a in adapters if a.pid == holder_pid(first_holder))
        standby = next(a for a in adapters if a is not holder)
        victim = lab.rng.choice(archivers)
        adapter_at = lab.rng.randint(total // 4, total * 3 // 5)
        archiver_at = lab.rng.randint(total // 10, total * 9 // 10)
        kills = sorted([(adapter_at, holder), (archiver_at, victim)], key=_first)
        when: dict[str, tuple[float, int]] = {}
        for target, service in kills:
            when[service.name] = await _kill_when(rig, service, target)
        killed_at = when[holder.name][0]
        await wait_for(
            lambda: holder_pid(rig.watch.holder) == standby.pid,
            60,
            "the lease to move to the standby adapter",
        )
        moved = next(t for t, h in rig.watch.holders if holder_pid(h) == standby.pid)
        await wait_for(_saved(rig.watch, total), 180, "the standby's saved state")
        poll = _last_poll(standby)
        failures = []
        early = [
            (t, h)
            for t, h in rig.watch.holders
            if h and h != first_holder and t < moved
        ]
        if early or moved < killed_at:
            failures.append(
                f"the lease left its live holder at {moved:.1f} s, before the kill "
                f"at {killed_at:.1f} s: two replicas polled the feed at once"
            )
        notes = [
            f"{holder.name} (lease holder) killed at {when[holder.name][1]:,} "
            f"messages, {victim.name} at {when[victim.name][1]:,}; lease moved to "
            f"{standby.name} {moved - killed_at:.1f} s after the kill "
            f"(CENTRAL_LEASE_TTL_S={LEASE_TTL_S}); its poll: {_poll_text(poll)}"
        ]
        return notes, failures

    return await adapter_drill(lab, "replicas", 3, script)


def _first(item: tuple[int, Service]) -> int:
    return item[0]

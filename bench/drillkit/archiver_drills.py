"""The drills a producer feeds: kills, restarts, a cluster, and a full stream.

Each is a fault script run beside the paced producer by
:func:`drillkit.lab.producer_drill`; it prints one line per fault and leaves its
observations in the run's notes.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import replace
from typing import Any

from central.streams import BY_NAME, StreamLimits
from drillkit.census import DrillResult, archived_rows
from drillkit.lab import DURABLE, STREAM, Lab, Run, producer_drill

#: Seconds each restarted server stays down.
DOWN_S = 2.0
MIB = 1024**2


async def archiver_kill(lab: Lab, size: int, kills: int = 20) -> DrillResult:
    """SIGKILL the archiver ``kills`` times at random moments; restart it each time.

    The moments are spread at random over the producer's run; a kill waits until
    the restarted archiver is ready and has had a moment to take batches, so
    each one lands on an archiver at work.
    """
    window = size / lab.rate
    moments = sorted(lab.rng.uniform(0.02, 0.98) * window for _ in range(kills))

    async def faults(run: Run) -> None:
        service = run.archivers[0]
        js = run.nc.jetstream(timeout=5)
        in_hand: list[int] = []
        readies: list[float] = []
        at: list[float] = []
        for number, moment in enumerate(moments, start=1):
            await run.until(moment)
            info = await js.consumer_info(STREAM, DURABLE)
            service.kill()
            at.append(run.producer.elapsed())
            in_hand.append(info.num_ack_pending)
            rows = await archived_rows(run.database_url)
            service.start()
            readies.append(await service.ready())
            run.say(
                f"kill {number}: {info.num_ack_pending} delivered and unacked, "
                f"{rows:,} rows; ready again in {readies[-1]:.1f} s"
            )
            await asyncio.sleep(lab.rng.uniform(0.2, 0.8))
        run.notes.append(
            f"{kills} SIGKILLs between {at[0]:.1f} and {at[-1]:.1f} s; "
            f"delivered and unacked at the kills, summed: {sum(in_hand):,} "
            f"(redelivered after CENTRAL_ACK_WAIT_S=5); restarts ready in "
            f"{statistics.mean(readies):.1f} s on average"
        )

    return await producer_drill(lab, "archiver-kill", size, faults)


async def postgres_restart(lab: Lab, size: int) -> DrillResult:
    """Shut PostgreSQL down fast at 30 % of the run, immediately at 65 %."""

    async def faults(run: Run) -> None:
        for fraction, mode in ((0.3, "fast"), (0.65, "immediate")):
            await run.producer.reached(fraction)
            run.say(f"PostgreSQL {mode} shutdown, down {DOWN_S:.0f} s")
            await lab.archive.restart(mode, DOWN_S)
            run.say("PostgreSQL up again")
        service = run.archivers[0]
        run.epilogue.append(
            lambda: (
                "fast then immediate shutdown, "
                f"{DOWN_S:.0f} s down each; the archiver logged "
                f"{service.count('batch_failed')} batch_failed, "
                f"{service.count('database_unavailable')} database_unavailable, "
                f"{service.count('database_recovered')} database_recovered"
            )
        )

    return await producer_drill(lab, "postgres-restart", size, faults)


async def nats_restart(lab: Lab, size: int) -> DrillResult:
    """Stop NATS (SIGTERM) at 35 % of the run, kill it (SIGKILL) at 70 %; each
    time start it again on its store."""

    async def faults(run: Run) -> None:
        node = run.nats.nodes["n1"]
        for fraction, kill in ((0.35, False), (0.7, True)):
            await run.producer.reached(fraction)
            run.say(
                f"NATS {'killed (SIGKILL)' if kill else 'stopped (SIGTERM)'}, "
                f"down {DOWN_S:.0f} s"
            )
            await asyncio.to_thread(node.stop, kill)
            await asyncio.sleep(DOWN_S)
            await asyncio.to_thread(node.start)
            run.say("NATS up again")
        service = run.archivers[0]
        run.epilogue.append(
            lambda: (
                f"NATS stopped once and killed once, {DOWN_S:.0f} s down each; "
                "the archiver logged "
                f"{service.count('Connection broken')} broken connection, "
                f"{service.count('pull_credit_reset', reason='reconnected')} pull "
                "credit resets after reconnecting"
            )
        )

    return await producer_drill(lab, "nats-restart", size, faults)


async def nats_cluster(lab: Lab, size: int) -> DrillResult:
    """Three nodes, streams at three replicas: kill one node, later the leader.

    The first victim is a random follower, brought back after a few seconds; once
    it has caught up, the stream's leader (``stream_info().cluster.leader``) is
    killed and brought back the same way.  Everything is SIGKILL.
    """

    async def faults(run: Run) -> None:
        js = run.nc.jetstream(timeout=5)
        await run.producer.reached(0.25)
        leader = str((await js.stream_info(STREAM)).cluster.leader)
        victim = lab.rng.choice(sorted(set(run.nats.nodes) - {leader}))
        await _kill_node(run, victim, "a follower")
        await _caught_up(run)
        await run.producer.reached(0.6)
        leader = str((await js.stream_info(STREAM)).cluster.leader)
        await _kill_node(run, leader, "the stream leader")
        await run.producer.reached(1.0)
        await _caught_up(run)

    return await producer_drill(lab, "nats-cluster", size, faults, nodes=3)


async def _kill_node(run: Run, name: str, role: str) -> None:
    js = run.nc.jetstream(timeout=2)
    node = run.nats.nodes[name]
    run.say(f"SIGKILL {role} ({name})")
    await asyncio.to_thread(node.stop, True)
    killed = run.producer.elapsed()
    leader, elected = await _leader(js, exclude=name, timeout=30)
    await asyncio.sleep(max(0.0, DOWN_S - (run.producer.elapsed() - killed)))
    await asyncio.to_thread(node.start)
    answer = f"stream leader {leader} answered {elected:.1f} s after the kill"
    run.say(f"{name} back; {answer}")
    run.notes.append(
        f"killed {role} {name} at {killed:.1f} s, {answer}, {name} back at "
        f"{run.producer.elapsed():.1f} s"
    )


async def _leader(js: Any, exclude: str, timeout: float) -> tuple[str, float]:
    """The stream's leader once it is not ``exclude``, and how long that took."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < timeout:
        try:
            info = await js.stream_info(STREAM)
            leader = info.cluster.leader if info.cluster else None
        except Exception:
            leader = None
        if leader and leader != exclude:
            return str(leader), loop.time() - started
        await asyncio.sleep(0.1)
    return "none", timeout


async def _caught_up(run: Run, timeout: float = 60.0) -> None:
    """Wait until every replica of the stream is current again."""
    js = run.nc.jetstream(timeout=2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < timeout:
        try:
            cluster = (await js.stream_info(STREAM)).cluster
        except Exception:
            cluster = None
        replicas = (cluster.replicas or []) if cluster else []
        current = len(replicas) == 2 and all(r.current for r in replicas)
        if cluster and cluster.leader and current:
            run.say(f"replicas current after {loop.time() - started:.1f} s")
            return
        await asyncio.sleep(0.2)
    run.failures.append(f"stream replicas not current after {timeout:.0f} s")


async def disk_pressure(lab: Lab, size: int) -> DrillResult:
    """``CENTRAL_QUAKE`` at a small ``max_bytes`` while the archiver is stopped.

    The stream keeps a quarter of the run's bytes and discards as the registry
    says (``old``): with the archiver stopped from 20 % to 75 % of the run, the
    oldest unarchived events are dropped.  Those are the accepted loss; the
    archive must hold every event the stream kept and every one the archiver
    took before the stream dropped it.
    """
    spec = BY_NAME[STREAM]
    events = lab.events[:size]
    average = sum(
        len(e.body)
        + len(e.subject)
        + sum(len(k) + len(v) for k, v in e.headers.items())
        for e in events
    ) / max(1, len(events))
    max_bytes = max(MIB, int(0.25 * size * average))
    limits = {
        STREAM: StreamLimits(
            max_age_s=spec.limits.max_age_s,
            max_bytes=max_bytes,
            duplicate_window_s=spec.limits.duplicate_window_s,
        )
    }

    async def faults(run: Run) -> None:
        service = run.archivers[0]
        await run.producer.reached(0.2)
        run.say("archiver stopped (SIGTERM)")
        stopped = run.producer.elapsed()
        code = await asyncio.to_thread(service.stop)
        if code:
            run.failures.append(f"{service.name} exited {code} on SIGTERM")
        await run.producer.reached(0.75)
        service.start()
        await service.ready()
        run.say("archiver started again")
        info = await run.nc.jetstream(timeout=5).stream_info(STREAM)
        run.notes.append(
            f"{STREAM} max_bytes {max_bytes / MIB:.1f} MiB, discard "
            f"{spec.discard} (registry); archiver down {stopped:.1f}-"
            f"{run.producer.elapsed():.1f} s; stream first seq "
            f"{info.state.first_seq} when it came back"
        )

    result = await producer_drill(
        lab, "disk-pressure", size, faults, limits=limits, accept_limit_drops=True
    )
    return _with_accepted_note(result, spec.discard)


def _with_accepted_note(result: DrillResult, discard: str) -> DrillResult:
    accepted = (
        f"accepted loss: {result.accepted_loss:,} acked events the stream "
        f"dropped at its operator-set max_bytes (discard {discard}) before the "
        "archiver took them"
    )
    return replace(result, note=f"{accepted}; {result.note}")

"""Counting a drill exactly: what the stream holds, what the archive holds, the tally.

:func:`scan_stream` reads every message header the stream still holds (an
ephemeral consumer with ``headers_only``) and counts them by ``Nats-Msg-Id``;
:func:`count_archive` reads ``events`` with SQL; :func:`tally` compares both with
what was offered and acked and names every shortfall.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from central.events import MSG_ID_HEADER
from central_archiver import headers

#: Lost ids named in a drill's note, at most.
SAMPLE = 5


@dataclass(frozen=True)
class StreamCensus:
    """The messages a stream holds: how many, their sequences, each id's count."""

    messages: int
    first_seq: int
    last_seq: int
    counts: Counter[str]
    seqs: dict[str, int]

    @property
    def duplicates(self) -> int:
        """Messages beyond one per event id."""
        return self.messages - len(self.counts)


@dataclass(frozen=True)
class ArchiveCensus:
    """The ``events`` table: rows, distinct ids, and the ids themselves."""

    rows: int
    ids: frozenset[str]
    #: Seconds between the first and the last commit.
    span_s: float = 0.0

    @property
    def duplicates(self) -> int:
        """Rows beyond one per event id."""
        return self.rows - len(self.ids)

    def rate(self) -> str:
        if not self.span_s:
            return ""
        return f"archived {self.rows / self.span_s:,.0f}/s first to last commit"


@dataclass(frozen=True)
class DrillResult:
    """One drill's figures; ``failures`` says why it did not pass, if it did not."""

    name: str
    offered: int
    published: int
    archived: int
    duplicates: int
    lost: int
    seconds: float
    accepted_loss: int = 0
    note: str = ""
    failures: tuple[str, ...] = field(default=())

    @classmethod
    def broken(cls, name: str, seconds: float, reason: str) -> DrillResult:
        """A drill that could not be carried out, for ``reason``."""
        return cls(name, 0, 0, 0, 0, 0, seconds, failures=(reason,))

    @property
    def passed(self) -> bool:
        return not (self.failures or self.duplicates or self.lost)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "offered": self.offered,
            "published": self.published,
            "archived": self.archived,
            "duplicates": self.duplicates,
            "lost": self.lost,
            "seconds": round(self.seconds, 1),
            "accepted_loss": self.accepted_loss,
            "note": "; ".join((self.note, *self.failures)).strip("; "),
        }


async def scan_stream(nc: Any, stream: str, timeout: float = 120.0) -> StreamCensus:
    """Read the header of every message ``stream`` holds, in one pass.

    An ephemeral consumer (no acks, headers only) delivers them to one pull
    request after another on ``nc``; the archiver's header parser is installed on
    ``nc`` for the while, since nats-py's own costs more than the rest together.
    """
    js = nc.jetstream(timeout=10)
    state = (await js.stream_info(stream)).state
    counts: Counter[str] = Counter()
    seqs: dict[str, int] = {}
    if state.messages:
        name = f"drill-scan-{uuid.uuid4().hex[:8]}"
        await js.add_consumer(
            stream,
            ConsumerConfig(
                name=name,
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.NONE,
                headers_only=True,
                inactive_threshold=60,
            ),
        )
        patched = headers.install(nc)
        try:
            await _pull_all(
                nc, stream, name, int(state.messages), counts, seqs, timeout
            )
        finally:
            if patched:
                headers.uninstall(nc)
            await js.delete_consumer(stream, name)
    seen = sum(counts.values())
    if seen != state.messages:
        raise RuntimeError(f"{stream}: read {seen} of {state.messages} messages")
    return StreamCensus(
        int(state.messages), int(state.first_seq), int(state.last_seq), counts, seqs
    )


async def _pull_all(
    nc: Any,
    stream: str,
    consumer: str,
    expected: int,
    counts: Counter[str],
    seqs: dict[str, int],
    timeout: float,
) -> None:
    inbox = nc.new_inbox()
    ended = asyncio.Event()
    seen = 0

    async def on_message(msg: Msg) -> None:
        nonlocal seen
        if not msg.reply:  # a status: the request expired or found nothing more
            ended.set()
            return
        msg_id = (msg.headers or {}).get(MSG_ID_HEADER, "")
        counts[msg_id] += 1
        # $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>...
        seqs.setdefault(msg_id, int(msg.reply.split(".")[-4]))
        seen += 1
        if seen >= expected:
            ended.set()

    sub = await nc.subscribe(
        inbox, cb=on_message, pending_msgs_limit=-1, pending_bytes_limit=-1
    )
    subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
    deadline = time.monotonic() + timeout
    try:
        while seen < expected and time.monotonic() < deadline:
            ended.clear()
            request = {"batch": expected - seen, "expires": int(10e9)}
            await nc.publish(subject, orjson.dumps(request), reply=inbox)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), 12)
    finally:
        await sub.unsubscribe()


async def count_archive(database_url: str) -> ArchiveCensus:
    """Rows and distinct ids of ``events`` (``count(*)``, ``count(DISTINCT id)``)."""
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT id) AS distinct_ids,"
            " extract(epoch FROM max(received_at) - min(received_at)) AS span"
            " FROM events"
        )
        ids = frozenset(r["id"] for r in await conn.fetch("SELECT id FROM events"))
    finally:
        await conn.close()
    if len(ids) != row["distinct_ids"]:
        raise RuntimeError(f"count(DISTINCT id) {row['distinct_ids']} != {len(ids)}")
    return ArchiveCensus(int(row["n"]), ids, float(row["span"] or 0.0))


async def archived_rows(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM events"))
    finally:
        await conn.close()


async def settle(
    nc: Any, stream: str, durable: str, timeout: float
) -> tuple[bool, str]:
    """Wait until the archiver's consumer has nothing pending or unacked.

    Acks follow commits, so a settled consumer means a final archive. Returns
    whether it settled within ``timeout`` and the consumer's last state.
    """
    js = nc.jetstream(timeout=5)
    deadline = time.monotonic() + timeout
    calm = 0
    last = "never read"
    while time.monotonic() < deadline:
        try:
            info = await js.consumer_info(stream, durable)
        except Exception as exc:
            last = f"consumer_info failed: {exc!r}"
            calm = 0
        else:
            last = f"{info.num_pending} pending, {info.num_ack_pending} unacked"
            calm = calm + 1 if not (info.num_pending or info.num_ack_pending) else 0
            if calm >= 2:
                return True, last
        await asyncio.sleep(0.5)
    return False, last


def tally(
    name: str,
    offered: Iterable[str],
    acked: Mapping[str, tuple[int, float]],
    stream: StreamCensus,
    archive: ArchiveCensus,
    seconds: float,
    *,
    note: str,
    failures: Iterable[str] = (),
    accept_limit_drops: bool = False,
) -> DrillResult:
    """The drill's figures from what was offered, acked (seq, when) and found.

    Lost means acked and not archived.  With ``accept_limit_drops``, an acked
    event the stream no longer holds (its sequence is below the stream's first)
    and the archiver never took is the accepted loss instead; every other
    acked event missing from the archive is lost.
    """
    offered_ids = set(offered)
    failed = list(failures)
    missing = sorted(
        (acked[i][0], i) for i in acked if i not in archive.ids and i in offered_ids
    )
    if accept_limit_drops:
        dropped = [(seq, i) for seq, i in missing if seq < stream.first_seq]
        lost = [(seq, i) for seq, i in missing if seq >= stream.first_seq]
    else:
        dropped, lost = [], missing
    if lost:
        failed.append(_describe_lost(lost, acked, stream))
    unacked = len(offered_ids) - len(offered_ids & set(acked))
    if unacked:
        failed.append(f"{unacked} offered events never acked")
    strangers = archive.ids - offered_ids
    if strangers:
        failed.append(f"{len(strangers)} archived ids were never offered")
    return DrillResult(
        name=name,
        offered=len(offered_ids),
        published=len(offered_ids & set(acked)),
        archived=len(archive.ids),
        duplicates=archive.duplicates + stream.duplicates,
        lost=len(lost),
        seconds=seconds,
        accepted_loss=len(dropped),
        note=note,
        failures=tuple(failed),
    )


def _describe_lost(
    lost: list[tuple[int, str]],
    acked: Mapping[str, tuple[int, float]],
    stream: StreamCensus,
) -> str:
    seqs = [seq for seq, _ in lost]
    times = [acked[i][1] for _, i in lost]
    held = sum(1 for _, i in lost if i in stream.counts)
    sample = ", ".join(i[:12] for _, i in lost[:SAMPLE])
    return (
        f"LOST {len(lost)} acked events: stream seqs {min(seqs)}-{max(seqs)}, "
        f"acked at {min(times):.1f}-{max(times):.1f} s, {held} still in the "
        f"stream; ids {sample}"
    )

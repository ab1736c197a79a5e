"""A paced JetStream producer that publishes every event until the stream acks it.

Events are offered at a steady rate with their acks pipelined: each publish names
a reply subject in the producer's own inbox, and the stream's answer lands there.
An event whose publish fails (the connection is down and its buffer full, no
stream answers, the stream refuses it) or whose ack has not come after
``ack_timeout_s`` is published again after a short pause, with the same
``Nats-Msg-Id``, as the adapters do: JetStream answers a re-publish of an event it
already holds with a ``duplicate`` ack and stores it once.

Note: nats-py's own ``publish_async`` is not used: a publish that raises while
the client reconnects keeps its slot of the pending limit for good, so a long
outage would stall the producer.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nats
import orjson
from nats.aio.msg import Msg

from central.events import MSG_ID_HEADER

#: Pause before an event whose publish failed is published again; it doubles
#: with each failure of the same event, up to the cap.
RETRY_PAUSE_S = 0.25
RETRY_PAUSE_CAP_S = 2.0


@dataclass(frozen=True)
class Event:
    """One prepared message: NATS subject, headers (``Nats-Msg-Id`` set), body."""

    subject: str
    headers: dict[str, str]
    body: bytes

    @property
    def id(self) -> str:
        return self.headers[MSG_ID_HEADER]


@dataclass(frozen=True)
class Ack:
    """What the stream said of one event: its sequence, and when (run seconds)."""

    seq: int
    at_s: float


class Producer:
    """Publishes ``events`` at ``rate`` per second until each is acked or it gives up.

    ``acks`` maps an event's index to its first :class:`Ack`; ``errors`` counts
    what the producer saw go wrong, by kind (``timeout``, ``no_responders``, the
    stream's error code and description, a client error's class).  ``run``
    returns once every event is acked, or when ``give_up_s`` pass without a new
    ack after the last event was offered.
    """

    def __init__(
        self,
        servers: Sequence[str],
        events: Sequence[Event],
        rate: float,
        *,
        ack_timeout_s: float = 5.0,
        in_flight: int = 4000,
        give_up_s: float = 60.0,
    ) -> None:
        self.servers = list(servers)
        self.events = events
        self.rate = rate
        self.ack_timeout_s = ack_timeout_s
        self.in_flight = in_flight
        self.give_up_s = give_up_s
        self.acks: dict[int, Ack] = {}
        self.errors: Counter[str] = Counter()
        self.attempts = 0
        self.duplicate_acks = 0
        self.disconnects = 0
        self.offered = 0
        self.offer_seconds = 0.0
        self.seconds = 0.0
        self._retry: list[tuple[float, int]] = []
        self._failures: Counter[int] = Counter()
        self._waiting: dict[int, float] = {}
        self._started = 0.0
        self._nc: Any = None
        self._closing = False
        self._progress = asyncio.Event()
        self._running = asyncio.Event()
        self._inbox = ""

    # What the drill watches

    def elapsed(self) -> float:
        return time.monotonic() - self._started if self._started else 0.0

    async def reached(self, fraction: float) -> None:
        """Return once ``fraction`` of the events have been offered."""
        while self.offered < fraction * len(self.events):
            self._progress.clear()
            await self._progress.wait()

    async def running_for(self, seconds: float) -> None:
        """Return once the producer has run ``seconds``."""
        await self._running.wait()
        await asyncio.sleep(max(0.0, seconds - self.elapsed()))

    @property
    def unacked(self) -> int:
        return len(self.events) - len(self.acks)

    def summary(self) -> str:
        """Offered and acked rates and what went wrong, for the drill's line."""
        offer_rate = self.offered / self.offer_seconds if self.offer_seconds else 0.0
        ack_rate = len(self.acks) / self.seconds if self.seconds else 0.0
        errors = ", ".join(f"{k} {v}" for k, v in self.errors.most_common(4))
        return (
            f"offered {offer_rate:,.0f}/s, acked {ack_rate:,.0f}/s, "
            f"{self.attempts - self.offered} re-publishes "
            f"({self.duplicate_acks} acked as duplicate), "
            f"{self.disconnects} disconnects"
            + (f"; publish errors: {errors}" if errors else "; no publish errors")
        )

    # Running

    async def run(self) -> None:
        """Offer every event at the rate, then wait out the retries."""
        self._nc = await nats.connect(
            self.servers,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.2,
            connect_timeout=2,
            error_cb=self._connection_error,
            disconnected_cb=self._disconnected,
        )
        self._inbox = self._nc.new_inbox()
        await self._nc.subscribe(
            self._inbox + ".*",
            cb=self._answered,
            pending_msgs_limit=-1,
            pending_bytes_limit=-1,
        )
        self._started = time.monotonic()
        self._running.set()
        try:
            await self._offer_all()
            await self._finish()
        finally:
            self.seconds = self.elapsed()
            self._closing = True
            await self._nc.close()

    async def _offer_all(self) -> None:
        total = len(self.events)
        while self.offered < total:
            self._expire()
            await self._send_retries()
            due = min(total, int(self.elapsed() * self.rate) + 1)
            while self.offered < due and len(self._waiting) < self.in_flight:
                await self._send(self.offered)
                self.offered += 1
            self._progress.set()
            await asyncio.sleep(0.005)
        self.offer_seconds = self.elapsed()
        self._progress.set()

    async def _finish(self) -> None:
        last_progress, acked = time.monotonic(), len(self.acks)
        while self.unacked:
            self._expire()
            await self._send_retries()
            if len(self.acks) != acked:
                last_progress, acked = time.monotonic(), len(self.acks)
            elif time.monotonic() - last_progress > self.give_up_s:
                return
            await asyncio.sleep(0.02)

    async def _send_retries(self) -> None:
        now = self.elapsed()
        while self._retry and self._retry[0][0] <= now:
            if len(self._waiting) >= self.in_flight:
                return
            _at, index = heapq.heappop(self._retry)
            if index not in self.acks and index not in self._waiting:
                await self._send(index)

    async def _send(self, index: int) -> None:
        event = self.events[index]
        self.attempts += 1
        try:
            await self._nc.publish(
                event.subject,
                event.body,
                reply=f"{self._inbox}.{index}",
                headers=event.headers,
            )
        except Exception as exc:
            self._failed(index, type(exc).__name__)
            return
        self._waiting[index] = time.monotonic() + self.ack_timeout_s

    async def _answered(self, msg: Msg) -> None:
        index = int(msg.subject.rsplit(".", 1)[1])
        self._waiting.pop(index, None)
        if msg.headers and msg.headers.get("Status") == "503":
            self._failed(index, "no_responders")
            return
        try:
            answer = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            self._failed(index, "unreadable_ack")
            return
        error = answer.get("error")
        if error:
            code = error.get("err_code") or error.get("code")
            self._failed(index, f"stream error {code}: {error.get('description')}")
            return
        if answer.get("duplicate"):
            self.duplicate_acks += 1
        if index not in self.acks:
            self.acks[index] = Ack(int(answer.get("seq", 0)), self.elapsed())

    async def _connection_error(self, exc: Exception) -> None:
        # Refused connections while a server is down: expected in a drill, and
        # what matters of them shows in the publish errors.
        return None

    async def _disconnected(self) -> None:
        if not self._closing:
            self.disconnects += 1

    def _failed(self, index: int, kind: str) -> None:
        self.errors[kind] += 1
        self._failures[index] += 1
        pause = min(RETRY_PAUSE_CAP_S, RETRY_PAUSE_S * 2 ** (self._failures[index] - 1))
        heapq.heappush(self._retry, (self.elapsed() + pause, index))

    def _expire(self) -> None:
        """Publishes unanswered for ``ack_timeout_s`` count as failed (retried)."""
        now = time.monotonic()
        late = []
        # Insertion order is sending order, so the deadlines ascend.
        for index, deadline in self._waiting.items():
            if deadline >= now:
                break
            late.append(index)
        for index in late:
            del self._waiting[index]
            self._failed(index, "timeout")

"""The adapter runtime: one poll loop per feed, publishing CloudEvents to JetStream.

Each poll of a feed:

1. takes (or renews) the feed's lease, so only one replica polls it;
2. fetches the payload with a conditional GET (:mod:`central.upstream`);
3. parses it and normalizes every record; a record that fails is rejected, counted,
   logged and published on ``central.meta.rejected.<service>``, never fatal;
4. skips records whose event id the adapter already published (:mod:`central.state`);
5. publishes the rest in binary mode with acks pipelined (``Nats-Msg-Id`` = event
   id, so JetStream drops a re-publish inside the duplicate window);
6. only then advances the feed's state.

A failed poll (upstream error, a payload that is not the feed's format, a publish
that was not acked) leaves the state as it was and backs off with jitter, honouring
``Retry-After``.  A status heartbeat goes to ``central.meta.status.<service>``.

With tracing on (:mod:`central.telemetry`), each poll is one trace: a ``poll
<feed>`` span holding the upstream request's client span, one ``normalize <feed>``
span per batch of records and a producer span per published event, whose
``traceparent`` travels in the message headers to the archiver.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from faststream.nats import NatsBroker
from nats.js.api import PubAck
from opentelemetry import trace

from central import metrics
from central.errors import CentralError, FeedFormatError, RecordError
from central.events import to_nats_headers
from central.feeds import Feed, Normalized
from central.lease import Lease
from central.logs import get_logger
from central.settings import AdapterSettings
from central.state import FeedState, StateStore, digest
from central.streams import ADAPTER_BUCKET, BY_DOMAIN, stream_for_subject
from central.subjects import rejected_subject, status_subject
from central.telemetry import Telemetry
from central.upstream import UpstreamError, backoff_delay, fetch, redact_url

#: Events published per pipelined batch; bounds the events held in memory.
PUBLISH_BATCH = 1000
#: Records normalized between two yields to the event loop.
YIELD_EVERY = 500


class PublishError(CentralError, IOError):
    """Events could not be published (no ack after retries)."""


@dataclass
class PollReport:
    """The counts of one poll, as logged in ``poll_finished``."""

    feed: str
    status: int = 0
    fetched: int = 0
    new: int = 0
    published: int = 0
    duplicates: int = 0
    rejected: int = 0
    seconds: float = 0.0
    bytes: int = 0

    def fields(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class FeedStatus:
    """What the heartbeat says of one feed."""

    last_poll: str | None = None
    last_result: str = "never"
    last_success: str | None = None
    leased: bool = False
    counts: dict[str, int] = field(default_factory=dict)


class Publisher:
    """Publishes events through the broker with a bounded number of acks in flight."""

    def __init__(
        self,
        broker: NatsBroker,
        *,
        in_flight: int = 256,
        attempts: int = 3,
        timeout_s: float = 10.0,
    ) -> None:
        self._broker = broker
        self._slots = asyncio.Semaphore(in_flight)
        self._attempts = attempts
        self._timeout_s = timeout_s

    async def publish_all(self, items: Sequence[Normalized]) -> list[PubAck]:
        """Publish every item; PublishError if any is still unacked after retries."""
        return list(await asyncio.gather(*(self._publish(item) for item in items)))

    async def _publish(self, item: Normalized) -> PubAck:
        stream = stream_for_subject(item.nats_subject).name
        headers = to_nats_headers(item.event)
        headers["content-type"] = item.event.datacontenttype
        body = item.body
        async with self._slots:
            for attempt in range(1, self._attempts + 1):
                try:
                    ack = await self._broker.publish(
                        body,
                        item.nats_subject,
                        headers=headers,
                        stream=stream,
                        timeout=self._timeout_s,
                    )
                except Exception as exc:
                    if attempt == self._attempts:
                        raise PublishError(
                            f"event {item.event.id} on {item.nats_subject}: {exc!r}"
                        ) from exc
                    await asyncio.sleep(0.2 * attempt)
                else:
                    return ack
        raise PublishError(f"event {item.event.id}: no attempt made")


class FeedLoop:
    """Polls one feed while holding its lease, until stopped."""

    def __init__(
        self, runtime: AdapterRuntime, feed: Feed, url: str, interval_s: float
    ) -> None:
        self.runtime = runtime
        self.feed = feed
        self.url = url
        self.interval_s = interval_s
        self.status = FeedStatus()
        self.log = get_logger(feed=feed.name)
        self._failures = 0

    async def run(self) -> None:
        """Poll, wait, repeat; never raises except on cancellation."""
        rt = self.runtime
        lease = Lease(
            rt.kv,
            f"lease.{rt.service}.{self.feed.name}",
            rt.holder,
            rt.settings.lease_ttl_s,
        )
        try:
            while not rt.stopping.is_set():
                if await self._renew(lease):
                    delay = await self._poll_leased(lease)
                else:
                    delay = rt.settings.lease_ttl_s / 3
                await self._wait(delay, lease)
        finally:
            await lease.release()

    async def _renew(self, lease: Lease) -> bool:
        was_held = lease.held
        try:
            held = await lease.acquire()
        except Exception as exc:
            self.log.warning("lease_error", error=repr(exc))
            held = False
        if held != was_held:
            self.log.info("lease_taken" if held else "lease_lost", holder=lease.holder)
        self.status.leased = held
        return held

    async def _poll_leased(self, lease: Lease) -> float:
        """One poll, with the lease renewed beside it every third of its TTL.

        A poll can outlast the lease (a payload of a hundred thousand records, a
        slow upstream); left unrenewed, the lease would expire mid-poll and a
        standby replica would poll the same feed at once.
        """
        done = asyncio.Event()
        keeper = asyncio.create_task(self._keep_renewed(lease, done))
        try:
            return await self._poll_guarded()
        finally:
            # The event, not only the cancel: Python 3.11's wait_for (inside
            # nats-py's requests) can swallow a cancellation.
            done.set()
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)

    async def _keep_renewed(self, lease: Lease, done: asyncio.Event) -> None:
        step = max(0.05, self.runtime.settings.lease_ttl_s / 3)
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), step)
            if not done.is_set():
                await self._renew(lease)

    async def _wait(self, delay: float, lease: Lease) -> None:
        """Sleep ``delay`` seconds renewing the lease; returns early on stop."""
        deadline = time.monotonic() + delay
        step = max(0.05, self.runtime.settings.lease_ttl_s / 3)
        while (left := deadline - time.monotonic()) > 0:
            try:
                await asyncio.wait_for(self.runtime.stopping.wait(), min(step, left))
                return
            except TimeoutError:
                pass
            if lease.held and deadline - time.monotonic() > 0:
                await self._renew(lease)

    async def _poll_guarded(self) -> float:
        """One poll; the delay before the next, by outcome."""
        self.status.last_poll = _now()
        try:
            report = await self.poll()
        except UpstreamError as exc:
            return self._failed(exc.kind, exc, exc.retry_after_s)
        except FeedFormatError as exc:
            return self._failed("format", exc, None)
        except PublishError as exc:
            return self._failed("publish", exc, None)
        except Exception as exc:  # a bug must not kill the loop
            self.log.exception("poll_crashed", error=repr(exc))
            return self._failed("internal", exc, None)
        self._failures = 0
        result = "not_modified" if report.status == 304 else "ok"
        self.status.last_result = result
        self.status.last_success = self.status.last_poll
        self.status.counts = {
            k: v
            for k, v in report.fields().items()
            if isinstance(v, int) and k != "status"
        }
        metrics.POLLS.labels(self.feed.name, result).inc()
        metrics.LAST_SUCCESS.labels(self.feed.name).set(time.time())
        return self.interval_s

    def _failed(self, kind: str, exc: Exception, retry_after: float | None) -> float:
        self._failures += 1
        s = self.runtime.settings
        delay = backoff_delay(
            self._failures,
            base_s=s.backoff_base_s,
            cap_s=s.backoff_cap_s,
            retry_after_s=retry_after,
        )
        self.status.last_result = f"error:{kind}"
        metrics.POLLS.labels(self.feed.name, "error").inc()
        metrics.UPSTREAM_ERRORS.labels(self.feed.name, kind).inc()
        self.log.warning(
            "poll_failed",
            kind=kind,
            error=str(exc),
            url=redact_url(self.url),
            failures=self._failures,
            retry_after_s=retry_after,
            next_poll_s=round(delay, 2),
        )
        return delay

    async def poll(self) -> PollReport:
        """Fetch, normalize, publish what is new, then advance the state.

        The whole poll is one ``poll <feed>`` span carrying its counts; an error
        marks the span failed and propagates.
        """
        with self.runtime.tracer.start_as_current_span(
            f"poll {self.feed.name}",
            attributes={
                "central.feed": self.feed.name,
                "url.full": redact_url(self.url),
            },
        ) as span:
            report = await self._poll()
            if span.is_recording():
                span.set_attributes(
                    {
                        "http.response.status_code": report.status,
                        **{
                            f"central.poll.{k}": v
                            for k, v in report.fields().items()
                            if k not in ("feed", "status")
                        },
                    }
                )
            return report

    async def _poll(self) -> PollReport:
        rt = self.runtime
        report = PollReport(self.feed.name)
        started = time.monotonic()
        state = await rt.store.load(self.feed.name)

        fetched = await fetch(
            rt.client,
            self.url,
            state.validators,
            max_bytes=rt.settings.max_body_bytes,
            accept=self.feed.media_type,
            deadline_s=rt.settings.fetch_deadline_s,
        )
        metrics.UPSTREAM_SECONDS.labels(self.feed.name).observe(fetched.seconds)
        report.status = fetched.status
        if fetched.body is None:
            report.seconds = round(time.monotonic() - started, 3)
            self.log.info("poll_finished", **report.fields())
            return report

        report.bytes = len(fetched.body)
        accepted = await self._publish_new(fetched.body, state.seen, report)
        await rt.store.save(self.feed.name, FeedState(fetched.validators, accepted))
        self._count(report)
        report.seconds = round(time.monotonic() - started, 3)
        self.log.info("poll_finished", **report.fields())
        return report

    async def _publish_new(
        self, body: bytes, seen: set[bytes], report: PollReport
    ) -> set[bytes]:
        """Normalize every record and publish those not in ``seen``, in batches.

        Returns the digests of every accepted record of the payload, the next
        seen-set.  Only one batch of events is held at a time, so a payload of a
        hundred thousand records already published costs their digests, not their
        events.
        """
        accepted: set[bytes] = set()
        batch: list[Normalized] = []
        chunk = _Chunk(self.runtime.tracer, self.feed.name, report)
        for raw in self.feed.parse(body):
            report.fetched += 1
            if report.fetched % YIELD_EVERY == 0:
                # Normalizing is CPU work; let the other feeds and the heartbeat run.
                await asyncio.sleep(0)
            try:
                item = self.runtime.fits(self.feed.normalize(raw))
            except RecordError as exc:
                report.rejected += 1
                await self.runtime.reject(self.feed, raw, exc)
                continue
            key = digest(item.event.id)
            if key in accepted or key in seen:
                # Published by an earlier poll, or listed twice in this payload.
                report.duplicates += 1
                accepted.add(key)
                continue
            accepted.add(key)
            batch.append(item)
            if len(batch) >= PUBLISH_BATCH:
                chunk.end()
                await self._publish(batch, report)
                batch = []
                chunk = _Chunk(self.runtime.tracer, self.feed.name, report)
        chunk.end()
        await self._publish(batch, report)
        return accepted

    async def _publish(self, batch: list[Normalized], report: PollReport) -> None:
        acks = await self.runtime.publisher.publish_all(batch)
        dropped = sum(1 for ack in acks if ack.duplicate)
        report.new += len(batch)
        report.published += len(batch) - dropped
        report.duplicates += dropped

    def _count(self, report: PollReport) -> None:
        for outcome, count in (
            ("fetched", report.fetched),
            ("published", report.published),
            ("duplicate", report.duplicates),
            ("rejected", report.rejected),
        ):
            metrics.RECORDS.labels(self.feed.name, outcome).inc(count)


class _Chunk:
    """The ``normalize <feed>`` span of one batch of records, with its counts.

    Not made current: the batch's publish spans are the poll's children, beside
    it.
    """

    def __init__(self, tracer: trace.Tracer, feed: str, report: PollReport) -> None:
        self._span = tracer.start_span(f"normalize {feed}")
        self._report = report
        self._fetched = report.fetched
        self._rejected = report.rejected

    def end(self) -> None:
        span = self._span
        if span.is_recording():
            span.set_attributes(
                {
                    "central.records": self._report.fetched - self._fetched,
                    "central.rejected": self._report.rejected - self._rejected,
                }
            )
        span.end()


class AdapterRuntime:
    """Runs every enabled feed of one adapter service on a connected broker.

    ``telemetry`` should be the one the broker's middleware was made from
    (:func:`central.service.make_broker`), so that poll, request and publish spans
    land in one trace; without it nothing is traced.
    """

    def __init__(
        self,
        service: str,
        version: str,
        feeds: dict[str, Feed],
        settings: AdapterSettings,
        broker: NatsBroker,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.service = service
        self.version = version
        self.settings = settings
        self.broker = broker
        self.telemetry = telemetry or Telemetry(service)
        self.tracer = self.telemetry.tracer()
        # Unique per runtime, so two replicas never mistake each other for themselves.
        self.holder = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.stopping = asyncio.Event()
        self.loops = [
            FeedLoop(
                self, feed, settings.feed_url(name), settings.feed_interval_s(name)
            )
            for name, feed in feeds.items()
            if settings.feed_enabled(name)
        ]
        self.log = get_logger()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = time.monotonic()

    async def start(self) -> None:
        """Open the bucket and the HTTP client, then start the loops and heartbeat."""
        for loop in self.loops:
            if loop.feed.domain not in BY_DOMAIN:
                raise CentralError(f"feed {loop.feed.name}: unknown domain")
        self.kv = await self.broker.key_value(ADAPTER_BUCKET, declare=False)
        # The server's limit on one message (headers included), from its INFO.
        self.max_payload = int(self.broker.connection.max_payload)
        self.store = StateStore(self.kv, self.service)
        self.publisher = Publisher(self.broker)
        self.client = httpx.AsyncClient(
            transport=self.telemetry.http_transport(),
            timeout=httpx.Timeout(self.settings.http_timeout_s),
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": self.settings.user_agent},
        )
        self.log.info(
            "adapter_started",
            version=self.version,
            holder=self.holder,
            feeds={
                lp.feed.name: {"url": redact_url(lp.url), "interval_s": lp.interval_s}
                for lp in self.loops
            },
        )
        self._tasks = [
            asyncio.create_task(lp.run(), name=f"feed-{lp.feed.name}")
            for lp in self.loops
        ]
        self._tasks.append(asyncio.create_task(self._heartbeat(), name="heartbeat"))

    async def stop(self) -> None:
        """Stop polling after the poll in hand, release leases, close the client."""
        self.stopping.set()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=15)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if hasattr(self, "client"):
            await self.client.aclose()
        self.log.info("adapter_stopped")

    def fits(self, item: Normalized) -> Normalized:
        """``item`` if its message fits the server's max payload, else RecordError.

        Such a record is rejected on its own; published, it would fail every
        attempt and with it the whole poll.
        """
        headers = to_nats_headers(item.event)
        size = len(item.body) + sum(len(k) + len(v) + 4 for k, v in headers.items())
        if size > self.max_payload:
            raise RecordError(
                f"event of {size} bytes exceeds the server's max payload of "
                f"{self.max_payload} bytes",
                item.event.subject,
            )
        return item

    async def reject(self, feed: Feed, raw: Any, exc: RecordError) -> None:
        """Count, log and publish one rejected record; publishing is best effort."""
        record_id = exc.native_id or _safe_record_id(feed, raw)
        self.log.warning(
            "record_rejected", feed=feed.name, record_id=record_id, reason=exc.reason
        )
        body = orjson.dumps(
            {
                "service": self.service,
                "feed": feed.name,
                "record_id": record_id,
                "reason": exc.reason,
                "time": _now(),
            }
        )
        try:
            await self.broker.publish(
                body,
                rejected_subject(self.service),
                headers={"content-type": "application/json"},
                stream="CENTRAL_META",
                timeout=5,
            )
        except Exception as pub_exc:
            self.log.warning("reject_publish_failed", error=repr(pub_exc))

    def status(self) -> dict[str, Any]:
        """The heartbeat body."""
        return {
            "service": self.service,
            "version": self.version,
            "holder": self.holder,
            "time": _now(),
            "uptime_s": round(time.monotonic() - self._started, 1),
            "feeds": {lp.feed.name: lp.status.__dict__ for lp in self.loops},
        }

    async def _heartbeat(self) -> None:
        # Straight to JetStream, past the broker's telemetry middleware: a trace
        # per heartbeat would bury the polls' traces.
        js = self.broker.connection.jetstream()
        while not self.stopping.is_set():
            try:
                await js.publish(
                    status_subject(self.service),
                    orjson.dumps(self.status()),
                    timeout=5,
                    stream="CENTRAL_META",
                    headers={"content-type": "application/json"},
                )
            except Exception as exc:
                self.log.warning("heartbeat_failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.stopping.wait(), self.settings.status_interval_s
                )


def _safe_record_id(feed: Feed, raw: Any) -> str | None:
    try:
        return feed.record_id(raw)
    except Exception:
        return None


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")

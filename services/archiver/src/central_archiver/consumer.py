"""One stream's durable pull consumer: the archiver's hot loop.

Pull requests go out on the shared NATS connection with this consumer's own inbox
as the reply subject (see :mod:`central_archiver.pulls` for the credit kept on the
server); the inbox callback only files each message in a buffer, so receiving
costs next to nothing per message. At most ``batch_size * prefetch_batches``
messages per stream are requested or in hand at any time.

The batch loop takes up to ``batch_size`` buffered messages, decodes them and
hands them to the first free writer slot, which commits them in one transaction;
while writers commit, the next batch arrives and is decoded, so neither the
database nor Python waits on the other. Messages are acked only after the commit;
dead letters and rows the database refused are terminated; a database failure
naks the batch with a delay and pauses the stream until the database answers
again.

Several archiver replicas may run the same consumers: each has its own inbox and
the server spreads messages over their requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

import nats.errors
from nats.js.errors import APIError, NotFoundError

from central.streams import StreamSpec
from central_archiver.database import Backoff, Database
from central_archiver.errors import DatabaseUnavailableError
from central_archiver.metrics import Metrics
from central_archiver.pulls import PullCredit, consumer_config
from central_archiver.report import BatchReport
from central_archiver.rows import (
    DEAD_REASON,
    DEAD_SEQ,
    EVENT_SEQ,
    Batch,
    ack_number,
    split,
)
from central_archiver.settings import ArchiverSettings
from central_archiver.tracing import BatchTrace, BatchTracer
from central_archiver.writer import BatchWriter, WriteResult

_ACK = b"+ACK"
_NAK = b"-NAK"
_TERM = b"+TERM"
_TICK_S = 1.0


_NATS_ERRORS = (nats.errors.Error, OSError, TimeoutError)


class StreamConsumer:
    """Pulls one stream's durable consumer and archives what it delivers."""

    def __init__(
        self,
        spec: StreamSpec,
        nc: Any,
        settings: ArchiverSettings,
        database: Database,
        writer: BatchWriter,
        slots: asyncio.Semaphore,
        metrics: Metrics,
        log: Any,
        tracer: BatchTracer | None = None,
    ) -> None:
        self.spec = spec
        self._tracer = tracer
        self._nc = nc
        self._settings = settings
        self._database = database
        self._writer = writer
        self._slots = slots
        self._metrics = metrics
        self._log = log.bind(stream=spec.name)
        self._report = BatchReport(self._log, settings.log_interval_s)

        self._credit = PullCredit(nc, spec, settings, self._log)
        self._batch_size = settings.batch_size
        delay_ns = int(settings.nak_delay_s * 1e9)
        self._nak_later = b'-NAK {"delay": %d}' % delay_ns

        self._buffer: list[Any] = []
        self._in_hand = 0
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._closed = False
        self._needs_setup = True
        self._setup_backoff = Backoff(ceiling=30.0, base=1.0)
        self._next_setup = 0.0
        self._sub: Any = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._loops: tuple[asyncio.Task[None], asyncio.Task[None]] | None = None

    # Lifecycle

    async def start(self) -> None:
        """Subscribe the inbox, ensure the durable consumer, start pulling.

        A missing stream is not fatal: it is logged and retried with back-off.
        """
        self._sub = await self._nc.subscribe(self._credit.inbox, cb=self._on_message)
        await self._setup()
        self._loops = (
            asyncio.create_task(self._batch_loop(), name=f"batches-{self.spec.name}"),
            asyncio.create_task(self._control_loop(), name=f"pulls-{self.spec.name}"),
        )
        await self._pull()

    async def stop(self) -> None:
        """Stop pulling, write what is in hand, nak the rest, unsubscribe.

        No new pull request goes out; the open ones are let run out (at most
        ``pull_expires_s``) and what they still deliver is written like the rest,
        since a message sent to an inbox nobody listens to any more would wait
        out ``ack_wait`` before another replica could have it. Then the inbox is
        closed and the batches in hand are finished. Whatever is not committed
        after ``shutdown_timeout_s``, or while the database is down, is naked
        without delay so that another replica takes it at once.
        """
        if self._stopping:
            return
        self._stopping = True
        self._full.set()  # cut any linger short
        # One budget for the whole stop, on the event loop's clock.
        deadline = asyncio.get_running_loop().time() + self._settings.shutdown_timeout_s
        await self._requests_ended(deadline)
        await self._unsubscribe()
        self._closed = True
        self._stopped.set()
        self._arrived.set()

        if self._loops is not None:
            await self._finish(*self._loops, deadline=deadline)

        leftover, self._buffer = self._buffer, []
        await self._give_back(leftover, _NAK)
        self._report.flush()

    async def _finish(
        self,
        batches: asyncio.Task[None],
        control: asyncio.Task[None],
        *,
        deadline: float,
    ) -> None:
        try:
            async with asyncio.timeout_at(deadline):
                await batches
        except TimeoutError:
            self._log.error("shutdown_timeout", in_flight=len(self._inflight))
            batches.cancel()
            for task in list(self._inflight):
                task.cancel()
            await asyncio.gather(batches, *self._inflight, return_exceptions=True)
        control.cancel()
        await asyncio.gather(control, return_exceptions=True)

    async def _requests_ended(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        # A request lives pull_expires_s at most; half a second covers the trip.
        until = min(deadline, loop.time() + self._settings.pull_expires_s + 0.5)
        while self._credit.pending and loop.time() < until:
            if not self._nc.is_connected:
                return  # the server dropped the requests with the connection
            await asyncio.sleep(0.02)

    async def _unsubscribe(self) -> None:
        if self._sub is None:
            return
        # drain() unsubscribes, then waits until every message the server already
        # sent has reached the callback and the buffer.
        try:
            async with asyncio.timeout(5):
                await self._sub.drain()
        except _NATS_ERRORS as exc:
            self._log.warning("unsubscribe_failed", error=repr(exc))

    async def _setup(self) -> bool:
        js = self._nc.jetstream(timeout=5)
        config = consumer_config(self.spec, self._settings)
        try:
            await js.add_consumer(self.spec.name, config)
        except NotFoundError:
            self._log.warning("stream_missing", durable=self.spec.durable)
            return self._setup_failed()
        except APIError as exc:
            # An older server may refuse to change an existing consumer; keep it.
            try:
                await js.consumer_info(self.spec.name, self.spec.durable)
            except (*_NATS_ERRORS, APIError):
                self._log.warning("consumer_setup_failed", error=repr(exc))
                return self._setup_failed()
            self._log.warning("consumer_config_kept", error=repr(exc))
        except _NATS_ERRORS as exc:
            self._log.warning("consumer_setup_failed", error=repr(exc))
            return self._setup_failed()
        self._needs_setup = False
        self._setup_backoff.reset()
        self._log.info("consumer_ready", durable=self.spec.durable)
        return True

    def _setup_failed(self) -> bool:
        self._needs_setup = True
        self._next_setup = time.monotonic() + self._setup_backoff.next_delay()
        return False

    # Receiving

    async def _on_message(self, msg: Any) -> None:
        if not msg.reply:
            headers = msg.headers
            if headers and "Status" in headers:
                await self._on_status(headers)
            return
        self._credit.delivered()
        if not self._database.healthy:
            await self._settle((msg,), self._nak_later)
            return
        self._in_hand += 1
        buffer = self._buffer
        buffer.append(msg)
        if len(buffer) == 1:
            self._arrived.set()
        if len(buffer) >= self._batch_size:
            self._full.set()

    async def _on_status(self, headers: dict[str, str]) -> None:
        if self._credit.ended(headers):
            self._setup_failed()
        await self._pull()

    async def _pull(self) -> None:
        if (
            self._stopping
            or self._needs_setup
            or not self._database.healthy
            or not self._nc.is_connected
        ):
            return
        await self._credit.top_up(self._in_hand)

    async def _control_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(_TICK_S)
            self._credit.audit()
            if self._needs_setup and time.monotonic() >= self._next_setup:
                await self._setup()
            await self._pull()
            self._report.flush_if_due()

    # Batching

    async def _batch_loop(self) -> None:
        while await self._wait_for_messages():
            msgs = await self._take()
            if not msgs:
                continue
            # Taken in delivery order (writers may finish out of order): the last
            # message's count is the freshest.
            self._metrics.pending.labels(self.spec.name).set(
                ack_number(msgs[-1].reply, 2) or 0
            )
            started = time.perf_counter()
            taken_ns = time.time_ns()
            # Decoded before a writer is free, so that both writers' connections
            # stay busy while the next batch is prepared.
            batch = await self._decode(msgs)
            if batch is None:
                continue
            spans = self._tracer.begin(msgs, taken_ns) if self._tracer else None
            try:
                await self._slots.acquire()
            except asyncio.CancelledError as exc:
                if spans is not None:
                    spans.end(exc)
                await self._give_back(msgs, _NAK)
                raise
            task = asyncio.create_task(self._write(msgs, batch, started, spans))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

    async def _decode(self, msgs: list[Any]) -> Batch | None:
        try:
            return split(self.spec.name, msgs)
        except Exception as exc:
            self._log.exception("batch_failed", messages=len(msgs), error=repr(exc))
            await self._give_back(msgs, self._nak_later)
            return None

    async def _give_back(self, msgs: list[Any], verdict: bytes) -> None:
        await self._settle(msgs, verdict)
        self._in_hand -= len(msgs)

    async def _wait_for_messages(self) -> bool:
        while True:
            if not self._database.healthy:
                if self._stopping:
                    return False  # stop() naks what is left
                await self._hand_back_buffer()
                await self._until_healthy_or_stopped()
                await self._pull()
                continue
            if self._buffer:
                return True
            if self._closed:
                return False
            self._arrived.clear()
            await self._arrived.wait()

    async def _until_healthy_or_stopped(self) -> None:
        waits = [
            asyncio.create_task(self._database.wait_healthy()),
            asyncio.create_task(self._stopped.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()

    async def _hand_back_buffer(self) -> None:
        leftover, self._buffer = self._buffer, []
        if leftover:
            await self._give_back(leftover, self._nak_later)

    async def _take(self) -> list[Any]:
        buffer = self._buffer
        linger = self._settings.batch_linger_s
        if len(buffer) < self._batch_size and linger and not self._stopping:
            self._full.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(linger):
                    await self._full.wait()
        taken = buffer[: self._batch_size]
        del buffer[: self._batch_size]
        if len(buffer) < self._batch_size and not self._stopping:
            self._full.clear()
        return taken

    async def _write(
        self,
        msgs: list[Any],
        batch: Batch,
        started: float,
        spans: BatchTrace | None = None,
    ) -> None:
        error: BaseException | None = None
        try:
            result = await self._write_traced(batch, spans)
        except DatabaseUnavailableError as exc:
            error = exc
            await self._settle(msgs, self._nak_later)
            self._metrics.batch_failures.labels(self.spec.name).inc()
            self._log.error(
                "batch_failed", messages=len(msgs), error=str(exc), action="nak"
            )
            self._database.trip(exc)
        except asyncio.CancelledError as exc:
            # stop() gave up on this batch: hand it back for redelivery.
            error = exc
            await self._settle(msgs, _NAK)
            raise
        except Exception as exc:
            error = exc
            self._log.exception("batch_failed", messages=len(msgs), error=repr(exc))
            await self._settle(msgs, self._nak_later)
        else:
            await self._acknowledge(batch, result)
            self._record(batch, result, time.perf_counter() - started)
        finally:
            self._in_hand -= len(msgs)
            self._slots.release()
            if spans is not None:
                spans.end(error)
        await self._pull()

    async def _write_traced(
        self, batch: Batch, spans: BatchTrace | None
    ) -> WriteResult:
        if spans is None:
            return await self._writer.write(batch)
        with spans.insert() as span:
            result = await self._writer.write(batch)
            spans.written(span, result)
        return result

    async def _acknowledge(self, batch: Batch, result: WriteResult) -> None:
        publish = self._nc.publish
        rejected = result.rejected
        try:
            if rejected:
                for index, msg in enumerate(batch.event_msgs):
                    await publish(msg.reply, _TERM if index in rejected else _ACK)
            else:
                for msg in batch.event_msgs:
                    await publish(msg.reply, _ACK)
            for msg in batch.dead_msgs:
                if msg.reply:
                    await publish(msg.reply, _TERM)
        except _NATS_ERRORS as exc:
            # Committed but not acked: redelivery will find the rows (conflicts).
            self._log.warning("ack_failed", error=repr(exc))

    async def _settle(self, msgs: Sequence[Any], verdict: bytes) -> None:
        try:
            for msg in msgs:
                await self._nc.publish(msg.reply, verdict)
        except _NATS_ERRORS as exc:
            self._log.warning("nak_failed", messages=len(msgs), error=repr(exc))

    def _record(self, batch: Batch, result: WriteResult, seconds: float) -> None:
        stream = self.spec.name
        metrics = self._metrics
        metrics.batches.labels(stream).inc()
        metrics.rows_inserted.labels(stream).inc(result.inserted)
        metrics.conflicts.labels(stream).inc(result.conflicts)
        metrics.dead_letters.labels(stream).inc(result.dead_letters)
        metrics.batch_seconds.labels(stream).observe(seconds)
        for record in batch.dead:
            self._log.warning(
                "dead_lettered", stream_seq=record[DEAD_SEQ], reason=record[DEAD_REASON]
            )
        for index, reason in result.rejected.items():
            seq = batch.events[index][EVENT_SEQ]
            self._log.warning("dead_lettered", stream_seq=seq, reason=reason)
        self._report.add(result, seconds)

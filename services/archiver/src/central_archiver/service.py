"""The archiver as an object: start it on a NATS connection, stop it, ask if ready.

:class:`Archiver` is what ``central-archiver run`` drives through FastStream's
start-up and shutdown hooks, and what tests and benchmarks run in-process. Given no
connection, it opens (and later closes) its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import nats

from central.logs import get_logger
from central.streams import ARCHIVED
from central.telemetry import Telemetry
from central_archiver import headers
from central_archiver.consumer import StreamConsumer
from central_archiver.database import Database
from central_archiver.metrics import Metrics
from central_archiver.settings import ArchiverSettings
from central_archiver.tracing import BatchTracer
from central_archiver.writer import BatchWriter


class Archiver:
    """Durable pull consumers on every archived stream, writing into the archive.

    ``start()`` fails fast when the database is unreachable or not migrated
    (:class:`~central_archiver.errors.SchemaMissingError`) or NATS cannot be
    reached; a stream that does not exist yet is retried in the background.
    ``stop()`` finishes or naks the batches in hand and is safe to call twice.
    """

    def __init__(
        self,
        settings: ArchiverSettings,
        *,
        metrics: Metrics | None = None,
        log: Any = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.settings = settings
        self.telemetry = telemetry or Telemetry("archiver")
        self.metrics = metrics or Metrics()
        self._log = log or get_logger()
        self._database: Database | None = None
        self._nc: Any = None
        self._owns_connection = False
        self._consumers: list[StreamConsumer] = []
        self._started = False
        self._patched_headers = False

    @property
    def database(self) -> Database | None:
        return self._database

    @property
    def consumers(self) -> tuple[StreamConsumer, ...]:
        return tuple(self._consumers)

    async def start(self, connection: Any = None) -> None:
        """Open the database pool and run one consumer per archived stream.

        ``connection`` is a connected nats-py client to share (FastStream's);
        without one the archiver connects to ``settings.nats_servers()`` itself.
        """
        try:
            await self._start(connection)
        except BaseException as exc:
            if isinstance(exc, Exception):
                self._log.error("archiver_start_failed", error=str(exc))
            await asyncio.gather(*(c.stop() for c in self._consumers))
            await self._close()
            raise
        self._started = True
        self._log.info("archiver_started", streams=[s.name for s in ARCHIVED])

    async def _start(self, connection: Any) -> None:
        settings = self.settings
        self._database = await Database.open(settings, self._log)
        if connection is None:
            connection = await self._connect()
            self._owns_connection = True
        self._nc = connection
        if settings.fast_headers:
            self._patched_headers = headers.install(connection)
            self._log.info("header_parser", fast=self._patched_headers)
        writer = BatchWriter(self._database.pool)
        slots = asyncio.Semaphore(settings.db_writers)
        for spec in ARCHIVED:
            consumer = StreamConsumer(
                spec,
                connection,
                settings,
                self._database,
                writer,
                slots,
                self.metrics,
                self._log,
                self._batch_tracer(spec.name),
            )
            self._consumers.append(consumer)
            await consumer.start()

    def _batch_tracer(self, stream: str) -> BatchTracer | None:
        if not self.telemetry.enabled:
            return None
        return BatchTracer(
            self.telemetry.tracer("central.archiver"),
            stream,
            per_message=self.settings.trace_links == "message",
        )

    async def stop(self) -> None:
        """Stop every consumer, then close what the archiver opened."""
        if not self._started:
            return
        self._started = False
        await asyncio.gather(*(c.stop() for c in self._consumers))
        await self._close()
        self._log.info("archiver_stopped")

    async def ready(self) -> dict[str, bool]:
        """Whether NATS is connected and the database answers ``SELECT 1``."""
        nats_ok = bool(self._nc is not None and self._nc.is_connected)
        db_ok = self._database is not None and await self._database.ping()
        return {"nats": nats_ok, "database": db_ok}

    async def _connect(self) -> Any:
        log = self._log

        async def on_error(exc: Exception) -> None:
            log.warning("nats_error", error=repr(exc))

        async def on_disconnect() -> None:
            log.warning("nats_disconnected")

        async def on_reconnect() -> None:
            log.info("nats_reconnected")

        return await nats.connect(
            self.settings.nats_servers(),
            tls=self.settings.nats_tls(),
            name="central-archiver",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            error_cb=on_error,
            disconnected_cb=on_disconnect,
            reconnected_cb=on_reconnect,
        )

    async def _close(self) -> None:
        nc, self._nc = self._nc, None
        if nc is not None and self._patched_headers:
            headers.uninstall(nc)
            self._patched_headers = False
        if nc is not None:
            try:
                async with asyncio.timeout(5):
                    if self._owns_connection:
                        await nc.drain()
                    else:
                        # The owner (FastStream) closes it; just send our acks.
                        await nc.flush()
            except Exception as exc:
                self._log.warning("nats_close_failed", error=repr(exc))
        self._owns_connection = False
        self._consumers.clear()
        database, self._database = self._database, None
        if database is not None:
            await database.close()

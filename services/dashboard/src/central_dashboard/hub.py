"""The Hub: what the dashboard knows, as plain JSON-able dicts.

Every page and API route reads through one :class:`Hub` (``app.state.hub``): the
archive through the read-only query pool, JetStream through the dashboard's NATS
connection. Each method returns exactly the body of the matching API response.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import nats
import orjson

from central.logs import get_logger
from central.streams import BY_NAME, REGISTRY, StreamSpec
from central_dashboard import jetstream
from central_dashboard.admission import Admission, retry_after
from central_dashboard.audit import StreamChange, apply_change, limits_body
from central_dashboard.cursor import Position, encode
from central_dashboard.database import Database
from central_dashboard.errors import BudgetSpentError, NotFoundError, UnavailableError
from central_dashboard.jetstream import JetStreamError, iso
from central_dashboard.metrics import Metrics
from central_dashboard.queries import EventQuery, events_sql
from central_dashboard.settings import DashboardSettings

META_STREAM = "CENTRAL_META"
STATUS_SUBJECTS = "central.meta.status.>"
#: Most revisions ``history`` returns; beyond it the answer says it is truncated.
MAX_HISTORY = 1000

_LIMITS_SQL = """
SELECT name, max_age_s, max_bytes, duplicate_window_s, replicas, updated_at, updated_by
FROM config.streams
"""
_EVENT_SQL = """
SELECT attributes, data FROM public.events
WHERE id = $2 AND source = $1
ORDER BY time DESC LIMIT 1
"""
_HISTORY_SQL = """
SELECT attributes, data FROM public.events
WHERE subject = $1 AND ($2::text IS NULL OR source = $2)
ORDER BY time, received_at, stream_seq, id
LIMIT $3
"""


class Hub:
    """The dashboard's view of the archive and the streams.

    ``start()`` connects NATS and both database pools, failing fast
    (:class:`~central_dashboard.errors.UnavailableError`) when either is
    unreachable; afterwards NATS reconnects on its own and database errors answer
    503 per request. ``stop()`` is safe to call twice.
    """

    def __init__(
        self,
        settings: DashboardSettings,
        *,
        metrics: Metrics | None = None,
        log: Any = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.log = log or get_logger()
        self.admission = Admission(
            client_share=settings.dashboard_client_share,
            client_burst_s=settings.dashboard_client_burst_s,
            query_share=settings.db_query_share,
            query_burst_s=settings.db_query_burst_s,
            owner=self,
        )
        self.nc: Any = None
        self.database: Database | None = None
        # stream name -> (monotonic time, last sequence) of the previous sample
        self._samples: dict[str, tuple[float, int]] = {}

    async def start(self) -> None:
        try:
            self.nc = await nats.connect(
                self.settings.nats_servers(),
                tls=self.settings.nats_tls(),
                name="central-dashboard",
                max_reconnect_attempts=-1,
                reconnect_time_wait=1,
                connect_timeout=5,
                allow_reconnect=True,
                error_cb=self._nats_error,
                disconnected_cb=self._nats_disconnected,
                reconnected_cb=self._nats_reconnected,
            )
        except (OSError, nats.errors.Error) as exc:
            raise UnavailableError("NATS", repr(exc)) from exc
        try:
            self.database = await Database.open(self.settings)
        except UnavailableError:
            await self.nc.close()
            self.nc = None
            raise
        self.log.info("hub_started")

    async def stop(self) -> None:
        nc, self.nc = self.nc, None
        if nc is not None:
            try:
                async with asyncio.timeout(5):
                    await nc.drain()
            except Exception as exc:
                self.log.warning("nats_close_failed", error=repr(exc))
        database, self.database = self.database, None
        if database is not None:
            await database.close()

    async def ready(self) -> dict[str, bool]:
        """Whether NATS is connected and the query pool answers."""
        nats_ok = bool(self.nc is not None and self.nc.is_connected)
        db_ok = self.database is not None and await self.database.ping()
        return {"nats": nats_ok, "database": db_ok}

    # Streams

    async def streams(self) -> dict[str, Any]:
        """Every registry stream: its limits, JetStream state, or an error."""
        limits = await self._limits()
        entries = await asyncio.gather(
            *(self._stream(spec, limits.get(spec.name)) for spec in REGISTRY)
        )
        return {"streams": list(entries)}

    async def _limits(self) -> dict[str, dict[str, Any]]:
        rows = await self._fetch("limits", _LIMITS_SQL, [])
        return {row["name"]: limits_body(row) for row in rows}

    async def _stream(
        self, spec: StreamSpec, limits: dict[str, Any] | None
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": spec.name,
            "domain": spec.domain,
            "dashboard": spec.dashboard,
            "archived": spec.archived,
            "limits": limits or limits_body(None, spec),
            "state": None,
            "error": None,
        }
        timeout = self.settings.nats_request_timeout_s
        try:
            info = await jetstream.stream_info(self.nc, spec.name, timeout)
            consumers = await jetstream.consumers(self.nc, spec.name, timeout)
        except JetStreamError as exc:
            entry["error"] = (
                "stream does not exist in JetStream" if exc.not_found else exc.reason
            )
            return entry
        entry["state"] = self._state(spec.name, info.get("state") or {}, consumers)
        return entry

    def _state(
        self, name: str, state: dict[str, Any], consumers: list[dict[str, Any]]
    ) -> dict[str, Any]:
        last_seq = int(state.get("last_seq") or 0)
        now = time.monotonic()
        previous = self._samples.get(name)
        self._samples[name] = (now, last_seq)
        rate = None
        if previous is not None and now > previous[0] and last_seq >= previous[1]:
            rate = round((last_seq - previous[1]) / (now - previous[0]), 3)
        return {
            "messages": int(state.get("messages") or 0),
            "bytes": int(state.get("bytes") or 0),
            "first_time": iso(jetstream.parse_time(state.get("first_ts"))),
            "last_time": iso(jetstream.parse_time(state.get("last_ts"))),
            "rate_per_s": rate,
            "consumers": [
                {
                    "name": str(c.get("name") or ""),
                    "pending": int(c.get("num_pending") or 0),
                    "ack_pending": int(c.get("num_ack_pending") or 0),
                    "redelivered": int(c.get("num_redelivered") or 0),
                }
                for c in sorted(consumers, key=lambda c: str(c.get("name")))
            ],
        }

    async def update_stream(
        self,
        name: str,
        changes: dict[str, Any],
        actor: str,
        client: str | None = None,
    ) -> dict[str, Any]:
        """Apply ``changes`` to stream ``name``'s limits; see :func:`apply_change`.

        Raises NotFoundError for a stream outside the registry, ParameterError for
        invalid changes, ConflictError when reconcile or JetStream refuses (then
        ``config.streams`` is unchanged), UnavailableError when a server is down.
        """
        spec = BY_NAME.get(name)
        if spec is None:
            raise NotFoundError(name, "no stream of that name in the registry")
        change = StreamChange.parse(changes)
        database = self._database()
        result = await apply_change(
            database.writer,
            self.nc,
            spec,
            change,
            actor=actor,
            client=client,
            timeout=self.settings.nats_request_timeout_s,
        )
        self.metrics.stream_changes.labels(result["action"]).inc()
        self.log.info(
            "stream_limits_changed",
            stream=name,
            actor=actor,
            client=client,
            action=result["action"],
            before=result["before"],
            after=result["after"],
            jetstream=result["changes"],
        )
        return result

    # Adapters

    async def adapters(self) -> dict[str, Any]:
        """The latest heartbeat of every service in CENTRAL_META, with its age."""
        timeout = self.settings.nats_request_timeout_s
        try:
            info = await jetstream.stream_info(
                self.nc, META_STREAM, timeout, subjects_filter=STATUS_SUBJECTS
            )
            subjects = sorted((info.get("state") or {}).get("subjects") or {})
            messages = await asyncio.gather(
                *(
                    jetstream.last_message(self.nc, META_STREAM, s, timeout)
                    for s in subjects
                )
            )
        except JetStreamError as exc:
            raise UnavailableError("NATS", exc.reason) from exc
        now = datetime.now(UTC)
        found = [
            beat
            for subject, (body, stored) in zip(subjects, messages, strict=True)
            if (beat := self._heartbeat(subject, body, stored, now)) is not None
        ]
        return {"adapters": sorted(found, key=lambda b: str(b["service"]))}

    def _heartbeat(
        self, subject: str, body: bytes, stored: datetime | None, now: datetime
    ) -> dict[str, Any] | None:
        try:
            beat = orjson.loads(body)
        except orjson.JSONDecodeError:
            beat = None
        if not isinstance(beat, dict):
            self.metrics.unreadable_heartbeats.inc()
            self.log.warning("heartbeat_unreadable", subject=subject)
            return None
        sent = jetstream.parse_time(beat.get("time")) or stored or now
        age = max(0.0, (now - sent).total_seconds())
        beat["service"] = str(beat.get("service") or subject.rsplit(".", 1)[-1])
        beat["time"] = iso(sent)
        beat["age_s"] = round(age, 3)
        beat["stale"] = age > self.settings.stale_after_s
        return beat

    # Events

    async def events(self, query: EventQuery) -> dict[str, Any]:
        """One page of events matching ``query``, newest first, and the next cursor.

        ``next_cursor`` is None on the last page.
        """
        sql, args = events_sql(query)
        rows = await self._fetch("events", sql, args)
        page = rows[: query.limit]
        next_cursor = None
        if len(rows) > query.limit:
            last = page[-1]
            next_cursor = encode(
                Position(last["time"], last["source"], last["id"]), query.digest()
            )
        return {"events": [structured(row) for row in page], "next_cursor": next_cursor}

    async def event(self, source: str, event_id: str) -> dict[str, Any]:
        """The event with ``source`` and ``event_id``; NotFoundError when absent."""
        rows = await self._fetch("event", _EVENT_SQL, [source, event_id])
        if not rows:
            raise NotFoundError(
                "event", f"no archived event with source {source!r} and id {event_id!r}"
            )
        return structured(rows[0])

    async def history(self, subject: str, source: str | None = None) -> dict[str, Any]:
        """Every archived revision of upstream record ``subject``, oldest first.

        Revisions are ordered by event time, then by when they were archived and
        their stream sequence. ``source`` narrows to one provider's record.
        NotFoundError when there is none. Note: at most 1000 revisions are
        returned; ``truncated`` says when there were more.
        """
        rows = await self._fetch(
            "history", _HISTORY_SQL, [subject, source, MAX_HISTORY + 1]
        )
        if not rows:
            raise NotFoundError(
                "subject", f"no archived event with subject {subject!r}"
            )
        return {
            "subject": subject,
            "events": [structured(row) for row in rows[:MAX_HISTORY]],
            "truncated": len(rows) > MAX_HISTORY,
        }

    # Database access

    def _database(self) -> Database:
        if self.database is None:
            raise UnavailableError("database", "the dashboard is not started")
        return self.database

    async def _fetch(self, kind: str, sql: str, args: list[Any]) -> list[Any]:
        """The rows of one read-only query; UnavailableError (503) when it fails.

        A request waits at most ``db_acquire_timeout_s`` for a free connection of
        the query pool, so a flood of clients gets prompt 503s rather than a queue
        that grows without bound. While the query budget is spent, the answer is
        then 503 with ``Retry-After``, and no query runs (see
        :mod:`central_dashboard.admission`). The query itself is held to the
        statement timeout; the time it holds the connection is charged to the
        budget and to the client.
        """
        pool = self._database().reader
        wait = self.settings.db_acquire_timeout_s
        try:
            conn = await pool.acquire(timeout=wait)
        except TimeoutError as exc:
            self.metrics.pool_timeouts.inc()
            raise UnavailableError(
                "database",
                f"every query connection stayed busy for {wait:g} s; retry shortly",
            ) from exc
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            self.log.error("query_failed", query=kind, error=repr(exc))
            raise UnavailableError("database", exc.__class__.__name__) from exc
        # Asked with the connection in hand, so that only queries about to run
        # are weighed, never the many that may be waiting for a connection.
        spent = self.admission.query_wait_s()
        if spent:
            await pool.release(conn)
            raise BudgetSpentError(retry_after(spent))
        started = time.perf_counter()
        try:
            rows = await conn.fetch(sql, *args)
        except asyncpg.QueryCanceledError as exc:
            self.log.warning("query_timed_out", query=kind, error=str(exc))
            raise UnavailableError(
                "database",
                f"the query took longer than {self.settings.db_statement_timeout_s:g} "
                "s; narrow the filters",
            ) from exc
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            self.log.error("query_failed", query=kind, error=repr(exc))
            raise UnavailableError("database", exc.__class__.__name__) from exc
        except TimeoutError as exc:
            self.log.error("query_failed", query=kind, error="timeout")
            raise UnavailableError("database", "no answer in time") from exc
        finally:
            await pool.release(conn)
            held = time.perf_counter() - started
            self.admission.charge_query(held)
        self.metrics.query_seconds.labels(kind).observe(held)
        return list(rows)

    # NATS callbacks

    async def _nats_error(self, exc: Exception) -> None:
        self.log.warning("nats_error", error=repr(exc))

    async def _nats_disconnected(self) -> None:
        self.log.warning("nats_disconnected")

    async def _nats_reconnected(self) -> None:
        self.log.info("nats_reconnected")


def structured(row: Any) -> dict[str, Any]:
    """An archive row (``attributes``, ``data``) as a structured-mode CloudEvent."""
    event = dict(row["attributes"])
    event["data"] = row["data"]
    return event

"""The live feed: new events as server-sent events, filtered at the broker.

Events travel on ``central.<domain>.<kind>.<provider>.<cell>`` (see
:mod:`central.subjects`), where ``<cell>`` is the 3-character geohash of the
event's representative point. A live client's ``type`` filter picks the first
three tokens and its ``bbox`` the geohash cells covering the box, so NATS sends
the dashboard only what the client can want. When the cover would take more than
``live_max_subjects`` subscriptions (a large box, many types), the feed subscribes
more widely (per type, or to every event subject) and filters in the process.

Either way each event is decoded and checked exactly before it is sent: its type
is one of those asked for, and its representative point lies inside the box. The
box test is on that point, the one its subject cell comes from, not on the whole
geometry: a large polygon whose centroid lies outside the box is not sent, although
``GET /api/events`` with the same box would list it.

The subscriptions are core NATS (no JetStream consumer): a client sees events
published while it is connected, and nothing from before.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pygeohash
from sse_starlette import ServerSentEvent

from central.errors import EventDecodeError
from central.events import CloudEvent, from_nats, to_structured
from central.subjects import CELL_PRECISION, representative_point
from central_dashboard.metrics import Metrics
from central_dashboard.queries import BBox

#: Size of a 3-character geohash cell: 8 longitude and 7 latitude bits.
CELL_LON = 360.0 / 2**8
CELL_LAT = 180.0 / 2**7
# Widens the cover by a hair, so a box edge lying exactly on a cell boundary
# includes the cell on either side whatever way the geohash rounds.
_EDGE = 1e-9


def cells_covering(bbox: BBox) -> list[str]:
    """The 3-character geohash cells that together cover ``bbox``, sorted."""
    min_lon, min_lat, max_lon, max_lat = bbox
    columns = _span(min_lon, max_lon, -180.0, CELL_LON, 2**8)
    rows = _span(min_lat, max_lat, -90.0, CELL_LAT, 2**7)
    cells = {
        pygeohash.encode(
            -90.0 + (row + 0.5) * CELL_LAT,
            -180.0 + (column + 0.5) * CELL_LON,
            precision=CELL_PRECISION,
        )
        for row in rows
        for column in columns
    }
    return sorted(cells)


def cell_count(bbox: BBox) -> int:
    """How many cells :func:`cells_covering` returns, without listing them."""
    min_lon, min_lat, max_lon, max_lat = bbox
    columns = _span(min_lon, max_lon, -180.0, CELL_LON, 2**8)
    rows = _span(min_lat, max_lat, -90.0, CELL_LAT, 2**7)
    return len(columns) * len(rows)


def _span(low: float, high: float, origin: float, step: float, count: int) -> range:
    first = max(0, math.floor((low - _EDGE - origin) / step))
    last = min(count - 1, math.floor((high + _EDGE - origin) / step))
    return range(first, last + 1)


def subscriptions(
    types: tuple[str, ...], bbox: BBox | None, max_subjects: int
) -> list[str]:
    """The NATS subjects to subscribe to for ``types`` and ``bbox``.

    Types are ``central.<domain>.<kind>``; without types every event subject
    (``central.*.*``) is meant. Returns at most ``max_subjects`` subjects, widening
    from cells to types to everything as needed.
    """
    prefixes = list(types) or ["central.*.*"]
    if bbox is not None and len(prefixes) * cell_count(bbox) <= max_subjects:
        return [f"{p}.*.{c}" for p in prefixes for c in cells_covering(bbox)]
    if len(prefixes) <= max_subjects:
        return [f"{p}.*.*" for p in prefixes]
    return ["central.*.*.*.*"]


@dataclass(frozen=True)
class LiveFilter:
    """What one live client asked for: types (any of) and a box (or none)."""

    types: tuple[str, ...] = ()
    bbox: BBox | None = None

    def matches(self, event: CloudEvent) -> bool:
        if event.type.startswith("central.meta."):
            return False
        if self.types and event.type not in self.types:
            return False
        if self.bbox is None:
            return True
        data = event.data if isinstance(event.data, dict) else {}
        geometry = data.get("geometry")
        point = representative_point(geometry if isinstance(geometry, dict) else None)
        if point is None:
            return False
        min_lon, min_lat, max_lon, max_lat = self.bbox
        lon, lat = point
        return min_lon <= lon <= max_lon and min_lat <= lat <= max_lat


@dataclass
class LiveFeed:
    """One client's subscriptions and the queue between NATS and its stream.

    Open it with :meth:`open` (which fails before any response is sent when NATS
    refuses), iterate :meth:`events`, and :meth:`close` it; closing twice is
    harmless. A client that falls ``queue_size`` events behind loses the newest
    ones (counted as dropped) rather than holding the server's memory.
    """

    nc: Any
    filter: LiveFilter
    subjects: list[str]
    metrics: Metrics
    log: Any
    queue_size: int
    _queue: asyncio.Queue[Any] = field(init=False)
    _subs: list[Any] = field(default_factory=list, init=False)
    _closed: bool = field(default=False, init=False)
    _counted: bool = field(default=False, init=False)

    @classmethod
    async def open(
        cls,
        nc: Any,
        live_filter: LiveFilter,
        *,
        max_subjects: int,
        queue_size: int,
        metrics: Metrics,
        log: Any,
    ) -> LiveFeed:
        subjects = subscriptions(live_filter.types, live_filter.bbox, max_subjects)
        feed = cls(nc, live_filter, subjects, metrics, log, queue_size)
        feed._queue = asyncio.Queue(maxsize=queue_size)
        try:
            for subject in subjects:
                feed._subs.append(await nc.subscribe(subject, cb=feed._offer))
            # Once the server has the subscriptions, nothing published later is
            # missed.
            await nc.flush(timeout=5)
        except BaseException:
            await feed.close()
            raise
        metrics.live_clients.inc()
        feed._counted = True
        log.info(
            "live_client_connected",
            subjects=len(subjects),
            types=list(live_filter.types),
            bbox=live_filter.bbox,
        )
        return feed

    async def _offer(self, msg: Any) -> None:
        try:
            self._queue.put_nowait(msg)
        except asyncio.QueueFull:
            self.metrics.live_events.labels("dropped").inc()

    async def events(self) -> AsyncIterator[ServerSentEvent]:
        """A comment once subscribed, then one event per matching CloudEvent.

        Each event's data is the CloudEvent in structured JSON; its SSE id is the
        event id.
        """
        try:
            yield ServerSentEvent(
                comment=f"subscribed to {len(self.subjects)} subjects"
            )
            while True:
                msg = await self._queue.get()
                event = self._decode(msg)
                if event is None:
                    continue
                if not self.filter.matches(event):
                    self.metrics.live_events.labels("filtered").inc()
                    continue
                self.metrics.live_events.labels("sent").inc()
                yield ServerSentEvent(data=to_structured(event).decode(), id=event.id)
        finally:
            await self.close()

    def _decode(self, msg: Any) -> CloudEvent | None:
        try:
            return from_nats(msg.headers, msg.data)
        except EventDecodeError as exc:
            self.metrics.live_events.labels("undecodable").inc()
            self.log.warning(
                "live_event_undecodable", subject=msg.subject, reason=exc.reason
            )
            return None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        subs, self._subs = self._subs, []
        for sub in subs:
            try:
                await sub.unsubscribe()
            except Exception as exc:
                self.log.warning("live_unsubscribe_failed", error=repr(exc))
        if self._counted:
            self.metrics.live_clients.dec()
            self.log.info("live_client_disconnected")

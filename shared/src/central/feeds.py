"""What an adapter domain declares about each of its feeds.

A :class:`Feed` is pure: ``parse`` turns one fetched payload into records and
``normalize`` turns one record into a :class:`Normalized` event.  The adapter runtime
(:mod:`central.adapter`) does all I/O around them, and the ``normalize`` command runs
them on files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from central.events import CloudEvent
from central.subjects import event_subject


@dataclass(frozen=True)
class Normalized:
    """One accepted record: the event and the NATS subject it is published on."""

    event: CloudEvent
    nats_subject: str


@dataclass(frozen=True)
class Feed:
    """One upstream feed of an adapter.

    ``name`` is the contract name (``usgs``), used in ``--feed`` and in the
    ``CENTRAL_FEED_<NAME>_URL`` / ``CENTRAL_FEED_<NAME>_INTERVAL_S`` settings.
    ``parse`` raises :class:`~central.errors.FeedFormatError` when the payload is
    not a document of this feed at all; ``normalize`` raises
    :class:`~central.errors.RecordError` for one bad record.  ``record_id`` names a
    raw record in a rejection report, best effort (None when it has no readable id).
    """

    name: str
    domain: str
    default_url: str
    default_interval_s: float
    parse: Callable[[bytes], Iterable[Any]]
    normalize: Callable[[Any], Normalized]
    record_id: Callable[[Any], str | None]
    media_type: str = "application/json"


def normalized(
    event: CloudEvent,
    domain: str,
    kind: str,
    provider: str,
    geometry: dict[str, Any] | None,
) -> Normalized:
    """Pair ``event`` with its subject ``central.<domain>.<kind>.<provider>.<cell>``."""
    return Normalized(event, event_subject(domain, kind, provider, geometry))

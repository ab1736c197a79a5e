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

import orjson

from central.errors import RecordError
from central.events import CloudEvent, encode_data
from central.subjects import event_subject


@dataclass(frozen=True)
class Normalized:
    """One accepted record: the event, its NATS subject and its encoded body.

    Build it with :func:`normalized`, which encodes the body once and so rejects a
    record whose data cannot be JSON before anything is published.
    """

    event: CloudEvent
    nats_subject: str
    body: bytes


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
    """``event`` with its subject ``central.<domain>.<kind>.<provider>.<cell>``.

    Raises :class:`~central.errors.RecordError` when the event's data cannot be
    encoded as JSON (an integer beyond 64 bits, say), so such a record is rejected
    like any other bad record instead of failing the publish of its whole poll.
    """
    try:
        body = encode_data(event)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise RecordError(
            f"data cannot be encoded as JSON: {exc}", event.subject
        ) from exc
    return Normalized(event, event_subject(domain, kind, provider, geometry), body)

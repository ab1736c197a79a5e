"""Opaque, versioned keyset cursors for paging ``GET /api/events``.

A page of events is ordered newest first by ``(time, source, id)``, the archive's
unique key, so the position after the last event of a page is that triple: the
next page holds the events strictly below it. Events archived meanwhile with a
newer time sort above the position and never shift a later page, so paging
neither repeats nor skips while new events arrive.

The cursor text is ``v1.`` followed by unpadded URL-safe base64 of a JSON array:
the time in microseconds since the epoch, the source, the id and a fingerprint of
the query's filters. A client must treat it as opaque; :func:`decode` rejects
anything it did not make, a cursor of another version, and a cursor presented
with different filters than the query that issued it, each with a
:class:`~central_dashboard.errors.ParameterError` naming ``cursor``.

Note: a cursor is not signed. Whoever edits one and recomputes the fingerprint
gets the page after the position they wrote: events the same filters list anyway.
The position only ever travels as bind parameters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from central_dashboard.errors import ParameterError

VERSION = "v1"
#: Longest cursor text accepted; real ones are a few hundred characters.
MAX_LENGTH = 4096
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Position:
    """The keyset position after one event: its time, source and id."""

    time: datetime
    source: str
    id: str


def fingerprint(filters: object) -> str:
    """A short digest of a JSON-able description of a query's filters."""
    canonical = orjson.dumps(filters, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:16]


def encode(position: Position, filters_digest: str) -> str:
    """The cursor text for ``position`` in the query whose digest is given."""
    micros = (position.time - _EPOCH) // timedelta(microseconds=1)
    raw = orjson.dumps([micros, position.source, position.id, filters_digest])
    return f"{VERSION}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}"


def decode(text: str, filters_digest: str) -> Position:
    """The position in cursor ``text``; ParameterError when it is not valid here."""
    if len(text) > MAX_LENGTH:
        raise ParameterError("cursor", f"is longer than {MAX_LENGTH} characters")
    version, dot, payload = text.partition(".")
    if not dot or not version.startswith("v"):
        raise ParameterError("cursor", "is not a cursor this API issued")
    if version != VERSION:
        raise ParameterError(
            "cursor", f"has version {version!r}; this API reads {VERSION!r}"
        )
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        fields = orjson.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise ParameterError("cursor", "is not a cursor this API issued") from exc
    position = _position(fields)
    if fields[3] != filters_digest:
        raise ParameterError(
            "cursor", "was issued for a query with other filters; start again"
        )
    return position


def _position(fields: object) -> Position:
    if not (
        isinstance(fields, list)
        and len(fields) == 4
        and isinstance(fields[0], int)
        and not isinstance(fields[0], bool)
        and all(isinstance(f, str) for f in fields[1:])
    ):
        raise ParameterError("cursor", "is not a cursor this API issued")
    # No archived source or id holds a NUL (PostgreSQL text cannot), so only a
    # forged cursor does; the server would refuse it as a bind parameter.
    if "\x00" in fields[1] or "\x00" in fields[2]:
        raise ParameterError("cursor", "is not a cursor this API issued")
    try:
        time = _EPOCH + timedelta(microseconds=fields[0])
    except OverflowError as exc:
        raise ParameterError("cursor", "holds a time out of range") from exc
    return Position(time, fields[1], fields[2])

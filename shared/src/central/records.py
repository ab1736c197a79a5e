"""Reading one upstream record: typed fields, and the event it becomes.

The readers take a record as parsed JSON (a mapping from member name to value) and
raise :class:`~central.errors.RecordError` naming the member, the bad value and the
record, as ``<key> <value> is not <what was wanted>``; a missing or ``null`` member
reads as None.  :func:`assemble` is the last step of a normalizer: it validates the
fields as the event's data model and wraps them in a CloudEvent.

Bad values are quoted cut short (:data:`QUOTE_CHARS`), so that a mangled 100 kB
string does not make a 100 kB line in the rejection log.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, NoReturn, TypeVar

import orjson
from pydantic import ValidationError

from central.errors import RecordError
from central.events import CloudEvent
from central.feeds import Normalized, normalized
from central.ids import content_revision, event_id
from central.models import DataModel
from central.payloads import json_type
from central.times import RFC3339, utc_time

T = TypeVar("T")

#: How many characters of a bad value's ``repr`` an error message quotes.
QUOTE_CHARS: Final = 60
# A decimal number written as text ("7.78", "-.5", "1e-05"); float() would also
# take "nan", "inf", "1_000" and surrounding blanks, which are not numbers in data.
_DECIMAL: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters with ``...``.

    A value nested too deeply to ``repr`` is named by its JSON type instead.
    """
    try:
        shown = repr(value)
    except RecursionError:  # arrays nested thousands deep
        return f"<a deeply nested {json_type(value)}>"
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def bad(
    key: str,
    value: Any,
    wanted: str,
    native_id: str | None,
    *,
    limit: int = QUOTE_CHARS,
) -> NoReturn:
    """Raise RecordError: ``<key> <value> is not <wanted>``, value :func:`quote`-d."""
    raise RecordError(f"{key} {quote(value, limit)} is not {wanted}", native_id)


def id_of(record: Any, key: str) -> str | None:
    """``record[key]`` when ``record`` is an object and that is a non-empty string.

    None otherwise: this is the best-effort id of a record that may be anything,
    for a feed's ``record_id``.
    """
    if isinstance(record, dict):
        value = record.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def required(value: T | None, key: str, native_id: str | None) -> T:
    """``value`` unless it is None; RecordError ``record has no <key>`` otherwise."""
    if value is None:
        raise RecordError(f"record has no {key}", native_id)
    return value


def text(record: Mapping[str, Any], key: str, native_id: str | None) -> str | None:
    """A string member exactly as given; the empty string reads as None."""
    value = record.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        bad(key, value, "a string", native_id)
    return value


def stripped(record: Mapping[str, Any], key: str, native_id: str | None) -> str | None:
    """A string member without surrounding blanks; an all-blank one reads as None."""
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        bad(key, value, "a string", native_id)
    return value.strip() or None


def number(record: Mapping[str, Any], key: str, native_id: str | None) -> float | None:
    """A finite JSON number member, as a float; booleans are not numbers."""
    value = record.get(key)
    if value is None:
        return None
    if not is_finite_number(value):
        bad(key, value, "a finite number", native_id)
    return float(value)


def integer(
    record: Mapping[str, Any],
    key: str,
    native_id: str | None,
    *,
    largest: int | None = None,
) -> int | None:
    """An integral JSON number member; a float with no fractional part is accepted.

    With ``largest``, an integer of a greater magnitude is refused as well (the
    largest integer a double holds exactly, for data read back as doubles).
    """
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or (largest is not None and abs(value) > largest)
    ):
        bad(key, value, "an integer", native_id)
    return value


def is_finite_number(value: Any) -> bool:
    """Whether ``value`` is a finite int or float, and not a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def decimal(value: str) -> float | None:
    """The number a decimal string writes (``"4.00"``, ``"-1e-05"``), else None.

    Surrounding blanks are ignored.  ``nan``, ``inf``, ``1_000`` and hexadecimal,
    which ``float()`` reads, are not decimals.  A decimal too large for a float
    reads as infinity, for the caller's finiteness check to refuse.
    """
    value = value.strip()
    if not _DECIMAL.fullmatch(value):
        return None
    return float(value)


def date_time(
    value: Any,
    key: str,
    native_id: str | None,
    *,
    grammar: re.Pattern[str] = RFC3339,
    wanted: str = "an RFC 3339 date-time",
) -> datetime:
    """An aware UTC datetime from a date-time string that matches ``grammar``.

    ``grammar`` is a pattern with the named groups :func:`~central.times.utc_time`
    reads.  Raises RecordError ``... is not <wanted>`` when ``value`` is not a
    string matching it whole, and ``... is not a valid calendar date-time`` when
    it matches but names no moment (February 30th, a zone offset of a day or more).
    """
    match = grammar.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        bad(key, value, wanted, native_id)
    try:
        return utc_time(match)
    except ValueError:
        bad(key, value, "a valid calendar date-time", native_id)


def assemble(
    model: type[DataModel],
    fields: Mapping[str, Any],
    *,
    domain: str,
    kind: str,
    type: str,
    provider: str,
    source: str,
    subject: str,
    time: datetime,
    revision: str | None = None,
) -> Normalized:
    """Validate ``fields`` as ``model`` and wrap the data in a CloudEvent.

    The event has ``type``, ``source``, ``subject`` and ``time`` as given, and the
    id ``event_id(provider, subject, revision)``.  Without a ``revision`` the
    revision is the :func:`~central.ids.content_revision` of the data written as
    JSON with sorted keys: the same values always give the same id, whatever order
    upstream wrote them in, and any change of value gives a new one.  The NATS
    subject is ``central.<domain>.<kind>.<provider>.<cell>``, the cell taken from
    the data's ``geometry`` (``none`` without one).

    Raises RecordError naming the first field the model refuses
    (``geometry.coordinates: Value error, ...``), and when the data cannot be
    written as JSON.
    """
    try:
        data = model.model_validate(fields).to_data()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RecordError(f"{where}: {first['msg']}", subject) from exc
    if revision is None:
        try:
            canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        except TypeError as exc:
            raise RecordError(f"data is not encodable as JSON: {exc}", subject) from exc
        revision = content_revision(canonical)

    event = CloudEvent(
        id=event_id(provider, subject, revision),
        source=source,
        type=type,
        time=time,
        subject=subject,
        data=data,
    )
    return normalized(event, domain, kind, provider, data.get("geometry"))

"""What the SWPC normalizers share: reading payloads and rows, and building events.

SWPC serves its products as JSON arrays in two shapes, and has switched products
between them: an array of arrays whose first row is a header of column names and
whose values are mostly strings (``[["time_tag","kp",...],["2025-04-04 00:00:00",
"4.00",...]]``), or an array of objects with numeric values (``[{"time_tag":
"2026-07-25T00:00:00","Kp":1.00,...}]``).  :func:`load_rows` reads both into one
record per row, so the normalizers see objects either way, and :class:`Row` reads a
record's values whether they come as numbers or as numeric strings.

Every reader raises :class:`~central.errors.RecordError` naming the field and the
bad value; :func:`assemble` validates the ``data`` model and builds the CloudEvent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final, NoReturn, TypeVar

from central import records
from central.errors import FeedFormatError, RecordError
from central.events import format_time
from central.feeds import Normalized
from central.payloads import json_type, load_json
from central.records import bad, decimal
from central.times import RFC3339, utc_time
from central_adapter_space.models import DOMAIN, PROVIDER, SpaceData, event_type

T = TypeVar("T")

# An integer as SWPC writes it in strings ("8"); Python's int() would also take
# "1_000", which is not data.
_INTEGER: Final = re.compile(r"[+-]?\d{1,18}", re.ASCII)
# orjson writes integers of at most 64 bits; anything wider cannot be sent.
_INT_RANGE: Final = range(-(2**63), 2**64)


def load_array(body: bytes, feed: str) -> list[Any]:
    """The JSON array a payload holds; FeedFormatError naming ``feed`` otherwise.

    ``NaN`` and ``Infinity`` are not JSON and are refused, as is anything nested
    deeper than the interpreter can parse.
    """
    document = load_json(body, feed)
    if not isinstance(document, list):
        raise FeedFormatError(
            f"{feed} payload is a JSON {json_type(document)}, not an array"
        )
    return document


def load_rows(
    body: bytes,
    feed: str,
    columns: Iterable[tuple[str, ...]],
    *,
    header_rows: bool = True,
) -> list[Any]:
    """The records of an SWPC array payload, one per row, in payload order.

    The first element decides the shape: an array is the header row of an
    array-of-arrays payload (only when ``header_rows``), an object starts an
    array-of-objects payload.  Each data row of the first shape becomes an object
    keyed by the header; a row that is not an array of the header's length is
    passed on unchanged, for the normalizer to reject.  ``columns`` lists what the
    product must carry, each entry as alternatives matched without regard to case:
    every entry must name a header column, or (objects) a member of some element.
    An empty array holds no records.

    Raises FeedFormatError when the body is not such a payload at all: not a JSON
    array, a first element of another type, a header that is not distinct strings,
    or a required column missing.
    """
    document = load_array(body, feed)
    if not document:
        return []

    first = document[0]
    if header_rows and isinstance(first, list):
        header = _header(first, feed)
        _require(header, columns, feed, "header row")
        width = len(header)
        return [
            dict(zip(header, row, strict=True))
            if isinstance(row, list) and len(row) == width
            else row
            for row in document[1:]
        ]
    if isinstance(first, dict):
        names = {key for row in document if isinstance(row, dict) for key in row}
        _require(names, columns, feed, "element")
        return document
    wanted = "a header row or an object" if header_rows else "an object"
    raise FeedFormatError(
        f"{feed} payload starts with a JSON {json_type(first)}, not {wanted}"
    )


def _header(first: list[Any], feed: str) -> list[str]:
    if not first or not all(isinstance(name, str) and name for name in first):
        raise FeedFormatError(f"{feed} payload header row is not column names")
    if len({name.lower() for name in first}) != len(first):
        raise FeedFormatError(f"{feed} payload header row repeats a column name")
    return first


def _require(
    names: Iterable[str], columns: Iterable[tuple[str, ...]], feed: str, where: str
) -> None:
    present = {name.lower() for name in names}
    for alternatives in columns:
        if not present.intersection(alternatives):
            wanted = " or ".join(repr(name) for name in alternatives)
            raise FeedFormatError(f"{feed} payload has no {wanted} in any {where}")


class Row:
    """Typed, case-insensitive reading of one record's members.

    Names are matched without regard to case (the 3-hourly K-index product says
    ``Kp``, the forecast ``kp``); a record with two members differing only in case
    is refused.  Every member read is remembered, so :meth:`extra` returns the rest.
    ``native_id`` names the record in error messages; callers set it once known.
    """

    def __init__(self, record: Any, native_id: str | None = None) -> None:
        if isinstance(record, list):
            raise RecordError(
                "record is a JSON array, not an object or a row that fits the header",
                native_id,
            )
        if not isinstance(record, dict):
            raise RecordError(f"record is a JSON {json_type(record)}, not an object")
        self.native_id = native_id
        self._record: dict[str, Any] = record
        try:
            self._names: dict[str, str] = {name.lower(): name for name in record}
        except AttributeError:
            odd = next(name for name in record if not isinstance(name, str))
            raise RecordError(f"record member name {odd!r} is not a string") from None
        if len(self._names) != len(record):
            seen: dict[str, str] = {}
            for name in record:
                if name.lower() in seen:
                    other = seen[name.lower()]
                    self.fail(f"record members {other!r} and {name!r} clash")
                seen[name.lower()] = name
        self._read: set[str] = set()

    def has(self, name: str) -> bool:
        """Whether the record has a member ``name`` (any case), even a null one."""
        return name.lower() in self._names

    def value(self, name: str, *, required: bool = False, column: bool = False) -> Any:
        """The raw value of member ``name`` (None when missing or null).

        ``required``: a missing or null value raises RecordError.  ``column``: a
        missing member raises RecordError, while a null value reads as None.
        """
        key = self._names.get(name.lower())
        if key is None:
            if required or column:
                self.fail(f"record has no {name}")
            return None
        self._read.add(key)
        value = self._record[key]
        if value is None and required:
            self.fail(f"record has a null {name}")
        return value

    def text(self, name: str, **need: bool) -> str | None:
        """A string member, stripped; an empty string reads as None."""
        value = self.value(name, **need)
        if value is None:
            return None
        if not isinstance(value, str):
            self._bad(name, value, "a string")
        stripped = value.strip()
        if not stripped and need.get("required"):
            self.fail(f"record has an empty {name}")
        return stripped or None

    def number(self, name: str, **need: bool) -> float | None:
        """A finite number, given as a JSON number or a decimal string ("4.00")."""
        value = self.value(name, **need)
        if value is None:
            return None
        if isinstance(value, str):
            parsed = decimal(value)
            if parsed is None:
                self._bad(name, value, "a number")
            number = parsed
        elif isinstance(value, bool) or not isinstance(value, int | float):
            self._bad(name, value, "a number")
        else:
            try:
                number = float(value)
            except OverflowError:  # an int too large for a float
                number = math.inf
        if not math.isfinite(number):
            self._bad(name, value, "a finite number")
        return number

    def integer(self, name: str, **need: bool) -> int | None:
        """An integer, given as a JSON number (``8``, ``8.0``) or a string ("8")."""
        value = self.value(name, **need)
        if value is None:
            return None
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self._bad(name, value, "an integer")
        if value not in _INT_RANGE:
            self._bad(name, value, "an integer of at most 64 bits")
        return value

    def boolean(self, name: str, **need: bool) -> bool | None:
        """A boolean, given as ``true``/``false`` or as the string "true"/"false"."""
        value = self.value(name, **need)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        self._bad(name, value, "a boolean")

    def time(self, name: str) -> datetime:
        """A required SWPC time tag as an aware UTC datetime."""
        value = self.value(name, required=True)
        if not isinstance(value, str):
            self._bad(name, value, "a date-time string")
        moment = parse_time(value)
        if moment is None:
            self._bad(name, value, "a date-time")
        return moment

    def extra(self) -> dict[str, Any]:
        """Every member not read so far, checked to be plain JSON."""
        if len(self._read) == len(self._record):
            return {}
        rest = {k: v for k, v in self._record.items() if k not in self._read}
        for name, value in rest.items():
            problem = json_problem(value)
            if problem is not None:
                self.fail(f"{name}: {problem}")
        return rest

    def present(self, value: T | None, name: str) -> T:
        """``value`` itself, for a read made with ``required=True``; never None."""
        if value is None:
            self.fail(f"record has no {name}")
        return value

    def fail(self, reason: str) -> NoReturn:
        """Raise RecordError for this record."""
        raise RecordError(reason, self.native_id)

    def _bad(self, name: str, value: Any, wanted: str) -> NoReturn:
        bad(name, value, wanted, self.native_id)


def parse_time(text: str) -> datetime | None:
    """An aware UTC datetime from an SWPC time tag, or None if it is not one.

    SWPC writes ``2022-09-27 19:57:05.470``, ``2025-04-04 00:00:00``,
    ``2026-07-25T00:00:00`` and ``2022-04-25T02:02:00Z``: RFC 3339 with or without
    a zone (:data:`central.times.RFC3339`).  A tag without a zone is UTC, the time
    scale of every SWPC product.  Fractional seconds beyond the sixth digit are cut
    off.
    """
    match = RFC3339.fullmatch(text.strip())
    if match is None:
        return None
    try:
        return utc_time(match)
    except ValueError:
        return None


def tag(moment: datetime) -> str:
    """A time as it appears in subjects: RFC 3339 UTC with ``Z``."""
    return format_time(moment)


def json_problem(value: Any, depth: int = 0) -> str | None:
    """Why ``value`` cannot travel as plain JSON, or None when it can.

    Refused: non-finite floats, integers wider than 64 bits, strings that are not
    valid Unicode, non-string member names, other Python types, and nesting deeper
    than 64 levels.
    """
    if depth > 64:
        return "nested too deeply"
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if value in _INT_RANGE else "integer wider than 64 bits"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value} is not a finite number"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "string is not valid Unicode"
        return None
    if isinstance(value, list):
        children = value
    elif isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return "member name is not a string"
        children = [*value.keys(), *value.values()]
    else:
        return f"{json_type(value)} is not a JSON value"
    for child in children:
        problem = json_problem(child, depth + 1)
        if problem is not None:
            return problem
    return None


def assemble(
    *,
    kind: str,
    source: str,
    subject: str,
    time: datetime,
    model: type[SpaceData],
    fields: Mapping[str, Any],
    revision: str | None = None,
) -> Normalized:
    """Validate ``fields`` as ``model`` and wrap them in a CloudEvent.

    The event id is ``event_id("swpc", subject, revision)``; without a
    ``revision`` it is the :func:`~central.ids.content_revision` of the ``data``
    serialized with sorted keys, so the same values give the same id whichever
    shape the payload had, and any change of value gives a new id under the same
    subject.  The events carry no geometry: the NATS subject cell is ``none``.
    Raises RecordError naming the field the model refuses, or when ``data`` cannot
    be encoded as JSON (see :func:`central.records.assemble`).
    """
    return records.assemble(
        model,
        fields,
        domain=DOMAIN,
        kind=kind,
        type=event_type(kind),
        provider=PROVIDER,
        source=source,
        subject=subject,
        time=time,
        revision=revision,
    )

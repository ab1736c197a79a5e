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

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final, NoReturn, TypeVar

import orjson
from pydantic import ValidationError

from central.errors import FeedFormatError, RecordError
from central.events import CloudEvent, format_time
from central.feeds import Normalized, normalized
from central.ids import content_revision, event_id
from central_adapter_space.models import DOMAIN, PROVIDER, SpaceData, event_type

T = TypeVar("T")

_JSON_NAMES: Final[dict[type, str]] = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
# SWPC time tags, all UTC: "2022-09-27 19:57:05.470", "2025-04-04 00:00:00",
# "2026-07-25T00:00:00" (no zone) and "2022-04-25T02:02:00Z".
_TIME: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"([Zz]|[+-]\d{2}:\d{2})?",
    re.ASCII,
)
# A decimal number as SWPC writes it in strings ("7.78", "20863", "4.00"); Python's
# float() would also take "nan", "inf" and "1_000", which are not data.
_DECIMAL: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_INTEGER: Final = re.compile(r"[+-]?\d{1,18}", re.ASCII)
# orjson writes integers of at most 64 bits; anything wider cannot be sent.
_INT_RANGE: Final = range(-(2**63), 2**64)


def type_name(value: Any) -> str:
    """The JSON name of a Python value's type (``object``, ``array``, ``number``...)."""
    return _JSON_NAMES.get(type(value), type(value).__name__)


def load_array(body: bytes, feed: str) -> list[Any]:
    """The JSON array a payload holds; FeedFormatError naming ``feed`` otherwise.

    ``NaN`` and ``Infinity`` are not JSON and are refused, as is anything nested
    deeper than the interpreter can parse.
    """
    try:
        document = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise FeedFormatError(f"{feed} payload is not JSON: {_one_line(exc)}") from exc
    if not isinstance(document, list):
        raise FeedFormatError(
            f"{feed} payload is a JSON {type_name(document)}, not an array"
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
        f"{feed} payload starts with a JSON {type_name(first)}, not {wanted}"
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
            raise RecordError(f"record is a JSON {type_name(record)}, not an object")
        self.native_id = native_id
        self._record: dict[str, Any] = record
        try:
            self._names: dict[str, str] = {name.lower(): name for name in record}
        except AttributeError:
            bad = next(name for name in record if not isinstance(name, str))
            raise RecordError(f"record member name {bad!r} is not a string") from None
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
            if not _DECIMAL.fullmatch(value.strip()):
                self._bad(name, value, "a number")
            number = float(value)
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
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        self.fail(f"{name} {shown} is not {wanted}")


def parse_time(text: str) -> datetime | None:
    """An aware UTC datetime from an SWPC time tag, or None if it is not one.

    A tag without a zone is UTC, the time scale of every SWPC product.  Fractional
    seconds beyond the sixth digit are cut off.
    """
    match = _TIME.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    offset = timedelta(0)
    if zone and zone.upper() != "Z":
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        if offset >= timedelta(days=1):
            return None
        offset = -offset if zone[0] == "-" else offset
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro
        )
        if offset:
            return moment.replace(tzinfo=timezone(offset)).astimezone(UTC)
        return moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
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
        return f"{type_name(value)} is not a JSON value"
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
    be encoded as JSON.
    """
    try:
        data = model.model_validate(fields).to_data()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RecordError(f"{where}: {first['msg']}", subject) from exc
    try:
        canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:
        raise RecordError(f"data is not encodable as JSON: {exc}", subject) from exc

    event = CloudEvent(
        id=event_id(PROVIDER, subject, revision or content_revision(canonical)),
        source=source,
        type=event_type(kind),
        time=time,
        subject=subject,
        data=data,
    )
    return normalized(event, DOMAIN, kind, PROVIDER, None)


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__

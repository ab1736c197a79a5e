"""The event query: validated parameters and the parameterized SQL they become.

:class:`EventQuery` holds the filters of ``GET /api/events`` (and the ``type`` and
``bbox`` filters of ``GET /api/live``). It accepts query-string text (as the API
passes it) or typed values (as Python callers may): ``bbox="-10,35,30,60"`` and
``bbox=(-10, 35, 30, 60)`` are the same. :func:`parse_event_query` turns a
request's query string into one, raising
:class:`~central_dashboard.errors.ParameterError` naming the first bad parameter.

:func:`events_sql` builds the SQL. Every value travels as a bind parameter; the
text only ever contains fixed fragments, so no input can change the statement.
Results are ordered newest first by ``(time, source, id)``, the archive's unique
key, which is also the keyset the cursor continues from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from central_dashboard import cursor as cursors
from central_dashboard.errors import ParameterError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_TYPES = 32
MAX_TEXT = 2048
#: Half the equator: no two points on Earth are farther apart.
MAX_NEAR_KM = 20_038.0
TYPE_PATTERN = re.compile(r"^central\.[a-z0-9_-]+\.[a-z0-9_-]+$")
#: The query-string names :class:`EventQuery` reads, and the field each fills.
PARAMETERS = {
    "since": "since",
    "until": "until",
    "type": "types",
    "source": "source",
    "subject": "subject",
    "bbox": "bbox",
    "near": "near",
    "limit": "limit",
    "cursor": "cursor",
}
_FIELD_TO_PARAMETER = {field: name for name, field in PARAMETERS.items()}
_REPEATABLE = frozenset({"type"})

BBox = tuple[float, float, float, float]
Near = tuple[float, float, float]


class EventQuery(BaseModel):
    """Validated filters of an event query; every field is optional.

    - ``since`` (inclusive) and ``until`` (exclusive) bound the event time; a time
      without an offset is read as UTC.
    - ``types`` keeps events of any of the given types (``central.<domain>.<kind>``).
    - ``source`` and ``subject`` match exactly.
    - ``bbox`` is ``(minLon, minLat, maxLon, maxLat)`` in WGS84, the OGC and
      GeoJSON order (EONET's own bbox parameter lists the corners differently); an
      event matches when its geometry intersects the box.
    - ``near`` is ``(lon, lat, km)``: geometry within ``km`` kilometres, measured
      on the spheroid.
    - ``limit`` is the page size (1 to 1000, default 100); ``cursor`` continues
      from a previous page of the same filters.

    Note: a bbox whose minLon exceeds its maxLon (one crossing the antimeridian) is
    refused; ask for the two halves separately.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    since: datetime | None = None
    until: datetime | None = None
    types: tuple[str, ...] = ()
    source: str | None = None
    subject: str | None = None
    bbox: BBox | None = None
    near: Near | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None

    @field_validator("since", "until", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        return parse_time(value) if isinstance(value, str) else value

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("is out of the range of representable times") from None

    @field_validator("types", mode="before")
    @classmethod
    def _types(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            if len(value) > MAX_TYPES:
                raise ValueError(f"at most {MAX_TYPES} types may be given")
            for item in value:
                if not isinstance(item, str) or not TYPE_PATTERN.match(item):
                    raise ValueError(
                        f"{_shown(item)} is not an event type "
                        "(central.<domain>.<kind>, lower case)"
                    )
            return tuple(dict.fromkeys(value))
        return value

    @field_validator("source", "subject", "cursor", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise ValueError(f"is longer than {MAX_TEXT} characters")
            if "\x00" in value:
                raise ValueError("contains a NUL character")
        return value

    @field_validator("bbox", mode="before")
    @classmethod
    def _bbox(cls, value: Any) -> Any:
        numbers = _numbers(value, 4, "minLon,minLat,maxLon,maxLat")
        if numbers is None:
            return value
        min_lon, min_lat, max_lon, max_lat = numbers
        _check_lon(min_lon, "minLon")
        _check_lon(max_lon, "maxLon")
        _check_lat(min_lat, "minLat")
        _check_lat(max_lat, "maxLat")
        if min_lon > max_lon:
            raise ValueError(
                "minLon exceeds maxLon; a box crossing the antimeridian is not "
                "supported (the order is minLon,minLat,maxLon,maxLat)"
            )
        if min_lat > max_lat:
            raise ValueError(
                "minLat exceeds maxLat (the order is minLon,minLat,maxLon,maxLat)"
            )
        return (min_lon, min_lat, max_lon, max_lat)

    @field_validator("near", mode="before")
    @classmethod
    def _near(cls, value: Any) -> Any:
        numbers = _numbers(value, 3, "lon,lat,km")
        if numbers is None:
            return value
        lon, lat, km = numbers
        _check_lon(lon, "lon")
        _check_lat(lat, "lat")
        if not 0 < km <= MAX_NEAR_KM:
            raise ValueError(f"km must be above 0 and at most {MAX_NEAR_KM:g}")
        return (lon, lat, km)

    @model_validator(mode="after")
    def _window(self) -> EventQuery:
        if self.since and self.until and self.since >= self.until:
            raise ParameterError("until", "must be later than since")
        if self.cursor is not None:
            cursors.decode(self.cursor, self.digest())
        return self

    def filters(self) -> dict[str, Any]:
        """The filters (not limit or cursor) as JSON-able values, for a cursor."""
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "types": sorted(self.types),
            "source": self.source,
            "subject": self.subject,
            "bbox": list(self.bbox) if self.bbox else None,
            "near": list(self.near) if self.near else None,
        }

    def digest(self) -> str:
        """The fingerprint of the filters that cursors of this query carry."""
        return cursors.fingerprint(self.filters())

    def position(self) -> cursors.Position | None:
        """Where the page starts: the cursor's position, or None for the first."""
        return cursors.decode(self.cursor, self.digest()) if self.cursor else None


def parse_time(text: str) -> datetime:
    """An ISO 8601 / RFC 3339 date-time; ValueError naming the problem."""
    value = text.strip()
    if value[-1:] in ("z", "Z"):
        value = value[:-1] + "+00:00"
    if len(value) > 10 and value[10] == "t":
        value = value[:10] + "T" + value[11:]
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{_shown(text)} is not an ISO 8601 time (2024-05-01T12:00:00Z)"
        ) from None
    return parsed


def parse_event_query(
    items: Iterable[tuple[str, str]], allowed: Iterable[str] = PARAMETERS
) -> EventQuery:
    """An EventQuery from query-string ``items`` (name, value), in request order.

    Only the names in ``allowed`` may appear; only ``type`` may repeat. An empty
    value counts as not given, as HTML forms send empty fields. Raises
    ParameterError naming the first parameter that is unknown, repeated or invalid.
    """
    allowed = set(allowed)
    values: dict[str, Any] = {}
    for name, value in items:
        if name not in allowed:
            raise ParameterError(name, "is not a parameter of this endpoint")
        field = PARAMETERS[name]
        if name in _REPEATABLE:
            if value:
                values.setdefault(field, []).append(value)
            continue
        if field in values:
            raise ParameterError(name, "may be given only once")
        if value:
            values[field] = value
    return build_query(values)


#: What :func:`parse_query` raises: the API's own error for a bad parameter.
QueryError = ParameterError


def parse_query(params: Any, *, default_limit: int = DEFAULT_LIMIT) -> EventQuery:
    """An EventQuery from a request's query parameters, for pages and forms.

    ``params`` is Starlette's ``QueryParams`` (or anything with ``multi_items()``,
    or an iterable of name, value pairs). Unlike :func:`parse_event_query`, names
    that are not filters are ignored (a form carries fields of its own), and
    ``default_limit`` applies when no ``limit`` is given. Raises QueryError (a
    ParameterError) naming the first bad parameter.
    """
    pairs = params.multi_items() if hasattr(params, "multi_items") else params
    items = [(name, value) for name, value in pairs if name in PARAMETERS]
    if not any(name == "limit" and value for name, value in items):
        items.append(("limit", str(default_limit)))
    return parse_event_query(items)


def build_query(values: dict[str, Any]) -> EventQuery:
    """EventQuery(**values), with validation errors as ParameterError."""
    try:
        return EventQuery(**values)
    except ValidationError as exc:
        raise parameter_error(exc) from None


def parameter_error(exc: ValidationError) -> ParameterError:
    """The first error of ``exc`` as a ParameterError naming the query parameter."""
    first = exc.errors()[0]
    loc = first.get("loc") or ("query",)
    field = str(loc[0])
    ctx = first.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, ParameterError):
        return cause
    reason = str(cause) if first["type"] == "value_error" and cause else first["msg"]
    return ParameterError(_FIELD_TO_PARAMETER.get(field, field), reason)


def events_sql(query: EventQuery) -> tuple[str, list[Any]]:
    """The statement and arguments fetching one page (plus one row) of ``query``.

    The extra row tells the caller whether a next page exists. Columns: ``time``,
    ``source``, ``id``, ``attributes``, ``data``.
    """
    where, args = _conditions(query)
    args.append(query.limit + 1)
    sql = (
        "SELECT time, source, id, attributes, data FROM public.events"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY time DESC, source DESC, id DESC"
        + f" LIMIT ${len(args)}"
    )
    return sql, args


def _conditions(query: EventQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if query.since is not None:
        where.append(f"time >= {arg(query.since)}")
    if query.until is not None:
        where.append(f"time < {arg(query.until)}")
    if len(query.types) == 1:
        # Plain equality lets the (type, time) index deliver rows in time order.
        where.append(f"type = {arg(query.types[0])}")
    elif query.types:
        where.append(f"type = ANY({arg(list(query.types))}::text[])")
    if query.source is not None:
        where.append(f"source = {arg(query.source)}")
    if query.subject is not None:
        where.append(f"subject = {arg(query.subject)}")
    if query.bbox is not None:
        a, b, c, d = (arg(v) for v in query.bbox)
        where.append(f"ST_Intersects(geom, ST_MakeEnvelope({a}, {b}, {c}, {d}, 4326))")
    if query.near is not None:
        lon, lat, km = query.near
        point = f"ST_SetSRID(ST_MakePoint({arg(lon)}, {arg(lat)}), 4326)::geography"
        metres = arg(km * 1000.0)
        # ST_DWithin spelled out as its two halves: the box test the index serves,
        # then the exact distance. ST_DWithin itself tells the planner that a
        # fixed one row in ten thousand matches, whatever the radius, so for a wide
        # circle it would fetch and sort every match instead of walking the time
        # index; the box test alone is estimated from the column's statistics.
        where.append(
            f"geom::geography && _ST_Expand({point}, {metres})"
            f" AND _ST_DWithin(geom::geography, {point}, {metres}, true)"
        )
    position = query.position()
    if position is not None:
        t, s, i = arg(position.time), arg(position.source), arg(position.id)
        # The plain time bound is what every time-ordered index can seek to; the
        # row comparison then places the page exactly.
        where.append(f"time <= {t} AND (time, source, id) < ({t}, {s}, {i})")
    return where, args


def _numbers(value: Any, count: int, shape: str) -> tuple[float, ...] | None:
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        return None
    if len(parts) != count:
        raise ValueError(f"must be {count} numbers: {shape}")
    numbers = []
    for part in parts:
        try:
            number = float(part)
        except (TypeError, ValueError):
            raise ValueError(
                f"{_shown(part)} is not a number (expected {shape})"
            ) from None
        if not math.isfinite(number):
            raise ValueError(f"{_shown(part)} is not a finite number")
        numbers.append(number)
    return tuple(numbers)


def _check_lon(value: float, name: str) -> None:
    if not -180.0 <= value <= 180.0:
        raise ValueError(f"{name} {value:g} is outside -180..180")


def _check_lat(value: float, name: str) -> None:
    if not -90.0 <= value <= 90.0:
        raise ValueError(f"{name} {value:g} is outside -90..90")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

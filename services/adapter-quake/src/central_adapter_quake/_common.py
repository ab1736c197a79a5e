"""What the USGS and EMSC normalizers share.

Both providers publish GeoJSON FeatureCollections of Point features, so the payload
check, the typed reading of properties, the time formats and the assembly of the
CloudEvent are the same code.  Every reader raises
:class:`~central.errors.RecordError` naming the field and the bad value; a missing
or ``null`` optional field reads as None.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, NoReturn

from pydantic import ValidationError

from central.errors import FeedFormatError, RecordError
from central.events import CloudEvent
from central.feeds import Normalized, normalized
from central.ids import event_id
from central_adapter_quake.models import DOMAIN, SeismicEvent, event_type

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_JSON_NAMES: dict[type, str] = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
# RFC 3339 date-time as FDSN services write it, with one to nine fractional digits
# (EMSC ``time`` has ``28.0Z`` next to ``47.302931Z``); a missing zone means UTC.
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"([Zz]|[+-]\d{2}:\d{2})?",
    re.ASCII,
)


def load_feature_collection(body: bytes, provider: str) -> list[dict[str, Any]]:
    """The ``features`` of a GeoJSON FeatureCollection payload.

    An empty (or all-whitespace) body yields no features: FDSN event services answer
    a query that matches nothing with HTTP 204 and no body.  Anything else that is
    not a JSON object with ``"type": "FeatureCollection"`` and a ``features`` array
    of objects raises :class:`FeedFormatError` with a one-line message naming
    ``provider``.  ``NaN`` and ``Infinity`` are not JSON and are refused too.
    Whether each feature is a usable record is left to the normalizer, so that one
    bad feature costs only itself.
    """
    if not body.strip():
        return []
    try:
        document = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise FeedFormatError(
            f"{provider} payload is not JSON: {_one_line(exc)}"
        ) from exc

    if not isinstance(document, dict):
        name = _JSON_NAMES.get(type(document), "value")
        raise FeedFormatError(f"{provider} payload is a JSON {name}, not an object")
    if document.get("type") != "FeatureCollection":
        raise FeedFormatError(
            f"{provider} payload type is {document.get('type')!r}, "
            "not 'FeatureCollection'"
        )
    features = document.get("features")
    if not isinstance(features, list):
        raise FeedFormatError(f"{provider} payload has no features array")
    for index, feature in enumerate(features):
        if not isinstance(feature, dict):
            raise FeedFormatError(
                f"{provider} payload features[{index}] is not an object"
            )
    return features


def properties(feature: Mapping[str, Any], native_id: str) -> Mapping[str, Any]:
    """The feature's ``properties`` object; RecordError when there is none.

    A feature whose ``type`` is not ``Feature`` is refused as well.
    """
    if feature.get("type") != "Feature":
        raise RecordError(
            f"record type is {feature.get('type')!r}, not 'Feature'", native_id
        )
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise RecordError("record has no properties object", native_id)
    return props


def epicentre(
    feature: Mapping[str, Any], native_id: str
) -> tuple[float, float, float | None]:
    """``(lon, lat, third)`` of the feature's Point geometry.

    ``third`` is the position's third element, or None when the position has only
    two; what it means is the provider's business (USGS: depth in km; EMSC: depth
    negated).  A missing geometry, a non-Point geometry, a position that is not two
    or three finite numbers, and a longitude or latitude out of range all raise
    RecordError.
    """
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        raise RecordError("record has no geometry", native_id)
    if geometry.get("type") != "Point":
        raise RecordError(
            f"geometry type is {geometry.get('type')!r}, not 'Point'", native_id
        )
    coords = geometry.get("coordinates")
    if (
        not isinstance(coords, list)
        or not 2 <= len(coords) <= 3
        or not all(_is_number(c) for c in coords)
    ):
        raise RecordError(
            f"coordinates {coords!r} are not [lon, lat] or [lon, lat, depth] numbers",
            native_id,
        )

    lon, lat = float(coords[0]), float(coords[1])
    if not -180.0 <= lon <= 180.0:
        raise RecordError(f"longitude {lon} is outside -180..180", native_id)
    if not -90.0 <= lat <= 90.0:
        raise RecordError(f"latitude {lat} is outside -90..90", native_id)
    third = float(coords[2]) if len(coords) == 3 else None
    return lon, lat, third


def required(value: Any, key: str, native_id: str) -> Any:
    """``value`` unless it is None; RecordError naming ``key`` otherwise."""
    if value is None:
        raise RecordError(f"record has no {key}", native_id)
    return value


def text(props: Mapping[str, Any], key: str, native_id: str) -> str | None:
    """A string property; an empty string reads as None."""
    value = props.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        _bad(key, value, "a string", native_id)
    return value


def lowered(props: Mapping[str, Any], key: str, native_id: str) -> str | None:
    """A string property, lower-cased."""
    value = text(props, key, native_id)
    return value.lower() if value is not None else None


def number(props: Mapping[str, Any], key: str, native_id: str) -> float | None:
    """A finite numeric property as float (booleans are not numbers)."""
    value = props.get(key)
    if value is None:
        return None
    if not _is_number(value):
        _bad(key, value, "a finite number", native_id)
    return float(value)


def integer(props: Mapping[str, Any], key: str, native_id: str) -> int | None:
    """An integral property; a float with no fractional part is accepted."""
    value = props.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        _bad(key, value, "an integer", native_id)
    return value


def code_list(props: Mapping[str, Any], key: str, native_id: str) -> list[str]:
    """A comma-wrapped list such as ``",nc72719705,nn00565341,"`` as its items.

    Empty items are dropped and repeats removed, keeping the provider's order.
    """
    value = text(props, key, native_id)
    if value is None:
        return []
    items = (item.strip() for item in value.split(","))
    return list(dict.fromkeys(item for item in items if item))


def epoch_ms_time(value: int, key: str, native_id: str) -> datetime:
    """An aware UTC datetime from epoch milliseconds, exact to the millisecond."""
    try:
        # timedelta arithmetic, not fromtimestamp(ms / 1000): the float division can
        # land a microsecond off the millisecond the provider gave.
        return _EPOCH + timedelta(milliseconds=value)
    except OverflowError:
        _bad(key, value, "epoch milliseconds in range", native_id)


def iso_time(value: str, key: str, native_id: str) -> datetime:
    """An aware UTC datetime from an RFC 3339 date-time string.

    Fractional seconds may have one to nine digits; digits beyond the sixth are cut
    off, since datetime holds microseconds.  A value without a zone is taken as UTC,
    the time scale FDSN services use.

    Note: a date-time without seconds, or in ISO 8601 basic format, is refused.
    """
    match = _ISO.fullmatch(value)
    if match is None:
        _bad(key, value, "an RFC 3339 date-time", native_id)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        tz = UTC
        if zone and zone.upper() != "Z":
            sign = -1 if zone[0] == "-" else 1
            offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            tz = timezone(sign * offset)
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            micro,
            tzinfo=tz,
        )
    except ValueError:
        _bad(key, value, "a valid calendar date-time", native_id)
    return moment.astimezone(UTC)


def assemble(
    *,
    provider: str,
    source: str,
    native_id: str,
    revision: str,
    time: datetime,
    kind: str,
    fields: dict[str, Any],
) -> Normalized:
    """Validate ``fields`` as :class:`SeismicEvent` and wrap them in a CloudEvent.

    The event id is ``event_id(provider, native_id, revision)``, the subject is
    ``native_id`` and the NATS subject's cell comes from the epicentre.  A field the
    model refuses raises RecordError naming it.
    """
    try:
        data = SeismicEvent.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RecordError(f"{where}: {first['msg']}", native_id) from exc

    event = CloudEvent(
        id=event_id(provider, native_id, revision),
        source=source,
        type=event_type(kind),
        time=time,
        subject=native_id,
        data=data.to_data(),
    )
    geometry = data.geometry.model_dump(mode="json")
    return normalized(event, DOMAIN, kind, provider, geometry)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _bad(key: str, value: Any, wanted: str, native_id: str) -> NoReturn:
    raise RecordError(f"{key} {value!r} is not {wanted}", native_id)


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__

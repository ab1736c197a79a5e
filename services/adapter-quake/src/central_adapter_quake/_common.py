"""What the USGS and EMSC normalizers share beyond :mod:`central.records`.

Both providers publish GeoJSON FeatureCollections of Point features, so the payload
check, the reading of the feature and its epicentre, the quake-specific property
formats and the assembly of a :class:`SeismicEvent` are the same code.  Every
reader raises :class:`~central.errors.RecordError` naming the field and the bad
value; a missing or ``null`` optional field reads as None.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from central import records
from central.errors import FeedFormatError, RecordError
from central.feeds import Normalized
from central.geo import check_position
from central.payloads import feature_collection, load_json
from central.records import bad, is_finite_number, text
from central_adapter_quake.models import DOMAIN, SeismicEvent, event_type

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    features = feature_collection(load_json(body, provider), provider)
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
        or not all(is_finite_number(c) for c in coords)
    ):
        raise RecordError(
            f"coordinates {coords!r} are not [lon, lat] or [lon, lat, depth] numbers",
            native_id,
        )

    lon, lat = float(coords[0]), float(coords[1])
    try:
        check_position(lon, lat)
    except ValueError as exc:
        raise RecordError(str(exc), native_id) from exc
    third = float(coords[2]) if len(coords) == 3 else None
    return lon, lat, third


def lowered(props: Mapping[str, Any], key: str, native_id: str) -> str | None:
    """A string property, lower-cased."""
    value = text(props, key, native_id)
    return value.lower() if value is not None else None


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
        bad(key, value, "epoch milliseconds in range", native_id)


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
    model refuses raises RecordError naming it (see :func:`central.records.assemble`).
    """
    return records.assemble(
        SeismicEvent,
        fields,
        domain=DOMAIN,
        kind=kind,
        type=event_type(kind),
        provider=provider,
        source=source,
        subject=native_id,
        time=time,
        revision=revision,
    )

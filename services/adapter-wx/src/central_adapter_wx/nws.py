"""The US National Weather Service alerts API: ``/alerts/active`` as GeoJSON.

The API answers with a GeoJSON FeatureCollection (JSON-LD flavoured: ``@context``,
``@id``, ``@type``), one feature per CAP alert message, its CAP fields under
``properties``.  A single alert (``/alerts/{id}``) is one Feature and is read too.

One feature becomes one ``central.wx.alert`` event:

- ``source`` is :data:`SOURCE` whatever query URL the feed is configured with;
- ``subject`` is ``properties.id``, the CAP identifier, in either scheme the API has
  used (``NWS-IDP-PROD-3965873-3369046``, ``urn:oid:2.49.0.1.840.0.<sha1>.004.1``);
  a feature without it falls back to the last part of its ``id`` URL;
- ``id`` is built from ``nws``, that identifier and a content revision: an alert has
  no updated-time (a change is a new message with a new identifier), so the
  revision hashes the feature's canonical JSON;
- ``time`` is ``properties.sent``.

Upstream quirks handled: ``geometry`` is ``null`` for most alerts, which are drawn
by zone instead, so the SAME and UGC ``geocode`` lists and the ``affectedZones``
URLs are kept in ``data``; a Polygon or MultiPolygon geometry, when present, is
checked and kept.  ``parameters`` values are always arrays.  ``Update`` and
``Cancel`` messages list the messages they replace in ``references``, kept in
order.  ``ends`` and ``instruction`` can be ``null``; ``severity`` can be
``Unknown``.  ``geocode`` key order differs between API versions and is sorted.

Note: ``@type`` (always ``wx:Alert``) is not carried.  Members of a ``references``
entry other than ``@id``, ``identifier``, ``sender`` and ``sent`` are not carried.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from urllib.parse import unquote

from central.errors import FeedFormatError, RecordError
from central.feeds import Normalized
from central.ids import content_revision
from central.payloads import load_json
from central.records import bad, text
from central_adapter_wx._common import (
    assemble,
    date_time,
    plain_json,
    position,
    ring,
    sorted_mapping,
    split_codes,
)

PROVIDER: Final = "nws"
SOURCE: Final = "https://api.weather.gov/alerts"

# The properties read into named fields (or deliberately left out: "@type").
_KNOWN: Final = frozenset(
    {
        "@id",
        "@type",
        "id",
        "areaDesc",
        "geocode",
        "affectedZones",
        "references",
        "sent",
        "effective",
        "onset",
        "expires",
        "ends",
        "status",
        "messageType",
        "category",
        "severity",
        "certainty",
        "urgency",
        "event",
        "sender",
        "senderName",
        "headline",
        "description",
        "instruction",
        "response",
        "parameters",
        "eventCode",
        "scope",
        "code",
        "language",
        "web",
    }
)
_FEATURE_MEMBERS: Final = frozenset({"id", "type", "geometry", "properties"})


def parse(body: bytes) -> list[Any]:
    """The features of an alerts API payload, in payload order.

    A FeatureCollection yields its ``features``; a single Feature yields itself.
    Raises :class:`~central.errors.FeedFormatError` when ``body`` is empty, is not
    JSON (``NaN`` and ``Infinity`` are not JSON either), or is not a
    FeatureCollection with a ``features`` array (an API error document, for one).
    Whether each feature is usable is left to :func:`normalize`.
    """
    if not body.strip():
        raise FeedFormatError("nws payload is empty")
    document = load_json(body, PROVIDER)

    if not isinstance(document, dict):
        raise FeedFormatError(
            f"nws payload is a JSON {type(document).__name__}, not an object"
        )
    kind = document.get("type")
    if kind == "Feature":
        return [document]
    if kind != "FeatureCollection":
        raise FeedFormatError(f"nws payload type is {kind!r}, not 'FeatureCollection'")
    features = document.get("features")
    if not isinstance(features, list):
        raise FeedFormatError("nws payload has no features array")
    return features


def record_id(feature: Any) -> str | None:
    """The alert identifier (see the module notes), or None when unreadable."""
    if not isinstance(feature, dict):
        return None
    props = feature.get("properties")
    own = props.get("id") if isinstance(props, dict) else None
    if isinstance(own, str) and own.strip():
        return own.strip()
    url = feature.get("id")
    if isinstance(url, str) and url.strip():
        # "https://api.weather.gov/alerts/urn:oid:2.49..." names the alert last.
        tail = unquote(url.strip().rstrip("/").rsplit("/", 1)[-1])
        return tail or None
    return None


def normalize(feature: Any) -> Normalized:
    """One alerts API feature as a ``central.wx.alert`` event.

    Raises :class:`~central.errors.RecordError` (with ``native_id`` when the
    identifier is readable) for a record that is not a Feature with a properties
    object, has no identifier or no ``sent`` date-time, holds a property of the
    wrong type, or has a geometry that is not a valid Polygon or MultiPolygon.
    """
    if not isinstance(feature, dict):
        raise RecordError("record is not a JSON object")
    native_id = record_id(feature)
    if native_id is None:
        raise RecordError("record has no id")
    if feature.get("type") != "Feature":
        bad("type", feature.get("type"), "'Feature'", native_id)
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise RecordError("record has no properties object", native_id)
    sent = _time(props, "sent", native_id)
    if sent is None:
        raise RecordError("record has no sent", native_id)

    fields = _fields(feature, props, native_id)
    fields["sent"] = sent

    return assemble(
        provider=PROVIDER,
        source=SOURCE,
        native_id=native_id,
        revision=_revision(feature, native_id),
        time=sent,
        fields=fields,
    )


def _fields(
    feature: Mapping[str, Any], props: Mapping[str, Any], native_id: str
) -> dict[str, Any]:
    """Every WeatherAlert field but ``sent``, read from one feature."""
    url = text(props, "@id", native_id) or text(feature, "id", native_id)
    extra = {k: v for k, v in props.items() if k not in _KNOWN}
    outside = {k: v for k, v in feature.items() if k not in _FEATURE_MEMBERS}
    if outside:
        extra["feature"] = outside
    return {
        "identifier": text(props, "id", native_id),
        "url": url,
        "sender": text(props, "sender", native_id),
        "sender_name": text(props, "senderName", native_id),
        "updated": None,
        "effective": _time(props, "effective", native_id),
        "onset": _time(props, "onset", native_id),
        "expires": _time(props, "expires", native_id),
        "ends": _time(props, "ends", native_id),
        "status": text(props, "status", native_id),
        "message_type": text(props, "messageType", native_id),
        "scope": text(props, "scope", native_id),
        "codes": _texts(props, "code", native_id),
        "language": text(props, "language", native_id),
        "categories": _texts(props, "category", native_id),
        "event": text(props, "event", native_id),
        "event_codes": _mapping(props, "eventCode", native_id),
        "response_types": _texts(props, "response", native_id),
        "urgency": text(props, "urgency", native_id),
        "severity": text(props, "severity", native_id),
        "certainty": text(props, "certainty", native_id),
        "headline": text(props, "headline", native_id),
        "description": text(props, "description", native_id),
        "instruction": text(props, "instruction", native_id),
        "web": text(props, "web", native_id),
        "area_description": text(props, "areaDesc", native_id),
        "geocodes": _mapping(props, "geocode", native_id),
        "affected_zones": _texts(props, "affectedZones", native_id),
        "references": _references(props, native_id),
        "parameters": _mapping(props, "parameters", native_id),
        "geometry": _geometry(feature.get("geometry"), native_id),
        "extra": plain_json(extra, "extra", native_id),
    }


def _texts(
    props: Mapping[str, Any], key: str, native_id: str, label: str | None = None
) -> list[str]:
    """A member that is a string or an array of strings, as a list.

    ``label`` names the member in an error message (``key`` by default).
    """
    value = props.get(key)
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        bad(label or key, value, "a string or an array of strings", native_id)
    return [item for item in items if item]


def _time(props: Mapping[str, Any], key: str, native_id: str) -> datetime | None:
    value = text(props, key, native_id)
    return None if value is None else date_time(value, key, native_id)


def _mapping(
    props: Mapping[str, Any], key: str, native_id: str
) -> dict[str, list[str]]:
    """An object whose members are arrays of strings (``geocode``, ``parameters``).

    A member that is a lone string is read as an array of one.
    """
    value = props.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        bad(key, value, "an object", native_id)
    pairs = {
        name: split_codes(_texts(value, name, native_id, f"{key}.{name}"), name)
        for name in value
    }
    return sorted_mapping(pairs)


def _references(props: Mapping[str, Any], native_id: str) -> list[dict[str, Any]]:
    value = props.get("references")
    if value is None:
        return []
    if not isinstance(value, list):
        bad("references", value, "an array", native_id)
    found = []
    for index, item in enumerate(value):
        key = f"references[{index}]"
        if not isinstance(item, dict):
            bad(key, item, "an object", native_id)
        identifier = text(item, "identifier", native_id)
        if identifier is None:
            raise RecordError(f"{key} has no identifier", native_id)
        found.append(
            {
                "identifier": identifier,
                "sender": text(item, "sender", native_id),
                "sent": _time(item, "sent", native_id),
                "url": text(item, "@id", native_id),
            }
        )
    return found


def _geometry(value: Any, native_id: str) -> dict[str, Any] | None:
    """A Polygon or MultiPolygon with clean float positions, or None for null.

    A third position element (altitude) is dropped, as the area is drawn on the
    ground.  Any other geometry type, or a malformed one, raises RecordError.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        bad("geometry", value, "a GeoJSON object", native_id)
    kind, coords = value.get("type"), value.get("coordinates")
    if kind == "Polygon":
        return {"type": kind, "coordinates": _polygon(coords, native_id)}
    if kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            bad("geometry.coordinates", coords, "an array of polygons", native_id)
        return {
            "type": kind,
            "coordinates": [_polygon(polygon, native_id) for polygon in coords],
        }
    bad("geometry.type", kind, "'Polygon' or 'MultiPolygon'", native_id)


def _polygon(value: Any, native_id: str) -> list[list[tuple[float, float]]]:
    key = "geometry.coordinates"
    if not isinstance(value, list) or not value:
        bad(key, value, "an array of rings", native_id)
    rings = []
    for coords in value:
        if not isinstance(coords, list):
            bad(key, coords, "an array of positions", native_id)
        positions = []
        for item in coords:
            if not isinstance(item, list) or not 2 <= len(item) <= 3:
                bad(key, item, "a [lon, lat] position", native_id)
            positions.append(position(item[0], item[1], key, native_id))
        ring(positions, key, native_id)
        rings.append(positions)
    return rings


def _revision(feature: Mapping[str, Any], native_id: str) -> str:
    # Sorted keys and fixed separators: the same feature always hashes the same,
    # whatever order or spacing the API wrote it in.
    try:
        canonical = json.dumps(
            feature,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
    except (ValueError, TypeError, RecursionError) as exc:
        raise RecordError(
            "record cannot be written as canonical JSON", native_id
        ) from exc
    return content_revision(canonical.encode("utf-8", "surrogatepass"))

"""NASA EONET v3: the Earth Observatory Natural Event Tracker's events.

Both forms of ``/api/v3/events`` are read:

- the JSON form, ``{"title", "description", "link", "events": [...]}``, where an
  event lists its dated observations in ``geometry[]``;
- the GeoJSON form (``/api/v3/events/geojson``), a FeatureCollection with one
  feature per observation, which :func:`parse` gathers back into events of the JSON
  form by ``properties.id``, so both forms give the same records and the same ids.

One event becomes one event:

- ``source`` is :data:`SOURCE` for both forms;
- ``subject`` is the EONET id (``EONET_15859``);
- ``id`` is built from ``eonet``, that id and a content revision of the event (the
  feed has no updated-time), so a new observation on the track, a closing or a
  retitling is a new event with the same subject;
- ``time`` is the newest observation's date, and ``data.geometry`` is its geometry;
- ``type`` is ``central.disaster.natural-event``, the hazard in ``data.hazard``.

Upstream quirks handled: whitespace is irregular (tabs and spaces mixed) but the
JSON is valid; ``magnitudeValue`` and ``magnitudeUnit`` are missing or null in most
observations, and units differ by category (``acres``, ``kts``, ``NM^2``); numbers
carry trailing zeros (``35.00``); one event can list several sources, and storms
many observations; ``description`` and ``closed`` are usually null; the
observations of an event may be Points or Polygons.

Note: the v2.1 API (``geometries[]``, integer category ids) is not read: its events
are rejected for want of a ``geometry`` array.  Members of categories and sources
other than ``id``, ``title`` and ``url`` are not kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from central.errors import FeedFormatError, RecordError
from central.feeds import Normalized
from central.payloads import json_type
from central.records import id_of, number, required, stripped
from central_adapter_disaster._common import (
    assemble,
    iso_time,
    leftovers,
    load_json,
    native_id_of,
    objects,
    optional_time,
    revision_of,
)
from central_adapter_disaster.models import (
    DROUGHT,
    DUST_HAZE,
    EARTHQUAKE,
    FLOOD,
    LANDSLIDE,
    MANMADE,
    NATURAL_EVENT,
    OTHER,
    SEA_LAKE_ICE,
    SEVERE_STORM,
    TEMPERATURE_EXTREME,
    VOLCANO,
    WATER_COLOR,
    WILDFIRE,
    WINTER_STORM,
)

PROVIDER: Final = "eonet"
SOURCE: Final = "https://eonet.gsfc.nasa.gov/api/v3/events"

HAZARDS: Final[dict[str, str]] = {
    "drought": DROUGHT,
    "dustHaze": DUST_HAZE,
    "earthquakes": EARTHQUAKE,
    "floods": FLOOD,
    "landslides": LANDSLIDE,
    "manmade": MANMADE,
    "seaLakeIce": SEA_LAKE_ICE,
    "severeStorms": SEVERE_STORM,
    "snow": WINTER_STORM,
    "tempExtremes": TEMPERATURE_EXTREME,
    "volcanoes": VOLCANO,
    "waterColor": WATER_COLOR,
    "wildfires": WILDFIRE,
}
_EVENT_KEYS: Final = frozenset(
    {"id", "title", "description", "link", "closed", "categories", "sources"}
)
_OBSERVATION_KEYS: Final = frozenset(
    {"date", "magnitudeValue", "magnitudeUnit", "type", "coordinates"}
)


def parse(body: bytes) -> list[Any]:
    """The events of an EONET v3 payload, JSON or GeoJSON form.

    Raises :class:`FeedFormatError` when ``body`` is not a JSON object with an
    ``events`` array or a FeatureCollection with a ``features`` array.  In the
    GeoJSON form, observations are gathered by ``properties.id`` in the order each
    event first appears; a feature without a readable id is passed on alone, for
    :func:`normalize` to reject.
    """
    document = load_json(body, PROVIDER)
    if not isinstance(document, dict):
        raise FeedFormatError(
            f"{PROVIDER} payload is a JSON {json_type(document)}, not an object"
        )
    if document.get("type") == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise FeedFormatError(f"{PROVIDER} payload has no features array")
        return _events_of_features(features)
    events = document.get("events")
    if not isinstance(events, list):
        raise FeedFormatError(
            f"{PROVIDER} payload has neither an events array nor GeoJSON features"
        )
    return events


def record_id(event: Any) -> str | None:
    """The event ``id``, or None when it has no readable one."""
    return id_of(event, "id")


def normalize(event: Any) -> Normalized:
    """One EONET event as a ``central.disaster.natural-event`` event.

    Raises :class:`~central.errors.RecordError` for an event without an id, without
    a non-empty ``geometry`` array, with an observation lacking a date or a valid
    GeoJSON geometry, or with a member of the wrong type.
    """
    if not isinstance(event, dict):
        raise RecordError("record is not a JSON object")
    native_id = native_id_of(required(event.get("id"), "id", None), "id")
    entries = objects(event, "geometry", native_id)
    if not entries:
        raise RecordError("record has no geometry observations", native_id)
    track = [_observation(entry, native_id) for entry in entries]
    # The newest observation; of two at the same time, the one listed last.
    newest = max(range(len(track)), key=lambda i: (track[i]["time"], i))
    categories = [
        _category(c, native_id) for c in objects(event, "categories", native_id)
    ]
    sources = [_source(s, native_id) for s in objects(event, "sources", native_id)]

    fields: dict[str, Any] = {
        "hazard": HAZARDS.get(categories[0]["id"], OTHER) if categories else OTHER,
        "title": stripped(event, "title", native_id),
        "description": stripped(event, "description", native_id),
        "url": stripped(event, "link", native_id),
        "closed": optional_time(event, "closed", native_id),
        "categories": categories,
        "sources": sources,
        "first_observed": min(entry["time"] for entry in track),
        "last_observed": track[newest]["time"],
        "magnitude_value": track[newest]["magnitude_value"],
        "magnitude_unit": track[newest]["magnitude_unit"],
        "observations": len(track),
        "track": track,
        "geometry": track[newest]["geometry"],
        "extra": leftovers(event, _EVENT_KEYS | {"geometry"}, native_id),
    }

    return assemble(
        provider=PROVIDER,
        source=SOURCE,
        native_id=native_id,
        revision=revision_of(event, native_id),
        time=track[newest]["time"],
        kind=NATURAL_EVENT,
        fields=fields,
    )


def _events_of_features(features: list[Any]) -> list[Any]:
    """GeoJSON observations gathered back into events of the JSON form."""
    events: dict[str, dict[str, Any]] = {}
    loose: list[Any] = []
    order: list[str | int] = []
    for feature in features:
        props = feature.get("properties") if isinstance(feature, dict) else None
        key = props.get("id") if isinstance(props, dict) else None
        if props is None or not isinstance(key, str) or not key:
            order.append(len(loose))
            loose.append(feature)
            continue
        if key not in events:
            order.append(key)
            events[key] = {k: v for k, v in props.items() if k in _EVENT_KEYS}
            events[key]["geometry"] = []
        events[key]["geometry"].append(_entry_of_feature(feature, props))
    return [events[k] if isinstance(k, str) else loose[k] for k in order]


def _entry_of_feature(
    feature: Mapping[str, Any], props: Mapping[str, Any]
) -> dict[str, Any]:
    entry = {k: v for k, v in props.items() if k not in _EVENT_KEYS}
    geometry = feature.get("geometry")
    if isinstance(geometry, dict):
        entry["type"] = geometry.get("type")
        entry["coordinates"] = geometry.get("coordinates")
    return entry


def _observation(entry: Mapping[str, Any], native_id: str) -> dict[str, Any]:
    date = required(stripped(entry, "date", native_id), "observation date", native_id)
    return {
        "time": iso_time(date, "date", native_id),
        "magnitude_value": number(entry, "magnitudeValue", native_id),
        "magnitude_unit": stripped(entry, "magnitudeUnit", native_id),
        "geometry": {
            "type": entry.get("type"),
            "coordinates": entry.get("coordinates"),
        },
        "extra": leftovers(entry, _OBSERVATION_KEYS, native_id),
    }


def _category(category: Mapping[str, Any], native_id: str) -> dict[str, Any]:
    return {
        "id": required(stripped(category, "id", native_id), "category id", native_id),
        "title": stripped(category, "title", native_id),
    }


def _source(source: Mapping[str, Any], native_id: str) -> dict[str, Any]:
    return {
        "id": required(stripped(source, "id", native_id), "source id", native_id),
        "url": stripped(source, "url", native_id),
    }

"""USGS earthquake GeoJSON: the real-time summary feeds and FDSN query output.

Both shapes carry the same features, so one parser reads the summary feeds
(``feed/v1.0/summary/*.geojson``) of every format version seen so far (API 1.0.8
through 1.10.x) and ``fdsnws/event/1/query?format=geojson``.

One feature becomes one event:

- ``source`` is :data:`SOURCE` whatever URL the feed is configured with, so that a
  record read from a summary feed or from an FDSN query is the same event;
- ``subject`` is the feature ``id``, the event's preferred id;
- ``id`` is built from ``usgs``, that id and ``properties.updated`` (epoch
  milliseconds, as a decimal string), so each revision is a new event with the same
  subject;
- ``time`` is ``properties.time``, the origin time;
- ``type`` is ``central.quake.<kind>`` with the kind read from ``properties.type``
  (see :mod:`central_adapter_quake.models`).

Upstream quirks handled: the 1.0.x features have no ``title``; ``status`` and
``magType`` come in mixed case (``REVIEWED``, ``Mww``, ``Md``); ``tsunami`` is
``null`` in early features and 0/1 later; ``ids`` and ``sources`` are comma-wrapped
strings (``",nc72719705,nn00565341,"``); ``coordinates[2]`` is the depth in km, and
negative depths and magnitudes are real values.

Note: USGS can change an event's preferred id between polls, when another network's
solution becomes preferred.  The event then arrives under a new subject; both ids are
listed in ``data.ids``, where a consumer can join them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from central.errors import RecordError
from central.feeds import Normalized
from central.records import id_of, integer, number, required, text
from central_adapter_quake._common import (
    assemble,
    code_list,
    epicentre,
    epoch_ms_time,
    load_feature_collection,
    lowered,
    properties,
)
from central_adapter_quake.models import EARTHQUAKE, EXPLOSION, OTHER, QUARRY_BLAST

PROVIDER: Final = "usgs"
SOURCE: Final = "https://earthquake.usgs.gov/earthquakes/feed/v1.0"

# ComCat event types that are fault slip; "induced or triggered event" is an
# earthquake a human activity set off, and shakes the ground like any other.
_EARTHQUAKE_TYPES: Final = frozenset({"earthquake", "induced or triggered event"})


# The properties read into named fields; every other one goes to ``extra``.
_MAPPED: Final = frozenset(
    {
        "mag",
        "magType",
        "place",
        "title",
        "status",
        "type",
        "tsunami",
        "felt",
        "cdi",
        "mmi",
        "alert",
        "sig",
        "nst",
        "dmin",
        "gap",
        "net",
        "url",
        "ids",
        "sources",
        "time",
        "updated",
    }
)


def kind_of(usgs_type: str | None) -> str:
    """The kind for a USGS ``type`` value, ignoring case and repeated spaces.

    ``earthquake`` and ``induced or triggered event`` are earthquakes; any type
    naming a quarry is a quarry blast; any other naming an explosion or a blast
    (``explosion``, ``chemical explosion``, ``mining explosion``...) is an
    explosion; everything else, and a missing type, is ``other``.
    """
    if usgs_type is None:
        return OTHER
    words = " ".join(usgs_type.lower().split())
    if words in _EARTHQUAKE_TYPES:
        return EARTHQUAKE
    if "quarry" in words:
        return QUARRY_BLAST
    if "explosion" in words or "blast" in words:
        return EXPLOSION
    return OTHER


def parse(body: bytes) -> list[dict[str, Any]]:
    """The features of a USGS GeoJSON payload.

    Raises :class:`~central.errors.FeedFormatError` when ``body`` is not JSON or not
    a FeatureCollection with a ``features`` array of objects.  An empty body yields
    no features (an FDSN query that matches nothing answers 204 with no body).
    The metadata block is not checked: its title and fields differ between the
    summary feeds and FDSN output.
    """
    return load_feature_collection(body, PROVIDER)


def record_id(feature: Any) -> str | None:
    """The feature ``id``, or None when it has no readable one."""
    return id_of(feature, "id")


def normalize(feature: Any) -> Normalized:
    """One USGS feature as a ``central.quake.*`` event.

    Raises :class:`~central.errors.RecordError` (with ``native_id`` when the id is
    readable) for a feature without an id, without a Point geometry with valid
    longitude and latitude, without ``time`` or ``updated`` epoch milliseconds, or
    with a property of the wrong type.
    """
    if not isinstance(feature, dict):
        raise RecordError("record is not a JSON object")
    native_id = record_id(feature)
    if native_id is None:
        raise RecordError("record has no id")
    props = properties(feature, native_id)
    lon, lat, depth = epicentre(feature, native_id)
    time_ms = required(integer(props, "time", native_id), "time", native_id)
    updated_ms = required(integer(props, "updated", native_id), "updated", native_id)
    usgs_type = text(props, "type", native_id)

    ids = code_list(props, "ids", native_id)
    if native_id not in ids:
        ids.insert(0, native_id)
    fields: dict[str, Any] = {
        "magnitude": number(props, "mag", native_id),
        "magnitude_type": lowered(props, "magType", native_id),
        "depth_km": depth,
        "place": text(props, "place", native_id),
        "title": text(props, "title", native_id),
        "status": lowered(props, "status", native_id),
        "event_type": usgs_type,
        "tsunami": _tsunami(props, native_id),
        "felt": integer(props, "felt", native_id),
        "cdi": number(props, "cdi", native_id),
        "mmi": number(props, "mmi", native_id),
        "alert": text(props, "alert", native_id),
        "significance": integer(props, "sig", native_id),
        "nst": integer(props, "nst", native_id),
        "dmin": number(props, "dmin", native_id),
        "gap": number(props, "gap", native_id),
        "network": text(props, "net", native_id),
        "url": text(props, "url", native_id),
        "ids": ids,
        "sources": code_list(props, "sources", native_id),
        "updated": epoch_ms_time(updated_ms, "updated", native_id),
        "geometry": {"type": "Point", "coordinates": (lon, lat)},
        "extra": {k: v for k, v in props.items() if k not in _MAPPED},
    }

    return assemble(
        provider=PROVIDER,
        source=SOURCE,
        native_id=native_id,
        revision=str(updated_ms),
        time=epoch_ms_time(time_ms, "time", native_id),
        kind=kind_of(usgs_type),
        fields=fields,
    )


def _tsunami(props: Mapping[str, Any], native_id: str) -> bool | None:
    # ``tsunami`` is 0 or 1 in current feeds but null in some API 1.0.8 features;
    # null stays "not stated" rather than becoming False.
    value = props.get("tsunami")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    raise RecordError(f"tsunami {value!r} is not 0, 1 or null", native_id)

"""EMSC seismicportal: the FDSN event web service's JSON output.

``fdsnws/event/1/query?format=json`` answers with a GeoJSON FeatureCollection whose
``properties`` carry ``unid``, ``time``, ``lastupdate``, ``mag``, ``magtype``,
``depth``, ``flynn_region``, ``evtype``, ``auth``, ``lat`` and ``lon``.

One feature becomes one event:

- ``source`` is :data:`SOURCE` whatever query URL the feed is configured with;
- ``subject`` is ``properties.unid`` (the feature ``id`` when ``unid`` is missing;
  the two are equal in every recorded payload);
- ``id`` is built from ``emsc``, the unid and ``properties.lastupdate`` exactly as
  given, so each revision is a new event with the same subject;
- ``time`` is ``properties.time``, the origin time;
- ``type`` is ``central.quake.<kind>`` with the kind read from ``evtype`` (see
  :func:`kind_of` and :mod:`central_adapter_quake.models`).

Upstream quirks handled: ``geometry.coordinates[2]`` is the depth *negated*
(``-15.0`` for a hypocentre 15 km down) while ``properties.depth`` is positive, so
the depth is read from ``properties.depth``; times have one to six fractional digits
(``28.0Z``, ``47.302931Z``); numbers carry trailing zeros (``35.0700``), which JSON
reads as the same float.

Note: the epicentre is read from the geometry; ``properties.lat`` and ``lon`` repeat
it and are not cross-checked.  ``source_id`` and ``source_catalog`` are not carried
into ``data``.  EMSC reports no review status, felt count, intensity or tsunami flag,
so those fields are None.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

from central.errors import RecordError
from central.feeds import Normalized
from central.records import date_time, number, required, text
from central_adapter_quake._common import (
    assemble,
    epicentre,
    load_feature_collection,
    lowered,
    properties,
)
from central_adapter_quake.models import EARTHQUAKE, EXPLOSION, OTHER, QUARRY_BLAST

PROVIDER: Final = "emsc"
SOURCE: Final = "https://www.seismicportal.eu/fdsnws/event/1"
EVENT_PAGE: Final = "https://www.seismicportal.eu/eventdetails.html?unid={unid}"

# EMSC event-type codes: a leading "k" (known) or "s" (suspected), then the nature:
# e earthquake, i induced, x experimental explosion, m mine explosion, n nuclear
# explosion; "qb", "cb" and their "s" forms are quarry blasts and controlled
# explosions.  Codes not listed (uk unknown, kr/sr rockburst, ls landslide, sb sonic
# boom...) are "other".
_KINDS: Final[dict[str, str]] = {
    "ke": EARTHQUAKE,
    "se": EARTHQUAKE,
    "ki": EARTHQUAKE,
    "si": EARTHQUAKE,
    "qb": QUARRY_BLAST,
    "sqb": QUARRY_BLAST,
    "kx": EXPLOSION,
    "sx": EXPLOSION,
    "km": EXPLOSION,
    "sm": EXPLOSION,
    "kn": EXPLOSION,
    "sn": EXPLOSION,
    "cb": EXPLOSION,
    "scb": EXPLOSION,
}


# The properties read into named fields; every other one goes to ``extra``.  lat and
# lon repeat the geometry and unid is the subject.
_MAPPED: Final = frozenset(
    {
        "unid",
        "time",
        "lastupdate",
        "mag",
        "magtype",
        "depth",
        "flynn_region",
        "evtype",
        "auth",
        "lat",
        "lon",
    }
)


def kind_of(evtype: str | None) -> str:
    """The kind for an EMSC ``evtype`` code, ignoring case and surrounding spaces.

    Known and suspected events share a kind (``ke`` and ``se`` are both
    earthquakes); the code itself stays in ``data.event_type``.  An unknown or
    missing code is ``other``.
    """
    if evtype is None:
        return OTHER
    return _KINDS.get(evtype.strip().lower(), OTHER)


def parse(body: bytes) -> list[dict[str, Any]]:
    """The features of a seismicportal FDSN event JSON payload.

    Raises :class:`~central.errors.FeedFormatError` when ``body`` is not JSON or not
    a FeatureCollection with a ``features`` array of objects.  An empty body yields
    no features: the service answers a query that matches nothing with HTTP 204 and
    no body.
    """
    return load_feature_collection(body, PROVIDER)


def record_id(feature: Any) -> str | None:
    """``properties.unid``, else the feature ``id``, else None."""
    if not isinstance(feature, dict):
        return None
    props = feature.get("properties")
    candidates = (
        props.get("unid") if isinstance(props, dict) else None,
        feature.get("id"),
    )
    for value in candidates:
        if isinstance(value, str) and value:
            return value
    return None


def normalize(feature: Any) -> Normalized:
    """One seismicportal feature as a ``central.quake.*`` event.

    Raises :class:`~central.errors.RecordError` (with ``native_id`` when the unid is
    readable) for a feature without a unid, without a Point geometry with valid
    longitude and latitude, without ``time`` or ``lastupdate`` date-times, or with a
    property of the wrong type.
    """
    if not isinstance(feature, dict):
        raise RecordError("record is not a JSON object")
    native_id = record_id(feature)
    if native_id is None:
        raise RecordError("record has no unid")
    props = properties(feature, native_id)
    lon, lat, negated_depth = epicentre(feature, native_id)
    depth = number(props, "depth", native_id)
    if depth is None and negated_depth is not None:
        # coordinates[2] is the negated depth; 0.0 - x rather than -x keeps a depth
        # of zero from becoming -0.0.
        depth = 0.0 - negated_depth
    time_text = required(text(props, "time", native_id), "time", native_id)
    revision = required(text(props, "lastupdate", native_id), "lastupdate", native_id)
    evtype = text(props, "evtype", native_id)
    auth = text(props, "auth", native_id)

    fields: dict[str, Any] = {
        "magnitude": number(props, "mag", native_id),
        "magnitude_type": lowered(props, "magtype", native_id),
        "depth_km": depth,
        "place": text(props, "flynn_region", native_id),
        "title": None,
        "status": None,
        "event_type": evtype,
        "tsunami": None,
        "felt": None,
        "cdi": None,
        "mmi": None,
        "alert": None,
        "significance": None,
        "nst": None,
        "dmin": None,
        "gap": None,
        "network": auth,
        "url": EVENT_PAGE.format(unid=quote(native_id, safe="")),
        "ids": [native_id],
        "sources": [auth] if auth is not None else [],
        "updated": date_time(revision, "lastupdate", native_id),
        "geometry": {"type": "Point", "coordinates": (lon, lat)},
        "extra": {k: v for k, v in props.items() if k not in _MAPPED},
    }

    return assemble(
        provider=PROVIDER,
        source=SOURCE,
        native_id=native_id,
        revision=revision,
        time=date_time(time_text, "time", native_id),
        kind=kind_of(evtype),
        fields=fields,
    )

"""GDACS: the events GeoJSON of the Global Disaster Alert and Coordination System.

``https://www.gdacs.org/xml/gdacs.geojson`` is a FeatureCollection in which one
event episode is spread over several features: a ``Centroid`` Point carrying the
event's properties, and shapes around it (a 100 km circle, an affected area, a
global flood extent, tropical-cyclone tracks, wind-radius polygons and cones) as
Polygon, MultiPolygon or LineString features.  :func:`parse` gathers the features
of each episode into one record; :func:`normalize` turns a record into one event:

- ``source`` is :data:`SOURCE`;
- ``subject`` is the GDACS event, type code and id joined (``EQ1542046``);
- ``id`` is built from ``gdacs``, that subject and a content revision of the
  episode's features (the feed has no updated-time), so a new episode, or a changed
  alert, end date or shape, is a new event with the same subject, while the same
  features listed in another order are not;
- ``time`` is ``todate``, the latest moment the episode covers (``from_time`` in
  ``data`` is the start);
- ``type`` is ``central.disaster.alert``, the hazard in ``data.hazard``;
- ``data.geometry`` is the centroid Point and the other features are kept, with
  their shapes, in ``data.features``.

Upstream quirks handled: **every property is a string** (``"alertscore":"0"``,
``"severity":"6"``, coordinates as text), so numbers are parsed; the shapes carry no
``eventid`` or ``episodeid``, so their event is recovered from ``link``
(``report.aspx?eventtype=EQ&eventid=1542046&episodeid=1707297``) or, failing that,
from the feature id (``EQ15420461707297Circle``: type, event id and episode id run
together, matched against the ids the payload names); dates are written
``27 May 2026 14:51:04`` (UTC, English month names; an ISO 8601 date-time is read
too); ``iso3`` and ``eventname`` are often empty strings; the episode alert is
``alertlevelepisode`` here but ``episodealertlevel`` in the GDACS API, and either
is read.  A UTF-8 byte order mark before the JSON is skipped.

Note: ``featureIndex`` is the feature's position in the file, which moves whenever
another event comes or goes, so it is left out of the revision and of ``data``.  The
shapes are kept as drawn, range-checked only for finite numbers, and when together
they pass :data:`GEOMETRY_BUDGET` bytes the later ones are sent without their
geometry (``geometry_omitted``), to stay under the NATS message size.  Feature
members other than ``id``, ``geometry`` and ``properties`` are not kept.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from central.errors import RecordError
from central.feeds import Normalized
from central.ids import content_revision
from central.payloads import feature_collection
from central.records import bad, decimal, required, stripped
from central.times import month_number
from central_adapter_disaster._common import (
    assemble,
    canonical,
    iso_time,
    leftovers,
    load_json,
)
from central_adapter_disaster.models import (
    ALERT,
    DROUGHT,
    EARTHQUAKE,
    FLOOD,
    OTHER,
    TROPICAL_CYCLONE,
    TSUNAMI,
    VOLCANO,
    WILDFIRE,
)

PROVIDER: Final = "gdacs"
SOURCE: Final = "https://www.gdacs.org/xml/gdacs.geojson"
#: Bytes of JSON the secondary shapes of one event may take before the rest are
#: sent without geometry; NATS refuses messages over 1 MiB by default.
GEOMETRY_BUDGET: Final = 768 * 1024

HAZARDS: Final[dict[str, str]] = {
    "EQ": EARTHQUAKE,
    "TC": TROPICAL_CYCLONE,
    "FL": FLOOD,
    "VO": VOLCANO,
    "DR": DROUGHT,
    "WF": WILDFIRE,
    "TS": TSUNAMI,
}
# The GeoJSON gives severity without its unit; GDACS's RSS states it per type
# (gdacs:severity unit="M", "km/h", "km2") and the wildfire descriptions say "ha".
SEVERITY_UNITS: Final[dict[str, str]] = {
    "EQ": "M",
    "TC": "km/h",
    "DR": "km2",
    "WF": "ha",
}
_KNOWN: Final = frozenset(
    {
        "description",
        "name",
        "htmldescription",
        "link",
        "featureIndex",
        "iconeventlink",
        "iconitemlink",
        "alertlevel",
        "alertscore",
        "alertlevelepisode",
        "alertscoreepisode",
        "episodealertlevel",
        "episodealertscore",
        "eventtype",
        "eventid",
        "episodeid",
        "eventname",
        "fromdate",
        "todate",
        "country",
        "countrylist",
        "iso3",
        "severity",
        "latitude",
        "longitude",
        "imageoverview",
        "polygonlabel",
        "Class",
        "polygontype",
    }
)
_DATE = re.compile(
    r"(\d{1,2}) ([A-Za-z]{3}) (\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?", re.ASCII
)
_TYPE_CODE = re.compile(r"[A-Z]{2}", re.ASCII)
_ID_DIGITS = re.compile(r"\d{1,15}", re.ASCII)
_FEATURE_ID_HEAD = re.compile(r"([A-Z]{2}\d+)", re.ASCII)
# The episode alert as this file names it, then as the GDACS API does.
_EPISODE_LEVEL: Final = ("alertlevelepisode", "episodealertlevel")
_EPISODE_SCORE: Final = ("alertscoreepisode", "episodealertscore")

Identity = tuple[str, str, str]


def parse(body: bytes) -> list[dict[str, Any]]:
    """The episodes of a GDACS events GeoJSON payload, each one record.

    A record is ``{"eventtype", "eventid", "episodeid", "features"}``: the episode's
    identity as strings and its features in payload order; records come in the order
    their first feature appears.  A feature whose episode cannot be told (or that is
    not an object) becomes a record of its own with a None identity, which
    :func:`normalize` rejects.  Raises :class:`FeedFormatError` when ``body`` is not
    a JSON FeatureCollection with a ``features`` array.
    """
    features = feature_collection(load_json(body, PROVIDER), PROVIDER)
    identities = [_identity(feature) for feature in features]
    # "EQ15420461707297" → ("EQ", "1542046", "1707297"), to place shapes whose only
    # clue is a feature id of the type, event id and episode id run together.
    by_head = {"".join(key): key for key in identities if key is not None}

    records: dict[Identity | int, dict[str, Any]] = {}
    for index, (feature, found) in enumerate(zip(features, identities, strict=True)):
        key = found or _identity_from_feature_id(feature, by_head)
        group: Identity | int = key if key is not None else index
        if group not in records:
            eventtype, eventid, episodeid = key if key is not None else (None,) * 3
            records[group] = {
                "eventtype": eventtype,
                "eventid": eventid,
                "episodeid": episodeid,
                "features": [],
            }
        records[group]["features"].append(feature)
    return list(records.values())


def record_id(record: Any) -> str | None:
    """The GDACS event (``EQ1542046``), else the first feature id, else None."""
    if not isinstance(record, dict):
        return None
    eventtype, eventid = record.get("eventtype"), record.get("eventid")
    if isinstance(eventtype, str) and isinstance(eventid, str):
        return f"{eventtype}{eventid}"
    features = record.get("features")
    if isinstance(features, list) and features and isinstance(features[0], dict):
        value = features[0].get("id")
        if isinstance(value, str) and value:
            return value
    return None


def normalize(record: Any) -> Normalized:
    """One GDACS episode as a ``central.disaster.alert`` event.

    Raises :class:`~central.errors.RecordError` for a record whose event cannot be
    told, a feature naming another event, a missing or unreadable ``fromdate``, no
    usable point (neither a Point feature nor ``latitude``/``longitude``), a property
    of the wrong type, or a shape that is not GeoJSON.
    """
    if not isinstance(record, dict):
        raise RecordError("record is not a JSON object")
    native_id, eventtype, eventid, episodeid = _event_of(record)
    features = _checked_features(record, native_id)
    primary = _primary(features)
    props = primary["properties"]

    from_time = _required_time(props, "fromdate", native_id)
    to_time = _time(props, "todate", native_id) or from_time
    alert_level = stripped(props, "alertlevel", native_id)
    episode_level = stripped(props, _present(props, _EPISODE_LEVEL), native_id)
    fields: dict[str, Any] = {
        "hazard": HAZARDS.get(eventtype, OTHER),
        "event_type": eventtype,
        "event_id": int(eventid),
        "episode_id": int(episodeid),
        "name": stripped(props, "name", native_id),
        "event_name": stripped(props, "eventname", native_id),
        "description": stripped(props, "description", native_id),
        "html_description": stripped(props, "htmldescription", native_id),
        "alert_level": alert_level.lower() if alert_level else None,
        "alert_score": _decimal(props, "alertscore", native_id),
        "episode_alert_level": episode_level.lower() if episode_level else None,
        "episode_alert_score": _decimal(
            props, _present(props, _EPISODE_SCORE), native_id
        ),
        "severity": _decimal(props, "severity", native_id),
        "severity_unit": SEVERITY_UNITS.get(eventtype),
        "country": stripped(props, "country", native_id),
        "country_list": stripped(props, "countrylist", native_id),
        "iso3": stripped(props, "iso3", native_id),
        "from_time": from_time,
        "to_time": to_time,
        "url": stripped(props, "link", native_id),
        "icon_url": stripped(props, "iconeventlink", native_id),
        "image_url": stripped(props, "imageoverview", native_id),
        "geometry": _point(primary, native_id),
        "features": _secondary(features, primary, native_id),
        "extra": leftovers(props, _KNOWN, native_id),
    }

    return assemble(
        provider=PROVIDER,
        source=SOURCE,
        native_id=native_id,
        revision=_revision(record, native_id),
        time=to_time,
        kind=ALERT,
        fields=fields,
    )


def _identity(feature: Any) -> Identity | None:
    """The episode a feature names in its properties or, failing that, its link."""
    if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
        return None
    props = feature["properties"]
    own = tuple(props.get(key) for key in ("eventtype", "eventid", "episodeid"))
    if all(isinstance(part, str) and part for part in own):
        return (own[0], own[1], own[2])
    link = props.get("link")
    if not isinstance(link, str):
        return None
    try:
        query = parse_qs(urlsplit(link).query)
    except ValueError:  # a malformed URL, such as an unclosed "[" of an IPv6 host
        return None
    found = tuple(
        query.get(key, [""])[0] for key in ("eventtype", "eventid", "episodeid")
    )
    if all(found):
        return (found[0], found[1], found[2])
    return None


def _identity_from_feature_id(
    feature: Any, by_head: Mapping[str, Identity]
) -> Identity | None:
    if not isinstance(feature, dict) or not isinstance(feature.get("id"), str):
        return None
    head = _FEATURE_ID_HEAD.match(feature["id"])
    return by_head.get(head.group(1)) if head else None


def _event_of(record: Mapping[str, Any]) -> tuple[str, str, str, str]:
    eventtype, eventid, episodeid = (
        record.get(key) for key in ("eventtype", "eventid", "episodeid")
    )
    if not (
        isinstance(eventtype, str)
        and _TYPE_CODE.fullmatch(eventtype)
        and isinstance(eventid, str)
        and _ID_DIGITS.fullmatch(eventid)
        and isinstance(episodeid, str)
        and _ID_DIGITS.fullmatch(episodeid)
    ):
        raise RecordError("record names no GDACS event and episode", record_id(record))
    return f"{eventtype}{eventid}", eventtype, eventid, episodeid


def _checked_features(
    record: Mapping[str, Any], native_id: str
) -> list[dict[str, Any]]:
    features = record.get("features")
    if not isinstance(features, list) or not features:
        raise RecordError("record has no features", native_id)
    for index, feature in enumerate(features):
        where = f"features[{index}]"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise RecordError(f"{where} is not a GeoJSON Feature", native_id)
        props = feature.get("properties")
        if not isinstance(props, dict):
            raise RecordError(f"{where} has no properties object", native_id)
        for key in ("eventtype", "eventid", "episodeid"):
            if props.get(key) not in (None, record[key]):
                raise RecordError(
                    f"{where} names {key} {props[key]!r}, not {record[key]!r}",
                    native_id,
                )
    return features


def _primary(features: list[dict[str, Any]]) -> dict[str, Any]:
    """The feature carrying the event: it has ``eventid``, else is a Point."""
    for feature in features:
        if feature["properties"].get("eventid") is not None:
            return feature
    for feature in features:
        geometry = feature.get("geometry")
        if isinstance(geometry, dict) and geometry.get("type") == "Point":
            return feature
    return features[0]


def _point(primary: Mapping[str, Any], native_id: str) -> Any:
    geometry = primary.get("geometry")
    if isinstance(geometry, dict) and geometry.get("type") == "Point":
        return _shape(geometry)
    # A centroid-less event still names its point in every feature, as text.
    props = primary["properties"]
    lon = _decimal(props, "longitude", native_id)
    lat = _decimal(props, "latitude", native_id)
    if lon is None or lat is None:
        raise RecordError("record has no point", native_id)
    return {"type": "Point", "coordinates": [lon, lat]}


def _secondary(
    features: list[dict[str, Any]], primary: Mapping[str, Any], native_id: str
) -> list[dict[str, Any]]:
    budget = GEOMETRY_BUDGET
    kept = []
    for feature in features:
        if feature is primary:
            continue
        props = feature["properties"]
        geometry = feature.get("geometry")
        size = _json_size(geometry)
        omitted = geometry is not None and size > budget
        if not omitted:
            budget -= size
        kept.append(
            {
                "id": _feature_id(feature, native_id),
                "label": stripped(props, "polygonlabel", native_id),
                "feature_class": stripped(props, "Class", native_id),
                "polygon_type": stripped(props, "polygontype", native_id),
                "icon_url": stripped(props, "iconitemlink", native_id),
                "geometry": None if omitted or geometry is None else _shape(geometry),
                "geometry_omitted": omitted,
                "extra": leftovers(props, _KNOWN, native_id),
            }
        )
    return kept


def _shape(geometry: Any) -> Any:
    # Only the geometry itself: a "bbox" member would be refused by the model.
    # Anything that is not an object goes on as it is, for the model to refuse.
    if not isinstance(geometry, dict):
        return geometry
    return {"type": geometry.get("type"), "coordinates": geometry.get("coordinates")}


def _json_size(value: Any) -> int:
    try:
        return len(json.dumps(value, separators=(",", ":")))
    except (TypeError, ValueError, RecursionError):
        return 0  # not JSON at all: the model refuses it


def _feature_id(feature: Mapping[str, Any], native_id: str) -> str | None:
    value = feature.get("id")
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # GeoJSON allows numeric feature ids
    bad("id", value, "a string or an integer", native_id)


def _revision(record: Mapping[str, Any], native_id: str) -> str:
    """A hash of the episode and its features, whatever order they come in.

    Each feature is written as canonical JSON without ``featureIndex`` (its place
    in the file, which moves as other events come and go) and the features are
    hashed in sorted order, so only a change of content is a new revision.
    """
    head = canonical({k: v for k, v in record.items() if k != "features"}, native_id)
    parts = []
    for feature in record["features"]:
        props = {k: v for k, v in feature["properties"].items() if k != "featureIndex"}
        parts.append(canonical({**feature, "properties": props}, native_id))
    return content_revision(b"\n".join([head, *sorted(parts)]))


def _present(props: Mapping[str, Any], keys: tuple[str, str]) -> str:
    """The first of ``keys`` that ``props`` holds, else the first."""
    return next((key for key in keys if props.get(key) is not None), keys[0])


def _decimal(props: Mapping[str, Any], key: str, native_id: str) -> float | None:
    """A number written as text (``"5.7"``) or as a number; blank reads as None."""
    value = props.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    parsed = decimal(value) if isinstance(value, str) else None
    if parsed is not None:
        number = parsed
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            bad(key, value, "a finite number", native_id)
    else:
        bad(key, value, "a decimal number", native_id)
    if not math.isfinite(number):
        bad(key, value, "a finite number", native_id)
    return number


def _required_time(props: Mapping[str, Any], key: str, native_id: str) -> datetime:
    return required(_time(props, key, native_id), key, native_id)


def _time(props: Mapping[str, Any], key: str, native_id: str) -> datetime | None:
    """A GDACS date-time (``27 May 2026 14:51:04``, UTC) or an ISO 8601 one."""
    value = stripped(props, key, native_id)
    if value is None:
        return None
    match = _DATE.fullmatch(value)
    if match is None:
        if value[:4].isdigit():
            return iso_time(value, key, native_id)
        bad(key, value, "a GDACS date-time such as '27 May 2026 14:51:04'", native_id)
    day, month_name, year, hour, minute, second = match.groups()
    month = month_number(month_name)
    try:
        if month is None:
            raise ValueError(month_name)
        return datetime(
            int(year),
            month,
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=UTC,
        )
    except ValueError:
        bad(key, value, "a valid calendar date-time", native_id)

"""The ``data`` of Central's disaster events, and the event types they are sent as.

Type scheme: each feed's records are a different kind of thing, so each gets its own
type and model, ``central.disaster.<kind>``:

- ``alert`` (:class:`DisasterAlert`): one revision of a GDACS event, the alert that
  GDACS issues for an earthquake, tropical cyclone, flood, volcano, drought, wildfire
  or tsunami anywhere on Earth;
- ``natural-event`` (:class:`NaturalEvent`): one revision of a NASA EONET natural
  event, with its track of dated observations;
- ``declaration`` (:class:`DisasterDeclaration`): one area designated by a US FEMA
  disaster, emergency or fire-management declaration.

What happened is not the type but the ``hazard`` field every model carries, from one
vocabulary (:data:`HAZARDS`) across the three providers, so a consumer can join a
GDACS wildfire alert, an EONET wildfire and a FEMA fire declaration.  The provider's
own code stays beside it.  Each kind is also the ``<kind>`` token of the NATS subject
(``central.disaster.natural-event.eonet.9q5``) and matches ``^[a-z0-9_-]+$``.

Every model has an ``extra`` member: upstream fields this adapter does not map are
kept there, under their upstream names, rather than dropped.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from central.geo import check_position
from central.models import DataModel, UtcDatetime

DOMAIN: Final = "disaster"

ALERT: Final = "alert"
NATURAL_EVENT: Final = "natural-event"
DECLARATION: Final = "declaration"
KINDS: Final = (ALERT, NATURAL_EVENT, DECLARATION)

# The hazard vocabulary shared by the three feeds.
EARTHQUAKE: Final = "earthquake"
TROPICAL_CYCLONE: Final = "tropical-cyclone"
FLOOD: Final = "flood"
VOLCANO: Final = "volcano"
DROUGHT: Final = "drought"
WILDFIRE: Final = "wildfire"
TSUNAMI: Final = "tsunami"
SEVERE_STORM: Final = "severe-storm"
WINTER_STORM: Final = "winter-storm"
TORNADO: Final = "tornado"
LANDSLIDE: Final = "landslide"
SEA_LAKE_ICE: Final = "sea-lake-ice"
DUST_HAZE: Final = "dust-haze"
TEMPERATURE_EXTREME: Final = "temperature-extreme"
WATER_COLOR: Final = "water-color"
MANMADE: Final = "manmade"
BIOLOGICAL: Final = "biological"
OTHER: Final = "other"
HAZARDS: Final = (
    EARTHQUAKE,
    TROPICAL_CYCLONE,
    FLOOD,
    VOLCANO,
    DROUGHT,
    WILDFIRE,
    TSUNAMI,
    SEVERE_STORM,
    WINTER_STORM,
    TORNADO,
    LANDSLIDE,
    SEA_LAKE_ICE,
    DUST_HAZE,
    TEMPERATURE_EXTREME,
    WATER_COLOR,
    MANMADE,
    BIOLOGICAL,
    OTHER,
)


def event_type(kind: str) -> str:
    """The CloudEvent ``type`` of ``kind``; ValueError for a kind not in KINDS."""
    if kind not in KINDS:
        raise ValueError(f"unknown disaster event kind {kind!r}")
    return f"central.{DOMAIN}.{kind}"


# How many list levels enclose the positions of each GeoJSON geometry type.
_NESTING: Final[dict[str, int]] = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}
GeometryType = Literal[
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"
]


class Geometry(BaseModel):
    """A GeoJSON geometry (RFC 7946) in WGS84, longitude first.

    Every position is two or three finite numbers, written back as floats, with the
    longitude in -180..180 and the latitude in -90..90.  ``GeometryCollection`` is
    not accepted: no feed here sends one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Whether positions must lie inside the longitude and latitude ranges.
    ranged: ClassVar[bool] = True

    type: GeometryType
    coordinates: list[Any]

    @field_validator("coordinates", mode="before")
    @classmethod
    def _positions(cls, value: Any, info: ValidationInfo) -> Any:
        kind = info.data.get("type")
        if kind not in _NESTING:
            return value
        return _nested(value, _NESTING[kind], cls.ranged)


class Point(Geometry):
    """A GeoJSON Point: ``[longitude, latitude]`` (a third element is kept)."""

    type: Literal["Point"] = "Point"


class FeatureGeometry(Geometry):
    """A GeoJSON geometry whose positions are finite but not range-checked.

    Used for the secondary shapes of a GDACS event (wind-speed cones, flood extents,
    drought areas), which are kept as the provider drew them.
    """

    ranged: ClassVar[bool] = False


def _nested(value: Any, depth: int, ranged: bool) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise ValueError("coordinates must be arrays")
    if depth == 0:
        return _position(value, ranged)
    if not value:
        raise ValueError("coordinates hold an empty array")
    return [_nested(item, depth - 1, ranged) for item in value]


def _position(value: list[Any] | tuple[Any, ...], ranged: bool) -> list[Any]:
    if not 2 <= len(value) <= 3:
        raise ValueError(f"a position has {len(value)} elements, not 2 or 3")
    numbers = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise ValueError(f"position element {item!r} is not a number")
        try:
            number = float(item)
        except OverflowError:
            raise ValueError("position element is too large") from None
        if not math.isfinite(number):
            raise ValueError(f"position element {number} is not finite")
        numbers.append(number)
    if ranged:
        check_position(numbers[0], numbers[1])
    return numbers


class AlertFeature(DataModel):
    """One secondary feature of a GDACS event: a shape drawn around or along it."""

    id: str | None = Field(description="The GeoJSON feature id (EQ...Circle).")
    label: str | None = Field(description="polygonlabel: 100km, Affected area...")
    feature_class: str | None = Field(description="Class: Poly_Circle, Poly_area...")
    polygon_type: str | None = Field(description="polygontype: Circle, area...")
    icon_url: str | None = Field(description="iconitemlink: the feature's map icon.")
    geometry: FeatureGeometry | None = Field(
        description="The shape; None when left out to keep the event small."
    )
    geometry_omitted: bool = Field(
        description="True when the shape was left out because the event's shapes "
        "together passed the size budget."
    )
    extra: dict[str, Any] = Field(description="Unmapped properties of the feature.")


class DisasterAlert(DataModel):
    """The ``data`` of ``central.disaster.alert``: one revision of a GDACS event.

    GDACS writes every property as a string; numbers here are numbers.  The event's
    start is ``from_time``; the CloudEvent ``time`` is ``to_time``, the latest moment
    the revision describes.
    """

    hazard: str = Field(description="What happened, from the shared vocabulary.")
    event_type: str = Field(description="GDACS event type code (EQ, TC, FL...).")
    event_id: int = Field(description="GDACS event id, unique within the type.")
    episode_id: int = Field(description="GDACS episode id: the revision of the event.")
    name: str | None = Field(description="GDACS name (Earthquake in Chile).")
    event_name: str | None = Field(description="Proper name where given (storms).")
    description: str | None = Field(description="One-line description.")
    html_description: str | None = Field(description="Longer one-line summary.")
    alert_level: str | None = Field(description="Event alert, lower-cased (green...).")
    alert_score: float | None = Field(description="Event alert score.")
    episode_alert_level: str | None = Field(description="Alert of this episode.")
    episode_alert_score: float | None = Field(description="Score of this episode.")
    severity: float | None = Field(description="Hazard-specific severity value.")
    severity_unit: str | None = Field(
        description="Unit of severity by event type (EQ M, TC km/h, DR km2, WF ha); "
        "None where the feed does not say."
    )
    country: str | None = Field(description="Country or region, as GDACS names it.")
    country_list: str | None = Field(description="Every country affected, in words.")
    iso3: str | None = Field(description="ISO 3166-1 alpha-3 code; None when blank.")
    from_time: UtcDatetime = Field(description="Start of the event (UTC).")
    to_time: UtcDatetime = Field(description="Latest time the revision covers (UTC).")
    url: str | None = Field(description="GDACS report page of the episode.")
    icon_url: str | None = Field(description="Map icon of the event.")
    image_url: str | None = Field(description="Overview map image.")
    geometry: Point = Field(description="The event's point (its centroid feature).")
    features: list[AlertFeature] = Field(
        description="The event's other features: circles, areas, tracks, cones."
    )
    extra: dict[str, Any] = Field(description="Unmapped properties of the event.")


class Category(DataModel):
    """One EONET category of an event."""

    id: str = Field(description="EONET category id (wildfires, severeStorms...).")
    title: str | None = Field(description="Category title in words.")


class Source(DataModel):
    """One EONET source of an event."""

    id: str = Field(description="EONET source id (GDACS, IRWIN, JTWC...).")
    url: str | None = Field(description="The source's page for the event.")


class Observation(DataModel):
    """One dated entry of an EONET event's geometry track."""

    time: UtcDatetime = Field(description="When the event was there (UTC).")
    magnitude_value: float | None = Field(description="magnitudeValue, if any.")
    magnitude_unit: str | None = Field(description="magnitudeUnit: acres, kts, NM^2.")
    geometry: Geometry = Field(description="Where the event was.")
    extra: dict[str, Any] = Field(description="Unmapped members of the entry.")


class NaturalEvent(DataModel):
    """The ``data`` of ``central.disaster.natural-event``: one EONET event revision.

    The track grows as EONET adds observations; each new one is a new revision.  The
    CloudEvent ``time`` is the newest observation's, and ``geometry`` and the
    magnitude are that observation's.
    """

    hazard: str = Field(description="From the first category, shared vocabulary.")
    title: str | None = Field(description="EONET title.")
    description: str | None = Field(description="EONET description, if any.")
    url: str | None = Field(description="The event in the EONET API (link).")
    closed: UtcDatetime | None = Field(
        description="When EONET closed it; None if open."
    )
    categories: list[Category] = Field(description="EONET categories.")
    sources: list[Source] = Field(description="Where EONET learned of the event.")
    first_observed: UtcDatetime = Field(description="Oldest observation time (UTC).")
    last_observed: UtcDatetime = Field(description="Newest observation time (UTC).")
    magnitude_value: float | None = Field(description="Newest observation's value.")
    magnitude_unit: str | None = Field(description="Newest observation's unit.")
    observations: int = Field(description="How many entries the track holds.")
    track: list[Observation] = Field(description="Every observation, as listed.")
    geometry: Geometry = Field(description="Newest observation's geometry.")
    extra: dict[str, Any] = Field(description="Unmapped members of the event.")


class DisasterDeclaration(DataModel):
    """The ``data`` of ``central.disaster.declaration``: one designated area.

    OpenFEMA lists one row per area a declaration designates, so one declaration
    (``declaration_string``) spans many events.  FIPS codes and the place code are
    strings with their leading zeros.  Rows locate the area by code, not by shape, so
    ``geometry`` is always None.
    """

    hazard: str = Field(description="From incidentType, shared vocabulary.")
    declaration_string: str = Field(description="femaDeclarationString (DR-4660-KY).")
    disaster_number: int = Field(description="FEMA disaster number.")
    declaration_type: str = Field(description="DR major disaster, EM, FM fire.")
    declaration_title: str | None = Field(description="Title (CHALK MOUNTAIN FIRE).")
    incident_type: str = Field(description="FEMA incident type (Fire, Flood...).")
    state: str = Field(description="Two-letter state or territory code.")
    designated_area: str | None = Field(description="Area in words (Hood (County)).")
    fips_state_code: str = Field(description="Two-digit state FIPS code.")
    fips_county_code: str = Field(
        description="Three-digit county FIPS code; 000 for statewide or tribal areas."
    )
    fips: str = Field(description="State and county FIPS joined (48221).")
    place_code: str | None = Field(description="FEMA place code, as given.")
    declaration_date: UtcDatetime = Field(description="When it was declared (UTC).")
    fiscal_year_declared: int | None = Field(description="Federal fiscal year.")
    incident_begin: UtcDatetime | None = Field(description="Incident start (UTC).")
    incident_end: UtcDatetime | None = Field(description="Incident end (UTC).")
    closeout_date: UtcDatetime | None = Field(description="Disaster closeout (UTC).")
    last_ia_filing_date: UtcDatetime | None = Field(
        description="Last day to apply for individual assistance (UTC)."
    )
    ih_program_declared: bool | None = Field(description="Individuals and households.")
    ia_program_declared: bool | None = Field(description="Individual assistance.")
    pa_program_declared: bool | None = Field(description="Public assistance.")
    hm_program_declared: bool | None = Field(description="Hazard mitigation.")
    tribal_request: bool | None = Field(description="Requested by a tribal nation.")
    declaration_request_number: str | None = Field(description="Request number.")
    hash: str | None = Field(description="OpenFEMA's hash of the row's content.")
    last_refresh: UtcDatetime = Field(description="When OpenFEMA last updated the row.")
    geometry: None = Field(default=None, description="Always None (see above).")
    extra: dict[str, Any] = Field(description="Unmapped fields of the row.")


DATA_MODELS: Final[dict[str, type[DataModel]]] = {
    event_type(ALERT): DisasterAlert,
    event_type(NATURAL_EVENT): NaturalEvent,
    event_type(DECLARATION): DisasterDeclaration,
}

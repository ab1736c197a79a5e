"""The ``data`` of Central's weather alerts, and the event type they are sent as.

Type scheme: every alert message, from the NWS alerts API or from any CAP feed,
becomes one event of type ``central.wx.alert``.  An alert message is what CAP calls
an ``<alert>``: a new warning, an update of an earlier one or its cancellation.
What kind of message it is stays in :attr:`WeatherAlert.message_type` (``Alert``,
``Update``, ``Cancel``...), and :attr:`WeatherAlert.references` names the earlier
messages it updates or cancels, so a consumer can follow an alert's history without
a type per message kind.  The kind ``alert`` is also the ``<kind>`` token of the
NATS subject (``central.wx.alert.nws.9tb``).

Every field follows the CAP 1.2 vocabulary (OASIS, section 3.2), which both feeds
share: values such as ``severity`` are kept exactly as the publisher wrote them,
``Unknown`` included, since CAP defines ``Unknown`` as a value of its own.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from central.geo import check_position
from central.models import DataModel, UtcDatetime

DOMAIN: Final = "wx"

ALERT: Final = "alert"
KINDS: Final = (ALERT,)

Position = tuple[float, float]
Ring = list[Position]


def event_type(kind: str) -> str:
    """The CloudEvent ``type`` of ``kind``; ValueError for a kind not in KINDS."""
    if kind not in KINDS:
        raise ValueError(f"unknown weather event kind {kind!r}")
    return f"central.{DOMAIN}.{kind}"


def check_ring(ring: Ring) -> Ring:
    """``ring`` itself when it is a closed linear ring of lon/lat positions.

    A ring needs four positions or more and must end where it starts (RFC 7946
    section 3.1.6; CAP 1.2 ``polygon`` says the same); every longitude lies in
    -180..180 and every latitude in -90..90.  Raises ValueError naming the fault.
    """
    if len(ring) < 4:
        raise ValueError(f"a ring needs at least 4 positions, not {len(ring)}")
    if ring[0] != ring[-1]:
        raise ValueError("a ring must end where it starts")
    for lon, lat in ring:
        check_position(lon, lat)
    return ring


class Polygon(BaseModel):
    """A GeoJSON Polygon (RFC 7946) in WGS84: an outer ring, then any holes.

    Positions are ``[longitude, latitude]``; rings are closed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["Polygon"] = "Polygon"
    coordinates: list[Ring] = Field(min_length=1)

    @field_validator("coordinates")
    @classmethod
    def _rings(cls, value: list[Ring]) -> list[Ring]:
        return [check_ring(ring) for ring in value]


class MultiPolygon(BaseModel):
    """A GeoJSON MultiPolygon (RFC 7946) in WGS84: one or more polygons."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["MultiPolygon"] = "MultiPolygon"
    coordinates: list[Annotated[list[Ring], Field(min_length=1)]] = Field(min_length=1)

    @field_validator("coordinates")
    @classmethod
    def _rings(cls, value: list[list[Ring]]) -> list[list[Ring]]:
        return [[check_ring(ring) for ring in polygon] for polygon in value]


AlertArea = Annotated[Polygon | MultiPolygon, Field(discriminator="type")]


class AlertReference(DataModel):
    """An earlier message that this one updates or cancels (CAP ``references``).

    CAP names a message by its sender, identifier and sent time; the NWS API adds
    the URL of the earlier message.
    """

    identifier: str = Field(description="The earlier message's identifier.")
    sender: str | None = Field(description="Who sent the earlier message.")
    sent: UtcDatetime | None = Field(description="When it was sent (UTC).")
    url: str | None = Field(description="Where the NWS API serves it (``@id``).")


class WeatherAlert(DataModel):
    """The ``data`` of every ``central.wx.alert`` event, from either feed.

    Text is the publisher's own.  A field the record does not give is None (or an
    empty list or mapping), never a guess; CAP's repeatable elements (category,
    responseType, code) are lists, and its name/value pairs (geocode, parameter,
    eventCode) are mappings from the name to every value given for it, names in
    sorted order.  Times are UTC.  Whatever the record holds that no field here
    maps is kept in :attr:`extra`.

    The CloudEvent ``time`` is :attr:`sent`, when the message was issued.
    """

    identifier: str | None = Field(
        description="The CAP message identifier (NWS: ``properties.id``)."
    )
    url: str | None = Field(description="Where the publisher serves the message.")
    sender: str | None = Field(description="Who sent it (CAP ``sender``).")
    sender_name: str | None = Field(
        description="The sender in words (``NWS Phoenix AZ``)."
    )
    sent: UtcDatetime | None = Field(description="When the message was issued.")
    updated: UtcDatetime | None = Field(
        description="When the feed entry was last revised (ATOM ``updated``)."
    )
    effective: UtcDatetime | None = Field(description="When the alert takes effect.")
    onset: UtcDatetime | None = Field(description="When the hazard is expected.")
    expires: UtcDatetime | None = Field(description="When this message expires.")
    ends: UtcDatetime | None = Field(
        description="When the hazard is expected to end (NWS only)."
    )
    status: str | None = Field(description="Actual, Exercise, System, Test, Draft.")
    message_type: str | None = Field(
        description="Alert, Update, Cancel, Ack, Error (CAP ``msgType``)."
    )
    scope: str | None = Field(description="Public, Restricted, Private.")
    codes: list[str] = Field(description="Special handling codes (CAP ``code``).")
    language: str | None = Field(description="Language of the text (``en-US``).")
    categories: list[str] = Field(description="Met, Geo, Safety, Fire...")
    event: str | None = Field(description="What the alert is about, in words.")
    event_codes: dict[str, list[str]] = Field(
        description="Coded event types by system (``SAME``: ``EHW``)."
    )
    response_types: list[str] = Field(
        description="Recommended actions (Shelter, Evacuate, Execute, Monitor...)."
    )
    urgency: str | None = Field(description="Immediate, Expected, Future...")
    severity: str | None = Field(description="Extreme, Severe, Moderate, Minor...")
    certainty: str | None = Field(description="Observed, Likely, Possible...")
    headline: str | None = Field(description="A one-line summary.")
    description: str | None = Field(description="The hazard in words.")
    instruction: str | None = Field(description="What people should do.")
    web: str | None = Field(description="A web page with more about the alert.")
    area_description: str | None = Field(description="The affected area in words.")
    geocodes: dict[str, list[str]] = Field(
        description="Affected areas by coding system (SAME, UGC, FIPS6...)."
    )
    affected_zones: list[str] = Field(
        description="URLs of the affected NWS zones (NWS only)."
    )
    references: list[AlertReference] = Field(
        description="Earlier messages this one updates or cancels."
    )
    parameters: dict[str, list[str]] = Field(
        description="Publisher-specific values by name (VTEC, NWSheadline...)."
    )
    geometry: AlertArea | None = Field(
        description="The affected area as drawn by the publisher, if it drew one."
    )
    extra: dict[str, Any] = Field(
        description="Upstream fields no other field maps, as given."
    )


DATA_MODELS: Final[dict[str, type[BaseModel]]] = {
    event_type(kind): WeatherAlert for kind in KINDS
}

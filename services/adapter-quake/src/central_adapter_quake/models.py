"""The ``data`` of Central's seismic events, and the event types they are sent as.

Type scheme: every seismic record becomes one event of type ``central.quake.<kind>``,
whichever provider reported it, where ``<kind>`` says what shook the ground:

- ``earthquake``: fault slip, natural or induced, confirmed or only suspected;
- ``quarry-blast``: a blast the provider reports as a quarry blast;
- ``explosion``: any other explosion (chemical, mining, nuclear, experimental,
  controlled);
- ``other``: everything else (landslide, ice quake, sonic boom, rock burst,
  collapse), including a value no mapping here knows and a record with no type.

The provider's own value stays in :attr:`SeismicEvent.event_type`, so a consumer can
still tell a suspected earthquake from a known one, or a nuclear explosion from a
chemical one.  Each kind is also the ``<kind>`` token of the NATS subject
(``central.quake.quarry-blast.usgs.9q5``) and matches ``^[a-z0-9_-]+$``.

All four types carry the same model, :class:`SeismicEvent`; :data:`DATA_MODELS`
maps each type to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, Field, field_validator

from central.geo import Point
from central.models import DataModel, utc

DOMAIN: Final = "quake"

EARTHQUAKE: Final = "earthquake"
QUARRY_BLAST: Final = "quarry-blast"
EXPLOSION: Final = "explosion"
OTHER: Final = "other"
KINDS: Final = (EARTHQUAKE, QUARRY_BLAST, EXPLOSION, OTHER)


def event_type(kind: str) -> str:
    """The CloudEvent ``type`` of ``kind``; ValueError for a kind not in KINDS."""
    if kind not in KINDS:
        raise ValueError(f"unknown seismic event kind {kind!r}")
    return f"central.{DOMAIN}.{kind}"


class SeismicEvent(DataModel):
    """The ``data`` of every ``central.quake.*`` event, from any provider.

    Values are the provider's own, not recomputed: numbers keep the precision they
    were given in, and a field the provider does not report is None (EMSC reports no
    status, felt count, intensities or tsunami flag).  Only ``magnitude_type`` and
    ``status`` are lower-cased, because providers mix cases for the same value
    (``Mww`` and ``mww``, ``REVIEWED`` and ``reviewed``).  Negative magnitudes and
    negative depths are real (small events; hypocentres above sea level) and kept.

    The event's origin time is the CloudEvent ``time``; it is not repeated here.
    The epicentre is a two-dimensional :class:`~central.geo.Point` on purpose:
    GeoJSON's third position element is height above the ellipsoid, while a
    hypocentre lies below ground, so the depth is :attr:`depth_km` instead.
    """

    magnitude: float | None = Field(description="Preferred magnitude; can be negative.")
    magnitude_type: str | None = Field(
        description="Magnitude scale, lower-cased (ml, md, mb, mww...)."
    )
    depth_km: float | None = Field(
        description="Hypocentre depth in km, positive downwards; negative above sea "
        "level."
    )
    place: str | None = Field(
        description="Where it happened in words: USGS place, EMSC Flinn-Engdahl region."
    )
    title: str | None = Field(
        description="The provider's one-line title; USGS only, and absent from the "
        "early (API 1.0.x) feeds."
    )
    status: str | None = Field(
        description="Review status, lower-cased (automatic, reviewed, deleted)."
    )
    event_type: str | None = Field(
        description="The provider's event type exactly as given (USGS type, EMSC "
        "evtype)."
    )
    tsunami: bool | None = Field(
        description="USGS tsunami flag; None where the provider gives none."
    )
    felt: int | None = Field(description="Number of felt reports (USGS DYFI).")
    cdi: float | None = Field(description="Maximum reported intensity (USGS DYFI).")
    mmi: float | None = Field(description="Maximum estimated intensity (ShakeMap).")
    alert: str | None = Field(description="PAGER alert level (green ... red).")
    significance: int | None = Field(description="USGS significance score (sig).")
    nst: int | None = Field(description="Number of stations used for the location.")
    dmin: float | None = Field(description="Distance to the nearest station, degrees.")
    gap: float | None = Field(description="Largest azimuthal gap between stations.")
    network: str | None = Field(
        description="Network or agency of the preferred solution (USGS net, EMSC auth)."
    )
    url: str | None = Field(description="The provider's web page for the event.")
    ids: list[str] = Field(
        description="Every id the provider lists for the event, the subject included."
    )
    sources: list[str] = Field(description="Networks or agencies that contributed.")
    updated: datetime = Field(
        description="When the provider last revised the record (UTC)."
    )
    geometry: Point = Field(description="The epicentre.")
    extra: dict[str, Any] = Field(
        default_factory=dict,
        description="Upstream properties with no field above, kept as given "
        "(USGS tz, detail, types, rms, code; EMSC source_id, source_catalog...).",
    )

    @field_validator("updated")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return utc(value, "updated")


DATA_MODELS: Final[dict[str, type[BaseModel]]] = {
    event_type(kind): SeismicEvent for kind in KINDS
}

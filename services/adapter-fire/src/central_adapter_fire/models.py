"""The ``data`` of Central's fire events, and the event type they are sent as.

Type scheme: every FIRMS row becomes one event of type ``central.fire.hotspot``:
one satellite pixel in which the MODIS or VIIRS fire algorithm found one or more
burning (or otherwise hot) spots.  A hotspot is not a fire: one fire is many
hotspots over many passes, and a hotspot can be a gas flare, a volcano or a hot
roof.  The kind ``hotspot`` is also the ``<kind>`` token of the NATS subject
(``central.fire.hotspot.firms.<cell>``).

MODIS and VIIRS rows share :class:`Hotspot`: their columns measure the same things
in neighbouring spectral bands (see the field descriptions), and
:attr:`Hotspot.instrument` says which instrument saw the pixel.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, Field

from central.geo import Point
from central.models import DataModel

DOMAIN: Final = "fire"

HOTSPOT: Final = "hotspot"
KINDS: Final = (HOTSPOT,)

Instrument = Literal["MODIS", "VIIRS"]
ConfidenceClass = Literal["low", "nominal", "high"]
DayNight = Literal["day", "night"]


def event_type(kind: str) -> str:
    """The CloudEvent ``type`` of ``kind``; ValueError for a kind not in KINDS."""
    if kind not in KINDS:
        raise ValueError(f"unknown fire event kind {kind!r}")
    return f"central.{DOMAIN}.{kind}"


class Hotspot(DataModel):
    """The ``data`` of every ``central.fire.hotspot`` event.

    Values are FIRMS's own, read from the CSV cells: numbers keep the precision
    they were written with, and a cell that is empty (or a column the file does not
    have) is None.  The acquisition time is the CloudEvent ``time``; it is not
    repeated here.  Columns this model does not know are kept, as the text of
    their cells, in :attr:`extra`.

    The :attr:`geometry` is the centre of the fire pixel, not necessarily where
    the fire burns: the fire can be anywhere in the pixel (1 km for MODIS at nadir,
    375 m for VIIRS, larger towards the edge of the swath).
    """

    instrument: Instrument = Field(
        description="MODIS or VIIRS: the ``instrument`` column where the file has "
        "one, otherwise told by the column set (``brightness`` or ``bright_ti4``)."
    )
    satellite: str = Field(
        description="FIRMS satellite code as given: A (Aqua), T (Terra), N (Suomi "
        "NPP), 1 or N20 (NOAA-20), N21 (NOAA-21)."
    )
    platform: str | None = Field(
        description="The satellite's name for a known code; None for a code this "
        "adapter does not know."
    )
    confidence: ConfidenceClass | None = Field(
        description="Detection confidence class.  VIIRS gives it as a word or a "
        "letter; for MODIS it is derived from the percentage by FIRMS's classes "
        "(low below 30, nominal below 80, high from 80)."
    )
    confidence_percent: int | None = Field(
        description="Detection confidence 0-100 where FIRMS gives a number (MODIS)."
    )
    brightness_mir_k: float | None = Field(
        description="Mid-infrared (about 4 µm) brightness temperature of the fire "
        "pixel, K: MODIS channel 21/22 ``brightness``, VIIRS I-4 ``bright_ti4`` "
        "(which saturates at 367 K)."
    )
    brightness_tir_k: float | None = Field(
        description="Thermal-infrared (about 11 µm) brightness temperature of the "
        "fire pixel, K: MODIS channel 31 ``bright_t31``, VIIRS I-5 ``bright_ti5``."
    )
    frp_mw: float | None = Field(description="Fire radiative power, MW.")
    scan_km: float | None = Field(
        description="Pixel size along the scan, km; grows towards the swath edge."
    )
    track_km: float | None = Field(description="Pixel size along the track, km.")
    daynight: DayNight | None = Field(description="Day or night acquisition.")
    version: str | None = Field(
        description="Collection and processing as FIRMS writes it: ``6.1NRT`` "
        "(MODIS C6.1 near real time), ``2.0NRT`` (VIIRS C2), no suffix for "
        "standard processing."
    )
    detection_type: int | None = Field(
        description="The ``type`` column of archive and country files: 0 presumed "
        "vegetation fire, 1 active volcano, 2 other static land source, 3 offshore."
    )
    geometry: Point = Field(description="The centre of the fire pixel.")
    extra: dict[str, str] = Field(
        description="Every column not listed above, by its (lower-cased) header "
        "name, with the cell text as given."
    )


DATA_MODELS: Final[dict[str, type[BaseModel]]] = {event_type(HOTSPOT): Hotspot}

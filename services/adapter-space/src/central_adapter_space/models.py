"""The ``data`` of Central's space-weather events, and the event types they are sent as.

Every record of the NOAA Space Weather Prediction Center (SWPC) feeds becomes one
event of type ``central.space.<kind>``:

- ``alert``: an SWPC alert, warning, watch, summary or cancellation message
  (:class:`SpaceAlert`);
- ``kp-index``: the planetary K-index of one 3-hour interval, observed, estimated
  or predicted (:class:`KpIndex`);
- ``kp-index-1m``: the estimated planetary K-index of one minute
  (:class:`KpMinute`);
- ``xray-flux``: the GOES X-ray flux of one minute in one energy band
  (:class:`XrayFlux`);
- ``xray-flare``: the long-band X-ray flux crossing the M1 or X1 threshold between
  two consecutive minutes (:class:`XrayFlare`); derived by this adapter, not an
  upstream record;
- ``solar-wind-plasma``: the solar-wind plasma of one minute (:class:`SolarWindPlasma`).

Each kind is also the ``<kind>`` token of the NATS subject
(``central.space.kp-index.swpc.none``; the records have no geometry, so the cell is
always ``none``) and matches ``^[a-z0-9_-]+$``.  :data:`DATA_MODELS` maps each type
to its model.  Times are aware UTC datetimes and serialize as RFC 3339 with ``Z``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, ConfigDict, Field

from central.models import DataModel, utc

DOMAIN: Final = "space"
#: The provider token of every event id and NATS subject of this adapter.
PROVIDER: Final = "swpc"

ALERT: Final = "alert"
KP_INDEX: Final = "kp-index"
KP_INDEX_1M: Final = "kp-index-1m"
XRAY_FLUX: Final = "xray-flux"
XRAY_FLARE: Final = "xray-flare"
SOLAR_WIND_PLASMA: Final = "solar-wind-plasma"
KINDS: Final = (ALERT, KP_INDEX, KP_INDEX_1M, XRAY_FLUX, XRAY_FLARE, SOLAR_WIND_PLASMA)

#: Long-band (0.1-0.8 nm) flux thresholds of the flare classes, in W/m².
FLARE_THRESHOLDS: Final[dict[str, float]] = {"M1": 1e-5, "X1": 1e-4}


def event_type(kind: str) -> str:
    """The CloudEvent ``type`` of ``kind``; ValueError for a kind not in KINDS."""
    if kind not in KINDS:
        raise ValueError(f"unknown space-weather event kind {kind!r}")
    return f"central.{DOMAIN}.{kind}"


def _utc(value: datetime) -> datetime:
    return utc(value, "datetime")


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class SpaceData(DataModel):
    """Base of every ``data`` model: frozen, no unknown fields, finite floats only."""

    model_config = ConfigDict(allow_inf_nan=False)


class DailyLevel(SpaceData):
    """One day of a geomagnetic storm watch's "Highest Storm Level Predicted by Day"."""

    day: date = Field(description="The UTC day (the year inferred from the issue).")
    scale: str | None = Field(
        description="The predicted G scale (G1..G5); None for 'None (Below G1)'."
    )


class SpaceAlert(SpaceData):
    """The ``data`` of ``central.space.alert``: one SWPC space-weather message.

    ``message`` is the full text exactly as SWPC sent it (line breaks included);
    everything else is read from it.  ``fields`` holds every ``Key: value`` line of
    the message's structured part, keys in snake case (``Valid From`` →
    ``valid_from``, with ``Warning Conditions``, ``Estimate Velocity``, ``Xray Class``
    and ``Max time`` folded onto their older spellings), values as written.  The
    typed fields below are read from ``fields`` and the heading; one whose text does
    not parse is None while its text stays in ``fields``.

    The CloudEvent ``time`` is the record's ``issue_datetime``; ``issue_time`` is
    the minute-precision time written in the message.
    """

    product_id: str | None = Field(description="SWPC product id (K05W, ALTK05...).")
    message_code: str = Field(description="Space Weather Message Code (WARK05).")
    serial_number: int = Field(ge=0, description="Serial Number of the message.")
    issue_time: UtcDatetime | None = Field(description="Issue Time in the message.")
    category: str | None = Field(
        description="The first heading, lower-cased, spaces as '-': alert, warning, "
        "extended-warning, continued-alert, summary, watch, cancel-warning, "
        "cancel-alert..."
    )
    headline: str | None = Field(description="The text after the first heading.")
    k_index: int | None = Field(
        ge=0, le=9, description="The K-index the headline names ('K-index of 7')."
    )
    noaa_scale: str | None = Field(
        description="The NOAA scale level stated (G1..G5, S1..S5, R1..R5)."
    )
    predicted_noaa_scale: str | None = Field(
        description="The predicted NOAA scale level ('Predicted NOAA Scale', or the "
        "category of a storm watch)."
    )
    extends_serial: int | None = Field(description="Extension to Serial Number.")
    continues_serial: int | None = Field(description="Continuation of Serial Number.")
    cancels_serial: int | None = Field(description="Cancel Serial Number.")
    valid_from: UtcDatetime | None = Field(description="Valid From.")
    valid_until: UtcDatetime | None = Field(
        description="Valid To, or Now Valid Until of an extended warning."
    )
    threshold_reached: UtcDatetime | None = Field(description="Threshold Reached.")
    begin_time: UtcDatetime | None = Field(description="Begin Time.")
    maximum_time: UtcDatetime | None = Field(description="Maximum Time (Max time).")
    end_time: UtcDatetime | None = Field(description="End Time.")
    xray_class: str | None = Field(description="X-ray Class of a flare (M5.6).")
    predicted_levels: list[DailyLevel] = Field(
        description="A storm watch's highest predicted level by day."
    )
    impacts: str | None = Field(
        description="The Potential Impacts paragraph, lines joined with '\\n'."
    )
    description: str | None = Field(description="The Description paragraph.")
    fields: dict[str, str] = Field(description="Every structured line, as written.")
    message: str = Field(description="The full message text as SWPC sent it.")
    extra: dict[str, Any] = Field(description="Record members not listed above.")


class KpIndex(SpaceData):
    """The ``data`` of ``central.space.kp-index``: Kp of one 3-hour interval.

    The CloudEvent ``time`` is the start of the interval.  The 3-hourly product
    (``noaa-planetary-k-index``) gives ``a_running`` and ``station_count`` and no
    status; the forecast product (``noaa-planetary-k-index-forecast``) gives the
    status and the NOAA G scale and neither count.
    """

    kp: float = Field(ge=0, le=9, description="Planetary K-index, in thirds (4.33).")
    status: str | None = Field(
        description="observed, estimated or predicted (the forecast's 'observed' "
        "column, lower-cased); None where the product does not say."
    )
    noaa_scale: str | None = Field(description="NOAA G scale of the Kp (G1..G5).")
    a_running: int | None = Field(ge=0, description="Running a-index (nT).")
    station_count: int | None = Field(ge=0, description="Stations contributing.")
    interval_end: UtcDatetime = Field(description="End of the 3-hour interval.")
    extra: dict[str, Any] = Field(description="Row columns not listed above.")


class KpMinute(SpaceData):
    """The ``data`` of ``central.space.kp-index-1m``: the estimated Kp of one minute."""

    kp_index: int = Field(ge=0, le=9, description="Estimated Kp as a whole number.")
    estimated_kp: float | None = Field(
        ge=0, le=9, description="Estimated Kp in thirds (0.67)."
    )
    kp_code: str | None = Field(
        description="Kp in SWPC's notation, as given: a digit and M (minus), Z "
        "(zero) or P (plus), e.g. '1M' for 0.67."
    )
    extra: dict[str, Any] = Field(description="Row columns not listed above.")


class XrayFlux(SpaceData):
    """The ``data`` of ``central.space.xray-flux``: one GOES X-ray flux sample.

    GOES reports two bands per minute; ``band`` names them (``long`` is the
    0.1-0.8 nm band that flare classes are measured in).
    """

    satellite: int = Field(ge=0, description="GOES satellite number (16, 18...).")
    energy: str = Field(description="Energy band as given (0.1-0.8nm, 0.05-0.4nm).")
    band: Literal["long", "short"] | None = Field(
        description="long (0.1-0.8 nm) or short (0.05-0.4 nm); None for another band."
    )
    flux: float = Field(description="Flux in W/m², electron-corrected.")
    observed_flux: float | None = Field(description="Uncorrected flux, W/m².")
    electron_correction: float | None = Field(
        description="Correction subtracted for electron contamination, W/m²."
    )
    electron_contamination: bool | None = Field(
        description="Whether electrons contaminated the sample (upstream spells the "
        "field 'electron_contaminaton')."
    )
    xray_class: str | None = Field(
        description="Flare class of the flux (C1.4), long band only; None otherwise "
        "or when the flux is not positive."
    )
    extra: dict[str, Any] = Field(description="Row members not listed above.")


class XrayFlare(SpaceData):
    """The ``data`` of ``central.space.xray-flare``: an upward threshold crossing.

    Derived from two consecutive long-band samples of one satellite in one payload:
    the earlier below the threshold, the later at or above it.  The CloudEvent
    ``time`` is the later sample's time tag.
    """

    threshold: Literal["M1", "X1"] = Field(description="The class threshold crossed.")
    threshold_flux: float = Field(description="The threshold, W/m² (1e-5, 1e-4).")
    satellite: int = Field(ge=0, description="GOES satellite number.")
    energy: str = Field(description="Energy band as given (0.1-0.8nm).")
    flux: float = Field(description="Flux of the first sample at or above, W/m².")
    xray_class: str | None = Field(description="Flare class of that flux (M1.2).")
    previous_time: UtcDatetime = Field(description="Time tag of the sample before.")
    previous_flux: float = Field(description="Flux of the sample before, W/m².")


class SolarWindPlasma(SpaceData):
    """The ``data`` of ``central.space.solar-wind-plasma``: one minute of plasma.

    A value the product gives as null (a gap in the real-time data) stays None.
    ``source`` and ``active`` come from the RTSW product only; the older plasma
    product names no spacecraft.
    """

    density: float | None = Field(ge=0, description="Proton density, 1/cm³.")
    speed: float | None = Field(ge=0, description="Proton bulk speed, km/s.")
    temperature: float | None = Field(ge=0, description="Proton temperature, K.")
    source: str | None = Field(
        description="Spacecraft that measured the row (DSCOVR, ACE, SOLAR1...)."
    )
    active: bool | None = Field(
        description="Whether SWPC took that spacecraft as the operational one then."
    )
    extra: dict[str, Any] = Field(description="Row columns not listed above.")


DATA_MODELS: Final[dict[str, type[SpaceData]]] = {
    event_type(ALERT): SpaceAlert,
    event_type(KP_INDEX): KpIndex,
    event_type(KP_INDEX_1M): KpMinute,
    event_type(XRAY_FLUX): XrayFlux,
    event_type(XRAY_FLARE): XrayFlare,
    event_type(SOLAR_WIND_PLASMA): SolarWindPlasma,
}

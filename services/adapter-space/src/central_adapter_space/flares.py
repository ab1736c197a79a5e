"""Flare events derived from GOES X-ray samples: M1 and X1 threshold crossings.

A flare's class is the peak long-band (0.1-0.8 nm) flux: C below 1e-5 W/m², M from
1e-5, X from 1e-4.  :func:`crossings` finds every place in one payload where a
satellite's long-band flux goes from below a threshold to at or above it between
two consecutive samples, and :func:`normalize` turns each into a
``central.space.xray-flare`` event.

Determinism: the samples are grouped by satellite and ordered by time tag, so the
same payload always yields the same crossings in the same order whatever its row
order.  The subject is ``goes-<satellite>/<band>/<threshold>/<time tag>`` (the
first sample at or above the threshold) and the id's revision a hash of the
``data``, so a crossing seen again in the next poll's overlapping window is the
same event, and JetStream and the adapter's state drop the repeat.

Across payload boundaries: a crossing is only found when both of its samples are
in one payload.  The X-ray products are sliding windows (6 hours for the default
``xrays-6-hour.json``) polled every minute, so a crossing stays inside the window,
with the sample before it, for hours after it happens.

Note: a crossing whose earlier sample has already left the window when it is first
polled (the adapter was down for longer than the window, or a window shorter than
the poll interval) is missed, and a payload that starts above a threshold yields no
crossing for it.  Consecutive means adjacent in the payload, however far apart in
time: samples missing upstream are bridged.  A sample rejected as a record is left
out of the sequence.  A flux that dips below a threshold and crosses it again
counts as a new crossing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Final

from central.feeds import Normalized
from central_adapter_space._common import assemble, tag
from central_adapter_space.models import FLARE_THRESHOLDS, XRAY_FLARE, XrayFlare

SOURCE: Final = "https://www.swpc.noaa.gov/products/goes-x-ray-flux"
LONG_BAND: Final = "0.1-0.8nm"
SHORT_BAND: Final = "0.05-0.4nm"

# Class letters and the flux each starts at, highest first.
_CLASSES: Final = (
    ("X", Decimal("1e-4")),
    ("M", Decimal("1e-5")),
    ("C", Decimal("1e-6")),
    ("B", Decimal("1e-7")),
    ("A", Decimal("1e-8")),
)
_TENTH: Final = Decimal("0.1")


@dataclass(frozen=True)
class Sample:
    """The part of a valid X-ray row that flare detection needs."""

    time: datetime
    satellite: int
    energy: str
    flux: float


@dataclass(frozen=True)
class Crossing:
    """Two consecutive long-band samples on either side of ``threshold``."""

    threshold: str
    satellite: int
    energy: str
    time: datetime
    flux: float
    previous_time: datetime
    previous_flux: float


def band_of(energy: str) -> str | None:
    """``long`` for the 0.1-0.8 nm band, ``short`` for 0.05-0.4 nm, else None."""
    compact = energy.replace(" ", "").lower()
    return {LONG_BAND: "long", SHORT_BAND: "short"}.get(compact)


def flare_class(flux: float) -> str | None:
    """The class of a long-band flux in W/m², cut to one decimal: 1.37e-6 → C1.3.

    None for a flux that is not positive and finite, or 1 W/m² and more (no real
    flux); below A1 the class is ``A0.x``.
    """
    if not (math.isfinite(flux) and 0 < flux < 1):
        return None
    # Decimal from the shortest repr, so 2.3e-06 is C2.3, not C2.2999...
    value = Decimal(repr(flux))
    for letter, start in _CLASSES:
        if value >= start or letter == "A":
            scaled = (value / start).quantize(_TENTH, rounding=ROUND_DOWN)
            return f"{letter}{scaled}"
    return None


def crossings(samples: Iterable[Sample]) -> list[Crossing]:
    """Every upward M1 or X1 crossing among ``samples``' long-band samples.

    A pair of samples crosses a threshold when the earlier flux is below it and
    the later at or above it; one pair can cross both (C9 to X2 in a minute).
    Samples of one satellite with the same time tag are not a pair.  Returned in
    order of time, then satellite, then threshold.
    """
    by_satellite: dict[int, list[Sample]] = {}
    for sample in samples:
        if band_of(sample.energy) == "long":
            by_satellite.setdefault(sample.satellite, []).append(sample)

    found: list[Crossing] = []
    for satellite, series in by_satellite.items():
        series.sort(key=lambda s: (s.time, s.flux))
        for before, after in itertools.pairwise(series):
            if before.time == after.time:
                continue
            for threshold, level in FLARE_THRESHOLDS.items():
                if before.flux < level <= after.flux:
                    found.append(
                        Crossing(
                            threshold=threshold,
                            satellite=satellite,
                            energy=after.energy,
                            time=after.time,
                            flux=after.flux,
                            previous_time=before.time,
                            previous_flux=before.flux,
                        )
                    )
    found.sort(key=lambda c: (c.time, c.satellite, FLARE_THRESHOLDS[c.threshold]))
    return found


def subject_of(crossing: Crossing) -> str:
    """``goes-18/0.1-0.8nm/M1/2026-08-20T01:23:00Z``."""
    return (
        f"goes-{crossing.satellite}/{crossing.energy}/{crossing.threshold}/"
        f"{tag(crossing.time)}"
    )


def normalize(crossing: Crossing) -> Normalized:
    """One crossing as a ``central.space.xray-flare`` event at the later sample."""
    fields = {
        "threshold": crossing.threshold,
        "threshold_flux": FLARE_THRESHOLDS[crossing.threshold],
        "satellite": crossing.satellite,
        "energy": crossing.energy,
        "flux": crossing.flux,
        "xray_class": flare_class(crossing.flux),
        "previous_time": crossing.previous_time,
        "previous_flux": crossing.previous_flux,
    }
    return assemble(
        kind=XRAY_FLARE,
        source=SOURCE,
        subject=subject_of(crossing),
        time=crossing.time,
        model=XrayFlare,
        fields=fields,
    )

"""GeoJSON geometry in events' ``data``: positions in WGS84, longitude first.

RFC 7946 positions are ``[longitude, latitude]``; every longitude here lies in
-180..180 and every latitude in -90..90, so the subject cell of an event
(:mod:`central.subjects`) is always computed from a real place.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator


def check_position(lon: float, lat: float) -> None:
    """Raise ValueError unless ``lon`` and ``lat`` are finite and in range.

    The message names the coordinate: ``longitude 200.0 is outside -180..180`` or
    ``latitude nan is outside -90..90``.
    """
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise ValueError(f"longitude {lon} is outside -180..180")
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise ValueError(f"latitude {lat} is outside -90..90")


class Point(BaseModel):
    """A GeoJSON Point (RFC 7946 section 3.1.2): ``[longitude, latitude]``.

    It is two-dimensional: a third position element, which GeoJSON reads as height
    above the ellipsoid, is refused, so a model that knows a height or a depth holds
    it in a field of its own.  An out-of-range position raises a validation error
    naming the coordinate (see :func:`check_position`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float]

    @field_validator("coordinates")
    @classmethod
    def _in_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        check_position(*value)
        return value

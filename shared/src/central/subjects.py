"""NATS subjects for events: ``central.<domain>.<kind>.<provider>.<cell>``.

``<cell>`` is the 3-character geohash of the event's representative point (a point
itself; the centroid of any other geometry) or ``none`` when the event has no
geometry, so a subscriber can filter by region with ``central.quake.*.*.9q8``.
"""

from __future__ import annotations

import re
from typing import Any

import pygeohash
from shapely.errors import ShapelyError
from shapely.geometry import shape

NO_CELL = "none"
CELL_PRECISION = 3
_TOKEN = re.compile(r"^[a-z0-9_-]+$")


def representative_point(geometry: dict[str, Any] | None) -> tuple[float, float] | None:
    """The (lon, lat) used for the subject cell, or None without a usable geometry.

    A Point is its own representative; any other GeoJSON geometry uses its centroid.
    An empty or unparseable geometry yields None rather than an error, since the
    subject cell is a routing hint and ``none`` is a valid cell.
    """
    if not geometry:
        return None
    coords = geometry.get("coordinates")
    if geometry.get("type") == "Point" and isinstance(coords, list) and coords[1:]:
        return float(coords[0]), float(coords[1])
    try:
        shp = shape(geometry)
    except (ShapelyError, KeyError, TypeError, ValueError, AttributeError):
        return None
    if shp.is_empty:
        return None
    centroid = shp.centroid
    return float(centroid.x), float(centroid.y)


def cell(point: tuple[float, float] | None) -> str:
    """The 3-character geohash of ``(lon, lat)``, or ``none``.

    Points outside the valid range of latitude and longitude yield ``none``.
    """
    if point is None:
        return NO_CELL
    lon, lat = point
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        return NO_CELL
    return str(pygeohash.encode(lat, lon, precision=CELL_PRECISION))


def event_subject(
    domain: str, kind: str, provider: str, geometry: dict[str, Any] | None
) -> str:
    """The NATS subject for an event; raises ValueError on a malformed token."""
    for name, token in (("domain", domain), ("kind", kind), ("provider", provider)):
        if not _TOKEN.match(token):
            raise ValueError(f"subject {name} {token!r} must match {_TOKEN.pattern}")
    return f"central.{domain}.{kind}.{provider}.{cell(representative_point(geometry))}"


def status_subject(service: str) -> str:
    """Where ``service`` publishes its status heartbeat."""
    return f"central.meta.status.{service}"


def rejected_subject(service: str) -> str:
    """Where ``service`` publishes each record it rejected."""
    return f"central.meta.rejected.{service}"

"""Real-time solar-wind plasma: the RTSW wind product and its predecessors.

Two generations of the product are read:

- ``json/rtsw/rtsw_wind_1m.json``, the current one: objects with ``time_tag``,
  ``source`` (the spacecraft: ``DSCOVR``, ``ACE``, ``SOLAR1``...), ``active``
  (whether SWPC took that spacecraft as the operational one at the time),
  ``proton_density``, ``proton_speed``, ``proton_temperature`` and more columns
  (velocity components, alpha particles, ``overall_quality``).  Each minute has
  one row per spacecraft;
- ``products/solar-wind/plasma-*.json``, which SWPC announced for retirement in
  2026 in favour of the first (NWS Service Change Notice 26-21): one row per
  minute with ``time_tag``, ``density``, ``speed`` and ``temperature``, as a
  header row with string values
  (``["2024-05-01 18:10:00.000","7.78","357.6","20863"]``) or as objects with
  numbers (see :mod:`central_adapter_space._common`).

One row becomes one ``central.space.solar-wind-plasma`` event:

- ``source`` is :data:`SOURCE` whatever product or window the feed is configured
  with;
- ``subject`` is ``plasma/<spacecraft>/<time tag>`` for a row that names its
  spacecraft, ``plasma/<time tag>`` for one that does not (the older product);
- ``id`` is built from ``swpc``, that subject and a hash of the normalized
  ``data`` (no updated-time upstream), so a minute whose values SWPC fills in or
  revises later, or whose ``active`` flag changes, is a new event under the same
  subject;
- ``time`` is ``time_tag``.

Upstream quirks handled: gaps in the real-time data are ``null`` values, one, two
or all three in a row; each stays None, and a row of nulls is still an event, so a
consumer can tell a gap from a missing row.

Note: the older product does not say which spacecraft measured a row, so its
``data.source`` and ``data.active`` are None.  The columns of the RTSW product
beyond the three values, ``source`` and ``active`` are kept in ``data.extra``
without interpretation (``overall_quality`` included).
"""

from __future__ import annotations

import re
from typing import Any, Final

from central.feeds import Normalized
from central_adapter_space._common import Row, assemble, load_rows, tag
from central_adapter_space.models import SOLAR_WIND_PLASMA, SolarWindPlasma

FEED: Final = "swpc-solarwind"
SOURCE: Final = "https://www.swpc.noaa.gov/products/real-time-solar-wind"

_VALUES: Final = ("density", "speed", "temperature")
_COLUMNS: Final = [
    ("time_tag",),
    *((name, f"proton_{name}") for name in _VALUES),
]
# A spacecraft name goes into the subject, so no "/" and nothing long.
_SPACECRAFT: Final = re.compile(r"[0-9A-Za-z_.\-]{1,32}", re.ASCII)


def parse(body: bytes) -> list[Any]:
    """The rows of a plasma payload, in any of its shapes.

    Raises :class:`~central.errors.FeedFormatError` when ``body`` is not a JSON
    array of rows whose columns include ``time_tag`` and the density, speed and
    temperature (``density`` or ``proton_density``, and so on).
    """
    return load_rows(body, FEED, _COLUMNS)


def record_id(record: Any) -> str | None:
    """``time_tag``, with ``source`` before it when the row names one, or None."""
    if isinstance(record, dict):
        when, spacecraft = record.get("time_tag"), record.get("source")
        if isinstance(when, str) and when:
            return f"{spacecraft} {when}" if isinstance(spacecraft, str) else when
    return None


def normalize(record: Any) -> Normalized:
    """One plasma row as a ``central.space.solar-wind-plasma`` event.

    A row with a ``proton_*`` value column is an RTSW row and its values are read
    from ``proton_density``, ``proton_speed`` and
    ``proton_temperature``; any other row reads ``density``, ``speed`` and
    ``temperature``.  Each of the three must be present; a null reads as None.
    Raises :class:`~central.errors.RecordError` for a row that is not an object,
    has no valid ``time_tag``, lacks one of the three, has one that is not a
    number or is negative, or names a spacecraft that is not a short name.  Other
    members go to ``data.extra``.
    """
    row = Row(record, record_id(record))
    moment = row.time("time_tag")
    rtsw = any(row.has(f"proton_{name}") for name in _VALUES)
    spacecraft = row.text("source")
    if spacecraft is not None and not _SPACECRAFT.fullmatch(spacecraft):
        row.fail(f"source {spacecraft[:40]!r} is not a spacecraft name")
    where = f"{spacecraft}/" if spacecraft else ""
    subject = f"plasma/{where}{tag(moment)}"
    row.native_id = subject

    fields: dict[str, Any] = {
        name: row.number(f"proton_{name}" if rtsw else name, column=True)
        for name in _VALUES
    }
    fields["source"] = spacecraft
    fields["active"] = row.boolean("active")
    fields["extra"] = row.extra()
    return assemble(
        kind=SOLAR_WIND_PLASMA,
        source=SOURCE,
        subject=subject,
        time=moment,
        model=SolarWindPlasma,
        fields=fields,
    )

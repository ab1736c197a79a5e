"""SWPC planetary K-index: the 1-minute, 3-hourly and 3-hourly forecast products.

One feed reads all three products, in both shapes SWPC has served them (a header
row with string values, or objects with numbers; see
:mod:`central_adapter_space._common`).  Each row is told apart by its columns:

- ``planetary_k_index_1m`` (``time_tag``, ``kp_index``, ``estimated_kp``, ``kp``
  such as ``"1M"``): a ``central.space.kp-index-1m`` event per minute, subject
  ``kp-1m/<time tag>``;
- ``noaa-planetary-k-index`` (``time_tag``, ``Kp``, ``a_running``,
  ``station_count``) and ``noaa-planetary-k-index-forecast`` (``time_tag``,
  ``kp``, ``observed``, ``noaa_scale``): a ``central.space.kp-index`` event per
  3-hour interval, subject ``kp/<start of the interval>``.

Revisions: the rows carry no updated-time, so the id's revision is a hash of the
normalized ``data``.  A forecast row that is ``predicted``, then ``estimated``,
then ``observed`` keeps its subject (the interval) and gets a new id at each change
of status or value; so does a 3-hourly row whose value or station count SWPC
revises.  A row read from the header shape and the same row read from the object
shape give the same id.  The event ``time`` is the row's time tag (for a 3-hour
row, the start of the interval; ``data.interval_end`` is its end).

Upstream quirks handled: the column is ``Kp`` in the 3-hourly product and ``kp`` in
the forecast, so names are matched without regard to case; Kp is a string
(``"4.00"``) in the header shape and a number written with trailing zeros
(``1.00``) in the object shape; time tags come as ``2025-04-04 00:00:00`` and
``2026-07-25T00:00:00``, both UTC without a zone.

Note: the 3-hourly product says nothing of a row's status, so ``data.status`` is
None for it; the 1-minute product's ``kp`` code is kept as given, not converted.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Final

from central.feeds import Normalized
from central_adapter_space._common import Row, assemble, load_rows, tag
from central_adapter_space.models import KP_INDEX, KP_INDEX_1M, KpIndex, KpMinute

FEED: Final = "swpc-kp"
SOURCE: Final = "https://www.swpc.noaa.gov/products/planetary-k-index"
INTERVAL: Final = timedelta(hours=3)

_COLUMNS: Final = [("time_tag",), ("kp", "kp_index", "estimated_kp")]
# Kp in SWPC's thirds notation: a digit, then M (minus a third), Z or P (plus one).
_THIRDS: Final = re.compile(r"([0-9])([MZP])", re.ASCII)
_THIRD_STEPS: Final = {"M": -1, "Z": 0, "P": 1}


def parse(body: bytes) -> list[Any]:
    """The rows of a K-index payload (any of the three products, either shape).

    Raises :class:`~central.errors.FeedFormatError` when ``body`` is not a JSON
    array of rows, or its columns include no ``time_tag`` or no Kp column
    (``kp``/``Kp``, ``kp_index`` or ``estimated_kp``).
    """
    return load_rows(body, FEED, _COLUMNS)


def record_id(record: Any) -> str | None:
    """The row's ``time_tag`` as given, or None."""
    if isinstance(record, dict):
        value = record.get("time_tag")
        if isinstance(value, str) and value:
            return value
    return None


def normalize(record: Any) -> Normalized:
    """One K-index row as a ``kp-index-1m`` or ``kp-index`` event.

    A row with a ``kp_index`` or ``estimated_kp`` column is a 1-minute row; any
    other is a 3-hour row.  Raises :class:`~central.errors.RecordError` for a row
    that is not an object, has no valid ``time_tag``, has no Kp (``kp_index`` for
    1-minute rows), or has a value of the wrong type or outside 0..9.  Columns not
    modelled are kept in ``data.extra``.
    """
    row = Row(record, record_id(record))
    if row.has("kp_index") or row.has("estimated_kp"):
        return _minute(row)
    return _interval(row)


def _interval(row: Row) -> Normalized:
    start = row.time("time_tag")
    subject = f"kp/{tag(start)}"
    row.native_id = subject
    status = row.text("observed")

    fields = {
        "kp": _kp(row),
        "status": status.lower() if status is not None else None,
        "noaa_scale": row.text("noaa_scale"),
        "a_running": row.integer("a_running"),
        "station_count": row.integer("station_count"),
        "interval_end": start + INTERVAL,
        "extra": row.extra(),
    }
    return assemble(
        kind=KP_INDEX,
        source=SOURCE,
        subject=subject,
        time=start,
        model=KpIndex,
        fields=fields,
    )


def _minute(row: Row) -> Normalized:
    moment = row.time("time_tag")
    subject = f"kp-1m/{tag(moment)}"
    row.native_id = subject

    fields = {
        "kp_index": row.integer("kp_index", required=True),
        "estimated_kp": row.number("estimated_kp"),
        "kp_code": row.text("kp"),
        "extra": row.extra(),
    }
    return assemble(
        kind=KP_INDEX_1M,
        source=SOURCE,
        subject=subject,
        time=moment,
        model=KpMinute,
        fields=fields,
    )


def _kp(row: Row) -> float:
    """Kp as a number: ``4.33``, ``"4.33"`` or SWPC's ``"4P"`` (4 and a third)."""
    value = row.value("kp", required=True)
    if isinstance(value, str) and (match := _THIRDS.fullmatch(value.strip())):
        digit, step = match.groups()
        return round(int(digit) + _THIRD_STEPS[step] / 3, 2)
    return row.present(row.number("kp", required=True), "kp")

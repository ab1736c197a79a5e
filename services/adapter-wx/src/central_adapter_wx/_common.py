"""What the NWS and CAP normalizers share beyond :mod:`central.records`.

Both feeds carry CAP alert messages, so the time format, the reading of polygons,
the name/value mappings, the check of values kept as they came and the assembly of
a :class:`WeatherAlert` are the same code.  Every reader raises
:class:`~central.errors.RecordError` naming the field and the bad value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from central import records
from central.errors import RecordError
from central.feeds import Normalized
from central.records import bad
from central_adapter_wx.models import ALERT, DOMAIN, WeatherAlert, event_type

#: How deeply a value kept in ``extra`` may nest; deeper is refused, so that no
#: encoder down the line runs out of stack on it.
MAX_NESTING = 32

# CAP 1.2 section 3.3.2 date-time: seconds and a zone are required ("-00:00" for
# UTC; the NWS API writes "+00:00").  A fraction and a "Z" are accepted as RFC 3339
# allows them, since publishers other than NWS write both.
_DATE_TIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})T"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})",
    re.ASCII,
)
_INT64 = range(-(2**63), 2**63)


def date_time(value: str, key: str, native_id: str) -> datetime:
    """An aware UTC datetime from a CAP date-time such as ``2014-11-05T05:25:00-09:00``.

    Surrounding blanks are ignored and fractional digits beyond the sixth cut off.
    A value without a zone is refused: CAP requires one, and guessing it would
    shift the alert by hours.
    """
    return records.date_time(
        value.strip(),
        key,
        native_id,
        grammar=_DATE_TIME,
        wanted="a date-time with a zone",
    )


def split_codes(values: Iterable[str], name: str) -> list[str]:
    """``values`` with each VTEC value split into its codes, blanks dropped.

    A VTEC value can hold a P-VTEC string and an H-VTEC string on two lines
    (``/O.CON.TJSJ.FF.A.0005.../`` then ``/00000.0.ER.../``); each is a code of its
    own, and a VTEC code never holds a space.  Other names keep each value whole.
    """
    items: list[str] = []
    for value in values:
        parts = value.split() if name == "VTEC" else [value.strip()]
        items.extend(part for part in parts if part)
    return items


def position(lon: Any, lat: Any, key: str, native_id: str) -> tuple[float, float]:
    """``(lon, lat)`` as floats; finite numbers in range, or RecordError."""
    for value in (lon, lat):
        if isinstance(value, bool) or not isinstance(value, int | float):
            bad(key, value, "a number", native_id)
    try:
        point = (float(lon), float(lat))
    except OverflowError:
        bad(key, [lon, lat], "a position in range", native_id)
    if not (math.isfinite(point[0]) and -180.0 <= point[0] <= 180.0):
        bad(key, lon, "a longitude in -180..180", native_id)
    if not (math.isfinite(point[1]) and -90.0 <= point[1] <= 90.0):
        bad(key, lat, "a latitude in -90..90", native_id)
    return point


def ring(positions: list[tuple[float, float]], key: str, native_id: str) -> None:
    """Raise RecordError unless ``positions`` form a closed ring of four or more."""
    if len(positions) < 4:
        bad(key, len(positions), "at least 4 positions in a ring", native_id)
    if positions[0] != positions[-1]:
        raise RecordError(f"{key} ring does not end where it starts", native_id)


def plain_json(value: Any, key: str, native_id: str) -> Any:
    """``value`` when it is plain JSON that any encoder can write back; RecordError.

    Plain means: objects with string keys, arrays, strings, booleans, null, finite
    floats and integers within 64 bits, nested no deeper than :data:`MAX_NESTING`.
    The walk is iterative, so a deep value cannot exhaust the stack here.
    """
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_NESTING:
            bad(key, "...", f"nested at most {MAX_NESTING} deep", native_id)
        if isinstance(item, dict):
            for name, child in item.items():
                if not isinstance(name, str):
                    bad(key, name, "an object with string keys", native_id)
                pending.append((child, depth + 1))
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
        elif isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        elif isinstance(item, int):
            if item not in _INT64:
                bad(key, item, "an integer within 64 bits", native_id)
        elif isinstance(item, float):
            if not math.isfinite(item):
                bad(key, item, "a finite number", native_id)
        else:
            bad(key, item, "a JSON value", native_id)
    return value


def sorted_mapping(pairs: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """``pairs`` with its names in sorted order, so key order upstream is moot."""
    return {name: pairs[name] for name in sorted(pairs)}


def assemble(
    *,
    provider: str,
    source: str,
    native_id: str,
    revision: str,
    time: datetime,
    fields: dict[str, Any],
) -> Normalized:
    """Validate ``fields`` as :class:`WeatherAlert` and wrap them in a CloudEvent.

    The event id is ``event_id(provider, native_id, revision)``, the subject is
    ``native_id`` and the NATS subject's cell comes from the alert's geometry
    (``none`` without one).  A field the model refuses raises RecordError naming
    it (see :func:`central.records.assemble`).
    """
    return records.assemble(
        WeatherAlert,
        fields,
        domain=DOMAIN,
        kind=ALERT,
        type=event_type(ALERT),
        provider=provider,
        source=source,
        subject=native_id,
        time=time,
        revision=revision,
    )

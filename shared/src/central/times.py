"""Upstream date-times, read into aware UTC datetimes.

Providers write date-times in dialects of RFC 3339 and ISO 8601: a space for the
``T``, no zone (meaning UTC), one to nine fractional digits, a zone offset without
its colon.  What a feed accepts is its *grammar*, a compiled pattern with the named
groups ``year``, ``month``, ``day``, ``hour``, ``minute``, ``second``, ``fraction``
and ``zone``; :func:`utc_time` turns a match of any grammar into a datetime, so
that only the grammar differs from feed to feed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

#: RFC 3339 date-time as most JSON feeds write it: seconds required, one to nine
#: fractional digits, ``T``, ``t`` or a space between date and time (RFC 3339
#: section 5.6 allows the space), and a zone that may be left out to mean UTC.
RFC3339: Final = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt ]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?"
    r"(?P<zone>[Zz]|[+-]\d{2}:\d{2})?",
    re.ASCII,
)

_MONTH_NAMES: Final = (
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
)
_MONTHS: Final = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}


def utc_time(match: re.Match[str]) -> datetime:
    """The aware UTC datetime a match of a date-time grammar names.

    ``second``, ``fraction`` and ``zone`` may be absent from the match: seconds
    default to 0 and a missing zone means UTC.  ``zone`` is ``Z``/``z``, ``±hh:mm``
    or ``±hhmm``.  Fractional digits beyond the sixth are cut off, since datetime
    holds microseconds.

    Raises ValueError when the fields name no moment: a day or hour out of range
    (``2025-02-30``), a zone offset of a day or more, or a moment that falls outside
    the years datetime holds once moved to UTC.

    Note: minutes of a zone offset are not checked against 59; ``+05:99`` is read as
    six hours and 39 minutes.
    """
    fields = match.groupdict()
    fraction = fields.get("fraction") or "0"
    try:
        moment = datetime(
            int(fields["year"]),
            int(fields["month"]),
            int(fields["day"]),
            int(fields["hour"]),
            int(fields["minute"]),
            int(fields.get("second") or 0),
            int(fraction[:6].ljust(6, "0")),
            tzinfo=_zone(fields.get("zone")),
        )
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"{match.group()!r} is outside the years held") from exc


def month_number(name: str) -> int | None:
    """1 to 12 for an English month abbreviation (``Jan``, ``may``), else None."""
    return _MONTHS.get(name.lower())


def _zone(zone: str | None) -> timezone:
    if not zone or zone in ("Z", "z"):
        return UTC
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    # timezone() itself raises ValueError for an offset of a day or more.
    return timezone(-offset if zone[0] == "-" else offset)

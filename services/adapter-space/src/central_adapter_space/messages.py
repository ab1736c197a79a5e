"""The text of an SWPC space-weather message, read into its parts.

An SWPC message (the ``message`` of each record of ``products/alerts.json``) is
fixed-format text::

    Space Weather Message Code: ALTK05
    Serial Number: 1752
    Issue Time: 2025 Apr 16 2140 UTC

    ALERT: Geomagnetic K-index of 5
     Threshold Reached: 2025 Apr 16 2136 UTC
    Synoptic Period: 2100-2400 UTC
    NOAA Scale: G1 - Minor

    NOAA Space Weather Scale descriptions can be found at
    www.swpc.noaa.gov/noaa-scales-explanation

    Potential Impacts: Area of impact primarily poleward of 60 degrees ...
    Induced Currents - Weak power grid fluctuations can occur.

:func:`read_message` splits it into the first heading (an upper-case word or words
before a colon: ALERT, WARNING, EXTENDED WARNING, CONTINUED ALERT, SUMMARY, WATCH,
CANCEL WARNING, CANCEL ALERT...), the ``Key: value`` lines, a watch's predicted
levels by day, and the free-text Potential Impacts and Description paragraphs.

Upstream quirks handled: line breaks are CRLF in older messages and a mix of CRLF
and bare LF in newer ones; some lines start with a space (`` Threshold Reached:``)
or end with one (``WARNING: ... expected ``); key spellings and case drift
(``NOAA Scale`` / ``Noaa Scale``, ``Warning Condition`` / ``Warning Conditions``,
``Estimated Velocity`` / ``Estimate Velocity``, ``X-ray Class`` / ``Xray Class``,
``Maximum Time`` / ``Max time``), so keys are folded to one snake-case spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Final

from central.times import month_number

# "2025 Apr 16 2313 UTC", the one time format of the message text.
_MESSAGE_TIME: Final = re.compile(
    r"(\d{4}) ([A-Za-z]{3}) (\d{1,2}) (\d{2}):?(\d{2})(?: UTC)?", re.ASCII
)
_HEADING: Final = re.compile(r"([A-Z][A-Z ]*[A-Z]):\s*(.*)")
_KEY_VALUE: Final = re.compile(r"([A-Za-z][A-Za-z0-9 ()/.\-]{0,60}?)\s*:\s*(.*)")
_DAY_LEVEL: Final = re.compile(r"\b([A-Z][a-z]{2}) (\d{1,2}):\s+(G[1-5]|None)\b")
_SCALE: Final = re.compile(r"\b([GSR][1-5])\b")
_K_INDEX: Final = re.compile(r"K-index of (\d)\b", re.IGNORECASE)
_WATCH_CATEGORY: Final = re.compile(r"Category (G[1-5]) Predicted", re.IGNORECASE)
_SERIAL: Final = re.compile(r"\d{1,9}", re.ASCII)
# Older and newer spellings of the same key, folded onto one.
_ALIASES: Final = {
    "warning_conditions": "warning_condition",
    "estimate_velocity": "estimated_velocity",
    "x_ray_class": "xray_class",
    "max_time": "maximum_time",
}
_IMPACTS: Final = "potential_impacts"
_DESCRIPTION: Final = "description"


@dataclass(frozen=True)
class Message:
    """The parts of one message; see :func:`read_message`."""

    heading: str | None = None
    headline: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    by_day: list[tuple[str, int, str | None]] = field(default_factory=list)
    impacts: str | None = None
    description: str | None = None


def key_name(key: str) -> str:
    """A key in snake case, spellings folded: ``X-ray Class`` → ``xray_class``."""
    name = "_".join(re.findall(r"[a-z0-9]+", key.lower()))
    return _ALIASES.get(name, name)


def read_message(text: str) -> Message:
    """Split message ``text`` into heading, ``Key: value`` fields and paragraphs.

    The heading is the first line that is an upper-case word or words followed by a
    colon; its rest is the headline.  Every other ``Key: value`` line before the
    Potential Impacts paragraph is a field; the first occurrence of a key wins and
    a key with an empty value is left out.  ``Potential Impacts:`` starts a
    paragraph that runs to the end of the text; ``Description:`` one that runs to
    the next blank line.  ``by_day`` holds ``(month, day, level)`` for each day
    listed after ``Highest Storm Level Predicted by Day:``; level None stands for
    "None (Below G1)".  Never raises: text that fits none of these is skipped.
    """
    heading: str | None = None
    headline: str | None = None
    fields: dict[str, str] = {}
    by_day: list[tuple[str, int, str | None]] = []
    description: list[str] | None = None
    lines = [line.strip() for line in text.splitlines()]

    for index, line in enumerate(lines):
        if description is not None:
            if not line:
                break
            description.append(line)
            continue
        if heading is None and (match := _HEADING.fullmatch(line)):
            heading, headline = match.group(1), match.group(2).strip() or None
            continue
        match = _KEY_VALUE.fullmatch(line)
        # "http://..." is a link, not a key named "http".
        if match is None or match.group(2).startswith("//"):
            by_day += _day_levels(line)
            continue
        key, value = key_name(match.group(1)), match.group(2).strip()
        if key == _IMPACTS:
            impacts = "\n".join([value, *lines[index + 1 :]]).strip()
            return Message(heading, headline, fields, by_day, impacts or None, None)
        if key == _DESCRIPTION:
            description = [value] if value else []
            continue
        if _DAY_LEVEL.search(line):
            by_day += _day_levels(line)
        elif value and key not in fields:
            fields[key] = value

    paragraph = "\n".join(description).strip() if description is not None else None
    return Message(heading, headline, fields, by_day, None, paragraph or None)


def _day_levels(line: str) -> list[tuple[str, int, str | None]]:
    return [
        (month, int(day), None if level == "None" else level)
        for month, day, level in _DAY_LEVEL.findall(line)
    ]


def message_time(text: str | None) -> datetime | None:
    """``2025 Apr 16 2313 UTC`` as an aware UTC datetime; None if not such a time."""
    if text is None or (match := _MESSAGE_TIME.fullmatch(text.strip())) is None:
        return None
    year, month, day, hour, minute = match.groups()
    number = month_number(month)
    if number is None:
        return None
    try:
        return datetime(int(year), number, int(day), int(hour), int(minute), tzinfo=UTC)
    except ValueError:
        return None


def day_of(month: str, day: int, issued: datetime | None) -> date | None:
    """The date of a watch's ``Apr 16`` column, the year taken from ``issued``.

    A watch looks at most a few days ahead, so a month that lies before the issue
    month by more than half a year belongs to the next year (a watch issued on
    30 Dec listing ``Jan 01``).  None when there is no issue time or no such date.
    """
    number = month_number(month)
    if issued is None or number is None:
        return None
    year = issued.year + (1 if number - issued.month < -6 else 0)
    try:
        return date(year, number, day)
    except ValueError:
        return None


def scale_level(text: str | None) -> str | None:
    """The first NOAA scale level (``G4``, ``S1``, ``R2``) in ``text``, or None."""
    if text is None or (match := _SCALE.search(text)) is None:
        return None
    return match.group(1)


def k_index(headline: str | None) -> int | None:
    """The K-index a headline names (``Geomagnetic K-index of 8, 9-`` → 8)."""
    if headline is None or (match := _K_INDEX.search(headline)) is None:
        return None
    return int(match.group(1))


def watch_category(headline: str | None) -> str | None:
    """The G level of a storm watch headline (``Category G3 Predicted`` → G3)."""
    if headline is None or (match := _WATCH_CATEGORY.search(headline)) is None:
        return None
    return match.group(1).upper()


def serial(text: str | None) -> int | None:
    """A serial number field as an int; None if it is not one."""
    if text is None or not _SERIAL.fullmatch(text.strip()):
        return None
    return int(text.strip())

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from central.times import RFC3339, month_number, utc_time

# A grammar of another feed: seconds optional, a zone offset with or without colon.
LOOSE = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})T(?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2}))?(?P<zone>Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)


def _match(pattern: re.Pattern[str], text: str) -> re.Match[str]:
    match = pattern.fullmatch(text)
    assert match is not None, text
    return match


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-04-26T12:59:28Z", datetime(2025, 4, 26, 12, 59, 28, tzinfo=UTC)),
        ("2025-04-26 12:59:28", datetime(2025, 4, 26, 12, 59, 28, tzinfo=UTC)),
        ("2025-04-26t12:59:28z", datetime(2025, 4, 26, 12, 59, 28, tzinfo=UTC)),
        (
            "2025-04-26T12:59:28.0Z",
            datetime(2025, 4, 26, 12, 59, 28, 0, tzinfo=UTC),
        ),
        (
            "2025-04-26T12:59:47.302931987Z",
            datetime(2025, 4, 26, 12, 59, 47, 302931, tzinfo=UTC),
        ),
        (
            "2014-11-05T05:25:00-09:00",
            datetime(2014, 11, 5, 14, 25, tzinfo=UTC),
        ),
        (
            "2014-11-05T05:25:00+05:30",
            datetime(2014, 11, 4, 23, 55, tzinfo=UTC),
        ),
    ],
    ids=["z", "space-no-zone", "lower-case", "one-digit", "nine-digit", "west", "east"],
)
def test_utc_time_reads_rfc3339_into_aware_utc(text: str, expected: datetime) -> None:
    moment = utc_time(_match(RFC3339, text))

    assert moment == expected
    assert moment.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-02T13:30Z", datetime(2025, 11, 2, 13, 30, tzinfo=UTC)),
        ("2025-11-02T13:30:05+0100", datetime(2025, 11, 2, 12, 30, 5, tzinfo=UTC)),
        ("2025-11-02T13:30", datetime(2025, 11, 2, 13, 30, tzinfo=UTC)),
    ],
    ids=["no-seconds", "compact-zone", "no-zone"],
)
def test_utc_time_defaults_groups_the_grammar_leaves_out(
    text: str, expected: datetime
) -> None:
    assert utc_time(_match(LOOSE, text)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-02-30T00:00:00Z", r"day is out of range for month"),
        ("2025-01-01T24:00:00Z", r"hour must be in 0..23"),
        ("2022-07-19T00:00:00+99:00", r"offset must be a timedelta strictly between"),
        ("0001-01-01T00:00:00+01:00", r"^'0001-01-01T00:00:00\+01:00' is outside the"),
        ("9999-12-31T23:59:59-01:00", r"^'9999-12-31T23:59:59-01:00' is outside the"),
    ],
    ids=["february-30", "hour-24", "zone-99h", "before-year-1", "after-year-9999"],
)
def test_utc_time_raises_value_error_when_fields_name_no_moment(
    text: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        utc_time(_match(RFC3339, text))


@pytest.mark.parametrize(
    "text",
    ["2025-04-26T12:59Z", "20250426T125928Z", "2025-04-26", "2025-04-26T12:59:28+0100"],
    ids=["no-seconds", "basic-format", "date-only", "compact-zone"],
)
def test_rfc3339_matches_nothing_when_dialect_differs(text: str) -> None:
    assert RFC3339.fullmatch(text) is None


@pytest.mark.parametrize(
    ("name", "number"),
    [("Jan", 1), ("may", 5), ("DEC", 12), ("Mai", None), ("June", None)],
    ids=["jan", "lower", "upper", "german", "full-name"],
)
def test_month_number_reads_english_abbreviation_in_any_case(
    name: str, number: int | None
) -> None:
    assert month_number(name) == number

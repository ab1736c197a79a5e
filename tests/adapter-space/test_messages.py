from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central_adapter_space.messages import (
    day_of,
    k_index,
    key_name,
    message_time,
    read_message,
    scale_level,
    serial,
    watch_category,
)

WATCH = (
    "Space Weather Message Code: WATA50\r\nSerial Number: 86\r\n"
    "Issue Time: 2025 Apr 15 1524 UTC\r\n\r\n"
    "WATCH: Geomagnetic Storm Category G3 Predicted\r\n\r\n"
    "Highest Storm Level Predicted by Day:\r\n"
    "Apr 16:  G3 (Strong)   Apr 17:  G1 (Minor)   Apr 18:  None (Below G1)\r\n\r\n"
    "THIS SUPERSEDES ANY/ALL PRIOR WATCHES IN EFFECT\r\n\r\n"
    "Potential Impacts: Area of impact primarily poleward of 50 degrees.\r\n"
    "Radio - HF (high frequency) radio may be intermittent."
)


def test_read_message_splits_heading_fields_levels_and_impacts() -> None:
    message = read_message(WATCH)

    assert message.heading == "WATCH"
    assert message.headline == "Geomagnetic Storm Category G3 Predicted"
    assert message.fields == {
        "space_weather_message_code": "WATA50",
        "serial_number": "86",
        "issue_time": "2025 Apr 15 1524 UTC",
    }
    assert message.by_day == [("Apr", 16, "G3"), ("Apr", 17, "G1"), ("Apr", 18, None)]
    assert message.impacts == (
        "Area of impact primarily poleward of 50 degrees.\n"
        "Radio - HF (high frequency) radio may be intermittent."
    )
    assert message.description is None


def test_read_message_strips_leading_space_of_indented_line() -> None:
    message = read_message("ALERT: Geomagnetic K-index of 5\r\n Threshold Reached: x")

    assert message.fields == {"threshold_reached": "x"}


def test_read_message_keeps_first_value_when_key_repeats() -> None:
    message = read_message("Noaa Scale: G1 - Minor\nComment: \r\nNOAA Scale: G2")

    assert message.fields == {"noaa_scale": "G1 - Minor"}


def test_read_message_ends_description_at_blank_line() -> None:
    message = read_message("Description: Type IV emissions\noccur.\n\nStation: X")

    assert message.description == "Type IV emissions\noccur."
    assert message.fields == {}


def test_read_message_skips_link_when_line_is_url() -> None:
    assert read_message("http://www.swpc.noaa.gov/products").fields == {}


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("Space Weather Message Code", "space_weather_message_code"),
        ("X-ray Class", "xray_class"),
        ("Xray Class", "xray_class"),
        ("Warning Conditions", "warning_condition"),
        ("Estimate Velocity", "estimated_velocity"),
        ("Max time", "maximum_time"),
        ("Yesterday Maximum 2MeV Flux", "yesterday_maximum_2mev_flux"),
    ],
)
def test_key_name_folds_spellings_into_snake_case(key: str, name: str) -> None:
    assert key_name(key) == name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025 Apr 16 2313 UTC", datetime(2025, 4, 16, 23, 13, tzinfo=UTC)),
        (" 2025 Apr 05 1225 UTC ", datetime(2025, 4, 5, 12, 25, tzinfo=UTC)),
        ("2025 Feb 30 1225 UTC", None),
        ("2025 Foo 01 1225 UTC", None),
        ("1800-2100 UTC", None),
        (None, None),
    ],
    ids=["plain", "padded", "no-such-day", "no-such-month", "period", "none"],
)
def test_message_time_reads_utc_time_or_none(
    text: str | None, expected: datetime | None
) -> None:
    assert message_time(text) == expected


@pytest.mark.parametrize(
    ("month", "day", "issued", "expected"),
    [
        ("Apr", 16, datetime(2025, 4, 15, tzinfo=UTC), date(2025, 4, 16)),
        ("Jan", 1, datetime(2025, 12, 30, tzinfo=UTC), date(2026, 1, 1)),
        ("Dec", 31, datetime(2025, 12, 30, tzinfo=UTC), date(2025, 12, 31)),
        ("Feb", 30, datetime(2025, 2, 27, tzinfo=UTC), None),
        ("Apr", 16, None, None),
    ],
    ids=["same-year", "next-year", "december", "no-such-day", "no-issue"],
)
def test_day_of_infers_year_from_issue_time(
    month: str, day: int, issued: datetime | None, expected: date | None
) -> None:
    assert day_of(month, day, issued) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("G4 - Severe", "G4"),
        ("G3 or greater", "G3"),
        ("S1 - Minor", "S1"),
        ("R2 - Moderate", "R2"),
        ("G0", None),
        (None, None),
    ],
)
def test_scale_level_reads_first_level(text: str | None, expected: str | None) -> None:
    assert scale_level(text) == expected


@pytest.mark.parametrize(
    ("headline", "expected"),
    [
        ("Geomagnetic K-index of 8, 9-", 8),
        ("Geomagnetic K-Index of 6 expected", 6),
        ("Geomagnetic K-index of 7 or greater expected", 7),
        ("Type II Radio Emission", None),
        (None, None),
    ],
)
def test_k_index_reads_index_named_in_headline(
    headline: str | None, expected: int | None
) -> None:
    assert k_index(headline) == expected


def test_watch_category_reads_level_of_storm_watch() -> None:
    assert watch_category("Geomagnetic Storm Category G2 Predicted") == "G2"
    assert watch_category("Geomagnetic K-index of 4 expected") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("576", 576), (" 2023 ", 2023), ("57a", None), ("1" * 10, None), (None, None)],
)
def test_serial_reads_number_or_none(text: str | None, expected: int | None) -> None:
    assert serial(text) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=80),
            st.sampled_from(
                [
                    "Serial Number: 12",
                    "ALERT: x",
                    "Potential Impacts:",
                    "Description:",
                    "Apr 16:  G9 (x)",
                    "Jan 31:  G1 (Minor)",
                    " : ",
                ]
            ),
        ),
        max_size=12,
    ),
    st.sampled_from(["\r\n", "\n", "\r"]),
)
def test_read_message_never_raises_when_text_is_arbitrary(
    lines: list[str], newline: str
) -> None:
    message = read_message(newline.join(lines))

    assert all(isinstance(v, str) and v for v in message.fields.values())
    assert all(level is None or level[0] == "G" for _, _, level in message.by_day)

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from pydantic import Field

from central.errors import RecordError
from central.geo import Point
from central.ids import content_revision, event_id
from central.models import DataModel, UtcDatetime
from central.records import (
    QUOTE_CHARS,
    assemble,
    bad,
    date_time,
    decimal,
    id_of,
    integer,
    is_finite_number,
    number,
    quote,
    required,
    stripped,
    text,
)

RECORD: dict[str, Any] = {
    "name": "  Chalk Mountain  ",
    "empty": "",
    "blank": "   ",
    "mag": 4.6,
    "felt": 12,
    "whole": 12.0,
    "huge": 2**60,
    "flag": True,
    "none": None,
    "list": ["x"],
}


class Reading(DataModel):
    """A small data model to assemble events of."""

    value: float = Field(ge=0)
    observed: UtcDatetime
    geometry: Point | None = None


def test_quote_returns_repr_when_value_is_short() -> None:
    assert quote("4.6") == "'4.6'"


def test_quote_cuts_repr_to_limit_when_value_is_long() -> None:
    shown = quote("x" * 100_000)

    assert len(shown) == QUOTE_CHARS
    assert shown == "'" + "x" * (QUOTE_CHARS - 4) + "..."
    assert quote("x" * 100, limit=10) == "'xxxxxx..."


def test_quote_names_json_type_when_value_is_nested_too_deep_for_repr() -> None:
    value: list[Any] = []
    for _ in range(100_000):
        value = [value]

    assert quote(value) == "<a deeply nested array>"


def test_bad_raises_record_error_naming_key_value_and_record() -> None:
    with pytest.raises(
        RecordError, match=r"^mag '4\.6' is not a finite number \(record us1\)$"
    ) as caught:
        bad("mag", "4.6", "a finite number", "us1")

    assert (caught.value.reason, caught.value.native_id) == (
        "mag '4.6' is not a finite number",
        "us1",
    )


def test_bad_raises_record_error_with_value_cut_to_limit() -> None:
    with pytest.raises(RecordError, match=r"^version '6{6}\.\.\. is not a version$"):
        bad("version", "6" * 40, "a version", None, limit=10)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"id": "us7000lx97"}, "us7000lx97"),
        ({"id": ""}, None),
        ({"id": 7}, None),
        ({}, None),
        (["us7000lx97"], None),
        (None, None),
    ],
    ids=["string", "empty", "number", "missing", "array", "null"],
)
def test_id_of_returns_non_empty_string_member_or_none(
    record: Any, expected: str | None
) -> None:
    assert id_of(record, "id") == expected


def test_required_returns_value_when_present() -> None:
    assert required(0, "felt", "us1") == 0


def test_required_raises_record_error_when_value_is_none() -> None:
    with pytest.raises(RecordError, match=r"^record has no time \(record us1\)$"):
        required(None, "time", "us1")


@pytest.mark.parametrize(
    ("key", "expected"),
    [("name", "  Chalk Mountain  "), ("blank", "   "), ("empty", None), ("none", None)],
    ids=["as-given", "blank-kept", "empty", "null"],
)
def test_text_returns_string_as_given(key: str, expected: str | None) -> None:
    assert text(RECORD, key, "r1") == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [("name", "Chalk Mountain"), ("blank", None), ("empty", None), ("missing", None)],
    ids=["trimmed", "blank", "empty", "missing"],
)
def test_stripped_returns_string_without_surrounding_blanks(
    key: str, expected: str | None
) -> None:
    assert stripped(RECORD, key, "r1") == expected


@pytest.mark.parametrize("read", [text, stripped], ids=["text", "stripped"])
def test_string_readers_raise_record_error_when_member_is_not_a_string(
    read: Any,
) -> None:
    with pytest.raises(RecordError, match=r"^list \['x'\] is not a string \(record r1"):
        read(RECORD, "list", "r1")


def test_number_returns_float_when_member_is_finite_number() -> None:
    assert number(RECORD, "felt", "r1") == 12.0
    assert isinstance(number(RECORD, "felt", "r1"), float)
    assert number(RECORD, "none", "r1") is None


@pytest.mark.parametrize(
    ("value", "shown"),
    [("4.6", "'4.6'"), (True, "True"), (float("nan"), "nan"), (10**400, "1000")],
    ids=["string", "boolean", "nan", "huge-int"],
)
def test_number_raises_record_error_when_member_is_not_finite_number(
    value: Any, shown: str
) -> None:
    with pytest.raises(RecordError, match=rf"^mag {shown}.* is not a finite number"):
        number({"mag": value}, "mag", "r1")


def test_integer_returns_int_when_member_is_integral() -> None:
    assert integer(RECORD, "felt", "r1") == 12
    assert integer(RECORD, "whole", "r1") == 12
    assert isinstance(integer(RECORD, "whole", "r1"), int)
    assert integer(RECORD, "huge", "r1") == 2**60
    assert integer(RECORD, "missing", "r1") is None


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"felt": 2.5}, r"^felt 2\.5 is not an integer"),
        ({"felt": "12"}, r"^felt '12' is not an integer"),
        ({"felt": True}, r"^felt True is not an integer"),
        ({"felt": 2**60}, r"^felt 1152921504606846976 is not an integer"),
        ({"felt": 2.0**60}, r"^felt 1152921504606846976 is not an integer"),
    ],
    ids=["fraction", "string", "boolean", "beyond-largest", "whole-float-beyond"],
)
def test_integer_raises_record_error_when_member_is_not_integer_in_range(
    record: dict[str, Any], message: str
) -> None:
    with pytest.raises(RecordError, match=message):
        integer(record, "felt", "r1", largest=2**53 - 1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, True),
        (-4.5, True),
        (True, False),
        (float("inf"), False),
        (float("nan"), False),
        (10**400, False),
        ("1", False),
        (None, False),
    ],
    ids=["zero", "float", "boolean", "inf", "nan", "huge-int", "string", "null"],
)
def test_is_finite_number_accepts_finite_int_and_float_only(
    value: Any, expected: bool
) -> None:
    assert is_finite_number(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("4.00", 4.0),
        (" -1e-05 ", -1e-05),
        (".5", 0.5),
        ("7.", 7.0),
        ("1e999", float("inf")),
        ("nan", None),
        ("inf", None),
        ("1_000", None),
        ("0x1F", None),
        ("", None),
        ("4,5", None),
    ],
    ids=[
        "trailing-zeros",
        "exponent-blanks",
        "leading-dot",
        "trailing-dot",
        "overflow",
        "nan",
        "inf",
        "underscore",
        "hex",
        "empty",
        "comma",
    ],
)
def test_decimal_reads_decimal_strings_only(value: str, expected: float | None) -> None:
    assert decimal(value) == expected


def test_date_time_returns_aware_utc_when_value_matches_grammar() -> None:
    moment = date_time("2025-04-26T14:59:28.12+02:00", "time", "r1")

    assert moment == datetime(2025, 4, 26, 12, 59, 28, 120000, tzinfo=UTC)
    assert moment.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("26/04/2025 12:59:28", r"^time '26/04/2025 12:59:28' is not an RFC 3339 "),
        (1745672368, r"^time 1745672368 is not an RFC 3339 date-time"),
        (
            "2025-02-30T12:59:28Z",
            r"^time '2025-02-30T12:59:28Z' is not a valid calendar date-time",
        ),
        (
            "2022-07-19T00:00:00+99:00",
            r"^time '2022-07-19T00:00:00\+99:00' is not a valid calendar date-time",
        ),
        (
            "0001-01-01T00:00:00+01:00",
            r"^time '0001-01-01T00:00:00\+01:00' is not a valid calendar date-time",
        ),
    ],
    ids=["other-format", "number", "february-30", "zone-99h", "before-year-1"],
)
def test_date_time_raises_record_error_when_value_names_no_moment(
    value: Any, message: str
) -> None:
    with pytest.raises(RecordError, match=message):
        date_time(value, "time", "r1")


def test_date_time_raises_record_error_naming_wanted_when_grammar_differs() -> None:
    zoned = re.compile(
        r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})T(?P<hour>\d{2}):"
        r"(?P<minute>\d{2}):(?P<second>\d{2})(?P<zone>Z|[+-]\d{2}:\d{2})"
    )

    with pytest.raises(
        RecordError, match=r"^sent '2024-07-18T12:47:00' is not a date-time with a zone"
    ):
        date_time(
            "2024-07-18T12:47:00",
            "sent",
            "r1",
            grammar=zoned,
            wanted="a date-time with a zone",
        )


def _assemble(fields: dict[str, Any], revision: str | None = "7") -> Any:
    return assemble(
        Reading,
        fields,
        domain="quake",
        kind="earthquake",
        type="central.quake.earthquake",
        provider="usgs",
        source="https://earthquake.usgs.gov/earthquakes/feed/v1.0",
        subject="us1",
        time=datetime(2024, 2, 6, 4, 20, tzinfo=UTC),
        revision=revision,
    )


FIELDS: dict[str, Any] = {
    "value": 4.5,
    "observed": datetime(2024, 2, 6, 5, 20, tzinfo=UTC),
    "geometry": {"type": "Point", "coordinates": [-122.0, 37.5]},
}


def test_assemble_builds_event_with_id_subject_and_cell() -> None:
    result = _assemble(FIELDS)

    event = result.event
    assert event.id == event_id("usgs", "us1", "7")
    assert (event.type, event.subject) == ("central.quake.earthquake", "us1")
    assert event.source == "https://earthquake.usgs.gov/earthquakes/feed/v1.0"
    assert event.data == {
        "value": 4.5,
        "observed": "2024-02-06T05:20:00Z",
        "geometry": {"type": "Point", "coordinates": [-122.0, 37.5]},
    }
    assert result.nats_subject == "central.quake.earthquake.usgs.9q9"
    assert result.body == orjson.dumps(event.data)


def test_assemble_routes_to_cell_none_when_data_has_no_geometry() -> None:
    result = _assemble({**FIELDS, "geometry": None})

    assert result.nats_subject == "central.quake.earthquake.usgs.none"


def test_assemble_derives_revision_from_data_when_none_given() -> None:
    result = _assemble(FIELDS, revision=None)

    canonical = orjson.dumps(result.event.data, option=orjson.OPT_SORT_KEYS)
    assert result.event.id == event_id("usgs", "us1", content_revision(canonical))
    assert _assemble(dict(reversed(FIELDS.items())), revision=None) == result
    assert _assemble({**FIELDS, "value": 4.6}, revision=None).event.id != (
        result.event.id
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {**FIELDS, "geometry": {"type": "Point", "coordinates": [200.0, 0.0]}},
            r"^geometry\.coordinates: Value error, longitude 200\.0 is outside "
            r"-180\.\.180 \(record us1\)$",
        ),
        ({**FIELDS, "value": -1}, r"^value: Input should be greater than or equal"),
        (
            {**FIELDS, "observed": datetime(2024, 2, 6)},
            r"^observed: Value error, a date-time must carry a timezone",
        ),
        ({"value": 1}, r"^observed: Field required \(record us1\)$"),
        ({**FIELDS, "tz": 480}, r"^tz: Extra inputs are not permitted"),
    ],
    ids=["longitude", "below-minimum", "naive-time", "missing", "unknown"],
)
def test_assemble_raises_record_error_naming_field_model_refuses(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(RecordError, match=message) as caught:
        _assemble(fields)

    assert caught.value.native_id == "us1"


def test_assemble_raises_record_error_when_data_is_not_encodable() -> None:
    class Loose(DataModel):
        extra: dict[str, Any]

    with pytest.raises(RecordError, match=r"^data is not encodable as JSON: "):
        assemble(
            Loose,
            {"extra": {"n": 2**70}},
            domain="quake",
            kind="earthquake",
            type="central.quake.earthquake",
            provider="usgs",
            source="https://earthquake.usgs.gov",
            subject="us1",
            time=datetime(2024, 2, 6, tzinfo=UTC),
        )

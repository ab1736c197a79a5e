from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from central.errors import FeedFormatError, RecordError
from central.feeds import Normalized
from central_adapter_space import solarwind

Document = Callable[[str], list[Any]]

PLASMA = (
    Path(__file__).parents[1]
    / "fixtures/noaa-swpc/swpc_solar_wind_plasma-7-day_2024-05-08.json"
)
VALUES = ("density", "speed", "temperature")
# A row shaped like those of json/rtsw/rtsw_wind_1m.json, most columns left out.
RTSW_ROW: dict[str, Any] = {
    "time_tag": "2026-05-17T21:56:00",
    "active": False,
    "source": "DSCOVR",
    "proton_speed": 516,
    "proton_temperature": 79712,
    "proton_density": 3.34,
    "proton_vx_gse": -514.4,
    "proton_sample_size": 10,
    "alpha_speed": None,
    "overall_quality": 0,
}


@functools.cache
def _recorded() -> tuple[Normalized, ...]:
    """The recorded payload normalized once per run: it has 9545 rows."""
    return tuple(solarwind.normalize(r) for r in solarwind.parse(PLASMA.read_bytes()))


def test_normalize_accepts_every_row_in_recorded_payload() -> None:
    """All 9545 rows are accepted, the 7 rows of nulls included."""
    results = _recorded()

    assert len(results) == len(json.loads(PLASMA.read_bytes())) - 1 == 9545
    assert {r.event.type for r in results} == {"central.space.solar-wind-plasma"}
    assert len({r.event.subject for r in results}) == 9545
    assert len({r.event.id for r in results}) == 9545
    assert {r.nats_subject for r in results} == {
        "central.space.solar-wind-plasma.swpc.none"
    }


def test_normalize_maps_fields_of_first_row_as_numbers() -> None:
    event = _recorded()[0].event

    assert event.source == "https://www.swpc.noaa.gov/products/real-time-solar-wind"
    assert event.subject == "plasma/2024-05-01T18:10:00Z"
    assert event.time == datetime(2024, 5, 1, 18, 10, tzinfo=UTC)
    assert event.data == {
        "density": 7.78,
        "speed": 357.6,
        "temperature": 20863.0,
        "source": None,
        "active": None,
        "extra": {},
    }


def test_normalize_keeps_every_null_as_none() -> None:
    """84 rows hold 141 nulls; each stays None and the row is still an event."""
    results = _recorded()

    gaps = [r.event for r in results if None in (r.event.data[v] for v in VALUES)]
    nulls = sum(e.data[v] is None for e in gaps for v in VALUES)
    empty = [e for e in gaps if all(e.data[v] is None for v in VALUES)]
    assert (len(gaps), nulls, len(empty)) == (84, 141, 7)
    assert empty[0].subject == "plasma/2024-05-02T04:36:00Z"
    assert gaps[0].data == {
        "density": 5.69,
        "speed": None,
        "temperature": None,
        "source": None,
        "active": None,
        "extra": {},
    }


def test_normalize_gives_same_ids_when_served_as_objects(document: Document) -> None:
    header, *rows = document("plasma")
    objects = [
        {
            "time_tag": row[0].replace(" ", "T"),
            **{
                k: None if v is None else float(v)
                for k, v in zip(VALUES, row[1:], strict=True)
            },
        }
        for row in rows[:300]
    ]

    results = [
        solarwind.normalize(r) for r in solarwind.parse(json.dumps(objects).encode())
    ]

    assert header == ["time_tag", *VALUES]
    assert [r.event for r in results] == [r.event for r in _recorded()[:300]]


def test_normalize_gives_new_id_same_subject_when_gap_is_filled() -> None:
    row = {"time_tag": "2024-05-02 04:36:00.000", "density": None}
    row |= {"speed": None, "temperature": None}

    gap = solarwind.normalize(row).event
    filled = solarwind.normalize({**row, "speed": "402.1"}).event

    assert gap.subject == filled.subject
    assert gap.id != filled.id
    assert filled.data["speed"] == 402.1


def test_normalize_maps_fields_of_rtsw_rows_one_subject_per_spacecraft() -> None:
    """The current product: one row per spacecraft and minute, proton_* names."""
    dscovr = dict(RTSW_ROW)
    solar1 = {**RTSW_ROW, "source": "SOLAR1", "active": True, "proton_speed": 511}

    results = [
        solarwind.normalize(r)
        for r in solarwind.parse(json.dumps([dscovr, solar1]).encode())
    ]

    first, second = (r.event for r in results)
    assert (first.subject, second.subject) == (
        "plasma/DSCOVR/2026-05-17T21:56:00Z",
        "plasma/SOLAR1/2026-05-17T21:56:00Z",
    )
    assert first.time == datetime(2026, 5, 17, 21, 56, tzinfo=UTC)
    assert first.data == {
        "density": 3.34,
        "speed": 516.0,
        "temperature": 79712.0,
        "source": "DSCOVR",
        "active": False,
        "extra": {
            "proton_vx_gse": -514.4,
            "proton_sample_size": 10,
            "alpha_speed": None,
            "overall_quality": 0,
        },
    }
    assert second.data["speed"] == 511.0
    assert second.data["active"] is True


def test_normalize_gives_new_id_same_subject_when_active_flag_changes() -> None:
    before = solarwind.normalize(RTSW_ROW).event
    after = solarwind.normalize({**RTSW_ROW, "active": True}).event

    assert before.subject == after.subject
    assert before.id != after.id


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"time_tag": "2024-05-01 18:10:00.000", "density": "7.78", "speed": "1"},
            r"^record has no temperature \(record plasma/2024-05-01T18:10:00Z\)$",
        ),
        (
            {"time_tag": "2024-05-01 18:10:00.000", "density": "-1"}
            | {"speed": "1", "temperature": "1"},
            r"^density: Input should be greater than or equal to 0",
        ),
        (
            {"time_tag": "2024-05-01 18:10:00.000", "density": "1e400"}
            | {"speed": "1", "temperature": "1"},
            r"^density '1e400' is not a finite number",
        ),
        (
            {"time_tag": "2024-05-01 18:10:00.000", "density": "7,78"}
            | {"speed": "1", "temperature": "1"},
            r"^density '7,78' is not a number",
        ),
        (
            {"time_tag": 20240501, "density": None, "speed": None, "temperature": None},
            r"^time_tag 20240501 is not a date-time string$",
        ),
        (
            {k: v for k, v in RTSW_ROW.items() if k != "proton_temperature"},
            r"^record has no proton_temperature \(record plasma/DSCOVR/",
        ),
        ({**RTSW_ROW, "source": "DSC/OVR"}, r"^source 'DSC/OVR' is not a spacecraft"),
        ({**RTSW_ROW, "active": "yes"}, r"^active 'yes' is not a boolean"),
    ],
    ids=[
        "missing",
        "negative",
        "overflow",
        "comma",
        "time-number",
        "rtsw-missing",
        "rtsw-slash",
        "rtsw-active",
    ],
)
def test_normalize_raises_record_error_when_row_is_broken(
    row: dict[str, Any], message: str
) -> None:
    with pytest.raises(RecordError, match=message):
        solarwind.normalize(row)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'[["time_tag","density","speed"]]',
            r"^swpc-solarwind payload has no 'temperature' or 'proton_temperature' "
            r"in any header row$",
        ),
        (
            b'[["time_tag","bx_gsm","by_gsm","bz_gsm","bt"]]',
            r"^swpc-solarwind payload has no 'density' or 'proton_density' in any "
            r"header row$",
        ),
        (b"[null]", r"^swpc-solarwind payload starts with a JSON null"),
        (
            b'[{"time_tag":"2026-05-17T21:56:00","source":"ACE","bz_gsm":2.14}]',
            r"^swpc-solarwind payload has no 'density' or 'proton_density' in any "
            r"element$",
        ),
    ],
    ids=["no-temperature", "magnetometer", "null", "rtsw-magnetometer"],
)
def test_parse_raises_feed_format_error_when_payload_is_wrong(
    body: bytes, message: str
) -> None:
    with pytest.raises(FeedFormatError, match=message):
        solarwind.parse(body)


def test_record_id_reads_time_tag_and_spacecraft() -> None:
    assert solarwind.record_id({"time_tag": "2024-05-01 18:10:00.000"}) == (
        "2024-05-01 18:10:00.000"
    )
    assert solarwind.record_id(RTSW_ROW) == "DSCOVR 2026-05-17T21:56:00"
    assert solarwind.record_id(["2024-05-01 18:10:00.000"]) is None

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from central.errors import FeedFormatError, RecordError
from central.ids import content_revision, event_id
from central_adapter_space import kp

Payload = Callable[[str], bytes]
Document = Callable[[str], list[Any]]

SOURCE = "https://www.swpc.noaa.gov/products/planetary-k-index"


def _normalize_all(body: bytes) -> list[Any]:
    return [kp.normalize(row) for row in kp.parse(body)]


def _as_objects(document: list[Any]) -> list[dict[str, Any]]:
    """A header-row payload in the object shape, numbers as numbers."""
    header, *rows = document
    converted = []
    for row in rows:
        item = dict(zip(header, row, strict=True))
        item["kp"] = float(item["kp"])
        item["time_tag"] = item["time_tag"].replace(" ", "T")
        converted.append(item)
    return converted


def _as_header_rows(document: list[dict[str, Any]]) -> list[list[Any]]:
    """An object payload in the header-row shape, every value a string."""
    header = list(document[0])
    rows = [[None if r[k] is None else str(r[k]) for k in header] for r in document]
    return [header, *rows]


@pytest.mark.parametrize(
    ("name", "count", "kind"),
    [
        ("kp-forecast", 81, "central.space.kp-index"),
        ("kp-3h", 58, "central.space.kp-index"),
        ("kp-1m", 358, "central.space.kp-index-1m"),
    ],
    ids=["forecast-arrays", "3-hourly-objects", "1-minute-objects"],
)
def test_normalize_accepts_every_row_in_recorded_payload(
    payload: Payload, name: str, count: int, kind: str
) -> None:
    """No row of the three recorded products is rejected."""
    results = _normalize_all(payload(name))

    assert len(results) == count
    assert {r.event.type for r in results} == {kind}
    assert len({r.event.subject for r in results}) == count
    assert len({r.event.id for r in results}) == count
    assert {r.nats_subject for r in results} == {f"{kind}.swpc.none"}


def test_normalize_maps_fields_of_observed_forecast_row(payload: Payload) -> None:
    results = _normalize_all(payload("kp-forecast"))

    event = results[4].event
    assert event.source == SOURCE
    assert event.subject == "kp/2025-04-04T12:00:00Z"
    assert event.time == datetime(2025, 4, 4, 12, tzinfo=UTC)
    assert event.data == {
        "kp": 5.33,
        "status": "observed",
        "noaa_scale": "G1",
        "a_running": None,
        "station_count": None,
        "interval_end": "2025-04-04T15:00:00Z",
        "extra": {},
    }
    canonical = orjson.dumps(event.data, option=orjson.OPT_SORT_KEYS)
    assert event.id == event_id(
        "swpc", "kp/2025-04-04T12:00:00Z", content_revision(canonical)
    )


def test_normalize_reads_statuses_and_scales_of_forecast(payload: Payload) -> None:
    results = _normalize_all(payload("kp-forecast"))

    assert Counter(r.event.data["status"] for r in results) == {
        "observed": 63,
        "predicted": 17,
        "estimated": 1,
    }
    assert Counter(r.event.data["noaa_scale"] for r in results) == {
        None: 71,
        "G1": 9,
        "G2": 1,
    }
    estimated = [r.event for r in results if r.event.data["status"] == "estimated"]
    assert [(e.subject, e.data["kp"]) for e in estimated] == [
        ("kp/2025-04-11T21:00:00Z", 3.67)
    ]


def test_normalize_maps_fields_of_3_hourly_row(payload: Payload) -> None:
    event = _normalize_all(payload("kp-3h"))[1].event

    assert event.subject == "kp/2026-07-25T03:00:00Z"
    assert event.time == datetime(2026, 7, 25, 3, tzinfo=UTC)
    assert event.data == {
        "kp": 0.67,
        "status": None,
        "noaa_scale": None,
        "a_running": 3,
        "station_count": 8,
        "interval_end": "2026-07-25T06:00:00Z",
        "extra": {},
    }


def test_normalize_maps_fields_of_1_minute_rows(payload: Payload) -> None:
    results = _normalize_all(payload("kp-1m"))

    first, last = results[0].event, results[-1].event
    assert first.type == "central.space.kp-index-1m"
    assert first.subject == "kp-1m/2026-07-09T04:03:00Z"
    assert first.data == {
        "kp_index": 1,
        "estimated_kp": 0.67,
        "kp_code": "1M",
        "extra": {},
    }
    assert last.time == datetime(2026, 7, 9, 10, tzinfo=UTC)
    assert (last.data["kp_index"], last.data["estimated_kp"], last.data["kp_code"]) == (
        2,
        1.67,
        "2M",
    )
    assert Counter(r.event.data["kp_code"] for r in results)["1Z"] == 74


def test_normalize_gives_same_ids_when_forecast_is_served_as_objects(
    payload: Payload, document: Document
) -> None:
    arrays = _normalize_all(payload("kp-forecast"))
    objects = _normalize_all(json.dumps(_as_objects(document("kp-forecast"))).encode())

    assert [r.event for r in objects] == [r.event for r in arrays]


@pytest.mark.parametrize("name", ["kp-3h", "kp-1m"], ids=["3-hourly", "1-minute"])
def test_normalize_gives_same_ids_when_objects_are_served_as_header_rows(
    payload: Payload, document: Document, name: str
) -> None:
    objects = _normalize_all(payload(name))
    arrays = _normalize_all(json.dumps(_as_header_rows(document(name))).encode())

    assert [r.event.id for r in arrays] == [r.event.id for r in objects]
    assert arrays[0].event.data == objects[0].event.data


def test_normalize_gives_new_id_same_subject_when_prediction_becomes_observed(
    document: Document,
) -> None:
    header, *rows = document("kp-forecast")
    predicted = dict(zip(header, rows[64], strict=True))
    observed = {**predicted, "kp": "4.00", "observed": "observed"}

    before, after = kp.normalize(predicted).event, kp.normalize(observed).event

    assert predicted["observed"] == "predicted"
    assert before.subject == after.subject == "kp/2025-04-12T00:00:00Z"
    assert before.id != after.id
    assert (after.data["status"], after.data["kp"]) == ("observed", 4.0)


def test_normalize_gives_new_id_when_station_count_is_revised(
    document: Document,
) -> None:
    row = document("kp-3h")[-1]

    before = kp.normalize(row).event
    after = kp.normalize({**row, "station_count": row["station_count"] - 1}).event

    assert before.subject == after.subject
    assert before.id != after.id


@pytest.mark.parametrize(
    ("value", "expected"),
    [("4P", 4.33), ("4M", 3.67), ("4Z", 4.0), ("2.33", 2.33), (9, 9.0), ("0", 0.0)],
)
def test_normalize_reads_kp_in_number_string_and_thirds_notation(
    value: Any, expected: float
) -> None:
    row = {"time_tag": "2026-07-25T00:00:00", "Kp": value}

    assert kp.normalize(row).event.data["kp"] == expected


@pytest.mark.parametrize(
    ("time_tag", "expected"),
    [
        ("2025-04-04 00:00:00", datetime(2025, 4, 4, tzinfo=UTC)),
        ("2026-07-25T00:00:00", datetime(2026, 7, 25, tzinfo=UTC)),
        ("2022-09-27 19:57:05.470", datetime(2022, 9, 27, 19, 57, 5, 470000, UTC)),
        ("2022-04-25T02:02:00Z", datetime(2022, 4, 25, 2, 2, tzinfo=UTC)),
        ("2022-04-25T04:02:00+02:00", datetime(2022, 4, 25, 2, 2, tzinfo=UTC)),
    ],
    ids=["space", "t-no-zone", "milliseconds", "z", "offset"],
)
def test_normalize_reads_every_swpc_time_format_as_utc(
    time_tag: str, expected: datetime
) -> None:
    event = kp.normalize({"time_tag": time_tag, "kp": "3.00"}).event

    assert event.time == expected


def test_normalize_keeps_unknown_column_in_extra() -> None:
    row = {"time_tag": "2023-01-01 00:00:00.000", "Kp": "2", "Kp_fraction": "1.67"}

    data = kp.normalize(row).event.data

    assert data["kp"] == 2.0
    assert data["extra"] == {"Kp_fraction": "1.67"}


def test_normalize_lowercases_status() -> None:
    row = {"time_tag": "2026-07-25T00:00:00", "kp": 1.0, "observed": "Observed"}

    assert kp.normalize(row).event.data["status"] == "observed"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"kp": "3.00"}, r"^record has no time_tag$"),
        (
            {"time_tag": "yesterday", "kp": "3"},
            r"^time_tag 'yesterday' is not a date-time \(record yesterday\)$",
        ),
        (
            {"time_tag": "2025-02-30 00:00:00", "kp": "3"},
            r"^time_tag '2025-02-30 00:00:00' is not a date-time",
        ),
        (
            {"time_tag": "2025-04-04 00:00:00", "kp": None},
            r"^record has a null kp \(record kp/2025-04-04T00:00:00Z\)$",
        ),
        (
            {"time_tag": "2025-04-04 00:00:00", "kp": "NaN"},
            r"^kp 'NaN' is not a number",
        ),
        ({"time_tag": "2025-04-04 00:00:00", "kp": "9P"}, r"^kp: Input should be less"),
        (
            {"time_tag": "2025-04-04 00:00:00", "kp": -1},
            r"^kp: Input should be greater",
        ),
        (
            {"time_tag": "2025-04-04 00:00:00", "kp": 2, "Kp": 2},
            r"^record members 'kp' and 'Kp' clash",
        ),
        (
            {"time_tag": "2025-04-04 00:00:00", "kp": 2, "station_count": "8.5"},
            r"^station_count '8.5' is not an integer",
        ),
        (
            {"time_tag": "2025-04-04 00:00:00", "kp": 2, "a_running": 2**70},
            r"^a_running 1180591620717411303424 is not an integer of at most 64 bits",
        ),
        (
            {"time_tag": "2026-07-09T04:03:00", "estimated_kp": 0.67},
            r"^record has no kp_index \(record kp-1m/2026-07-09T04:03:00Z\)$",
        ),
        (
            {"time_tag": "2026-07-09T04:03:00", "kp_index": 1, "kp": 1},
            r"^kp 1 is not a string",
        ),
        (
            {"time_tag": "2025-04-04 00:00:00", "kp": 2, "note": float("inf")},
            r"^note: inf is not a finite number",
        ),
    ],
    ids=[
        "no-time",
        "bad-time",
        "no-such-day",
        "null-kp",
        "nan-string",
        "above-9",
        "negative",
        "case-clash",
        "fractional-count",
        "huge-int",
        "1m-no-index",
        "1m-code-number",
        "extra-inf",
    ],
)
def test_normalize_raises_record_error_when_row_is_broken(
    row: dict[str, Any], message: str
) -> None:
    with pytest.raises(RecordError, match=message):
        kp.normalize(row)


def test_normalize_raises_record_error_when_row_does_not_fit_header() -> None:
    rows = kp.parse(b'[["time_tag","kp"],["2025-04-04 00:00:00"],"x"]')

    with pytest.raises(
        RecordError,
        match=r"^record is a JSON array, not an object or a row that fits the header$",
    ):
        kp.normalize(rows[0])
    with pytest.raises(RecordError, match=r"^record is a JSON string, not an object"):
        kp.normalize(rows[1])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", r"^swpc-kp payload is not JSON"),
        (b'{"time_tag": 1}', r"^swpc-kp payload is a JSON object, not an array$"),
        (b"[1, 2]", r"^swpc-kp payload starts with a JSON number, not a header row"),
        (b'[["time_tag", 5]]', r"^swpc-kp payload header row is not column names$"),
        (
            b'[["time_tag","kp","Kp"]]',
            r"^swpc-kp payload header row repeats a column name$",
        ),
        (
            b'[["time_tag","density","speed","temperature"]]',
            r"^swpc-kp payload has no 'kp' or 'kp_index' or 'estimated_kp' in any "
            r"header row$",
        ),
        (
            b'[{"time_tag": "2026-08-19T22:45:00Z", "flux": 1e-6}]',
            r"^swpc-kp payload has no 'kp' or 'kp_index' or 'estimated_kp' in any "
            r"element$",
        ),
    ],
    ids=["empty", "object", "numbers", "header", "repeat", "plasma", "xray"],
)
def test_parse_raises_feed_format_error_when_payload_is_wrong(
    body: bytes, message: str
) -> None:
    with pytest.raises(FeedFormatError, match=message):
        kp.parse(body)


def test_parse_returns_no_rows_when_only_header_is_present() -> None:
    assert kp.parse(b'[["time_tag","kp","observed","noaa_scale"]]') == []


@pytest.mark.parametrize(
    ("record", "expected"),
    [({"time_tag": "2026-07-09T04:03:00"}, "2026-07-09T04:03:00"), ([], None)],
)
def test_record_id_reads_time_tag(record: Any, expected: str | None) -> None:
    assert kp.record_id(record) == expected

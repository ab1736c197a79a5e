from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from central.errors import FeedFormatError, RecordError
from central.ids import event_id
from central_adapter_space import alerts

Payload = Callable[[str], bytes]
Document = Callable[[str], list[Any]]

SOURCE = "https://www.swpc.noaa.gov/products/alerts-watches-and-warnings"

# A message in the newer layout: CRLF in the header, bare LF after the heading,
# trailing spaces, an empty Comment and the newer key spellings.
NEWER_WARNING = {
    "product_id": "K05W",
    "issue_datetime": "2026-08-28 20:40:30.257",
    "message": "Space Weather Message Code: WARK05\r\nSerial Number: 2261\r\n"
    "Issue Time: 2026 Aug 28 2040 UTC\r\n\r\n"
    "WARNING: Geomagnetic K-index of 5 expected \nValid From: 2026 Aug 28 2039 UTC\n"
    "Valid To: 2026 Aug 29 0600 UTC\nWarning Conditions: Onset\n"
    "Noaa Scale: G1 - Minor\nComment: \r\n\r\nNOAA Scale: G1 - Minor\r\n\r\n"
    "NOAA Space Weather Scale descriptions can be found at\r\n"
    "www.swpc.noaa.gov/noaa-scales-explanation\r\n\r\n"
    "Potential Impacts: Area of impact primarily poleward of 60 degrees "
    "Geomagnetic Latitude.\r\nInduced Currents - Weak power grid fluctuations can "
    "occur.",
}
CANCEL = {
    "product_id": "TIIA",
    "issue_datetime": "2026-06-20 04:06:00.000",
    "message": "Space Weather Message Code: ALTTP2\r\nSerial Number: 1505\r\n"
    "Issue Time: 2026 Jun 20 0406 UTC\r\n\r\nCANCEL ALERT: Type II Radio Emission\r\n"
    "Cancel Serial Number: 1504\r\nOriginal Issue Time: 2026 Jun 20 0403 UTC\r\n",
}


def _by_subject(document: list[Any], subject: str) -> dict[str, Any]:
    matches = [r for r in document if alerts.record_id(r) == subject]
    if len(matches) != 1:
        raise LookupError(f"{subject} is not once in the alerts fixture")
    record: dict[str, Any] = matches[0]
    return record


def test_normalize_accepts_every_record_in_recorded_payload(payload: Payload) -> None:
    """All 200 messages are accepted: each has a code, a serial and an issue time."""
    records = alerts.parse(payload("alerts"))

    results = [alerts.normalize(r) for r in records]

    assert len(records) == len(results) == 200
    assert len({r.event.id for r in results}) == 200
    assert len({r.event.subject for r in results}) == 200
    assert Counter(r.event.data["product_id"] for r in results)["K04W"] == 52
    # Slashes arrive escaped ("\/") and are read as plain slashes.
    assert rb"www.swpc.noaa.gov\/noaa-scales-explanation" in payload("alerts")
    assert all("\\/" not in r.event.data["message"] for r in results)


def test_normalize_maps_fields_of_g4_alert(document: Document) -> None:
    record = _by_subject(document("alerts"), "ALTK08/50")

    result = alerts.normalize(record)

    event = result.event
    assert event.source == SOURCE
    assert event.type == "central.space.alert"
    assert event.subject == "ALTK08/50"
    assert event.id == event_id("swpc", "ALTK08/50", "2025-04-16T20:54:57.893000Z")
    assert event.time == datetime(2025, 4, 16, 20, 54, 57, 893000, tzinfo=UTC)
    assert result.nats_subject == "central.space.alert.swpc.none"
    data = event.data
    assert data["message"] == record["message"]
    assert "\r\nwww.swpc.noaa.gov/noaa-scales-explanation\r\n" in data["message"]
    assert data["impacts"].startswith(
        "Area of impact primarily poleward of 45 degrees Geomagnetic Latitude.\n"
        "Induced Currents - Possible widespread voltage control problems"
    )
    assert {k: v for k, v in data.items() if k not in ("message", "impacts")} == {
        "product_id": "K08A",
        "message_code": "ALTK08",
        "serial_number": 50,
        "issue_time": "2025-04-16T20:54:00Z",
        "category": "alert",
        "headline": "Geomagnetic K-index of 8, 9-",
        "k_index": 8,
        "noaa_scale": "G4",
        "predicted_noaa_scale": None,
        "extends_serial": None,
        "continues_serial": None,
        "cancels_serial": None,
        "valid_from": None,
        "valid_until": None,
        "threshold_reached": "2025-04-16T20:55:00Z",
        "begin_time": None,
        "maximum_time": None,
        "end_time": None,
        "xray_class": None,
        "predicted_levels": [],
        "description": None,
        "fields": {
            "space_weather_message_code": "ALTK08",
            "serial_number": "50",
            "issue_time": "2025 Apr 16 2054 UTC",
            "threshold_reached": "2025 Apr 16 2055 UTC",
            "synoptic_period": "1800-2100 UTC",
            "active_warning": "Yes",
            "noaa_scale": "G4 - Severe",
        },
        "extra": {},
    }


def test_normalize_reads_times_class_and_r_scale_of_xray_summary(
    document: Document,
) -> None:
    data = alerts.normalize(_by_subject(document("alerts"), "SUMXM5/287")).event.data

    assert data["category"] == "summary"
    assert data["headline"] == "X-ray Event exceeded M5"
    assert data["xray_class"] == "M5.6"
    assert data["noaa_scale"] == "R2"
    assert (data["begin_time"], data["maximum_time"], data["end_time"]) == (
        "2025-04-01T06:37:00Z",
        "2025-04-01T06:46:00Z",
        "2025-04-01T06:53:00Z",
    )
    assert data["fields"]["location"] == "N10E25"


def test_normalize_reads_levels_by_day_of_storm_watch(document: Document) -> None:
    data = alerts.normalize(_by_subject(document("alerts"), "WATA50/86")).event.data

    assert data["category"] == "watch"
    assert data["predicted_noaa_scale"] == "G3"
    assert data["predicted_levels"] == [
        {"day": "2025-04-16", "scale": "G3"},
        {"day": "2025-04-17", "scale": "G1"},
        {"day": "2025-04-18", "scale": None},
    ]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (
            "WARK06/576",
            {
                "category": "extended-warning",
                "k_index": 6,
                "extends_serial": 575,
                "valid_from": "2025-04-16T13:15:00Z",
                "valid_until": "2025-04-17T06:00:00Z",
            },
        ),
        (
            "WARK07/125",
            {
                "category": "warning",
                "k_index": 7,
                "noaa_scale": "G3",
                "valid_until": "2025-04-17T00:00:00Z",
            },
        ),
        (
            "WARPX1/600",
            {"predicted_noaa_scale": "S1", "extends_serial": 599, "noaa_scale": None},
        ),
        ("ALTEF3/3454", {"category": "continued-alert", "continues_serial": 3453}),
        ("SUMPX1/122", {"noaa_scale": "S2", "end_time": "2025-04-02T09:10:00Z"}),
    ],
    ids=["extended", "warning", "proton", "continued", "proton-summary"],
)
def test_normalize_reads_key_fields_of_recorded_message(
    document: Document, subject: str, expected: dict[str, Any]
) -> None:
    data = alerts.normalize(_by_subject(document("alerts"), subject)).event.data

    assert {key: data[key] for key in expected} == expected


def test_normalize_counts_every_heading_of_recorded_payload(payload: Payload) -> None:
    results = [alerts.normalize(r) for r in alerts.parse(payload("alerts"))]

    assert Counter(r.event.data["category"] for r in results) == {
        "alert": 68,
        "extended-warning": 61,
        "warning": 39,
        "continued-alert": 15,
        "summary": 9,
        "watch": 8,
    }


def test_normalize_keeps_description_paragraph_of_radio_alert(
    document: Document,
) -> None:
    data = alerts.normalize(_by_subject(document("alerts"), "ALTTP2/1410")).event.data

    assert data["fields"]["estimated_velocity"] == "456 km/s"
    assert data["description"].startswith("Type II emissions occur in association")
    assert data["impacts"] is None


def test_normalize_gives_two_events_one_subject_when_serial_is_reissued(
    document: Document,
) -> None:
    """SWPC reissues a code and serial with a new issue time: both are events."""
    first = _by_subject(document("alerts"), "WATA30/249")
    again = {**first, "issue_datetime": "2025-04-14 09:30:00.000"}

    one, two = alerts.normalize(first), alerts.normalize(again)

    assert one.event.subject == two.event.subject == "WATA30/249"
    assert one.event.id != two.event.id
    assert two.event.id == event_id("swpc", "WATA30/249", "2025-04-14T09:30:00Z")


def test_normalize_gives_same_id_when_upstream_repeats_record(
    document: Document,
) -> None:
    record = _by_subject(document("alerts"), "WATA30/249")

    assert alerts.normalize(record).event.id == alerts.normalize(dict(record)).event.id


def test_normalize_reads_same_fields_when_line_breaks_are_mixed(
    document: Document,
) -> None:
    record = _by_subject(document("alerts"), "WARK07/125")
    text = record["message"]
    head, _, rest = text.partition("\r\n\r\n")
    mixed = {**record, "message": head + "\r\n\r\n" + rest.replace("\r\n", " \n")}

    plain, changed = alerts.normalize(record), alerts.normalize(mixed)

    assert changed.event.data["message"] == mixed["message"]
    for key in ("fields", "valid_from", "valid_until", "noaa_scale", "headline"):
        assert changed.event.data[key] == plain.event.data[key]
    assert changed.event.data["impacts"] == plain.event.data["impacts"]


def test_normalize_folds_newer_key_spellings_when_message_mixes_breaks() -> None:
    data = alerts.normalize(NEWER_WARNING).event.data

    assert data["headline"] == "Geomagnetic K-index of 5 expected"
    assert data["k_index"] == 5
    assert data["noaa_scale"] == "G1"
    assert data["valid_until"] == "2026-08-29T06:00:00Z"
    assert data["fields"] == {
        "space_weather_message_code": "WARK05",
        "serial_number": "2261",
        "issue_time": "2026 Aug 28 2040 UTC",
        "valid_from": "2026 Aug 28 2039 UTC",
        "valid_to": "2026 Aug 29 0600 UTC",
        "warning_condition": "Onset",
        "noaa_scale": "G1 - Minor",
    }
    assert data["impacts"] == (
        "Area of impact primarily poleward of 60 degrees Geomagnetic Latitude.\n"
        "Induced Currents - Weak power grid fluctuations can occur."
    )


def test_normalize_reads_cancelled_serial_of_cancel_alert() -> None:
    data = alerts.normalize(CANCEL).event.data

    assert data["category"] == "cancel-alert"
    assert data["cancels_serial"] == 1504
    assert data["fields"]["original_issue_time"] == "2026 Jun 20 0403 UTC"


def test_normalize_keeps_unknown_member_in_extra() -> None:
    record = {**CANCEL, "region": 4513}

    assert alerts.normalize(record).event.data["extra"] == {"region": 4513}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"message": None}, r"^record has a null message \(record TIIA\)$"),
        ({"message": 12}, r"^message is a JSON number, not a string"),
        ({"message": "  \r\n"}, r"^message is blank \(record TIIA\)$"),
        (
            {"message": "ALERT: Type II Radio Emission"},
            r"^message has no valid Space Weather Message Code \(None\)",
        ),
        (
            {"message": CANCEL["message"].replace("Serial Number: 1505", "")},
            r"^message has no valid Serial Number \(record TIIA\)$",
        ),
        (
            {"issue_datetime": "2026-06-20"},
            r"^issue_datetime '2026-06-20' is not a date-time \(record ALTTP2/1505\)$",
        ),
        ({"product_id": 7}, r"^product_id 7 is not a string"),
    ],
    ids=["null", "number", "blank", "no-code", "no-serial", "date-only", "product"],
)
def test_normalize_raises_record_error_when_record_is_broken(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(RecordError, match=message):
        alerts.normalize({**CANCEL, **change})


def test_normalize_raises_record_error_when_record_is_not_object() -> None:
    with pytest.raises(RecordError, match=r"^record is a JSON string, not an object$"):
        alerts.normalize("ALERT")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>", r"^swpc-alerts payload is not JSON: Expecting value"),
        (b'{"message": "x"}', r"^swpc-alerts payload is a JSON object, not an array$"),
        (
            b'[["product_id","issue_datetime","message"]]',
            r"^swpc-alerts payload starts with a JSON array, not an object$",
        ),
        (
            b'[{"time_tag": "2024-05-01 18:10:00.000"}]',
            r"^swpc-alerts payload has no 'message' in any element$",
        ),
        (b'[{"message": NaN}]', r"^swpc-alerts payload is not JSON: NaN is not"),
    ],
    ids=["html", "object", "header-rows", "other-product", "nan"],
)
def test_parse_raises_feed_format_error_when_payload_is_wrong(
    body: bytes, message: str
) -> None:
    with pytest.raises(FeedFormatError, match=message):
        alerts.parse(body)


def test_parse_returns_no_records_when_array_is_empty() -> None:
    assert alerts.parse(b"[]") == []


def test_parse_keeps_non_object_element_for_normalizer_to_reject() -> None:
    records = alerts.parse(json.dumps([CANCEL, 5]).encode())

    assert records == [CANCEL, 5]
    with pytest.raises(RecordError, match=r"not an object"):
        alerts.normalize(records[1])


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (CANCEL, "ALTTP2/1505"),
        ({"product_id": "TIIA", "message": "garbled"}, "TIIA"),
        ({"message": 5}, None),
        ([1, 2], None),
    ],
    ids=["code-serial", "product-id", "none", "not-object"],
)
def test_record_id_reads_code_and_serial_or_product(
    record: Any, expected: str | None
) -> None:
    assert alerts.record_id(record) == expected


def test_normalize_gives_identical_events_when_run_twice(payload: Payload) -> None:
    body = payload("alerts")

    first = [alerts.normalize(r).event for r in alerts.parse(body)]
    second = [alerts.normalize(r).event for r in alerts.parse(body)]

    assert first == second
    assert json.dumps([e.id for e in first]) == json.dumps([e.id for e in second])

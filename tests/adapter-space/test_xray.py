from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from central.errors import FeedFormatError, RecordError
from central_adapter_space import xray

Payload = Callable[[str], bytes]
Document = Callable[[str], list[Any]]

SOURCE = "https://www.swpc.noaa.gov/products/goes-x-ray-flux"


def test_normalize_accepts_every_row_in_recorded_payload(payload: Payload) -> None:
    """716 rows, none rejected; the payload holds no M1 crossing (it peaks at C3)."""
    records = xray.parse(payload("xray"))

    results = [xray.normalize(r) for r in records]

    assert len(records) == len(results) == 716
    assert {r.event.type for r in results} == {"central.space.xray-flux"}
    assert len({r.event.subject for r in results}) == 716
    assert len({r.event.id for r in results}) == 716
    assert Counter(r.event.data["band"] for r in results) == {"long": 358, "short": 358}
    assert {r.event.data["satellite"] for r in results} == {18}


def test_normalize_keys_each_minute_by_band(payload: Payload) -> None:
    """Two rows share each time tag, so the subject adds satellite and band."""
    results = [xray.normalize(r) for r in xray.parse(payload("xray"))]

    times = Counter(r.event.time for r in results)
    assert set(times.values()) == {2}
    assert results[0].event.subject == "goes-18/0.05-0.4nm/2026-08-19T22:45:00Z"
    assert results[1].event.subject == "goes-18/0.1-0.8nm/2026-08-19T22:45:00Z"


def test_normalize_maps_fields_of_long_and_short_rows(payload: Payload) -> None:
    short, long = (xray.normalize(r) for r in xray.parse(payload("xray"))[:2])

    assert short.event.source == SOURCE
    assert short.event.time == datetime(2026, 8, 19, 22, 45, tzinfo=UTC)
    assert short.nats_subject == "central.space.xray-flux.swpc.none"
    assert short.event.data == {
        "satellite": 18,
        "energy": "0.05-0.4nm",
        "band": "short",
        "flux": 4.5261270287255684e-08,
        "observed_flux": 1.0676065897996523e-07,
        "electron_correction": 6.149939224542322e-08,
        "electron_contamination": True,
        "xray_class": None,
        "extra": {},
    }
    assert long.event.data == {
        "satellite": 18,
        "energy": "0.1-0.8nm",
        "band": "long",
        "flux": 1.3758807426711428e-06,
        "observed_flux": 1.4428002259592176e-06,
        "electron_correction": 6.69195401314937e-08,
        "electron_contamination": False,
        "xray_class": "C1.3",
        "extra": {},
    }


def test_normalize_reads_misspelled_contamination_flag(payload: Payload) -> None:
    results = [xray.normalize(r) for r in xray.parse(payload("xray"))]

    flags = Counter(r.event.data["electron_contamination"] for r in results)
    assert flags == {True: 290, False: 426}


def test_normalize_reads_contamination_flag_when_spelled_correctly(
    document: Document,
) -> None:
    row = document("xray")[0]
    row["electron_contamination"] = row.pop("electron_contaminaton")

    data = xray.normalize(row).event.data

    assert data["electron_contamination"] is True
    assert data["extra"] == {}


def test_normalize_classes_peak_of_recorded_long_band(payload: Payload) -> None:
    results = [xray.normalize(r) for r in xray.parse(payload("xray"))]

    peak = max(
        (r.event for r in results if r.event.data["band"] == "long"),
        key=lambda e: e.data["flux"],
    )
    assert peak.subject == "goes-18/0.1-0.8nm/2026-08-20T04:08:00Z"
    assert peak.data["xray_class"] == "C3.3"


def test_normalize_gives_new_id_same_subject_when_flux_is_reprocessed(
    document: Document,
) -> None:
    row = document("xray")[1]

    before = xray.normalize(row).event
    after = xray.normalize({**row, "flux": row["flux"] * 1.01}).event

    assert before.subject == after.subject
    assert before.id != after.id


def test_normalize_reads_header_row_shape_with_string_values() -> None:
    body = (
        b'[["time_tag","satellite","flux","energy","electron_contaminaton"],'
        b'["2026-08-19T22:45:00Z","18","1.3758807426711428e-06","0.1-0.8nm","false"]]'
    )

    data = xray.normalize(xray.parse(body)[0]).event.data

    assert (data["satellite"], data["flux"], data["electron_contamination"]) == (
        18,
        1.3758807426711428e-06,
        False,
    )
    assert data["observed_flux"] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"flux": "high"},
            r"^flux 'high' is not a number \(record 2026-08-19T22:45:00Z 0.05-0.4nm\)$",
        ),
        ({"flux": None}, r"^record has a null flux"),
        ({"satellite": True}, r"^satellite True is not an integer"),
        ({"satellite": -1}, r"^satellite -1 is not a GOES satellite number"),
        ({"energy": "0.1/0.8nm"}, r"^energy '0.1/0.8nm' is not an energy band"),
        ({"energy": ""}, r"^record has an empty energy"),
        ({"electron_contaminaton": "maybe"}, r"is not a boolean"),
        ({"observed_flux": [1]}, r"^observed_flux \[1\] is not a number"),
    ],
    ids=[
        "flux-text",
        "flux-null",
        "satellite-bool",
        "satellite-neg",
        "energy-slash",
        "energy-empty",
        "flag",
        "observed-list",
    ],
)
def test_normalize_raises_record_error_when_row_is_broken(
    document: Document, change: dict[str, Any], message: str
) -> None:
    row = {**document("xray")[0], **change}

    with pytest.raises(RecordError, match=message):
        xray.normalize(row)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[1]", r"^swpc-xray payload starts with a JSON number"),
        (b'{"flux": 1}', r"^swpc-xray payload is a JSON object, not an array$"),
        (
            b'[{"time_tag":"2026-08-19T22:45:00Z","satellite":18,"flux":1e-6}]',
            r"^swpc-xray payload has no 'energy' in any element$",
        ),
    ],
    ids=["numbers", "object", "no-energy"],
)
def test_parse_raises_feed_format_error_when_payload_is_wrong(
    body: bytes, message: str
) -> None:
    with pytest.raises(FeedFormatError, match=message):
        xray.parse(body)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (
            {"time_tag": "2026-08-19T22:45:00Z", "energy": "0.1-0.8nm"},
            "2026-08-19T22:45:00Z 0.1-0.8nm",
        ),
        ({"time_tag": "2026-08-19T22:45:00Z"}, None),
        ("x", None),
    ],
    ids=["row", "no-energy", "not-object"],
)
def test_record_id_reads_time_and_band(record: Any, expected: str | None) -> None:
    assert xray.record_id(record) == expected

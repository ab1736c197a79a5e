from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from central.errors import FeedFormatError, RecordError
from central.events import to_structured
from central.ids import event_id
from central_adapter_quake import emsc
from recorded import DELETE, edit

FeatureLookup = Callable[[str], dict[str, Any]]


def test_normalize_accepts_every_feature_in_recorded_payload(
    emsc_payload: bytes,
) -> None:
    results = [emsc.normalize(f) for f in emsc.parse(emsc_payload)]

    assert len(results) == 430
    assert len({r.event.id for r in results}) == 430
    assert [r.event.subject for r in results] == [
        f["properties"]["unid"] for f in json.loads(emsc_payload)["features"]
    ]


def test_normalize_maps_fields_of_crete_feature(emsc_feature: FeatureLookup) -> None:
    result = emsc.normalize(emsc_feature("20250426_0000198"))

    event = result.event
    assert event.source == "https://www.seismicportal.eu/fdsnws/event/1"
    assert event.subject == "20250426_0000198"
    assert event.type == "central.quake.earthquake"
    assert event.id == event_id(
        "emsc", "20250426_0000198", "2025-04-26T13:48:47.302931Z"
    )
    assert event.time == datetime(2025, 4, 26, 12, 59, 28, tzinfo=UTC)
    assert event.data == {
        "magnitude": 2.6,
        "magnitude_type": "ml",
        "depth_km": 15.0,
        "place": "CRETE, GREECE",
        "title": None,
        "status": None,
        "event_type": "ke",
        "tsunami": None,
        "felt": None,
        "cdi": None,
        "mmi": None,
        "alert": None,
        "significance": None,
        "nst": None,
        "dmin": None,
        "gap": None,
        "network": "THE",
        "url": "https://www.seismicportal.eu/eventdetails.html?unid=20250426_0000198",
        "ids": ["20250426_0000198"],
        "sources": ["THE"],
        "updated": "2025-04-26T13:48:47.302931Z",
        "geometry": {"type": "Point", "coordinates": [25.29, 35.07]},
        "extra": {"source_catalog": "EMSC-RTS", "source_id": "1800270"},
    }
    assert result.nats_subject == "central.quake.earthquake.emsc.sw1"


def test_normalize_takes_positive_depth_when_coordinates_negate_it(
    emsc_payload: bytes,
) -> None:
    features = emsc.parse(emsc_payload)

    for feature in features:
        data = emsc.normalize(feature).event.data
        lon, lat, negated = feature["geometry"]["coordinates"]
        assert data["depth_km"] == feature["properties"]["depth"] == -negated
        assert data["geometry"]["coordinates"] == [lon, lat]


def test_normalize_negates_coordinate_depth_when_depth_property_missing(
    emsc_feature: FeatureLookup,
) -> None:
    feature = emsc_feature("20250426_0000185")
    del feature["properties"]["depth"]

    data = emsc.normalize(feature).event.data

    assert data["depth_km"] == 16.3


def test_normalize_gives_plus_zero_depth_when_coordinate_depth_is_zero(
    emsc_feature: FeatureLookup,
) -> None:
    feature = emsc_feature("20250426_0000185")
    del feature["properties"]["depth"]
    feature["geometry"]["coordinates"][2] = 0.0

    data = emsc.normalize(feature).event.data

    assert data["depth_km"] == 0.0
    assert math.copysign(1.0, data["depth_km"]) == 1.0


def test_normalize_types_suspected_earthquake_as_earthquake(
    emsc_feature: FeatureLookup, emsc_payload: bytes
) -> None:
    result = emsc.normalize(emsc_feature("20250425_0000320"))
    codes = Counter(
        emsc.normalize(f).event.data["event_type"] for f in emsc.parse(emsc_payload)
    )

    assert result.event.type == "central.quake.earthquake"
    assert result.event.data["event_type"] == "se"
    assert result.nats_subject == "central.quake.earthquake.emsc.sxk"
    assert codes == {"ke": 428, "se": 2}


@pytest.mark.parametrize(
    ("unid", "field", "text", "expected"),
    [
        (
            "20250426_0000198",
            "time",
            "2025-04-26T12:59:28.0Z",
            datetime(2025, 4, 26, 12, 59, 28, tzinfo=UTC),
        ),
        (
            "20250426_0000185",
            "time",
            "2025-04-26T12:48:25.87Z",
            datetime(2025, 4, 26, 12, 48, 25, 870000, tzinfo=UTC),
        ),
        (
            "20250426_0000146",
            "updated",
            "2025-04-26T13:23:04.95915Z",
            datetime(2025, 4, 26, 13, 23, 4, 959150, tzinfo=UTC),
        ),
        (
            "20250426_0000198",
            "updated",
            "2025-04-26T13:48:47.302931Z",
            datetime(2025, 4, 26, 13, 48, 47, 302931, tzinfo=UTC),
        ),
    ],
    ids=["one-digit", "two-digits", "five-digits", "six-digits"],
)
def test_normalize_reads_times_with_any_fraction_length(
    emsc_feature: FeatureLookup, unid: str, field: str, text: str, expected: datetime
) -> None:
    feature = emsc_feature(unid)
    source_key = "lastupdate" if field == "updated" else "time"
    assert feature["properties"][source_key] == text

    event = emsc.normalize(feature).event

    if field == "time":
        assert event.time == expected
    else:
        assert datetime.fromisoformat(event.data["updated"]) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-04-26T12:59:28", datetime(2025, 4, 26, 12, 59, 28, tzinfo=UTC)),
        (
            "2025-04-26T14:59:28.123456789+02:00",
            datetime(2025, 4, 26, 12, 59, 28, 123456, tzinfo=UTC),
        ),
    ],
    ids=["no-zone", "nanoseconds-offset"],
)
def test_normalize_reads_time_as_utc_when_zone_missing_or_offset(
    emsc_feature: FeatureLookup, text: str, expected: datetime
) -> None:
    feature = emsc_feature("20250426_0000198")
    feature["properties"]["time"] = text

    assert emsc.normalize(feature).event.time == expected


def test_normalize_gives_new_id_and_same_subject_when_lastupdate_changes(
    emsc_feature: FeatureLookup,
) -> None:
    first = emsc_feature("20250426_0000149")
    revised = emsc_feature("20250426_0000149")
    revised["properties"]["lastupdate"] = "2025-04-26T14:02:11.5Z"
    revised["properties"]["mag"] = 3.3

    before = emsc.normalize(first).event
    after = emsc.normalize(revised).event

    assert after.id != before.id
    assert after.id == event_id("emsc", "20250426_0000149", "2025-04-26T14:02:11.5Z")
    assert after.subject == before.subject == "20250426_0000149"


def test_normalize_gives_identical_bytes_when_run_twice(emsc_payload: bytes) -> None:
    def run() -> list[bytes]:
        return [
            to_structured(r.event) + r.nats_subject.encode()
            for r in map(emsc.normalize, emsc.parse(emsc_payload))
        ]

    assert run() == run()


def test_normalize_puts_known_coordinate_in_its_geohash_cell(
    emsc_feature: FeatureLookup,
) -> None:
    feature = emsc_feature("20250426_0000198")
    feature["geometry"]["coordinates"] = [-122.4, 37.77, -5.0]

    result = emsc.normalize(feature)

    assert result.nats_subject == "central.quake.earthquake.emsc.9q8"


def test_normalize_falls_back_to_feature_id_when_unid_missing(
    emsc_feature: FeatureLookup,
) -> None:
    feature = emsc_feature("20250426_0000198")
    del feature["properties"]["unid"]

    assert emsc.normalize(feature).event.subject == "20250426_0000198"


def _edit_geometry(value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(feature: dict[str, Any]) -> None:
        feature["geometry"] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_edit_geometry(None), r"^record has no geometry \(record 20250426_0000198\)$"),
        (
            _edit_geometry({"type": "Point", "coordinates": []}),
            r"^coordinates \[\] are not \[lon, lat\]",
        ),
        (
            _edit_geometry({"type": "Point", "coordinates": [25.29, 95.0, -15.0]}),
            r"^latitude 95.0 is outside -90..90",
        ),
        (edit("properties", time=DELETE), r"^record has no time"),
        (
            edit("properties", time="26/04/2025 12:59:28"),
            r"^time '26/04/2025 12:59:28' is not an RFC 3339 date-time",
        ),
        (
            edit("properties", time="2025-02-30T12:59:28.0Z"),
            r"^time '2025-02-30T12:59:28.0Z' is not a valid calendar date-time",
        ),
        (edit("properties", lastupdate=DELETE), r"^record has no lastupdate"),
        (edit("properties", lastupdate=""), r"^record has no lastupdate"),
        (edit("properties", depth="15.0"), r"^depth '15.0' is not a finite number"),
        (edit("properties", magtype=2), r"^magtype 2 is not a string"),
    ],
    ids=[
        "no-geometry",
        "empty-coordinates",
        "latitude-out-of-range",
        "no-time",
        "time-not-rfc3339",
        "time-not-a-date",
        "no-lastupdate",
        "empty-lastupdate",
        "depth-string",
        "magtype-number",
    ],
)
def test_normalize_raises_record_error_when_feature_is_broken(
    emsc_feature: FeatureLookup, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    feature = emsc_feature("20250426_0000198")
    edit(feature)

    with pytest.raises(RecordError, match=message) as caught:
        emsc.normalize(feature)

    assert caught.value.native_id == "20250426_0000198"


def test_normalize_raises_record_error_when_no_unid_or_id(
    emsc_feature: FeatureLookup,
) -> None:
    feature = emsc_feature("20250426_0000198")
    del feature["properties"]["unid"]
    del feature["id"]

    with pytest.raises(RecordError, match=r"^record has no unid$") as caught:
        emsc.normalize(feature)

    assert caught.value.native_id is None


def test_parse_returns_no_features_when_body_is_empty() -> None:
    assert emsc.parse(b"") == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"Error 400: Bad Request", r"^emsc payload is not JSON: "),
        (b'"FeatureCollection"', r"^emsc payload is a JSON string, not an object$"),
        (
            b'{"metadata": {"count": 0}, "features": []}',
            r"^emsc payload type is None, not 'FeatureCollection'$",
        ),
        (
            b'{"type": "FeatureCollection", "metadata": {"count": 0}}',
            r"^emsc payload has no features array$",
        ),
    ],
    ids=["text", "string", "no-type", "no-features"],
)
def test_parse_raises_feed_format_error_when_payload_is_wrong(
    body: bytes, message: str
) -> None:
    with pytest.raises(FeedFormatError, match=message):
        emsc.parse(body)


@pytest.mark.parametrize(
    ("evtype", "kind"),
    [
        ("ke", "earthquake"),
        ("se", "earthquake"),
        ("KE", "earthquake"),
        ("ki", "earthquake"),
        ("qb", "quarry-blast"),
        ("sqb", "quarry-blast"),
        ("kx", "explosion"),
        ("km", "explosion"),
        ("kn", "explosion"),
        ("sn", "explosion"),
        ("uk", "other"),
        ("ls", "other"),
        ("zz", "other"),
        (None, "other"),
    ],
    ids=lambda value: str(value),
)
def test_kind_of_maps_evtype_to_kind(evtype: str | None, kind: str) -> None:
    assert emsc.kind_of(evtype) == kind


def test_normalize_types_quarry_blast_code_by_kind(
    emsc_feature: FeatureLookup,
) -> None:
    feature = emsc_feature("20250426_0000198")
    feature["properties"]["evtype"] = "qb"

    result = emsc.normalize(feature)

    assert result.event.type == "central.quake.quarry-blast"
    assert result.nats_subject == "central.quake.quarry-blast.emsc.sw1"


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        ({"id": "a", "properties": {"unid": "b"}}, "b"),
        ({"id": "a", "properties": {}}, "a"),
        ({"id": "a"}, "a"),
        ({"properties": {"unid": ""}}, None),
        (None, None),
    ],
    ids=["unid", "id-fallback", "no-properties", "empty", "not-object"],
)
def test_record_id_reads_unid_then_id(feature: Any, expected: str | None) -> None:
    assert emsc.record_id(feature) == expected

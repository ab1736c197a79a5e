from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from central.errors import FeedFormatError, RecordError
from central.events import to_structured
from central.ids import event_id
from central_adapter_quake import usgs

Payload = Callable[[str], bytes]
FeatureLookup = Callable[[str, str], dict[str, Any]]


def _normalize_all(body: bytes) -> list[Any]:
    return [usgs.normalize(feature) for feature in usgs.parse(body)]


@pytest.mark.parametrize(
    ("year", "count"),
    [("2013", 6), ("2016", 151), ("2024", 13)],
    ids=["api1.0.8", "api1.5.2", "api1.10.3"],
)
def test_normalize_accepts_every_feature_in_recorded_payload(
    usgs_payload: Payload, year: str, count: int
) -> None:
    body = usgs_payload(year)

    results = _normalize_all(body)

    assert len(results) == count
    assert [r.event.subject for r in results] == [
        f["id"] for f in json.loads(body)["features"]
    ]
    assert len({r.event.id for r in results}) == count


def test_normalize_maps_fields_of_2013_feature(usgs_feature: FeatureLookup) -> None:
    result = usgs.normalize(usgs_feature("2013", "usb000ije3"))

    event = result.event
    assert event.source == "https://earthquake.usgs.gov/earthquakes/feed/v1.0"
    assert event.subject == "usb000ije3"
    assert event.type == "central.quake.earthquake"
    assert event.id == event_id("usgs", "usb000ije3", "1374646172950")
    assert event.time == datetime(2013, 7, 21, 23, 45, 56, 960000, tzinfo=UTC)
    assert event.data == {
        "magnitude": 5.9,
        "magnitude_type": "mwp",
        "depth_km": 9.84,
        "place": "13km E of Chabu, China",
        "title": None,
        "status": "reviewed",
        "event_type": "earthquake",
        "tsunami": None,
        "felt": 11,
        "cdi": 4.3,
        "mmi": 7.33,
        "alert": "orange",
        "significance": 1005,
        "nst": 121,
        "dmin": 3.9,
        "gap": 19.0,
        "network": "us",
        "url": "http://earthquake.usgs.gov/earthquakes/eventpage/usb000ije3",
        "ids": ["usb000ije3", "pt13202001"],
        "sources": ["us", "pt"],
        "updated": "2013-07-24T06:09:32.950000Z",
        "geometry": {"type": "Point", "coordinates": [104.2427, 34.4991]},
        "extra": {
            "tz": 480,
            "detail": "http://earthquake.usgs.gov/earthquakes/feed/v1.0/detail/usb000ije3.geojson",
            "code": "b000ije3",
            "types": ",cap,dyfi,general-link,geoserve,losspager,moment-tensor,"
            "nearby-cities,origin,p-wave-travel-times,phase-data,scitech-link,shakemap,"
            "tectonic-summary,",
            "rms": 0.89,
        },
    }
    assert result.nats_subject == "central.quake.earthquake.usgs.wq4"


def test_normalize_maps_fields_of_2024_feature(usgs_feature: FeatureLookup) -> None:
    event = usgs.normalize(usgs_feature("2024", "us7000lx8h")).event

    assert event.time == datetime(2024, 2, 6, 2, 18, 2, 962000, tzinfo=UTC)
    assert event.data["title"] == "M 4.9 - 45 km NNW of Güiria, Venezuela"
    assert event.data["place"] == "45 km NNW of Güiria, Venezuela"
    assert event.data["magnitude"] == 4.9
    assert event.data["depth_km"] == 85.799
    assert event.data["felt"] == 24
    assert event.data["cdi"] == 4.1
    assert event.data["mmi"] is None
    assert event.data["tsunami"] is False
    assert event.data["updated"] == "2024-02-06T12:30:33.276000Z"


def test_normalize_keeps_geometry_2d_and_depth_apart(
    usgs_feature: FeatureLookup,
) -> None:
    data = usgs.normalize(usgs_feature("2013", "usb000i89z")).event.data

    assert data["geometry"] == {"type": "Point", "coordinates": [153.9204, -3.9234]}
    assert data["depth_km"] == 386.25


def test_normalize_reads_no_title_as_none_in_api_1_0_8(usgs_payload: Payload) -> None:
    results = _normalize_all(usgs_payload("2013"))

    assert [r.event.data["title"] for r in results] == [None] * 6


@pytest.mark.parametrize(
    ("year", "native_id", "status", "magnitude_type"),
    [
        ("2013", "usb000iivv", "reviewed", "mww"),
        ("2016", "pr16308003", "reviewed", "md"),
        ("2016", "nc72719920", "reviewed", "md"),
    ],
    ids=["REVIEWED-Mww", "REVIEWED-Md", "reviewed-md"],
)
def test_normalize_lowercases_status_and_magnitude_type_when_mixed_case(
    usgs_feature: FeatureLookup,
    year: str,
    native_id: str,
    status: str,
    magnitude_type: str,
) -> None:
    data = usgs.normalize(usgs_feature(year, native_id)).event.data

    assert (data["status"], data["magnitude_type"]) == (status, magnitude_type)


def test_normalize_keeps_null_tsunami_as_none_in_api_1_0_8(
    usgs_payload: Payload,
) -> None:
    results = _normalize_all(usgs_payload("2013"))

    flags = Counter(r.event.data["tsunami"] for r in results)
    assert flags == {None: 3, True: 3}


def test_normalize_types_quarry_blasts_and_explosions_by_kind(
    usgs_payload: Payload,
) -> None:
    results = _normalize_all(usgs_payload("2016"))

    types = Counter(r.event.type for r in results)
    assert types == {
        "central.quake.earthquake": 143,
        "central.quake.quarry-blast": 5,
        "central.quake.explosion": 3,
    }


@pytest.mark.parametrize(
    ("native_id", "event_type", "subject_prefix"),
    [
        ("ci37516791", "quarry blast", "central.quake.quarry-blast.usgs."),
        ("uw61227711", "explosion", "central.quake.explosion.usgs."),
    ],
    ids=["quarry-blast", "explosion"],
)
def test_normalize_keeps_provider_type_when_not_earthquake(
    usgs_feature: FeatureLookup, native_id: str, event_type: str, subject_prefix: str
) -> None:
    result = usgs.normalize(usgs_feature("2016", native_id))

    assert result.event.data["event_type"] == event_type
    assert result.nats_subject.startswith(subject_prefix)


def test_normalize_keeps_negative_depth_and_magnitude(
    usgs_feature: FeatureLookup, usgs_payload: Payload
) -> None:
    shallow = usgs.normalize(usgs_feature("2016", "mb80188144")).event.data
    small = usgs.normalize(usgs_feature("2016", "nc72719920")).event.data
    results = _normalize_all(usgs_payload("2016"))

    assert shallow["depth_km"] == -2.58
    assert small["magnitude"] == -0.38
    assert sum(r.event.data["depth_km"] < 0 for r in results) == 14
    assert sum(r.event.data["magnitude"] < 0 for r in results) == 3


def test_normalize_splits_comma_wrapped_ids_and_sources(
    usgs_feature: FeatureLookup,
) -> None:
    data = usgs.normalize(usgs_feature("2016", "nc72719705")).event.data

    assert data["ids"] == ["nc72719705", "nn00565341"]
    assert data["sources"] == ["nc", "nn"]


def test_normalize_lists_own_id_first_when_ids_lack_it(
    usgs_feature: FeatureLookup,
) -> None:
    feature = usgs_feature("2024", "us7000lx97")
    feature["properties"]["ids"] = ",pt24037000,"

    data = usgs.normalize(feature).event.data

    assert data["ids"] == ["us7000lx97", "pt24037000"]


def test_normalize_gives_new_id_and_same_subject_when_updated_changes(
    usgs_feature: FeatureLookup,
) -> None:
    first = usgs_feature("2016", "nc72719705")
    revised = usgs_feature("2016", "nc72719705")
    revised["properties"]["updated"] += 60_000
    revised["properties"]["mag"] = 1.2

    before = usgs.normalize(first).event
    after = usgs.normalize(revised).event

    assert after.id != before.id
    assert after.id == event_id("usgs", "nc72719705", "1478195342371")
    assert after.subject == before.subject == "nc72719705"
    assert after.time == before.time


def test_normalize_gives_identical_bytes_when_run_twice(usgs_payload: Payload) -> None:
    body = usgs_payload("2016")

    first = [
        to_structured(r.event) + r.nats_subject.encode() for r in _normalize_all(body)
    ]
    second = [
        to_structured(r.event) + r.nats_subject.encode() for r in _normalize_all(body)
    ]

    assert first == second


def test_normalize_puts_known_coordinate_in_its_geohash_cell(
    usgs_feature: FeatureLookup,
) -> None:
    feature = usgs_feature("2024", "us7000lx97")
    feature["geometry"]["coordinates"] = [-122.4, 37.77, 8.0]

    result = usgs.normalize(feature)

    assert result.nats_subject == "central.quake.earthquake.usgs.9q8"


def _without(path: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    def edit(feature: dict[str, Any]) -> None:
        target = feature
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


def _setting(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(feature: dict[str, Any]) -> None:
        target = feature
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "native_id", "message"),
    [
        (_without(("id",)), None, r"^record has no id$"),
        (_setting(("id",), ""), None, r"^record has no id$"),
        (_without(("properties",)), "us7000lx97", r"^record has no properties object"),
        (_setting(("type",), "Topology"), "us7000lx97", r"record type is 'Topology'"),
        (_without(("geometry",)), "us7000lx97", r"^record has no geometry"),
        (
            _without(("geometry", "coordinates")),
            "us7000lx97",
            r"^coordinates None are not \[lon, lat\]",
        ),
        (
            _setting(("geometry", "coordinates"), [121.0701]),
            "us7000lx97",
            r"^coordinates \[121.0701\] are not",
        ),
        (
            _setting(("geometry", "coordinates"), ["121.0701", 16.8088, 10]),
            "us7000lx97",
            r"^coordinates \['121.0701', 16.8088, 10\] are not",
        ),
        (
            _setting(("geometry", "type"), "LineString"),
            "us7000lx97",
            r"^geometry type is 'LineString', not 'Point'",
        ),
        (
            _setting(("geometry", "coordinates"), [181.0, 16.8088, 10]),
            "us7000lx97",
            r"^longitude 181.0 is outside -180..180",
        ),
        (
            _setting(("geometry", "coordinates"), [121.0701, -90.5, 10]),
            "us7000lx97",
            r"^latitude -90.5 is outside -90..90",
        ),
        (_without(("properties", "time")), "us7000lx97", r"^record has no time"),
        (
            _setting(("properties", "time"), "2024-02-06T04:20:51Z"),
            "us7000lx97",
            r"^time '2024-02-06T04:20:51Z' is not an integer",
        ),
        (
            _setting(("properties", "time"), 10**20),
            "us7000lx97",
            r"^time 100000000000000000000 is not epoch milliseconds in range",
        ),
        (_without(("properties", "updated")), "us7000lx97", r"^record has no updated"),
        (
            _setting(("properties", "mag"), "4.6"),
            "us7000lx97",
            r"^mag '4.6' is not a finite number",
        ),
        (
            _setting(("properties", "felt"), 2.5),
            "us7000lx97",
            r"^felt 2.5 is not an integer",
        ),
        (
            _setting(("properties", "tsunami"), 2),
            "us7000lx97",
            r"^tsunami 2 is not 0, 1 or null",
        ),
        (
            _setting(("properties", "ids"), ["us7000lx97"]),
            "us7000lx97",
            r"^ids \['us7000lx97'\] is not a string",
        ),
    ],
    ids=[
        "no-id",
        "empty-id",
        "no-properties",
        "not-a-feature",
        "no-geometry",
        "no-coordinates",
        "one-coordinate",
        "string-coordinate",
        "not-a-point",
        "longitude-out-of-range",
        "latitude-out-of-range",
        "no-time",
        "iso-time",
        "time-out-of-range",
        "no-updated",
        "string-magnitude",
        "fractional-felt",
        "tsunami-not-flag",
        "ids-not-string",
    ],
)
def test_normalize_raises_record_error_when_feature_is_broken(
    usgs_feature: FeatureLookup,
    edit: Callable[[dict[str, Any]], None],
    native_id: str | None,
    message: str,
) -> None:
    feature = usgs_feature("2024", "us7000lx97")
    edit(feature)

    with pytest.raises(RecordError, match=message) as caught:
        usgs.normalize(feature)

    assert caught.value.native_id == native_id


def test_normalize_raises_record_error_when_record_is_not_object() -> None:
    with pytest.raises(RecordError, match=r"^record is not a JSON object$"):
        usgs.normalize(["us7000lx97"])


def test_normalize_accepts_two_element_position_without_depth(
    usgs_feature: FeatureLookup,
) -> None:
    feature = usgs_feature("2024", "us7000lx97")
    feature["geometry"]["coordinates"] = [121.0701, 16.8088]

    data = usgs.normalize(feature).event.data

    assert data["depth_km"] is None
    assert data["geometry"]["coordinates"] == [121.0701, 16.8088]


def test_normalize_accepts_integral_float_milliseconds(
    usgs_feature: FeatureLookup,
) -> None:
    feature = usgs_feature("2024", "us7000lx97")
    feature["properties"]["time"] = 1707193251555.0
    feature["properties"]["updated"] = 1707198848040.0

    event = usgs.normalize(feature).event

    assert event.time == datetime(2024, 2, 6, 4, 20, 51, 555000, tzinfo=UTC)
    assert event.id == event_id("usgs", "us7000lx97", "1707198848040")


def test_parse_accepts_fdsn_query_output(usgs_feature: FeatureLookup) -> None:
    feature = usgs_feature("2024", "us7000lx97")
    feature["properties"]["detail"] = (
        "https://earthquake.usgs.gov/fdsnws/event/1/query"
        "?eventid=us7000lx97&format=geojson"
    )
    body = json.dumps(
        {
            "type": "FeatureCollection",
            "metadata": {"generated": 1707223147000, "title": "USGS Earthquakes"},
            "features": [feature],
            "bbox": [121.0701, 16.8088, 10, 121.0701, 16.8088, 10],
        }
    ).encode()

    results = _normalize_all(body)

    assert [r.event.subject for r in results] == ["us7000lx97"]


def test_parse_returns_no_features_when_body_is_empty() -> None:
    assert usgs.parse(b"") == []
    assert usgs.parse(b" \r\n") == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", r"^usgs payload is not JSON: "),
        (b'{"type": "FeatureCollection", "features": [', r"^usgs payload is not JSON"),
        (b'{"features": [], "x": NaN}', r"^usgs payload is not JSON: NaN is not"),
        (b"\xff\xfe\xfa", r"^usgs payload is not JSON"),
        (b"[1, 2]", r"^usgs payload is a JSON array, not an object$"),
        (b"null", r"^usgs payload is a JSON null, not an object$"),
        (
            b'{"type": "Feature", "properties": {}}',
            r"^usgs payload type is 'Feature', not 'FeatureCollection'$",
        ),
        (
            b'{"type": "FeatureCollection", "features": {}}',
            r"^usgs payload has no features array$",
        ),
        (
            b'{"type": "FeatureCollection", "features": [{}, 3]}',
            r"^usgs payload features\[1\] is not an object$",
        ),
    ],
    ids=[
        "html",
        "truncated",
        "nan",
        "not-utf8",
        "array",
        "null",
        "single-feature",
        "features-not-array",
        "feature-not-object",
    ],
)
def test_parse_raises_feed_format_error_when_payload_is_wrong(
    body: bytes, message: str
) -> None:
    with pytest.raises(FeedFormatError, match=message) as caught:
        usgs.parse(body)

    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("usgs_type", "kind"),
    [
        ("earthquake", "earthquake"),
        ("Earthquake", "earthquake"),
        ("induced or triggered event", "earthquake"),
        ("quarry blast", "quarry-blast"),
        ("quarry  Blast", "quarry-blast"),
        ("explosion", "explosion"),
        ("chemical explosion", "explosion"),
        ("mining explosion", "explosion"),
        ("nuclear explosion", "explosion"),
        ("ice quake", "other"),
        ("landslide", "other"),
        ("sonic boom", "other"),
        ("other event", "other"),
        (None, "other"),
    ],
    ids=lambda value: str(value).replace(" ", "-"),
)
def test_kind_of_maps_usgs_type_to_kind(usgs_type: str | None, kind: str) -> None:
    assert usgs.kind_of(usgs_type) == kind


def test_normalize_types_unknown_kind_as_other(usgs_feature: FeatureLookup) -> None:
    feature = usgs_feature("2024", "us7000lx97")
    feature["properties"]["type"] = "ice quake"

    result = usgs.normalize(feature)

    assert result.event.type == "central.quake.other"
    assert result.event.data["event_type"] == "ice quake"
    assert result.nats_subject == "central.quake.other.usgs.wdy"


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        ({"id": "us7000lx97"}, "us7000lx97"),
        ({"id": ""}, None),
        ({"id": 7}, None),
        ({}, None),
        ("us7000lx97", None),
    ],
    ids=["id", "empty", "number", "missing", "not-object"],
)
def test_record_id_reads_feature_id_or_none(feature: Any, expected: str | None) -> None:
    assert usgs.record_id(feature) == expected

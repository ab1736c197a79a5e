from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from adapter_contract import FIXTURES
from central.errors import FeedFormatError, RecordError
from central.feeds import Normalized
from central.ids import content_revision, event_id
from central_adapter_disaster import gdacs

Lookup = Callable[[str], dict[str, Any]]
RSS = FIXTURES / "gdacs" / "gdacs_rss_2019-12-30.xml"


def _normalize_all(body: bytes) -> list[Normalized]:
    return [gdacs.normalize(record) for record in gdacs.parse(body)]


def _payload(features: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {"type": "FeatureCollection", "metadata": {}, "features": features}
    ).encode()


def test_parse_gathers_77_features_into_36_episodes(
    gdacs_body: bytes, gdacs_records: list[dict[str, Any]]
) -> None:
    document = json.loads(gdacs_body)
    features = document["features"]

    assert document["metadata"] == {}
    assert len(features) == 77
    assert len(gdacs_records) == 36
    assert sum(len(r["features"]) for r in gdacs_records) == 77
    assert Counter(len(r["features"]) for r in gdacs_records) == {2: 31, 3: 5}


def test_normalize_accepts_every_episode_in_recorded_payload(
    gdacs_body: bytes, gdacs_results: list[Normalized]
) -> None:
    centroids = [
        f["properties"]
        for f in json.loads(gdacs_body)["features"]
        if "eventid" in f["properties"]
    ]

    assert len(gdacs_results) == 36
    assert len({r.event.id for r in gdacs_results}) == 36
    assert [r.event.subject for r in gdacs_results] == [
        p["eventtype"] + p["eventid"] for p in centroids
    ]


def test_normalize_maps_fields_of_earthquake_episode(gdacs_record: Lookup) -> None:
    record = gdacs_record("EQ1542046")

    result = gdacs.normalize(record)

    event = result.event
    data = dict(event.data)
    features = data.pop("features")
    assert event.source == "https://www.gdacs.org/xml/gdacs.geojson"
    assert event.type == "central.disaster.alert"
    assert event.subject == "EQ1542046"
    assert event.time == datetime(2026, 5, 23, 5, 41, 34, tzinfo=UTC)
    assert data == {
        "hazard": "earthquake",
        "event_type": "EQ",
        "event_id": 1542046,
        "episode_id": 1707297,
        "name": "Earthquake in Southeast Indian Ridge",
        "event_name": None,
        "description": "Earthquake in Southeast Indian Ridge",
        "html_description": (
            "Green Earthquake in Southeast Indian Ridge at: 23 May 2026 05:41:34."
        ),
        "alert_level": "green",
        "alert_score": 0.0,
        "episode_alert_level": "green",
        "episode_alert_score": 0.0,
        "severity": 5.7,
        "severity_unit": "M",
        "country": "Southeast Indian Ridge",
        "country_list": "Southeast Indian Ridge",
        "iso3": None,
        "from_time": "2026-05-23T05:41:34Z",
        "to_time": "2026-05-23T05:41:34Z",
        "url": "https://www.gdacs.org/report.aspx?eventtype=EQ&eventid=1542046"
        "&episodeid=1707297",
        "icon_url": "https://www.gdacs.org/images/gdacs_icons/maps/Green/EQ.png",
        "image_url": "https://www.gdacs.org/contentdata/resources/imgtemp/gdacs/eq/"
        "eq1707297_2.png",
        "geometry": {"type": "Point", "coordinates": [99.9967, -47.488]},
        "extra": {},
    }
    circle = record["features"][1]["geometry"]
    assert features == [
        {
            "id": "EQ15420461707297Circle",
            "label": "100km",
            "feature_class": "Poly_Circle",
            "polygon_type": "Circle",
            "icon_url": "https://www.gdacs.org/images/gdacs_icons/maps/Green/EQ.png",
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[float(x) for x in p] for p in ring]
                    for ring in circle["coordinates"]
                ],
            },
            "geometry_omitted": False,
            "extra": {},
        }
    ]
    assert result.nats_subject == "central.disaster.alert.gdacs.npx"


def test_normalize_maps_fields_of_drought_spanning_months(gdacs_record: Lookup) -> None:
    event = gdacs.normalize(gdacs_record("DR1018344")).event

    assert event.time == datetime(2026, 5, 24, tzinfo=UTC)
    assert event.data["from_time"] == "2025-12-11T00:00:00Z"
    assert event.data["event_name"] == "Angola, Zambia, Gabon, Congo-2025"
    assert (event.data["alert_level"], event.data["alert_score"]) == ("orange", 1.0)
    assert (event.data["severity"], event.data["severity_unit"]) == (272473.0, "km2")
    assert event.data["iso3"] == "AGO"
    assert [f["label"] for f in event.data["features"]] == ["Affected Area"]
    assert event.data["features"][0]["geometry"]["type"] == "MultiPolygon"


def test_normalize_keeps_mixed_geometry_features_of_one_flood(
    gdacs_record: Lookup,
) -> None:
    data = gdacs.normalize(gdacs_record("FL1103881")).event.data

    assert data["geometry"] == {
        "type": "Point",
        "coordinates": [99.7332501, 18.6799728],
    }
    assert [(f["id"], f["geometry"]["type"]) for f in data["features"]] == [
        ("FL11038813Affected", "Polygon"),
        ("FL11038813Global", "MultiPolygon"),
    ]
    assert (data["episode_alert_score"], data["alert_score"]) == (0.5, 1.0)
    assert (data["severity"], data["severity_unit"]) == (0.0, None)


def test_normalize_reads_every_string_property_as_its_type(
    gdacs_record: Lookup,
) -> None:
    record = gdacs_record("WF1028696")
    props = record["features"][0]["properties"]
    assert (props["alertscore"], props["severity"], props["eventid"]) == (
        "0.5",
        "7311",
        "1028696",
    )

    data = gdacs.normalize(record).event.data

    assert (data["alert_score"], data["severity"], data["event_id"]) == (
        0.5,
        7311.0,
        1028696,
    )
    assert data["severity_unit"] == "ha"
    # The point comes from the geometry, not from the longer latitude text.
    assert props["latitude"] == "8.5645225685558817"
    assert data["geometry"]["coordinates"] == [-62.6926641984692, 8.564522568555882]


def test_normalize_types_every_episode_by_hazard(
    gdacs_results: list[Normalized],
) -> None:
    hazards = Counter(r.event.data["hazard"] for r in gdacs_results)

    assert {r.event.type for r in gdacs_results} == {"central.disaster.alert"}
    assert hazards == {"wildfire": 17, "drought": 9, "earthquake": 5, "flood": 5}


def test_normalize_reads_empty_iso3_and_eventname_as_none(
    gdacs_body: bytes, gdacs_results: list[Normalized]
) -> None:
    centroids = [
        f["properties"]
        for f in json.loads(gdacs_body)["features"]
        if "eventid" in f["properties"]
    ]

    blank = [p["eventtype"] + p["eventid"] for p in centroids if p["iso3"] == ""]
    assert blank == ["EQ1542046"]
    assert [
        r.event.data["iso3"] for r in gdacs_results if r.event.subject in blank
    ] == [None]
    assert sum(r.event.data["event_name"] is None for r in gdacs_results) == sum(
        p["eventname"] == "" for p in centroids
    )


def test_parse_places_shapes_without_eventid_by_their_link(
    gdacs_body: bytes, gdacs_records: list[dict[str, Any]]
) -> None:
    shapes = [
        f
        for f in json.loads(gdacs_body)["features"]
        if "eventid" not in f["properties"]
    ]

    assert len(shapes) == 41
    for record in gdacs_records:
        head = record["eventtype"] + record["eventid"] + record["episodeid"]
        assert all(f["id"].startswith(head) for f in record["features"])


def test_parse_places_shape_by_link_when_feature_id_says_nothing(
    gdacs_body: bytes,
) -> None:
    features = json.loads(gdacs_body)["features"][:4]
    features[1]["id"] = "Circle"
    features[0], features[1] = features[1], features[0]

    records = gdacs.parse(_payload(features))

    assert [gdacs.record_id(r) for r in records] == ["EQ1542046", "EQ1542305"]
    assert [f["id"] for f in records[0]["features"]] == [
        "Circle",
        "EQ15420461707297Centroid",
    ]
    assert gdacs.normalize(records[0]).event.data["features"][0]["id"] == "Circle"


def test_parse_places_shape_by_feature_id_when_link_missing(gdacs_body: bytes) -> None:
    features = json.loads(gdacs_body)["features"][:4]
    del features[1]["properties"]["link"]

    records = gdacs.parse(_payload(features))

    assert [gdacs.record_id(r) for r in records] == ["EQ1542046", "EQ1542305"]
    assert [f["id"] for f in records[0]["features"]] == [
        "EQ15420461707297Centroid",
        "EQ15420461707297Circle",
    ]


def test_parse_ignores_malformed_link_when_placing_shape(gdacs_body: bytes) -> None:
    features = json.loads(gdacs_body)["features"][:2]
    features[1]["properties"]["link"] = "https://[gdacs.org/report.aspx?eventid=1"

    records = gdacs.parse(_payload(features))

    assert [gdacs.record_id(r) for r in records] == ["EQ1542046"]
    assert len(records[0]["features"]) == 2


def test_normalize_rejects_shape_whose_event_cannot_be_told(gdacs_body: bytes) -> None:
    features = json.loads(gdacs_body)["features"][:2]
    del features[1]["properties"]["link"]
    features[1]["id"] = "Circle"

    records = gdacs.parse(_payload(features))

    assert len(records) == 2
    assert len(gdacs.normalize(records[0]).event.data["features"]) == 0
    with pytest.raises(
        RecordError,
        match=r"^record names no GDACS event and episode \(record Circle\)$",
    ):
        gdacs.normalize(records[1])


def test_parse_gives_same_events_when_features_are_shuffled(
    gdacs_body: bytes, gdacs_results: list[Normalized]
) -> None:
    """The first 46 features are the 23 earthquakes, droughts and wildfires."""
    features = json.loads(gdacs_body)["features"][:46]
    random.Random(7).shuffle(features)

    shuffled = _normalize_all(_payload(features))

    assert sorted(r.event.id for r in shuffled) == sorted(
        r.event.id for r in gdacs_results[:23]
    )


def test_normalize_keeps_id_when_only_feature_index_moves(gdacs_record: Lookup) -> None:
    first = gdacs_record("EQ1542305")
    moved = gdacs_record("EQ1542305")
    for offset, feature in enumerate(moved["features"]):
        feature["properties"]["featureIndex"] = str(40 + offset)

    assert gdacs.normalize(moved).event.id == gdacs.normalize(first).event.id


def test_normalize_gives_new_id_and_same_subject_when_episode_is_revised(
    gdacs_record: Lookup,
) -> None:
    first = gdacs_record("DR1018546")
    later = gdacs_record("DR1018546")
    for feature in later["features"]:
        feature["properties"]["todate"] = "31 May 2026 00:00:00"

    before = gdacs.normalize(first).event
    after = gdacs.normalize(later).event

    assert after.id != before.id
    assert after.subject == before.subject == "DR1018546"
    assert after.time == datetime(2026, 5, 31, tzinfo=UTC)


def test_normalize_gives_new_id_when_new_episode_arrives(gdacs_record: Lookup) -> None:
    record = gdacs_record("EQ1542497")
    record["episodeid"] = "1707900"
    record["features"][0]["properties"]["episodeid"] = "1707900"

    event = gdacs.normalize(record).event

    assert event.subject == "EQ1542497"
    assert event.data["episode_id"] == 1707900
    assert event.id != gdacs.normalize(gdacs_record("EQ1542497")).event.id


def test_normalize_builds_id_from_sorted_features_without_index(
    gdacs_record: Lookup,
) -> None:
    record = gdacs_record("EQ1542484")
    head = {k: v for k, v in record.items() if k != "features"}
    for feature in record["features"]:
        del feature["properties"]["featureIndex"]
    parts = sorted(
        json.dumps(f, sort_keys=True, separators=(",", ":")).encode()
        for f in record["features"]
    )
    canonical = json.dumps(head, sort_keys=True, separators=(",", ":")).encode()

    event = gdacs.normalize(record).event

    assert event.id == event_id(
        "gdacs", "EQ1542484", content_revision(b"\n".join([canonical, *parts]))
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("27 May 2026 14:51:04", datetime(2026, 5, 27, 14, 51, 4, tzinfo=UTC)),
        ("5 Jan 2026 09:05", datetime(2026, 1, 5, 9, 5, tzinfo=UTC)),
        ("16 may 2026", datetime(2026, 5, 16, tzinfo=UTC)),
        ("2026-05-27T14:51:04", datetime(2026, 5, 27, 14, 51, 4, tzinfo=UTC)),
    ],
    ids=["with-seconds", "no-seconds", "date-only", "iso"],
)
def test_normalize_reads_gdacs_dates_as_utc(
    gdacs_record: Lookup, text: str, expected: datetime
) -> None:
    record = gdacs_record("EQ1542046")
    record["features"][0]["properties"]["fromdate"] = text

    assert gdacs.normalize(record).event.data[
        "from_time"
    ] == expected.isoformat().replace("+00:00", "Z")


def test_normalize_reads_api_episode_alert_names(gdacs_record: Lookup) -> None:
    record = gdacs_record("DR1018431")
    props = record["features"][0]["properties"]
    props["episodealertlevel"] = props.pop("alertlevelepisode")
    props["episodealertscore"] = props.pop("alertscoreepisode")

    data = gdacs.normalize(record).event.data

    assert (data["episode_alert_level"], data["episode_alert_score"]) == (
        "orange",
        1.25,
    )
    assert data["extra"] == {}


def test_normalize_keeps_unknown_property_in_extra(gdacs_record: Lookup) -> None:
    record = gdacs_record("EQ1542046")
    record["features"][0]["properties"]["glide"] = "EQ-2026-000081-GRC"
    record["features"][1]["properties"]["radius"] = "100"

    data = gdacs.normalize(record).event.data

    assert data["extra"] == {"glide": "EQ-2026-000081-GRC"}
    assert data["features"][0]["extra"] == {"radius": "100"}


def test_normalize_takes_point_from_text_when_centroid_missing(
    gdacs_record: Lookup,
) -> None:
    record = gdacs_record("EQ1542046")
    del record["features"][0]

    result = gdacs.normalize(record)

    assert result.event.data["geometry"] == {
        "type": "Point",
        "coordinates": [99.9967, -47.488],
    }
    assert result.event.data["features"] == []
    assert result.nats_subject == "central.disaster.alert.gdacs.npx"


def test_normalize_keeps_cyclone_track_line(gdacs_record: Lookup) -> None:
    record = gdacs_record("EQ1542305")
    track = json.loads(json.dumps(record["features"][1]))
    track["id"] = "EQ15423051707602Track"
    track["geometry"] = {
        "type": "LineString",
        "coordinates": [[126.3, 9.3], [181.5, 9.9]],
    }
    record["features"].append(track)

    features = gdacs.normalize(record).event.data["features"]

    assert features[-1]["geometry"] == {
        "type": "LineString",
        "coordinates": [[126.3, 9.3], [181.5, 9.9]],
    }


def test_normalize_omits_shapes_past_the_geometry_budget(
    gdacs_record: Lookup, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = gdacs_record("FL1103881")
    first = len(json.dumps(record["features"][1]["geometry"], separators=(",", ":")))
    monkeypatch.setattr(gdacs, "GEOMETRY_BUDGET", first + 10)

    features = gdacs.normalize(record).event.data["features"]

    assert [(f["geometry"] is None, f["geometry_omitted"]) for f in features] == [
        (False, False),
        (True, True),
    ]


def test_normalize_stays_under_nats_message_size_for_every_episode(
    gdacs_results: list[Normalized],
) -> None:
    sizes = [len(json.dumps(r.event.data)) for r in gdacs_results]

    assert max(sizes) < 1024 * 1024
    assert not any(
        f["geometry_omitted"] for r in gdacs_results for f in r.event.data["features"]
    )


@pytest.mark.parametrize(
    ("code", "hazard", "unit"),
    [
        ("EQ", "earthquake", "M"),
        ("TC", "tropical-cyclone", "km/h"),
        ("FL", "flood", None),
        ("VO", "volcano", None),
        ("DR", "drought", "km2"),
        ("WF", "wildfire", "ha"),
        ("TS", "tsunami", None),
        ("XX", "other", None),
    ],
    ids=lambda value: str(value),
)
def test_normalize_maps_event_type_to_hazard_and_unit(
    gdacs_record: Lookup, code: str, hazard: str, unit: str | None
) -> None:
    record = gdacs_record("EQ1542046")
    record["eventtype"] = code
    for feature in record["features"]:
        feature["properties"]["eventtype"] = code

    event = gdacs.normalize(record).event

    assert event.subject == f"{code}1542046"
    assert (event.data["hazard"], event.data["severity_unit"]) == (hazard, unit)


def test_parse_skips_utf8_byte_order_mark(gdacs_body: bytes) -> None:
    assert len(gdacs.parse(b"\xef\xbb\xbf" + gdacs_body)) == 36


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (RSS.read_bytes(), r"^gdacs payload is XML or HTML, not JSON$"),
        (b"", r"^gdacs payload is empty$"),
        (b"{'type': 1}", r"^gdacs payload is not JSON: "),
        (b'{"type": "FeatureCollection", "x": NaN}', r"^gdacs payload is not JSON: "),
        (b"[]", r"^gdacs payload is a JSON array, not an object$"),
        (
            b'{"type": "Feature", "features": []}',
            r"^gdacs payload type is 'Feature', not 'FeatureCollection'$",
        ),
        (b'{"type": "FeatureCollection"}', r"^gdacs payload has no features array$"),
    ],
    ids=["rss", "empty", "not-json", "nan", "array", "feature", "no-features"],
)
def test_parse_raises_feed_format_error_when_payload_is_wrong(
    body: bytes, message: str
) -> None:
    with pytest.raises(FeedFormatError, match=message):
        gdacs.parse(body)


def test_parse_keeps_non_object_feature_as_rejected_record(gdacs_body: bytes) -> None:
    features: list[Any] = json.loads(gdacs_body)["features"][:2]
    features.insert(1, "Circle")

    records = gdacs.parse(_payload(features))

    assert len(records) == 2
    with pytest.raises(RecordError, match=r"^record names no GDACS event"):
        gdacs.normalize(records[1])


def _props(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def edit(record: dict[str, Any]) -> None:
        record["features"][0]["properties"].update(changes)

    return edit


def _centroid(geometry: Any) -> Callable[[dict[str, Any]], None]:
    def edit(record: dict[str, Any]) -> None:
        record["features"][0]["geometry"] = geometry

    return edit


def _shape(geometry: Any) -> Callable[[dict[str, Any]], None]:
    def edit(record: dict[str, Any]) -> None:
        record["features"][1]["geometry"] = geometry

    return edit


def _record(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def edit(record: dict[str, Any]) -> None:
        record.update(changes)

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_props(fromdate=""), r"^record has no fromdate \(record EQ1542046\)$"),
        (
            _props(fromdate="23/05/2026"),
            r"^fromdate '23/05/2026' is not a GDACS date-time",
        ),
        (
            _props(todate="30 Feb 2026 00:00:00"),
            r"^todate '30 Feb 2026 00:00:00' is not a valid calendar date-time",
        ),
        (
            _props(todate="23 Mai 2026 00:00:00"),
            r"^todate '23 Mai 2026 00:00:00' is not a valid calendar date-time",
        ),
        (_props(alertscore="high"), r"^alertscore 'high' is not a decimal number"),
        (_props(severity="NaN"), r"^severity 'NaN' is not a decimal number"),
        (_props(severity="1e999"), r"^severity '1e999' is not a finite number"),
        (_props(severity=True), r"^severity True is not a decimal number"),
        (_props(name=5), r"^name 5 is not a string"),
        (_props(eventid="1542047"), r"^features\[0\] names eventid '1542047'"),
        (
            _centroid({"type": "Point", "coordinates": [99.9967, -95.0]}),
            r"^geometry\.coordinates: Value error, latitude -95.0 is outside",
        ),
        (
            _shape({"type": "Polygon", "coordinates": [[[1.0, "2"]]]}),
            r"^features\.0\.geometry\.coordinates: Value error, position element '2'",
        ),
        (
            _shape({"type": "Circle", "coordinates": [1.0, 2.0]}),
            r"^features\.0\.geometry\.type: Input should be 'Point'",
        ),
        (_record(features=[]), r"^record has no features"),
        (_record(episodeid="17x"), r"^record names no GDACS event and episode"),
        (_record(eventtype="Q"), r"^record names no GDACS event and episode"),
    ],
    ids=[
        "no-fromdate",
        "slashed-date",
        "february-30",
        "month-not-english",
        "alertscore-word",
        "severity-nan",
        "severity-overflow",
        "severity-boolean",
        "name-number",
        "other-event",
        "centroid-out-of-range",
        "shape-text-coordinate",
        "shape-unknown-type",
        "no-features",
        "bad-episode",
        "bad-type-code",
    ],
)
def test_normalize_raises_record_error_when_episode_is_broken(
    gdacs_record: Lookup, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    record = gdacs_record("EQ1542046")
    edit(record)

    with pytest.raises(RecordError, match=message):
        gdacs.normalize(record)


def test_normalize_raises_record_error_when_no_point_at_all(
    gdacs_record: Lookup,
) -> None:
    record = gdacs_record("EQ1542046")
    del record["features"][0]
    del record["features"][0]["properties"]["latitude"]

    with pytest.raises(RecordError, match=r"^record has no point") as caught:
        gdacs.normalize(record)

    assert caught.value.native_id == "EQ1542046"


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"eventtype": "EQ", "eventid": "1", "features": []}, "EQ1"),
        ({"eventtype": None, "features": [{"id": "Circle"}]}, "Circle"),
        ({"features": [{}]}, None),
        ("EQ1", None),
    ],
    ids=["event", "feature-id", "nothing", "not-object"],
)
def test_record_id_reads_event_then_feature_id(
    record: Any, expected: str | None
) -> None:
    assert gdacs.record_id(record) == expected

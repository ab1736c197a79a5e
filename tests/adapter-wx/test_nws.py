from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from central.errors import FeedFormatError, RecordError
from central.events import to_structured
from central.ids import content_revision, event_id
from central_adapter_wx import nws

FeatureLookup = Callable[[str], dict[str, Any]]

HEAT_WARNING = "urn:oid:2.49.0.1.840.0.505a7220d91b00eb1d75a3fb4f339f825496a522.004.1"
AIR_QUALITY = "urn:oid:2.49.0.1.840.0.32b8fe5b1e8094248fdbb7a32619581ec4e1df14.001.1"
ALERTS = "https://api.weather.gov/alerts/"
# The id scheme the API used before urn:oid (fixtures README, 2019 payload).
OLD_SCHEME_ID = "NWS-IDP-PROD-3965873-3369046"
# A ring around the Phoenix metro area, lon/lat, closed; its centroid is in 9tb.
PHOENIX_RING = [
    [-112.5, 33.2],
    [-111.8, 33.2],
    [-111.8, 33.8],
    [-112.5, 33.8],
    [-112.5, 33.2],
]


def _normalize_all(body: bytes) -> list[Any]:
    return [nws.normalize(feature) for feature in nws.parse(body)]


def test_normalize_accepts_both_features_of_recorded_payload(
    nws_payload: bytes,
) -> None:
    """The file holds 2 features; both are accepted, none rejected."""
    results = _normalize_all(nws_payload)

    assert [r.event.subject for r in results] == [HEAT_WARNING, AIR_QUALITY]
    assert len({r.event.id for r in results}) == 2
    assert {r.event.source for r in results} == {"https://api.weather.gov/alerts"}
    assert {r.event.type for r in results} == {"central.wx.alert"}


def test_normalize_maps_fields_of_update_message(nws_feature: FeatureLookup) -> None:
    feature = nws_feature(HEAT_WARNING)
    props = feature["properties"]

    result = nws.normalize(feature)

    event = result.event
    assert event.subject == HEAT_WARNING
    assert event.id == event_id(
        "nws",
        HEAT_WARNING,
        content_revision(
            json.dumps(feature, sort_keys=True, separators=(",", ":")).encode()
        ),
    )
    assert event.time == datetime(2024, 7, 18, 19, 47, tzinfo=UTC)
    assert event.data == {
        "identifier": HEAT_WARNING,
        "url": ALERTS + HEAT_WARNING,
        "sender": "w-nws.webmaster@noaa.gov",
        "sender_name": "NWS Phoenix AZ",
        "sent": "2024-07-18T19:47:00Z",
        "updated": None,
        "effective": "2024-07-18T19:47:00Z",
        "onset": "2024-07-19T17:00:00Z",
        "expires": "2024-07-19T10:00:00Z",
        "ends": "2024-07-21T03:00:00Z",
        "status": "Actual",
        "message_type": "Update",
        "scope": None,
        "codes": [],
        "language": None,
        "categories": ["Met"],
        "event": "Excessive Heat Warning",
        "event_codes": {},
        "response_types": ["Execute"],
        "urgency": "Expected",
        "severity": "Severe",
        "certainty": "Likely",
        "headline": "Excessive Heat Warning issued July 18 at 12:47PM MST until "
        "July 20 at 8:00PM MST by NWS Phoenix AZ",
        "description": props["description"],
        "instruction": props["instruction"],
        "web": None,
        "area_description": props["areaDesc"],
        "geocodes": {
            "SAME": ["004013"],
            "UGC": [
                "AZZ537",
                "AZZ540",
                "AZZ542",
                "AZZ543",
                "AZZ544",
                "AZZ546",
                "AZZ548",
                "AZZ550",
                "AZZ551",
            ],
        },
        "affected_zones": props["affectedZones"],
        "references": [
            {
                "identifier": "urn:oid:2.49.0.1.840.0."
                "2852349b8f25500975c692db29cb2f047ff20a7c.004.2",
                "sender": "w-nws.webmaster@noaa.gov",
                "sent": "2024-07-18T08:14:00Z",
                "url": ALERTS + "urn:oid:2.49.0.1.840.0."
                "2852349b8f25500975c692db29cb2f047ff20a7c.004.2",
            }
        ],
        "parameters": {
            "AWIPSidentifier": ["NPWPSR"],
            "BLOCKCHANNEL": ["EAS", "NWEM", "CMAS"],
            "NWSheadline": [
                "EXCESSIVE HEAT WARNING REMAINS IN EFFECT FROM 10 AM FRIDAY TO 8 PM "
                "MST SATURDAY"
            ],
            "VTEC": ["/O.CON.KPSR.EH.W.0006.240719T1700Z-240721T0300Z/"],
            "WMOidentifier": ["WWUS75 KPSR 181947"],
            "eventEndingTime": ["2024-07-21T03:00:00+00:00"],
        },
        "geometry": None,
        "extra": {},
    }
    assert result.nats_subject == "central.wx.alert.nws.none"


def test_normalize_keeps_unknown_severity_and_null_ends_and_instruction(
    nws_feature: FeatureLookup,
) -> None:
    data = nws.normalize(nws_feature(AIR_QUALITY)).event.data

    assert data["event"] == "Air Quality Alert"
    assert (data["severity"], data["certainty"], data["urgency"]) == ("Unknown",) * 3
    assert data["ends"] is None
    assert data["instruction"] is None
    assert data["message_type"] == "Alert"
    assert data["references"] == []
    assert data["response_types"] == ["Monitor"]
    assert data["expires"] == "2024-07-20T04:00:00Z"


def test_normalize_keeps_geocodes_and_zones_when_geometry_is_null(
    nws_feature: FeatureLookup,
) -> None:
    feature = nws_feature(AIR_QUALITY)
    assert feature["geometry"] is None

    result = nws.normalize(feature)

    assert result.event.data["geometry"] is None
    assert result.event.data["geocodes"] == {"SAME": ["004013"], "UGC": ["AZC013"]}
    assert result.event.data["affected_zones"] == [
        "https://api.weather.gov/zones/county/AZC013"
    ]
    assert result.nats_subject == "central.wx.alert.nws.none"


def test_normalize_keeps_polygon_and_routes_by_centroid_when_geometry_given(
    nws_feature: FeatureLookup,
) -> None:
    feature = nws_feature(HEAT_WARNING)
    feature["geometry"] = {"type": "Polygon", "coordinates": [PHOENIX_RING]}

    result = nws.normalize(feature)

    assert result.event.data["geometry"] == {
        "type": "Polygon",
        "coordinates": [PHOENIX_RING],
    }
    assert result.nats_subject == "central.wx.alert.nws.9tb"


def test_normalize_keeps_multipolygon_and_drops_altitude_when_given(
    nws_feature: FeatureLookup,
) -> None:
    feature = nws_feature(AIR_QUALITY)
    lifted = [[lon, lat, 300] for lon, lat in PHOENIX_RING]
    feature["geometry"] = {
        "type": "MultiPolygon",
        "coordinates": [[lifted], [[[-112, 33], [-111, 33], [-111, 34], [-112, 33]]]],
    }

    result = nws.normalize(feature)

    geometry = result.event.data["geometry"]
    assert geometry["type"] == "MultiPolygon"
    assert geometry["coordinates"][0] == [PHOENIX_RING]
    assert geometry["coordinates"][1] == [
        [[-112.0, 33.0], [-111.0, 33.0], [-111.0, 34.0], [-112.0, 33.0]]
    ]
    assert result.nats_subject.startswith("central.wx.alert.nws.9t")


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"type": "Point", "coordinates": [-112, 33]}, r"geometry\.type 'Point'"),
        ({"type": "Polygon", "coordinates": []}, r"is not an array of rings"),
        (
            {"type": "Polygon", "coordinates": [PHOENIX_RING[:-1]]},
            r"ring does not end where it starts",
        ),
        (
            {"type": "Polygon", "coordinates": [PHOENIX_RING[:2] + PHOENIX_RING[:1]]},
            r"3 is not at least 4 positions",
        ),
        (
            {"type": "Polygon", "coordinates": [[[-112, 95], *PHOENIX_RING[1:]]]},
            r"95 is not a latitude in -90\.\.90",
        ),
        (
            {"type": "Polygon", "coordinates": [[["-112", "33"], *PHOENIX_RING[1:]]]},
            r"'-112' is not a number",
        ),
        ({"type": "MultiPolygon", "coordinates": []}, r"is not an array of polygons"),
        ("POLYGON((...))", r"is not a GeoJSON object"),
    ],
    ids=[
        "point",
        "no-rings",
        "open-ring",
        "short-ring",
        "latitude-95",
        "string-coordinates",
        "empty-multipolygon",
        "wkt-string",
    ],
)
def test_normalize_raises_record_error_when_geometry_is_malformed(
    nws_feature: FeatureLookup, geometry: Any, message: str
) -> None:
    feature = nws_feature(HEAT_WARNING)
    feature["geometry"] = geometry

    with pytest.raises(RecordError, match=message):
        nws.normalize(feature)


def test_normalize_accepts_old_id_scheme(nws_feature: FeatureLookup) -> None:
    feature = nws_feature(AIR_QUALITY)
    feature["id"] = feature["properties"]["@id"] = ALERTS + OLD_SCHEME_ID
    feature["properties"]["id"] = OLD_SCHEME_ID

    event = nws.normalize(feature).event

    assert event.subject == OLD_SCHEME_ID
    assert event.data["identifier"] == OLD_SCHEME_ID
    assert event.data["url"] == ALERTS + OLD_SCHEME_ID


@pytest.mark.parametrize(
    "native_id", [HEAT_WARNING, OLD_SCHEME_ID], ids=["urn-oid", "nws-idp-prod"]
)
def test_normalize_reads_subject_from_feature_url_when_properties_lack_id(
    nws_feature: FeatureLookup, native_id: str
) -> None:
    feature = nws_feature(HEAT_WARNING)
    feature["id"] = ALERTS + native_id
    del feature["properties"]["id"]

    event = nws.normalize(feature).event

    assert event.subject == native_id
    assert event.data["identifier"] is None


def test_normalize_keeps_every_reference_in_order_when_message_is_cancel(
    nws_feature: FeatureLookup,
) -> None:
    feature = nws_feature(HEAT_WARNING)
    props = feature["properties"]
    props["messageType"] = "Cancel"
    props["references"] = [
        {
            "@id": ALERTS + f"NWS-IDP-PROD-396587{n}-336904{n}",
            "identifier": f"NWS-IDP-PROD-396587{n}-336904{n}",
            "sender": "w-nws.webmaster@noaa.gov",
            "sent": f"2019-10-2{n}T1{n}:00:00-05:00",
        }
        for n in range(4)
    ]

    data = nws.normalize(feature).event.data

    assert data["message_type"] == "Cancel"
    assert [r["identifier"] for r in data["references"]] == [
        f"NWS-IDP-PROD-396587{n}-336904{n}" for n in range(4)
    ]
    assert data["references"][3]["sent"] == "2019-10-23T18:00:00Z"


def test_normalize_gives_same_events_when_payload_has_2019_context_and_title(
    nws_payload: bytes,
) -> None:
    """The 2019 payload shape: geojson-base context, lower-case title, PIL."""
    doc = json.loads(nws_payload)
    doc["@context"] = [
        "https://raw.githubusercontent.com/geojson/geojson-ld/master/contexts/"
        "geojson-base.jsonld",
        {
            "wx": "https://api.weather.gov/ontology#",
            "@vocab": "https://api.weather.gov/ontology#",
        },
    ]
    doc["title"] = doc["title"].lower()
    older = json.dumps(doc).encode()

    events = [r.event for r in _normalize_all(older)]

    assert [e.id for e in events] == [r.event.id for r in _normalize_all(nws_payload)]


def test_normalize_keeps_parameter_names_as_given(nws_feature: FeatureLookup) -> None:
    feature = nws_feature(AIR_QUALITY)
    parameters = feature["properties"]["parameters"]
    parameters["PIL"] = parameters.pop("AWIPSidentifier")

    data = nws.normalize(feature).event.data

    assert data["parameters"]["PIL"] == ["AQAPSR"]
    assert "AWIPSidentifier" not in data["parameters"]


def test_normalize_keeps_parameter_arrays_and_reads_lone_string_as_one(
    nws_feature: FeatureLookup,
) -> None:
    feature = nws_feature(HEAT_WARNING)
    feature["properties"]["parameters"]["NWSheadline"] = "ONE LINE"

    parameters = nws.normalize(feature).event.data["parameters"]

    assert parameters["BLOCKCHANNEL"] == ["EAS", "NWEM", "CMAS"]
    assert parameters["NWSheadline"] == ["ONE LINE"]


def test_normalize_raises_record_error_when_parameter_value_is_not_text(
    nws_feature: FeatureLookup,
) -> None:
    feature = nws_feature(HEAT_WARNING)
    feature["properties"]["parameters"]["VTEC"] = [7]

    with pytest.raises(RecordError, match=r"parameters\.VTEC \[7\] is not a string"):
        nws.normalize(feature)


def test_normalize_gives_same_event_when_geocode_keys_are_reordered(
    nws_feature: FeatureLookup,
) -> None:
    feature = nws_feature(HEAT_WARNING)
    reordered = nws_feature(HEAT_WARNING)
    geocode = reordered["properties"]["geocode"]
    reordered["properties"]["geocode"] = {
        "UGC": geocode["UGC"],
        "SAME": geocode["SAME"],
    }

    first, second = nws.normalize(feature), nws.normalize(reordered)

    assert to_structured(first.event) == to_structured(second.event)
    assert list(first.event.data["geocodes"]) == ["SAME", "UGC"]


def test_normalize_gives_new_id_and_same_subject_when_record_is_revised(
    nws_feature: FeatureLookup,
) -> None:
    original = nws.normalize(nws_feature(HEAT_WARNING)).event
    revised_feature = nws_feature(HEAT_WARNING)
    revised_feature["properties"]["expires"] = "2024-07-19T09:00:00-07:00"

    revised = nws.normalize(revised_feature).event

    assert revised.subject == original.subject
    assert revised.id != original.id
    assert nws.normalize(nws_feature(HEAT_WARNING)).event.id == original.id


def test_normalize_keeps_unknown_members_in_extra(nws_feature: FeatureLookup) -> None:
    feature = nws_feature(AIR_QUALITY)
    feature["properties"]["replacedBy"] = ALERTS + "urn:oid:2.49.0.1.840.0.x.001.1"
    feature["properties"]["score"] = {"value": 3, "ratio": 0.5}
    feature["bbox"] = [-113.3, 32.5, -111.0, 34.0]

    extra = nws.normalize(feature).event.data["extra"]

    assert extra == {
        "replacedBy": ALERTS + "urn:oid:2.49.0.1.840.0.x.001.1",
        "score": {"value": 3, "ratio": 0.5},
        "feature": {"bbox": [-113.3, 32.5, -111.0, 34.0]},
    }


def test_normalize_maps_fields_of_newer_api_output(nws_feature: FeatureLookup) -> None:
    """``eventCode``, ``scope``, ``code``, ``language`` and ``web`` (newer API)."""
    feature = nws_feature(HEAT_WARNING)
    feature["properties"].update(
        {
            "eventCode": {"NationalWeatherService": ["EHW"], "SAME": ["EHW"]},
            "scope": "Public",
            "code": "IPAWSv1.0",
            "language": "en-US",
            "web": "http://www.weather.gov",
        }
    )

    data = nws.normalize(feature).event.data

    assert data["event_codes"] == {"NationalWeatherService": ["EHW"], "SAME": ["EHW"]}
    assert (data["scope"], data["codes"]) == ("Public", ["IPAWSv1.0"])
    assert (data["language"], data["web"]) == ("en-US", "http://www.weather.gov")
    assert data["extra"] == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f["properties"].pop("sent"), r"^record has no sent \(record urn"),
        (
            lambda f: f["properties"].update(sent="2024-07-18T12:47:00"),
            r"sent '2024-07-18T12:47:00' is not a date-time with a zone",
        ),
        (
            lambda f: f["properties"].update(onset="2024-02-30T10:00:00-07:00"),
            r"onset '2024-02-30T10:00:00-07:00' is not a valid calendar date-time",
        ),
        (lambda f: f.update(properties=[]), r"record has no properties object"),
        (lambda f: f.update(type="Alert"), r"type 'Alert' is not 'Feature'"),
        (
            lambda f: f["properties"].update(category=3),
            r"category 3 is not a string or an array of strings",
        ),
        (
            lambda f: f["properties"].update(event=["x"]),
            r"event \['x'\] is not a string",
        ),
        (
            lambda f: f["properties"].update(references=[{"sender": "x"}]),
            r"references\[0\] has no identifier",
        ),
        (
            lambda f: f["properties"].update(extraField=float("nan")),
            r"extra nan is not a finite number",
        ),
        (
            lambda f: f["properties"].update(extraField=2**70),
            r"is not an integer within 64 bits",
        ),
    ],
    ids=[
        "no-sent",
        "sent-without-zone",
        "february-30",
        "properties-array",
        "not-feature",
        "category-number",
        "event-array",
        "reference-without-identifier",
        "extra-nan",
        "extra-huge-int",
    ],
)
def test_normalize_raises_record_error_when_feature_is_broken(
    nws_feature: FeatureLookup, change: Callable[[dict[str, Any]], Any], message: str
) -> None:
    feature = nws_feature(HEAT_WARNING)
    change(feature)

    with pytest.raises(RecordError, match=message):
        nws.normalize(feature)


@pytest.mark.parametrize("record", [None, [], "feature", {"type": "Feature"}], ids=repr)
def test_normalize_raises_record_error_when_record_has_no_id(record: Any) -> None:
    with pytest.raises(RecordError, match=r"^record (is not a JSON object|has no id)$"):
        nws.normalize(record)


def test_parse_returns_features_in_payload_order(nws_payload: bytes) -> None:
    features = nws.parse(nws_payload)

    assert [f["properties"]["id"] for f in features] == [HEAT_WARNING, AIR_QUALITY]


def test_parse_accepts_single_alert_document(nws_feature: FeatureLookup) -> None:
    feature = nws_feature(AIR_QUALITY)

    assert nws.parse(json.dumps(feature).encode()) == [feature]


def test_parse_returns_no_features_when_no_alert_is_active() -> None:
    body = b'{"type": "FeatureCollection", "features": [], "title": "none"}'

    assert nws.parse(body) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", r"^nws payload is empty$"),
        (b"<feed/>", r"^nws payload is not JSON: Expecting value"),
        (b"[1, 2]", r"^nws payload is a JSON list, not an object$"),
        (
            b'{"correlationId": "1a2b", "title": "Not Found", "status": 404, '
            b'"type": "https://api.weather.gov/problems/NotFound"}',
            r"^nws payload type is 'https://api.weather.gov/problems/NotFound', "
            r"not 'FeatureCollection'$",
        ),
        (
            b'{"type": "FeatureCollection", "features": {}}',
            r"^nws payload has no features array$",
        ),
        (
            b'{"type": "FeatureCollection", "features": [NaN]}',
            r"^nws payload is not JSON: NaN is not a JSON number$",
        ),
    ],
    ids=["empty", "xml", "array", "problem-document", "features-object", "nan"],
)
def test_parse_raises_feed_format_error_when_payload_is_wrong(
    body: bytes, message: str
) -> None:
    with pytest.raises(FeedFormatError, match=message):
        nws.parse(body)


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        ({"properties": {"id": AIR_QUALITY}}, AIR_QUALITY),
        ({"id": ALERTS + OLD_SCHEME_ID, "properties": {}}, OLD_SCHEME_ID),
        ({"id": ALERTS + "urn%3Aoid%3A2.49.1", "properties": None}, "urn:oid:2.49.1"),
        ({"id": 5, "properties": {"id": ""}}, None),
        ("not a feature", None),
    ],
    ids=["properties-id", "url-tail", "url-escaped", "unreadable", "not-object"],
)
def test_record_id_reads_identifier_or_none(feature: Any, expected: str | None) -> None:
    assert nws.record_id(feature) == expected

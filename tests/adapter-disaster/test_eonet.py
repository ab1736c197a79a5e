from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from central.errors import FeedFormatError, RecordError
from central.feeds import Normalized
from central.ids import content_revision, event_id
from central_adapter_disaster import eonet

Lookup = Callable[[str], dict[str, Any]]


def as_geojson(events: list[dict[str, Any]]) -> bytes:
    """Events of the JSON form written as the GeoJSON form: a feature per entry."""
    features = []
    for event in events:
        head = {k: v for k, v in event.items() if k != "geometry"}
        for entry in event["geometry"]:
            props = {**head, **{k: v for k, v in entry.items() if k != "coordinates"}}
            del props["type"]
            geometry = {"type": entry["type"], "coordinates": entry["coordinates"]}
            features.append(
                {"type": "Feature", "properties": props, "geometry": geometry}
            )
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def test_normalize_accepts_every_event_in_recorded_payload(
    eonet_body: bytes, eonet_results: list[Normalized]
) -> None:
    events = json.loads(eonet_body)["events"]

    # Tabs and spaces mixed, as EONET writes them.
    assert (
        b'\t\t\t"title": "Typhoon Fung-wong",\n            "description"' in eonet_body
    )
    assert len(events) == 5662
    assert len(eonet_results) == 5662
    assert [r.event.subject for r in eonet_results] == [e["id"] for e in events]
    assert len({r.event.id for r in eonet_results}) == 5662


def test_normalize_maps_fields_of_typhoon_track(eonet_event: Lookup) -> None:
    result = eonet.normalize(eonet_event("EONET_15859"))

    event = result.event
    data = dict(event.data)
    track = data.pop("track")
    assert event.source == "https://eonet.gsfc.nasa.gov/api/v3/events"
    assert event.type == "central.disaster.natural-event"
    assert event.subject == "EONET_15859"
    assert event.time == datetime(2025, 11, 8, 12, tzinfo=UTC)
    assert data == {
        "hazard": "severe-storm",
        "title": "Typhoon Fung-wong",
        "description": None,
        "url": "https://eonet.gsfc.nasa.gov/api/v3/events/EONET_15859",
        "closed": None,
        "categories": [{"id": "severeStorms", "title": "Severe Storms"}],
        "sources": [
            {"id": "JTWC", "url": "https://www.metoc.navy.mil/jtwc/products/wp3225.tcw"}
        ],
        "first_observed": "2025-11-06T00:00:00Z",
        "last_observed": "2025-11-08T12:00:00Z",
        "magnitude_value": 95.0,
        "magnitude_unit": "kts",
        "observations": 11,
        "geometry": track[-1]["geometry"],
        "extra": {},
    }
    assert track[0] == {
        "time": "2025-11-06T00:00:00Z",
        "magnitude_value": 35.0,
        "magnitude_unit": "kts",
        "geometry": {"type": "Point", "coordinates": [140.8, 9.6]},
        "extra": {},
    }
    assert len(track) == 11
    assert result.nats_subject.startswith("central.disaster.natural-event.eonet.")


def test_normalize_maps_fields_of_wildfire_in_acres(eonet_event: Lookup) -> None:
    result = eonet.normalize(eonet_event("EONET_15857"))

    data = result.event.data
    assert data["title"] == "MATAGORDA SOUTH Wildfire, Calhoun, Texas"
    assert data["description"] == "11 Miles E from LAMAR, TX"
    assert data["hazard"] == "wildfire"
    assert (data["magnitude_value"], data["magnitude_unit"]) == (500.0, "acres")
    assert data["sources"][0]["id"] == "IRWIN"
    assert data["geometry"] == {
        "type": "Point",
        "coordinates": [-96.7877778, 28.1233333],
    }
    assert result.event.time == datetime(2025, 11, 2, 13, 30, tzinfo=UTC)
    assert result.nats_subject == "central.disaster.natural-event.eonet.9ug"


def test_normalize_keeps_every_source_of_long_running_volcano(
    eonet_event: Lookup,
) -> None:
    data = eonet.normalize(eonet_event("EONET_980")).event.data

    assert [s["id"] for s in data["sources"]] == [
        "CEMS",
        "EO",
        "GDACS",
        "IDC",
        "NASA_DISP",
        "ReliefWeb",
        "SIVolcano",
    ]
    assert data["first_observed"] == data["last_observed"] == "2002-01-04T00:00:00Z"
    assert (data["magnitude_value"], data["magnitude_unit"]) == (None, None)


def test_normalize_reads_units_and_missing_magnitudes_of_payload(
    eonet_results: list[Normalized],
) -> None:
    entries = [entry for r in eonet_results for entry in r.event.data["track"]]

    units = Counter(entry["magnitude_unit"] for entry in entries)
    assert len(entries) == 6387
    assert units == {None: 3919, "acres": 1726, "NM^2": 669, "kts": 73}
    assert all(
        (e["magnitude_value"] is None) == (e["magnitude_unit"] is None) for e in entries
    )


def test_normalize_types_every_event_by_hazard(eonet_results: list[Normalized]) -> None:
    hazards = Counter(r.event.data["hazard"] for r in eonet_results)

    assert hazards == {
        "wildfire": 5580,
        "sea-lake-ice": 46,
        "volcano": 33,
        "severe-storm": 3,
    }


def test_normalize_gives_new_id_and_same_subject_when_track_grows(
    eonet_event: Lookup,
) -> None:
    first = eonet_event("EONET_15859")
    grown = eonet_event("EONET_15859")
    grown["geometry"].append(
        {
            "magnitudeValue": 100.0,
            "magnitudeUnit": "kts",
            "date": "2025-11-08T18:00:00Z",
            "type": "Point",
            "coordinates": [124.0, 15.9],
        }
    )

    before = eonet.normalize(first)
    after = eonet.normalize(grown)

    assert after.event.id != before.event.id
    assert after.event.subject == before.event.subject == "EONET_15859"
    assert after.event.time == datetime(2025, 11, 8, 18, tzinfo=UTC)
    assert after.event.data["geometry"]["coordinates"] == [124.0, 15.9]
    assert after.event.data["observations"] == 12


def test_normalize_gives_new_id_when_event_closes(eonet_event: Lookup) -> None:
    closed = eonet_event("EONET_15857")
    closed["closed"] = "2025-11-10T00:00:00Z"

    event = eonet.normalize(closed).event

    assert event.data["closed"] == "2025-11-10T00:00:00Z"
    assert event.id != eonet.normalize(eonet_event("EONET_15857")).event.id


def test_normalize_keeps_id_when_member_order_changes(eonet_event: Lookup) -> None:
    event = eonet_event("EONET_15855")
    reordered = dict(reversed(list(event.items())))
    reordered["geometry"] = [dict(reversed(list(g.items()))) for g in event["geometry"]]

    assert eonet.normalize(reordered).event.id == eonet.normalize(event).event.id


def test_normalize_builds_id_from_content_revision(eonet_event: Lookup) -> None:
    event = eonet_event("EONET_15851")
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"))

    assert eonet.normalize(event).event.id == event_id(
        "eonet", "EONET_15851", content_revision(canonical.encode())
    )


def test_normalize_takes_newest_observation_when_track_is_unordered(
    eonet_event: Lookup,
) -> None:
    event = eonet_event("EONET_15855")
    newest = event["geometry"][-1]
    event["geometry"] = [newest, *event["geometry"][:-1]]

    data = eonet.normalize(event).event.data

    assert data["geometry"]["coordinates"] == newest["coordinates"]
    assert data["last_observed"] == newest["date"]
    assert data["first_observed"] == event["geometry"][1]["date"]


def test_normalize_accepts_polygon_observation(eonet_event: Lookup) -> None:
    event = eonet_event("EONET_15811")
    event["geometry"][0].update(
        type="Polygon",
        coordinates=[
            [[120.0, 10.0], [130.0, 10.0], [130.0, 20.0], [120.0, 20.0], [120.0, 10.0]]
        ],
    )

    result = eonet.normalize(event)

    assert result.event.data["geometry"]["type"] == "Polygon"
    # The cell of the centroid (125, 15), not of the first vertex (w9v).
    assert result.nats_subject == "central.disaster.natural-event.eonet.wf8"


def test_normalize_keeps_unknown_members_in_extra(eonet_event: Lookup) -> None:
    event = eonet_event("EONET_15857")
    event["tags"] = ["irwin"]
    event["geometry"][0]["confidence"] = "high"

    data = eonet.normalize(event).event.data

    assert data["extra"] == {"tags": ["irwin"]}
    assert data["track"][0]["extra"] == {"confidence": "high"}


def test_parse_gathers_geojson_form_into_same_events(
    eonet_events: list[dict[str, Any]], eonet_results: list[Normalized]
) -> None:
    sample = eonet_events[:40]

    records = eonet.parse(as_geojson(sample))

    assert [eonet.record_id(r) for r in records] == [e["id"] for e in sample]
    assert [eonet.normalize(r).event for r in records] == [
        r.event for r in eonet_results[:40]
    ]
    assert eonet.normalize(records[3]).event.data["observations"] == 21


def test_parse_passes_geojson_feature_without_id_on_alone(
    eonet_events: list[dict[str, Any]],
) -> None:
    document = json.loads(as_geojson(eonet_events[:2]))
    del document["features"][5]["properties"]["id"]

    records = eonet.parse(json.dumps(document).encode())

    assert len(records) == 3
    with pytest.raises(RecordError, match=r"^record has no id$"):
        eonet.normalize(records[1])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>502 Bad Gateway</html>", r"^eonet payload is XML or HTML, not JSON$"),
        (b"", r"^eonet payload is empty$"),
        (b'["EONET_1"]', r"^eonet payload is a JSON array, not an object$"),
        (
            b'{"title": "EONET Events", "geometries": []}',
            r"^eonet payload has neither an events array nor GeoJSON features$",
        ),
        (
            b'{"title": "EONET Events", "events": {}}',
            r"^eonet payload has neither an events array nor GeoJSON features$",
        ),
        (b'{"type": "FeatureCollection"}', r"^eonet payload has no features array$"),
    ],
    ids=["html", "empty", "array", "no-events", "events-object", "no-features"],
)
def test_parse_raises_feed_format_error_when_payload_is_wrong(
    body: bytes, message: str
) -> None:
    with pytest.raises(FeedFormatError, match=message):
        eonet.parse(body)


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(event: dict[str, Any]) -> None:
        event[key] = value

    return edit


def _entry(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def edit(event: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is None:
                event["geometry"][0].pop(key)
            else:
                event["geometry"][0][key] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set("id", None), r"^record has no id$"),
        (_set("id", "EONET 15857"), r"^id 'EONET 15857' is not an id of 1 to 128"),
        (_set("geometry", []), r"^record has no geometry observations"),
        (_set("geometry", {"type": "Point"}), r"^geometry \{'type': 'Point'\} is not"),
        (_set("categories", ["wildfires"]), r"^categories \['wildfires'\] is not an"),
        (_set("categories", [{"title": "Wildfires"}]), r"^record has no category id"),
        (_set("sources", [{"id": 7}]), r"^id 7 is not a string"),
        (_set("closed", "soon"), r"^closed 'soon' is not an ISO 8601 date-time"),
        (_set("title", ["x"]), r"^title \['x'\] is not a string"),
        (_set("tags", float("nan")), r"^tags holds a value that is not portable JSON"),
        (_entry(date=None), r"^record has no observation date"),
        (
            _entry(date="2025-13-02T13:30:00Z"),
            r"^date '2025-13-02T13:30:00Z' is not a valid calendar date-time",
        ),
        (
            _entry(magnitudeValue="500.00"),
            r"^magnitudeValue '500.00' is not a finite number",
        ),
        (
            _entry(coordinates=[-96.79, 91.0]),
            r"^track\.0\.geometry\.coordinates: Value error, latitude 91.0",
        ),
        (_entry(type="Circle"), r"^track\.0\.geometry\.type: Input should be"),
    ],
    ids=[
        "no-id",
        "id-with-space",
        "empty-track",
        "track-object",
        "category-text",
        "category-no-id",
        "source-id-number",
        "closed-word",
        "title-array",
        "extra-nan",
        "no-date",
        "month-13",
        "magnitude-text",
        "latitude-out-of-range",
        "unknown-geometry",
    ],
)
def test_normalize_raises_record_error_when_event_is_broken(
    eonet_event: Lookup, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    event = eonet_event("EONET_15857")
    edit(event)

    with pytest.raises(RecordError, match=message):
        eonet.normalize(event)


def test_normalize_rejects_v2_1_event_with_geometries(eonet_event: Lookup) -> None:
    event = eonet_event("EONET_15857")
    event["geometries"] = event.pop("geometry")
    event["categories"] = [{"id": 8, "title": "Wildfires"}]

    with pytest.raises(
        RecordError,
        match=r"^record has no geometry observations \(record EONET_15857\)",
    ):
        eonet.normalize(event)


@pytest.mark.parametrize(
    ("event", "expected"),
    [({"id": "EONET_1"}, "EONET_1"), ({"id": ""}, None), ({}, None), ([], None)],
    ids=["id", "empty", "missing", "not-object"],
)
def test_record_id_reads_event_id(event: Any, expected: str | None) -> None:
    assert eonet.record_id(event) == expected

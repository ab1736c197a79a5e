from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from central.errors import RecordError
from central_adapter_disaster._common import assemble
from central_adapter_disaster.models import (
    DATA_MODELS,
    HAZARDS,
    KINDS,
    DisasterAlert,
    DisasterDeclaration,
    FeatureGeometry,
    Geometry,
    NaturalEvent,
    Observation,
    Point,
    event_type,
)

TOKEN = re.compile(r"^[a-z0-9_-]+$")
OBSERVATION: dict[str, Any] = {
    "time": datetime(2025, 11, 2, 13, 30, tzinfo=UTC),
    "magnitude_value": 500.0,
    "magnitude_unit": "acres",
    "geometry": {"type": "Point", "coordinates": [-96.7877778, 28.1233333]},
    "extra": {},
}


def test_event_type_names_every_kind_under_disaster_domain() -> None:
    assert [event_type(kind) for kind in KINDS] == [
        "central.disaster.alert",
        "central.disaster.natural-event",
        "central.disaster.declaration",
    ]
    assert {
        "central.disaster.alert": DisasterAlert,
        "central.disaster.natural-event": NaturalEvent,
        "central.disaster.declaration": DisasterDeclaration,
    } == DATA_MODELS
    assert all(TOKEN.match(kind) for kind in KINDS)


def test_event_type_raises_value_error_when_kind_unknown() -> None:
    with pytest.raises(ValueError, match=r"^unknown disaster event kind 'wildfire'$"):
        event_type("wildfire")


def test_hazards_are_unique_subject_safe_tokens() -> None:
    assert len(set(HAZARDS)) == len(HAZARDS)
    assert all(TOKEN.match(hazard) for hazard in HAZARDS)
    assert HAZARDS[-1] == "other"


@pytest.mark.parametrize(
    ("geometry", "expected"),
    [
        ({"type": "Point", "coordinates": [1, 2]}, [1.0, 2.0]),
        ({"type": "Point", "coordinates": [1.5, 2.5, 300]}, [1.5, 2.5, 300.0]),
        (
            {"type": "MultiPoint", "coordinates": [[180, 90], [-180, -90]]},
            [[180.0, 90.0], [-180.0, -90.0]],
        ),
        (
            {
                "type": "MultiPolygon",
                "coordinates": [[[[0, 0], [1, 0], [0, 1], [0, 0]]]],
            },
            [[[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]]],
        ),
    ],
    ids=["point-int", "point-3d", "multipoint-edges", "multipolygon"],
)
def test_geometry_writes_positions_as_floats(
    geometry: dict[str, Any], expected: list[Any]
) -> None:
    assert Geometry.model_validate(geometry).coordinates == expected


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"type": "Point", "coordinates": [180.5, 0]}, r"longitude 180.5 is outside"),
        ({"type": "Point", "coordinates": [0, -90.5]}, r"latitude -90.5 is outside"),
        ({"type": "Point", "coordinates": [0]}, r"a position has 1 elements"),
        ({"type": "Point", "coordinates": [0, 0, 0, 0]}, r"a position has 4 elements"),
        ({"type": "Point", "coordinates": [True, 0]}, r"position element True is not"),
        ({"type": "Point", "coordinates": [float("nan"), 0]}, r"nan is not finite"),
        ({"type": "Point", "coordinates": [10**400, 0]}, r"element is too large"),
        ({"type": "Polygon", "coordinates": [[1.0, 2.0]]}, r"coordinates must be arr"),
        ({"type": "Polygon", "coordinates": []}, r"coordinates hold an empty array"),
        ({"type": "Point", "coordinates": "1,2"}, r"coordinates must be arrays"),
        ({"type": "GeometryCollection", "coordinates": []}, r"Input should be 'Point'"),
        ({"type": "Point", "coordinates": [0, 0], "bbox": []}, r"Extra inputs"),
    ],
    ids=[
        "longitude",
        "latitude",
        "short",
        "long",
        "boolean",
        "nan",
        "huge",
        "too-shallow",
        "empty",
        "text",
        "collection",
        "bbox",
    ],
)
def test_geometry_raises_validation_error_when_invalid(
    geometry: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Geometry.model_validate(geometry)


def test_feature_geometry_keeps_positions_past_the_antimeridian() -> None:
    line = {"type": "LineString", "coordinates": [[179.5, 10.0], [181.5, 11.0]]}

    assert FeatureGeometry.model_validate(line).coordinates == line["coordinates"]
    with pytest.raises(ValidationError, match=r"longitude 181.5 is outside"):
        Geometry.model_validate(line)


def test_point_raises_validation_error_when_not_a_point() -> None:
    with pytest.raises(ValidationError, match=r"Input should be 'Point'"):
        Point.model_validate({"type": "LineString", "coordinates": [[0, 0], [1, 1]]})


def test_to_data_dumps_json_values_in_field_order() -> None:
    data = Observation.model_validate(OBSERVATION).to_data()

    assert list(data) == list(OBSERVATION)
    assert data["time"] == "2025-11-02T13:30:00Z"


def test_observation_raises_validation_error_when_time_is_naive() -> None:
    fields = {**OBSERVATION, "time": datetime(2025, 11, 2, 13, 30)}

    with pytest.raises(ValidationError, match=r"a date-time must carry a timezone"):
        Observation.model_validate(fields)


def test_observation_raises_validation_error_when_field_is_unknown() -> None:
    with pytest.raises(ValidationError, match=r"date\s+Extra inputs are not permitted"):
        Observation.model_validate({**OBSERVATION, "date": "2025-11-02"})


def test_assemble_raises_record_error_naming_field_model_refuses() -> None:
    with pytest.raises(
        RecordError, match=r"^title: Field required \(record EONET_1\)$"
    ):
        assemble(
            provider="eonet",
            source="https://eonet.gsfc.nasa.gov/api/v3/events",
            native_id="EONET_1",
            revision="r1",
            time=datetime(2025, 11, 2, tzinfo=UTC),
            kind="natural-event",
            fields={"hazard": "wildfire"},
        )

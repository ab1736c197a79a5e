from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from central.geo import Point, check_position


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(0.0, 0.0), (-180.0, -90.0), (180.0, 90.0)],
    ids=["origin", "low-corner", "high-corner"],
)
def test_check_position_accepts_position_in_range(lon: float, lat: float) -> None:
    check_position(lon, lat)


@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [
        (-180.5, 0.0, r"^longitude -180\.5 is outside -180\.\.180$"),
        (float("inf"), 0.0, r"^longitude inf is outside -180\.\.180$"),
        (0.0, 91.0, r"^latitude 91\.0 is outside -90\.\.90$"),
        (0.0, float("nan"), r"^latitude nan is outside -90\.\.90$"),
    ],
    ids=["longitude", "infinite", "latitude", "nan"],
)
def test_check_position_raises_value_error_when_out_of_range(
    lon: float, lat: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check_position(lon, lat)


def test_point_dumps_as_geojson_point() -> None:
    point = Point.model_validate({"type": "Point", "coordinates": [121, 16.8088]})

    assert point.model_dump(mode="json") == {
        "type": "Point",
        "coordinates": [121.0, 16.8088],
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"coordinates": (200.0, 0.0)}, r"longitude 200\.0 is outside -180\.\.180"),
        ({"coordinates": (0.0, -91.0)}, r"latitude -91\.0 is outside -90\.\.90"),
        ({"coordinates": (1.0, 2.0, 3.0)}, r"Tuple should have at most 2 items"),
        ({"type": "LineString", "coordinates": (1, 2)}, r"Input should be 'Point'"),
        ({"coordinates": (1, 2), "bbox": []}, r"bbox\s+Extra inputs are not permitted"),
    ],
    ids=["longitude", "latitude", "three-d", "line", "bbox"],
)
def test_point_raises_validation_error_when_not_a_valid_point(
    value: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Point.model_validate(value)

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from central_adapter_wx.models import (
    DATA_MODELS,
    KINDS,
    AlertReference,
    MultiPolygon,
    Polygon,
    WeatherAlert,
    check_ring,
    event_type,
)

RING = [(-112.5, 33.2), (-111.8, 33.2), (-111.8, 33.8), (-112.5, 33.2)]
MINIMAL: dict[str, Any] = {
    "identifier": None,
    "url": None,
    "sender": None,
    "sender_name": None,
    "sent": datetime(2024, 7, 18, 12, 47, tzinfo=timezone(timedelta(hours=-7))),
    "updated": None,
    "effective": None,
    "onset": None,
    "expires": None,
    "ends": None,
    "status": None,
    "message_type": None,
    "scope": None,
    "codes": [],
    "language": None,
    "categories": [],
    "event": None,
    "event_codes": {},
    "response_types": [],
    "urgency": None,
    "severity": None,
    "certainty": None,
    "headline": None,
    "description": None,
    "instruction": None,
    "web": None,
    "area_description": None,
    "geocodes": {},
    "affected_zones": [],
    "references": [],
    "parameters": {},
    "geometry": None,
    "extra": {},
}


def test_event_type_names_alert_under_wx_domain() -> None:
    assert [event_type(kind) for kind in KINDS] == ["central.wx.alert"]
    assert set(DATA_MODELS) == {"central.wx.alert"}
    assert DATA_MODELS["central.wx.alert"] is WeatherAlert


def test_event_type_raises_value_error_when_kind_unknown() -> None:
    with pytest.raises(ValueError, match=r"^unknown weather event kind 'warning'$"):
        event_type("warning")


def test_to_data_dumps_json_values_in_field_order_with_utc_times() -> None:
    data = WeatherAlert.model_validate(MINIMAL).to_data()

    assert list(data) == list(MINIMAL)
    assert data["sent"] == "2024-07-18T19:47:00Z"


def test_weather_alert_accepts_polygon_and_multipolygon_geometry() -> None:
    polygon = {**MINIMAL, "geometry": {"type": "Polygon", "coordinates": [RING]}}
    multi = {**MINIMAL, "geometry": {"type": "MultiPolygon", "coordinates": [[RING]]}}

    assert isinstance(WeatherAlert.model_validate(polygon).geometry, Polygon)
    assert isinstance(WeatherAlert.model_validate(multi).geometry, MultiPolygon)


@pytest.mark.parametrize(
    ("ring", "message"),
    [
        (RING[:3], r"a ring needs at least 4 positions, not 3"),
        ([*RING[:3], (-112.0, 33.0)], r"a ring must end where it starts"),
        ([(190.0, 0.0), *RING[1:3], (190.0, 0.0)], r"longitude 190\.0 is outside"),
        ([(0.0, float("inf")), *RING[1:3], (0.0, float("inf"))], r"latitude inf is"),
    ],
    ids=["short", "open", "longitude-190", "latitude-inf"],
)
def test_check_ring_raises_value_error_when_ring_is_invalid(
    ring: list[tuple[float, float]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check_ring(ring)
    with pytest.raises(ValidationError, match=message):
        Polygon.model_validate({"coordinates": [ring]})


def test_weather_alert_raises_validation_error_when_time_is_naive() -> None:
    fields = {**MINIMAL, "expires": datetime(2024, 7, 19, 3, 0)}

    with pytest.raises(ValidationError, match=r"a date-time must carry a timezone"):
        WeatherAlert.model_validate(fields)


def test_alert_reference_raises_validation_error_when_sent_is_naive() -> None:
    with pytest.raises(ValidationError, match=r"a date-time must carry a timezone"):
        AlertReference(
            identifier="x", sender=None, sent=datetime(2024, 7, 18), url=None
        )


def test_weather_alert_raises_validation_error_when_field_is_unknown() -> None:
    with pytest.raises(ValidationError, match=r"areaDesc\s+Extra inputs"):
        WeatherAlert.model_validate({**MINIMAL, "areaDesc": "Maricopa"})


def test_weather_alert_raises_validation_error_when_geometry_type_is_point() -> None:
    fields = {**MINIMAL, "geometry": {"type": "Point", "coordinates": [0.0, 0.0]}}

    with pytest.raises(ValidationError, match=r"does not match any of the expected"):
        WeatherAlert.model_validate(fields)

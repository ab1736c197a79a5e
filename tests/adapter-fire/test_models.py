from __future__ import annotations

import pytest
from pydantic import ValidationError

from central.errors import RecordError
from central.feeds import Normalized
from central_adapter_fire.models import (
    DATA_MODELS,
    KINDS,
    Hotspot,
    Point,
    event_type,
)

Results = tuple[list[Normalized], list[RecordError]]


def test_event_type_names_hotspot_under_fire_domain() -> None:
    assert [event_type(kind) for kind in KINDS] == ["central.fire.hotspot"]
    assert dict(DATA_MODELS) == {"central.fire.hotspot": Hotspot}


def test_event_type_raises_value_error_when_kind_unknown() -> None:
    with pytest.raises(ValueError, match=r"^unknown fire event kind 'wildfire'$"):
        event_type("wildfire")


@pytest.mark.parametrize("results", ["modis_results", "viirs_results"])
def test_data_of_every_recorded_event_is_exactly_its_model_dump(
    request: pytest.FixtureRequest, results: str
) -> None:
    """The normalizer builds ``data`` by hand; the model must read it back as is."""
    accepted, _ = request.getfixturevalue(results)

    for item in accepted:
        data = item.event.data
        dumped = Hotspot.model_validate(data).model_dump(mode="json")
        assert dumped == data
        assert list(dumped) == list(data) == list(Hotspot.model_fields)
        assert DATA_MODELS[item.event.type] is Hotspot


@pytest.mark.parametrize(
    ("coordinates", "message"),
    [
        ((181.0, 0.0), r"longitude 181.0 is outside -180..180"),
        ((0.0, -90.5), r"latitude -90.5 is outside -90..90"),
        ((float("nan"), 0.0), r"longitude nan is outside -180..180"),
    ],
    ids=["longitude", "latitude", "nan"],
)
def test_point_raises_validation_error_when_out_of_range(
    coordinates: tuple[float, float], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Point(coordinates=coordinates)


def test_hotspot_raises_validation_error_when_confidence_unknown() -> None:
    with pytest.raises(ValidationError, match=r"confidence\n  Input should be 'low'"):
        Hotspot.model_validate(
            {
                "instrument": "VIIRS",
                "satellite": "N",
                "platform": None,
                "confidence": "medium",
                "confidence_percent": None,
                "brightness_mir_k": None,
                "brightness_tir_k": None,
                "frp_mw": None,
                "scan_km": None,
                "track_km": None,
                "daynight": None,
                "version": None,
                "detection_type": None,
                "geometry": {"type": "Point", "coordinates": [13.6, 46.0]},
                "extra": {},
            }
        )

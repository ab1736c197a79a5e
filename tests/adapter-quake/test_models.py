from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from central.errors import RecordError
from central_adapter_quake._common import assemble
from central_adapter_quake.models import (
    DATA_MODELS,
    KINDS,
    Point,
    SeismicEvent,
    event_type,
)

MINIMAL: dict[str, Any] = {
    "magnitude": None,
    "magnitude_type": None,
    "depth_km": None,
    "place": None,
    "title": None,
    "status": None,
    "event_type": None,
    "tsunami": None,
    "felt": None,
    "cdi": None,
    "mmi": None,
    "alert": None,
    "significance": None,
    "nst": None,
    "dmin": None,
    "gap": None,
    "network": None,
    "url": None,
    "ids": ["x1"],
    "sources": [],
    "updated": datetime(2024, 2, 6, 5, 54, 8, 40000, tzinfo=UTC),
    "geometry": {"type": "Point", "coordinates": [121.0701, 16.8088]},
}


def test_event_type_names_every_kind_under_quake_domain() -> None:
    assert [event_type(kind) for kind in KINDS] == [
        "central.quake.earthquake",
        "central.quake.quarry-blast",
        "central.quake.explosion",
        "central.quake.other",
    ]
    assert set(DATA_MODELS) == {event_type(kind) for kind in KINDS}
    assert set(DATA_MODELS.values()) == {SeismicEvent}


def test_event_type_raises_value_error_when_kind_unknown() -> None:
    with pytest.raises(
        ValueError, match=r"^unknown seismic event kind 'quarry blast'$"
    ):
        event_type("quarry blast")


def test_to_data_dumps_json_values_in_field_order() -> None:
    data = SeismicEvent.model_validate(MINIMAL).to_data()

    assert list(data) == [*MINIMAL, "extra"]
    assert data["extra"] == {}
    assert data["updated"] == "2024-02-06T05:54:08.040000Z"
    assert data["geometry"] == {"type": "Point", "coordinates": [121.0701, 16.8088]}


def test_seismic_event_raises_validation_error_when_updated_is_naive() -> None:
    fields = {**MINIMAL, "updated": datetime(2024, 2, 6, 5, 54, 8)}

    with pytest.raises(ValidationError, match=r"updated must carry a timezone"):
        SeismicEvent.model_validate(fields)


def test_seismic_event_raises_validation_error_when_field_is_unknown() -> None:
    with pytest.raises(ValidationError, match=r"tz\s+Extra inputs are not permitted"):
        SeismicEvent.model_validate({**MINIMAL, "tz": 480})


@pytest.mark.parametrize(
    ("coordinates", "message"),
    [
        ((-180.5, 0.0), r"longitude -180.5 is outside -180..180"),
        ((0.0, 91.0), r"latitude 91.0 is outside -90..90"),
        ((0.0, float("nan")), r"latitude nan is outside -90..90"),
        ((1.0, 2.0, 3.0), r"Tuple should have at most 2 items"),
    ],
    ids=["longitude", "latitude", "nan", "three-d"],
)
def test_point_raises_validation_error_when_coordinates_invalid(
    coordinates: tuple[float, ...], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Point.model_validate({"type": "Point", "coordinates": coordinates})


def test_assemble_raises_record_error_naming_field_model_refuses() -> None:
    fields = {**MINIMAL, "geometry": {"type": "Point", "coordinates": [200.0, 0.0]}}

    with pytest.raises(
        RecordError, match=r"^geometry\.coordinates: Value error, longitude 200.0"
    ) as caught:
        assemble(
            provider="usgs",
            source="https://earthquake.usgs.gov/earthquakes/feed/v1.0",
            native_id="x1",
            revision="1",
            time=datetime(2024, 2, 6, tzinfo=UTC),
            kind="earthquake",
            fields=fields,
        )

    assert caught.value.native_id == "x1"

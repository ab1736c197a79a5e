from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from central.errors import RecordError
from central_adapter_space._common import assemble, json_problem
from central_adapter_space.models import (
    DATA_MODELS,
    KINDS,
    KpIndex,
    SolarWindPlasma,
    event_type,
)

KP: dict[str, Any] = {
    "kp": 4.33,
    "status": "predicted",
    "noaa_scale": None,
    "a_running": None,
    "station_count": None,
    "interval_end": datetime(2025, 4, 12, 3, tzinfo=UTC),
    "extra": {},
}


def test_event_type_names_every_kind_under_space_domain() -> None:
    assert [event_type(kind) for kind in KINDS] == [
        "central.space.alert",
        "central.space.kp-index",
        "central.space.kp-index-1m",
        "central.space.xray-flux",
        "central.space.xray-flare",
        "central.space.solar-wind-plasma",
    ]
    assert list(DATA_MODELS) == [event_type(kind) for kind in KINDS]


def test_event_type_raises_value_error_when_kind_unknown() -> None:
    with pytest.raises(ValueError, match=r"^unknown space-weather event kind 'kp'$"):
        event_type("kp")


@pytest.mark.parametrize("model", list(DATA_MODELS.values()), ids=list(DATA_MODELS))
def test_data_model_documents_every_field(model: type[Any]) -> None:
    assert model.__doc__
    assert all(f.description for f in model.model_fields.values())


def test_to_data_dumps_json_values_in_field_order() -> None:
    data = KpIndex.model_validate(KP).to_data()

    assert list(data) == list(KP)
    assert data["interval_end"] == "2025-04-12T03:00:00Z"


def test_kp_index_raises_validation_error_when_time_is_naive() -> None:
    with pytest.raises(ValidationError, match=r"datetime must carry a timezone"):
        KpIndex.model_validate({**KP, "interval_end": datetime(2025, 4, 12, 3)})


def test_kp_index_raises_validation_error_when_field_is_unknown() -> None:
    with pytest.raises(ValidationError, match=r"Kp\s+Extra inputs are not permitted"):
        KpIndex.model_validate({**KP, "Kp": 4.33})


def test_solar_wind_plasma_raises_validation_error_when_value_is_nan() -> None:
    fields = {"density": float("nan"), "speed": None, "temperature": None}

    with pytest.raises(ValidationError, match=r"finite number"):
        SolarWindPlasma.model_validate({**fields, "extra": {}})


def test_assemble_raises_record_error_naming_field_model_refuses() -> None:
    with pytest.raises(
        RecordError, match=r"^kp: Input should be less than or equal to 9"
    ) as caught:
        assemble(
            kind="kp-index",
            source="https://www.swpc.noaa.gov/products/planetary-k-index",
            subject="kp/2025-04-12T00:00:00Z",
            time=datetime(2025, 4, 12, tzinfo=UTC),
            model=KpIndex,
            fields={**KP, "kp": 9.5},
        )

    assert caught.value.native_id == "kp/2025-04-12T00:00:00Z"


def test_assemble_raises_record_error_when_data_cannot_be_encoded() -> None:
    with pytest.raises(RecordError, match=r"^data is not encodable as JSON"):
        assemble(
            kind="kp-index",
            source="https://www.swpc.noaa.gov/products/planetary-k-index",
            subject="kp/2025-04-12T00:00:00Z",
            time=datetime(2025, 4, 12, tzinfo=UTC),
            model=KpIndex,
            fields={**KP, "status": "\ud800"},
        )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"a": [1, 2.5, "x", None, True]}, None),
        (float("nan"), "nan is not a finite number"),
        ([2**64], "integer wider than 64 bits"),
        ("\udcff", "string is not valid Unicode"),
        ({1: "x"}, "member name is not a string"),
        ({"a": (1, 2)}, "tuple is not a JSON value"),
    ],
    ids=["plain", "nan", "wide-int", "surrogate", "int-key", "tuple"],
)
def test_json_problem_names_what_cannot_travel_as_json(
    value: Any, problem: str | None
) -> None:
    assert json_problem(value) == problem


def test_json_problem_refuses_nesting_deeper_than_64_levels() -> None:
    value: Any = "x"
    for _ in range(70):
        value = [value]

    assert json_problem(value) == "nested too deeply"

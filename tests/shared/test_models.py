from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from central.models import DataModel, UtcDatetime, utc


class Sample(DataModel):
    """A data model with a required and an optional date-time."""

    at: UtcDatetime
    until: UtcDatetime | None = None


def test_utc_returns_value_in_utc_when_aware() -> None:
    local = datetime(2014, 11, 5, 5, 25, tzinfo=timezone(timedelta(hours=-9)))

    moment = utc(local)

    assert moment == local
    assert moment.tzinfo is UTC


def test_utc_raises_value_error_naming_what_when_naive() -> None:
    with pytest.raises(ValueError, match=r"^updated must carry a timezone$"):
        utc(datetime(2024, 2, 6), "updated")
    with pytest.raises(ValueError, match=r"^a date-time must carry a timezone$"):
        utc(datetime(2024, 2, 6))


def test_data_model_dumps_utc_times_and_keeps_none() -> None:
    local = datetime(2014, 11, 5, 5, 25, tzinfo=timezone(timedelta(hours=-9)))

    data = Sample(at=local).to_data()

    assert data == {"at": "2014-11-05T14:25:00Z", "until": None}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"at": datetime(2024, 2, 6)}, r"at\s+Value error, a date-time must carry"),
        (
            {"at": datetime(2024, 2, 6, tzinfo=UTC), "until": datetime(2024, 2, 7)},
            r"until\s+Value error, a date-time must carry a timezone",
        ),
        (
            {"at": datetime(2024, 2, 6, tzinfo=UTC), "tz": 480},
            r"tz\s+Extra inputs are not permitted",
        ),
    ],
    ids=["naive", "naive-optional", "unknown-field"],
)
def test_data_model_raises_validation_error_when_field_is_refused(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Sample.model_validate(fields)


def test_data_model_raises_validation_error_when_changed() -> None:
    sample = Sample(at=datetime(2024, 2, 6, tzinfo=UTC))

    with pytest.raises(ValidationError, match=r"Instance is frozen"):
        sample.at = datetime(2024, 2, 7, tzinfo=UTC)  # type: ignore[misc]

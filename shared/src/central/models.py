"""What the adapters' ``data`` models are built from.

Every event's ``data`` is a pydantic model of its adapter's ``models`` module.
:class:`DataModel` is their common base, and :data:`UtcDatetime` the type of a
date-time field, so that every domain refuses unknown fields and naive times alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict


class DataModel(BaseModel):
    """Base of a ``data`` model: frozen, and unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_data(self) -> dict[str, Any]:
        """The model as a JSON-compatible dict, keys in field order."""
        return self.model_dump(mode="json")


def utc(value: datetime, what: str = "a date-time") -> datetime:
    """``value`` converted to UTC.

    A naive ``value`` raises ValueError (``<what> must carry a timezone``): a time
    without a zone would be read in whatever zone the reader happens to be in.
    """
    if value.tzinfo is None:
        raise ValueError(f"{what} must carry a timezone")
    return value.astimezone(UTC)


#: A date-time field held in UTC; a naive value is refused (see :func:`utc`).
UtcDatetime = Annotated[datetime, AfterValidator(utc)]

"""The API's response bodies as models, for the OpenAPI document.

The routes build their bodies as plain dicts (the Hub's answers); these models only
describe them, so ``/openapi.json`` states what a client receives, and the schema
tests hold every response to it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    parameter: str | None = Field(
        description="The query parameter, path parameter, header or body field "
        "at fault; null when the error is not about one."
    )
    reason: str = Field(description="What is wrong, in words fit for a person.")


class ErrorBody(BaseModel):
    """Every error answer: 400, 401, 403, 404, 409, 503."""

    error: ErrorDetail


class CloudEvent(_Open):
    """A CloudEvent 1.0 in structured JSON mode; extension attributes beside."""

    specversion: Literal["1.0"]
    id: str
    source: str
    type: str
    time: str = Field(description="RFC 3339, UTC")
    subject: str | None = None
    datacontenttype: str | None = None
    data: Any = None


class EventsPage(BaseModel):
    events: list[CloudEvent]
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same filters) for the next page; "
        "null on the last page."
    )


class Geometry(_Open):
    type: str
    coordinates: Any = None


class Feature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: Geometry | None
    properties: dict[str, Any] = Field(
        description="The CloudEvent, its data without the geometry."
    )


class FeatureCollection(BaseModel):
    """RFC 7946 FeatureCollection; ``next_cursor`` is a foreign member."""

    type: Literal["FeatureCollection"]
    features: list[Feature]
    next_cursor: str | None


class History(BaseModel):
    subject: str
    events: list[CloudEvent] = Field(description="Oldest revision first.")
    truncated: bool = Field(description="More than 1000 revisions exist.")


class Limits(BaseModel):
    max_age_s: float
    max_bytes: int
    duplicate_window_s: float
    replicas: int
    updated_at: str | None
    updated_by: str


class Consumer(BaseModel):
    name: str
    pending: int
    ack_pending: int
    redelivered: int


class StreamState(BaseModel):
    messages: int
    bytes: int
    first_time: str | None
    last_time: str | None
    rate_per_s: float | None = Field(
        description="Messages per second since the previous sample of this stream "
        "by this dashboard; null on the first."
    )
    consumers: list[Consumer]


class Stream(BaseModel):
    name: str
    domain: str
    dashboard: bool
    archived: bool
    limits: Limits
    state: StreamState | None
    error: str | None = Field(
        description="Why the state is missing: the stream did not answer."
    )


class Streams(BaseModel):
    streams: list[Stream]


class LimitChange(BaseModel):
    """The body of ``PUT /api/streams/{name}``; give at least one field."""

    model_config = ConfigDict(extra="forbid")

    max_age_s: float | None = Field(default=None, ge=0, description="0: no limit")
    max_bytes: int | None = Field(default=None, ge=-1, description="-1: no limit")
    duplicate_window_s: float | None = Field(default=None, ge=0)
    replicas: int | None = Field(default=None, ge=1, le=5)


class FieldChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: Any = Field(alias="from")
    to: Any


class LimitValues(BaseModel):
    max_age_s: float
    max_bytes: int
    duplicate_window_s: float
    replicas: int


class StreamUpdate(BaseModel):
    stream: str
    action: Literal["updated", "unchanged"]
    before: LimitValues
    after: LimitValues
    changes: dict[str, FieldChange] = Field(
        description="What JetStream changed, by stream config field."
    )
    limits: Limits
    audit_id: int | None = Field(description="The config.stream_changes row.")


class Adapter(_Open):
    """The service's last heartbeat, as it published it, plus its age."""

    service: str
    time: str
    age_s: float
    stale: bool
    version: str | None = None
    uptime_s: float | None = None
    feeds: dict[str, Any] | None = None


class Adapters(BaseModel):
    adapters: list[Adapter]

"""CloudEvents 1.0: the event model and its NATS wire forms.

Binary content mode is what Central publishes: the message body is ``data`` as JSON
and every context attribute travels as a ``ce-<name>`` header, its value
percent-encoded by the rule of the CloudEvents HTTP and NATS bindings (UTF-8 first,
then ``%XX`` for space, ``"``, ``%`` and everything outside printable ASCII).
``Nats-Msg-Id`` carries the event id so that JetStream drops a re-publish inside the
stream's duplicate window.

Structured content mode (one JSON object, ``Content-Type:
application/cloudevents+json``) is accepted when decoding and is the form every
``normalize`` command prints.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from central.errors import EventDecodeError

SPECVERSION = "1.0"
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
JSON_CONTENT_TYPE = "application/json"
HEADER_PREFIX = "ce-"
MSG_ID_HEADER = "Nats-Msg-Id"

# Attributes the model holds as fields; anything else is an extension.
_CORE = ("specversion", "id", "source", "type", "time", "subject", "datacontenttype")
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
# The binding's safe set: printable ASCII without space, '"' and '%'.
_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in {'"', "%"})


class CloudEvent(BaseModel):
    """One CloudEvent with JSON ``data``.

    ``time`` is always timezone-aware UTC.  ``extensions`` holds extension attributes
    as strings (lower-case alphanumeric names, as the spec requires).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: str = SPECVERSION
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: datetime
    subject: str | None = None
    datacontenttype: str = JSON_CONTENT_TYPE
    data: Any = None
    extensions: dict[str, str] = Field(default_factory=dict)

    @field_validator("specversion")
    @classmethod
    def _known_version(cls, value: str) -> str:
        if value != SPECVERSION:
            raise ValueError(f"unsupported specversion {value!r}")
        return value

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry a timezone")
        return value.astimezone(UTC)

    @field_validator("extensions")
    @classmethod
    def _extension_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _EXTENSION_NAME.match(name) or name in _CORE or name == "data":
                raise ValueError(f"invalid extension attribute name {name!r}")
        return value


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix and only the precision the value has."""
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def percent_encode(value: str) -> str:
    """Encode a header value by the binding's rule (UTF-8, then ``%XX``)."""
    return quote(value, safe=_SAFE, encoding="utf-8")


def percent_decode(value: str) -> str:
    """Reverse :func:`percent_encode`; malformed UTF-8 raises EventDecodeError."""
    try:
        return unquote(value, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise EventDecodeError(f"header value {value!r} is not UTF-8") from exc


def attributes(event: CloudEvent) -> dict[str, str]:
    """Every context attribute of ``event`` as a string, extensions included."""
    attrs = {
        "specversion": event.specversion,
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "time": format_time(event.time),
        "datacontenttype": event.datacontenttype,
    }
    if event.subject is not None:
        attrs["subject"] = event.subject
    attrs.update(event.extensions)
    return attrs


def encode_data(event: CloudEvent) -> bytes:
    """The event's ``data`` as compact JSON bytes, keys in model order."""
    return orjson.dumps(event.data)


def to_nats_headers(event: CloudEvent) -> dict[str, str]:
    """Binary-mode headers for ``event``, ``Nats-Msg-Id`` included."""
    headers = {
        HEADER_PREFIX + name: percent_encode(value)
        for name, value in attributes(event).items()
    }
    headers[MSG_ID_HEADER] = event.id
    return headers


def to_structured(event: CloudEvent) -> bytes:
    """The event as one structured-mode JSON object (no trailing newline)."""
    body: dict[str, Any] = dict(attributes(event))
    body["data"] = event.data
    return orjson.dumps(body)


def from_structured(body: bytes | str) -> CloudEvent:
    """Parse one structured-mode JSON object; EventDecodeError if invalid."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise EventDecodeError("structured body is not JSON") from exc
    if not isinstance(raw, dict):
        raise EventDecodeError("structured body is not a JSON object")
    if "data_base64" in raw:
        raise EventDecodeError("data_base64 is not supported")
    attrs = {k: v for k, v in raw.items() if k != "data"}
    for name, value in attrs.items():
        if not isinstance(value, str):
            raise EventDecodeError(f"attribute {name!r} is not a string")
    return _build(attrs, raw.get("data"))


def from_nats(headers: Mapping[str, str] | None, body: bytes) -> CloudEvent:
    """Decode a NATS message in either content mode.

    A ``Content-Type`` of ``application/cloudevents+json`` means structured mode;
    anything else (or none) means binary mode.  The body of a binary-mode event must
    be JSON.  Every failure raises :class:`EventDecodeError` naming the reason.
    """
    headers = headers or {}
    content_type = _header(headers, "content-type") or ""
    if content_type.split(";")[0].strip().lower() == STRUCTURED_CONTENT_TYPE:
        return from_structured(body)

    attrs: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith(HEADER_PREFIX):
            attrs[lower[len(HEADER_PREFIX) :]] = percent_decode(value)
    if not attrs:
        raise EventDecodeError("no ce- headers and no structured content type")
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError as exc:
        raise EventDecodeError("body is not JSON") from exc
    return _build(attrs, data)


def _header(headers: Mapping[str, str], wanted: str) -> str | None:
    for name, value in headers.items():
        if name.lower() == wanted:
            return value
    return None


def _build(attrs: dict[str, str], data: Any) -> CloudEvent:
    for required in ("specversion", "id", "source", "type", "time"):
        if not attrs.get(required):
            raise EventDecodeError(f"missing required attribute {required!r}")
    core = {name: attrs[name] for name in _CORE if name in attrs}
    extensions = {k: v for k, v in attrs.items() if k not in _CORE}
    try:
        return CloudEvent.model_validate(
            {**core, "data": data, "extensions": extensions}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "event"
        raise EventDecodeError(f"{field}: {first['msg']}") from exc


def utc_from_epoch_ms(value: int | float) -> datetime:
    """A UTC datetime from epoch milliseconds, keeping millisecond precision."""
    return datetime.fromtimestamp(value / 1000, tz=UTC)

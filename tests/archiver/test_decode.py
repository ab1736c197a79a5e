"""The hot-loop decoder gives exactly what central.events.from_nats gives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from central.errors import EventDecodeError
from central.events import (
    CloudEvent,
    attributes,
    encode_data,
    from_nats,
    to_nats_headers,
)
from central_archiver.decode import _decode_fast, decode

EVENT = CloudEvent(
    id="usgs-us7000abcd-1707222222000",
    source="https://earthquake.usgs.gov/feeds/all_day",
    type="central.quake.earthquake",
    time=datetime(2024, 2, 6, 12, 0, 0, 123000, tzinfo=UTC),
    subject="us7000abcd",
    data={"magnitude": 4.7, "geometry": {"type": "Point", "coordinates": [1, 2]}},
    extensions={"provider": "usgs"},
)
HEADERS = to_nats_headers(EVENT)
BODY = encode_data(EVENT)


def with_headers(**changes: str | None) -> dict[str, str]:
    """HEADERS with ``name=value`` set (underscores become dashes) or removed."""
    headers = dict(HEADERS)
    for name, value in changes.items():
        key = name.replace("_", "-")
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return headers


def expected(headers: dict[str, str] | None, body: bytes) -> tuple[Any, ...]:
    try:
        event = from_nats(headers, body)
    except EventDecodeError as exc:
        return ("error", exc.reason)
    return (
        event.time,
        event.id,
        event.source,
        event.type,
        event.subject,
        attributes(event),
        event.data,
    )


def actual(headers: dict[str, str] | None, body: bytes) -> tuple[Any, ...]:
    try:
        event = decode(headers, body)
    except EventDecodeError as exc:
        return ("error", exc.reason)
    offset = event.time.utcoffset()
    assert offset is not None
    assert offset.total_seconds() == 0
    return (
        event.time,
        event.id,
        event.source,
        event.type,
        event.subject,
        orjson.loads(event.attributes),
        None if event.data is None else orjson.loads(event.data),
    )


def _event(**fields: Any) -> tuple[dict[str, str], bytes]:
    event = EVENT.model_copy(update=fields)
    return to_nats_headers(event), encode_data(event)


CASES: dict[str, tuple[dict[str, str] | None, bytes]] = {
    "canonical": (HEADERS, BODY),
    "no-fraction": _event(time=datetime(2024, 2, 6, 12, tzinfo=UTC)),
    "microseconds": _event(time=datetime(2024, 2, 6, 12, 0, 0, 1, tzinfo=UTC)),
    "no-subject": _event(subject=None),
    "empty-subject": _event(subject=""),
    "no-extensions": _event(extensions={}),
    "many-extensions": _event(extensions={"a1": "x", "traceid": "y", "z": ""}),
    "encoded-subject": _event(subject='a b"c%d'),
    "unicode-subject": _event(subject="Zürich \u2013 Genève"),
    "null-data": _event(data=None),
    "list-data": _event(data=[1, 2, {"a": None}]),
    "string-data": _event(data="text"),
    "short-fraction": (with_headers(ce_time="2024-02-06T12:00:00.5Z"), BODY),
    "zero-fraction": (with_headers(ce_time="2024-02-06T12:00:00.000000Z"), BODY),
    "seven-digit-fraction": (
        with_headers(ce_time="2024-02-06T12:00:00.1234567Z"),
        BODY,
    ),
    "offset-time": (with_headers(ce_time="2024-02-06T13:00:00+01:00"), BODY),
    "lower-z": (with_headers(ce_time="2024-02-06T12:00:00z"), BODY),
    "space-separator": (with_headers(ce_time="2024-02-06 12:00:00Z"), BODY),
    "naive-time": (with_headers(ce_time="2024-02-06T12:00:00"), BODY),
    "impossible-date": (with_headers(ce_time="2024-02-30T00:00:00Z"), BODY),
    "month-13": (with_headers(ce_time="2024-13-01T00:00:00Z"), BODY),
    "hour-24": (with_headers(ce_time="2024-02-06T24:00:00Z"), BODY),
    "leap-second": (with_headers(ce_time="2016-12-31T23:59:60Z"), BODY),
    "year-1": (with_headers(ce_time="0001-01-01T00:00:00Z"), BODY),
    "year-9999": (with_headers(ce_time="9999-12-31T23:59:59.999999Z"), BODY),
    "year-0": (with_headers(ce_time="0000-01-01T00:00:00Z"), BODY),
    "epoch-number": (with_headers(ce_time="1707220800"), BODY),
    "garbage-time": (with_headers(ce_time="yesterday"), BODY),
    "encoded-time": (with_headers(ce_time="2024-02-06T12:00:00%2B00:00"), BODY),
    "specversion-0.3": (with_headers(ce_specversion="0.3"), BODY),
    "no-specversion": (with_headers(ce_specversion=None), BODY),
    "no-id": (with_headers(ce_id=None), BODY),
    "empty-id": (with_headers(ce_id=""), BODY),
    "no-source": (with_headers(ce_source=None), BODY),
    "no-type": (with_headers(ce_type=None), BODY),
    "no-time": (with_headers(ce_time=None), BODY),
    "no-datacontenttype": (with_headers(ce_datacontenttype=None), BODY),
    "empty-datacontenttype": (with_headers(ce_datacontenttype=""), BODY),
    "xml-datacontenttype": (with_headers(ce_datacontenttype="text/xml"), BODY),
    "extension-data": (with_headers(ce_data="x"), BODY),
    "extension-dash": (with_headers(ce_foo_bar="x"), BODY),
    "extension-too-long": ({**HEADERS, "ce-" + "x" * 21: "v"}, BODY),
    "extension-20-chars": ({**HEADERS, "ce-" + "x" * 20: "v"}, BODY),
    "extension-mixed-case": ({**HEADERS, "Ce-Region": "eu"}, BODY),
    "upper-case-id-header": ({**with_headers(ce_id=None), "CE-ID": "X1"}, BODY),
    "duplicate-id-headers": ({**HEADERS, "Ce-Id": "other"}, BODY),
    "bad-percent-utf8": (with_headers(ce_subject="%ff%fe"), BODY),
    "lone-percent": (with_headers(ce_subject="100%"), BODY),
    "content-type-json": ({**HEADERS, "Content-Type": "application/json"}, BODY),
    "structured": (
        {"content-type": "application/cloudevents+json"},
        orjson.dumps({**attributes(EVENT), "data": EVENT.data}),
    ),
    "structured-bad": ({"Content-Type": "application/cloudevents+json"}, b"[1]"),
    "empty-body": (HEADERS, b""),
    "null-body": (HEADERS, b"null"),
    "not-json": (HEADERS, b"not json"),
    "truncated-json": (HEADERS, b'{"a": '),
    "nan-body": (HEADERS, b"NaN"),
    "invalid-utf8-body": (HEADERS, b'"\xff"'),
    "no-headers": (None, BODY),
    "empty-headers": ({}, BODY),
    "only-msg-id": ({"Nats-Msg-Id": "x"}, BODY),
}


@pytest.mark.parametrize(("headers", "body"), CASES.values(), ids=CASES.keys())
def test_decode_matches_from_nats_when_given_the_same_message(
    headers: dict[str, str] | None, body: bytes
) -> None:
    assert actual(headers, body) == expected(headers, body)


@pytest.mark.parametrize(
    "name", ["canonical", "no-fraction", "encoded-subject", "no-subject", "null-data"]
)
def test_decode_takes_the_fast_path_when_the_event_is_in_central_form(
    name: str,
) -> None:
    headers, body = CASES[name]
    assert headers is not None
    assert _decode_fast(headers, body) is not None


def test_decode_keeps_the_body_text_when_taking_the_fast_path() -> None:
    body = b'{"b": 1,   "a": [1.50, 2]}'
    assert decode(HEADERS, body).data == body.decode()

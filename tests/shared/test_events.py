from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from central.errors import EventDecodeError
from central.events import (
    CloudEvent,
    encode_data,
    from_nats,
    from_structured,
    percent_decode,
    percent_encode,
    to_nats_headers,
    to_structured,
)


def _event(**overrides: object) -> CloudEvent:
    base: dict[str, object] = {
        "id": "0123456789abcdef0123456789abcdef",
        "source": "https://earthquake.usgs.gov/feed",
        "type": "central.quake.earthquake",
        "time": datetime(2024, 2, 6, 4, 20, 1, 123000, tzinfo=UTC),
        "subject": "us7000lsze",
        "data": {"magnitude": 4.7, "place": "Région de Tōkyō, 100% sûr"},
    }
    base.update(overrides)
    return CloudEvent.model_validate(base)


def test_binary_round_trip_keeps_every_attribute_with_non_ascii_and_percent() -> None:
    event = _event(subject='São Paulo "50%" zone', extensions={"geocell": "6gy"})
    headers = to_nats_headers(event)

    decoded = from_nats(headers, encode_data(event))

    assert decoded == event
    assert headers["ce-subject"] == "S%C3%A3o%20Paulo%20%2250%25%22%20zone"
    assert headers["Nats-Msg-Id"] == event.id
    assert all(v.isascii() for v in headers.values())


def test_structured_round_trip_equals_original_event() -> None:
    event = _event()

    line = to_structured(event)

    assert from_structured(line) == event
    assert orjson.loads(line)["time"] == "2024-02-06T04:20:01.123000Z"


def test_from_nats_reads_structured_mode_when_content_type_says_so() -> None:
    event = _event()
    headers = {"Content-Type": "application/cloudevents+json; charset=utf-8"}

    assert from_nats(headers, to_structured(event)) == event


def test_time_is_normalized_to_utc_when_given_with_offset() -> None:
    event = _event(time=datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))))

    assert event.time == datetime(2024, 1, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        pytest.param({}, b"{}", "no ce- headers", id="no-headers"),
        pytest.param(
            {
                "ce-specversion": "1.0",
                "ce-source": "s",
                "ce-type": "t",
                "ce-time": "2024-01-01T00:00:00Z",
            },
            b"{}",
            "missing required attribute 'id'",
            id="no-id",
        ),
        pytest.param(
            {
                "ce-specversion": "0.3",
                "ce-id": "1",
                "ce-source": "s",
                "ce-type": "t",
                "ce-time": "2024-01-01T00:00:00Z",
            },
            b"{}",
            "unsupported specversion",
            id="old-spec",
        ),
        pytest.param(
            {
                "ce-specversion": "1.0",
                "ce-id": "1",
                "ce-source": "s",
                "ce-type": "t",
                "ce-time": "yesterday",
            },
            b"{}",
            "time",
            id="bad-time",
        ),
        pytest.param(
            {
                "ce-specversion": "1.0",
                "ce-id": "1",
                "ce-source": "s",
                "ce-type": "t",
                "ce-time": "2024-01-01T00:00:00Z",
            },
            b"{not json",
            "body is not JSON",
            id="bad-body",
        ),
        pytest.param(
            {
                "ce-specversion": "1.0",
                "ce-id": "%FF",
                "ce-source": "s",
                "ce-type": "t",
                "ce-time": "2024-01-01T00:00:00Z",
            },
            b"{}",
            "not UTF-8",
            id="bad-percent",
        ),
    ],
)
def test_from_nats_raises_decode_error_when_message_is_invalid(
    headers: dict[str, str], body: bytes, reason: str
) -> None:
    with pytest.raises(EventDecodeError, match=reason):
        from_nats(headers, body)


def test_percent_encoding_leaves_safe_ascii_alone_and_reverses_exactly() -> None:
    value = 'abc-XYZ_09:/.~ é%" ü😀'

    encoded = percent_encode(value)

    assert encoded.startswith("abc-XYZ_09:/.~%20%C3%A9%25%22")
    assert percent_decode(encoded) == value


def test_structured_rejects_non_string_attribute() -> None:
    body = orjson.dumps(
        {
            "specversion": "1.0",
            "id": 5,
            "source": "s",
            "type": "t",
            "time": "2024-01-01T00:00:00Z",
        }
    )

    with pytest.raises(EventDecodeError, match="attribute 'id' is not a string"):
        from_structured(body)

"""Messages become event records or dead letters with the right fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import pytest

from central.events import CloudEvent, encode_data, to_nats_headers
from central_archiver.rows import split, stream_sequence, trace_id

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@dataclass
class Msg:
    data: bytes
    headers: dict[str, str] | None = None
    subject: str = "central.quake.earthquake.usgs.u0n"
    reply: str = "$JS.ACK.CENTRAL_QUAKE.archiver-quake.1.42.40.1700000000000000000.7"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (VALID, "4bf92f3577b34da6a3ce929d0e0e4736"),
        (f"  {VALID} ", "4bf92f3577b34da6a3ce929d0e0e4736"),
        (
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future",
            "4bf92f3577b34da6a3ce929d0e0e4736",
        ),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", None),
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", None),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", None),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", None),
        ("garbage", None),
        ("", None),
    ],
    ids=[
        "valid",
        "padded",
        "future-version",
        "v00-extra",
        "version-ff",
        "zero-trace",
        "zero-parent",
        "upper-case",
        "garbage",
        "empty",
    ],
)
def test_trace_id_reads_w3c_traceparent_when_valid(
    value: str, expected: str | None
) -> None:
    assert trace_id({"traceparent": value}) == expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("$JS.ACK.S.c.1.17.3.1700000000000000000.0", 17),
        ("$JS.ACK.dom.ACCHASH.S.c.2.99.5.1700000000000000000.0.rnd", 99),
        ("$JS.ACK.S.c.1.x.3.1700000000000000000.0", None),
        ("_INBOX.abc", None),
        ("", None),
    ],
    ids=["v1", "v2-domain", "not-a-number", "inbox", "empty"],
)
def test_stream_sequence_reads_ack_subject_when_jetstream(
    reply: str, expected: int | None
) -> None:
    assert stream_sequence(reply) == expected


def test_split_sorts_events_and_dead_letters_when_batch_is_mixed() -> None:
    event = CloudEvent(
        id="e1",
        source="https://example.org/feed",
        type="central.quake.earthquake",
        time=datetime(2024, 2, 6, tzinfo=UTC),
        data={"geometry": {"type": "Point", "coordinates": [1, 2]}},
    )
    headers = {**to_nats_headers(event), "traceparent": VALID}
    good = Msg(encode_data(event), headers)
    not_json = Msg(b"{nope", headers)
    no_id = Msg(encode_data(event), {k: v for k, v in headers.items() if k != "ce-id"})
    nul = Msg(b"\x00", {"x-bad": "a\x00b"})

    batch = split("CENTRAL_QUAKE", [not_json, good, no_id, nul])

    assert batch.event_msgs == [good]
    (record,) = batch.events
    assert record[1:8] == (
        "e1",
        "https://example.org/feed",
        "central.quake.earthquake",
        None,
        good.subject,
        42,
        encode_data(event).decode(),
    )
    assert record[9] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert batch.dead_msgs == [not_json, no_id, nul]
    reasons = [dead[3] for dead in batch.dead]
    assert reasons[0] == "body is not JSON"
    assert reasons[1] == "missing required attribute 'id'"
    stream, seq, subject, _, header_json, body = batch.dead[2]
    assert (stream, seq, subject, body) == ("CENTRAL_QUAKE", 42, nul.subject, b"\x00")
    assert orjson.loads(header_json) == {"x-bad": "a\ufffdb"}

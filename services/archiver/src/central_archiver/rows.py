"""Turning JetStream messages into archive rows: events and dead letters.

A batch of messages splits into event records (tuples in
:data:`~central_archiver.database.STAGING_COLUMNS` order, ready for ``COPY``) and
dead-letter records for messages that are not valid CloudEvents. The message
objects travel alongside, so the consumer can ack or terminate each one after the
commit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from central.errors import EventDecodeError
from central_archiver.database import STAGING_COLUMNS
from central_archiver.decode import decode

#: Column order of dead-letter records.
DEAD_LETTER_COLUMNS = (
    "stream",
    "stream_seq",
    "nats_subject",
    "reason",
    "headers",
    "body",
)
#: Positions of the fields callers read back from records.
EVENT_SEQ = STAGING_COLUMNS.index("stream_seq")
DEAD_SEQ = DEAD_LETTER_COLUMNS.index("stream_seq")
DEAD_REASON = DEAD_LETTER_COLUMNS.index("reason")
# W3C Trace Context, section 3.2: version-traceid-parentid-flags, lower-case hex.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE = "0" * 32
_ZERO_PARENT = "0" * 16


@dataclass
class Batch:
    """One batch of messages split by what becomes of them."""

    stream: str
    events: list[tuple[Any, ...]] = field(default_factory=list)
    event_msgs: list[Any] = field(default_factory=list)
    dead: list[tuple[Any, ...]] = field(default_factory=list)
    dead_msgs: list[Any] = field(default_factory=list)

    def add_dead(self, msg: Any, seq: int | None, reason: str) -> None:
        self.dead.append(dead_letter(self.stream, msg, seq, reason))
        self.dead_msgs.append(msg)


def split(stream: str, msgs: Sequence[Any]) -> Batch:
    """Decode ``msgs`` (nats-py messages) into event and dead-letter records."""
    batch = Batch(stream)
    events = batch.events
    event_msgs = batch.event_msgs
    for msg in msgs:
        headers = msg.headers
        seq = stream_sequence(msg.reply)
        try:
            event = decode(headers, msg.data)
        except EventDecodeError as exc:
            batch.add_dead(msg, seq, exc.reason)
            continue
        if seq is None:
            batch.add_dead(msg, None, "reply subject is not a JetStream ack subject")
            continue
        events.append(
            (
                event.time,
                event.id,
                event.source,
                event.type,
                event.subject,
                msg.subject,
                seq,
                event.data,
                event.attributes,
                trace_id(headers) if headers else None,
            )
        )
        event_msgs.append(msg)
    return batch


def ack_fields(reply: str) -> tuple[str, str, str] | None:
    """The stream sequence, timestamp and pending tokens of a JetStream ack subject.

    None if ``reply`` is not one. Two layouts exist: ``$JS.ACK.<stream>.
    <consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`` and the newer one with
    domain and account hash tokens after ``ACK`` (and a random token at the end).
    The tokens are returned as text, unchecked.
    """
    if not reply.startswith("$JS.ACK."):
        return None
    tokens = reply.split(".")
    count = len(tokens)
    if count == 9:
        return tokens[5], tokens[7], tokens[8]
    if count >= 12:
        return tokens[7], tokens[9], tokens[10]
    return None


def ack_number(reply: str, index: int) -> int | None:
    """Token ``index`` (0 sequence, 1 timestamp in ns, 2 pending) as an integer."""
    fields = ack_fields(reply)
    if fields is None:
        return None
    text = fields[index]
    return int(text) if text.isdigit() else None


def stream_sequence(reply: str) -> int | None:
    """The stream sequence in a JetStream ack subject, or None if it is not one."""
    return ack_number(reply, 0)


def trace_id(headers: Mapping[str, str]) -> str | None:
    """The trace id of a valid W3C ``traceparent`` header, else None."""
    value = headers.get("traceparent")
    if not value:
        return None
    value = value.strip()
    match = _TRACEPARENT.match(value)
    if match is None:
        return None
    version, trace, parent = match[1], match[2], match[3]
    # Version ff is forbidden; version 00 has exactly four fields; all-zero ids are
    # invalid. Later versions may append fields, hence match() and not fullmatch().
    if version == "ff" or trace == _ZERO_TRACE or parent == _ZERO_PARENT:
        return None
    if version == "00" and len(value) != 55:
        return None
    return trace


def dead_letter(stream: str, msg: Any, seq: int | None, reason: str) -> tuple[Any, ...]:
    """A dead-letter record for ``msg`` (raw body and headers kept as they came)."""
    headers = {_text(str(k)): _text(str(v)) for k, v in (msg.headers or {}).items()}
    return (
        stream,
        seq,
        _text(msg.subject),
        _text(reason),
        orjson.dumps(headers).decode(),
        bytes(msg.data),
    )


def _text(value: str) -> str:
    # PostgreSQL text and jsonb cannot hold NUL; a dead letter must always insert.
    return value.replace("\x00", "\ufffd") if "\x00" in value else value

"""The archiver's spans: the JetStream hop, the batch and its transaction.

A batch has many parents (every message was published in some adapter's trace), so
its spans are laid out as follows:

- ``<stream> receive``, one per distinct producer trace in the batch: a child of
  the first such message's producer span, from the time JetStream stored that
  message (the timestamp in its ack subject) to the moment the archiver took the
  batch. This is the JetStream hop, in the poll's own trace, and it links to the
  batch span.
- ``<stream> process``, the batch: a child of the batch's first producer span, with
  a link to every message's producer span, from taking the batch to acking it.
  With ``CENTRAL_TRACE_LINKS=trace`` it links only the first producer span of each
  trace instead: a poll's thousand events cost one link rather than a thousand
  (each link costs the SDK and the exporter several microseconds).
- ``INSERT events``, the database transaction, a child of the batch span with the
  row counts.

Nothing here runs when tracing is off: the consumer holds no :class:`BatchTracer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from central_archiver.rows import ack_number
from central_archiver.writer import WriteResult

_SAMPLED = trace.TraceFlags(trace.TraceFlags.SAMPLED)


def producer_context(headers: Any) -> SpanContext | None:
    """The producer span of a message, from its ``traceparent``, when sampled.

    A version-00 value (W3C Trace Context, section 3.2) with the sampled flag;
    anything else gives None, since an unsampled producer span was never recorded
    and a link to it would lead nowhere. Sliced rather than matched: this runs
    for every message of every batch.
    """
    value = headers.get("traceparent") if headers else None
    if (
        not value
        or len(value) != 55
        or not value.startswith("00-")
        or value[35] != "-"
        or value[52] != "-"
    ):
        return None
    try:
        if not int(value[53:], 16) & 1:
            return None
        trace_id = int(value[3:35], 16)
        span_id = int(value[36:52], 16)
    except ValueError:
        return None
    context = SpanContext(trace_id, span_id, True, _SAMPLED)
    return context if context.is_valid else None


class BatchTrace:
    """The open spans of one batch; end it exactly once."""

    def __init__(self, tracer: trace.Tracer, stream: str, batch_span: Any) -> None:
        self._tracer = tracer
        self._stream = stream
        self.span = batch_span

    def insert(self) -> Any:
        """A context manager spanning the database transaction."""
        return self._tracer.start_as_current_span(
            "INSERT events",
            context=trace.set_span_in_context(self.span),
            kind=SpanKind.CLIENT,
            attributes={
                "db.system": "postgresql",
                "db.system.name": "postgresql",
                "db.operation.name": "INSERT",
                "db.collection.name": "events",
            },
        )

    def written(self, insert_span: Any, result: WriteResult) -> None:
        counts = {
            "central.rows.inserted": result.inserted,
            "central.rows.conflicts": result.conflicts,
            "central.rows.dead_letters": result.dead_letters,
            "central.rows.rejected": len(result.rejected),
        }
        insert_span.set_attributes(counts)
        self.span.set_attributes(counts)

    def end(self, error: BaseException | None = None) -> None:
        if error is not None:
            self.span.set_status(Status(StatusCode.ERROR, repr(error)))
        self.span.end()


class BatchTracer:
    """Opens the spans of one stream's batches.

    ``per_message`` links the batch span to every message's producer span; off,
    to the first producer span of each trace in the batch.
    """

    def __init__(
        self, tracer: trace.Tracer, stream: str, *, per_message: bool = True
    ) -> None:
        self._tracer = tracer
        self._stream = stream
        self._per_message = per_message

    def begin(self, msgs: Sequence[Any], taken_ns: int) -> BatchTrace:
        """Open the batch span and record the hop of each producer trace in it.

        ``taken_ns`` is when the batch was taken from the buffer (``time_ns``).
        """
        producers: list[SpanContext] = []
        first_of_trace: dict[int, tuple[SpanContext, Any, int]] = {}
        for msg in msgs:
            context = producer_context(msg.headers)
            if context is None:
                continue
            producers.append(context)
            entry = first_of_trace.get(context.trace_id)
            if entry is None:
                first_of_trace[context.trace_id] = (context, msg, 1)
            else:
                first_of_trace[context.trace_id] = (entry[0], entry[1], entry[2] + 1)

        parent = (
            trace.set_span_in_context(trace.NonRecordingSpan(producers[0]))
            if producers
            else None
        )
        attributes: dict[str, AttributeValue] = {
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.destination.name": self._stream,
            "messaging.batch.message_count": len(msgs),
        }
        batch_span = self._tracer.start_span(
            f"{self._stream} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            links=[
                Link(context)
                for context in (
                    producers
                    if self._per_message
                    else [first[0] for first in first_of_trace.values()]
                )
            ],
            attributes=attributes,
            start_time=taken_ns,
        )
        to_batch = [Link(batch_span.get_span_context())]
        for context, msg, count in first_of_trace.values():
            stored = ack_number(msg.reply or "", 1)
            hop = self._tracer.start_span(
                f"{self._stream} receive",
                context=trace.set_span_in_context(trace.NonRecordingSpan(context)),
                kind=SpanKind.CONSUMER,
                links=to_batch,
                attributes={
                    "messaging.system": "nats",
                    "messaging.operation.type": "receive",
                    "messaging.destination.name": self._stream,
                    "messaging.batch.message_count": count,
                    "messaging.nats.subject": msg.subject,
                },
                start_time=stored if stored and stored <= taken_ns else taken_ns,
            )
            hop.end(end_time=taken_ns)
        return BatchTrace(self._tracer, self._stream, batch_span)

"""One trace as the OTLP sink answers it: what must be in it, and its summary table.

Spans are the sink's JSON dicts (``service``, ``name``, ``trace_id``, ``span_id``,
``parent_span_id``, ``kind``, ``start_ns``, ``end_ns``, ``attributes``, ``links``,
``resource``). :func:`check_trace` finds the chain one archived row's trace must
hold: the adapter's ``poll <feed>`` root, its producer spans, the archiver's
``<STREAM> receive`` hop under one of them, and the batch that hop links to, with
its ``INSERT events`` child. :func:`table` condenses a trace into a few rows for
the e2e summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Span = dict[str, Any]

# SpanKind in OTLP's trace.proto.
PRODUCER = 4
CONSUMER = 5
#: The verbs of FastStream's producer spans, ``<subject> create`` / ``publish``.
PRODUCER_VERBS = ("create", "publish")


@dataclass(frozen=True)
class TraceCheck:
    """The chain found in one trace; false while a link of it is still missing.

    ``missing`` says what was not (yet) found; every span field is set once it is
    empty. ``batch_spans`` are the spans of the trace holding the batch span, which
    is this trace or the one the receive span's link points into.
    """

    trace_id: str
    spans: list[Span] = field(default_factory=list, repr=False)
    missing: str = ""
    poll: Span | None = field(default=None, repr=False)
    producers: list[Span] = field(default_factory=list, repr=False)
    receive: Span | None = field(default=None, repr=False)
    batch: Span | None = field(default=None, repr=False)
    insert: Span | None = field(default=None, repr=False)
    batch_spans: list[Span] = field(default_factory=list, repr=False)

    def __bool__(self) -> bool:
        return not self.missing


def _by_id(spans: Iterable[Span]) -> dict[str, Span]:
    return {span["span_id"]: span for span in spans}


def check_trace(trace_id: str, fetch: Callable[[str], list[Span]]) -> TraceCheck:
    """Look for the whole chain in trace ``trace_id``; ``fetch`` gives a trace's spans.

    Returns a false :class:`TraceCheck` naming the first missing link, so a caller
    can poll until every span has been exported.
    """
    spans = fetch(trace_id)

    def missing(what: str) -> TraceCheck:
        return TraceCheck(trace_id, spans, missing=what)

    polls = [
        s
        for s in spans
        if s["name"].startswith("poll ")
        and str(s["service"]).startswith("adapter-")
        and s["parent_span_id"] is None
    ]
    if len(polls) != 1:
        return missing(f"one root `poll <feed>` span of an adapter: {len(polls)}")
    poll = polls[0]
    producers = [
        s
        for s in spans
        if s["kind"] == PRODUCER and s["name"].rsplit(" ", 1)[-1] in PRODUCER_VERBS
    ]
    if not producers:
        return missing("producer spans")
    producer_ids = {s["span_id"] for s in producers}
    receives = [
        s
        for s in spans
        if s["service"] == "archiver"
        and s["name"].endswith(" receive")
        and s["parent_span_id"] in producer_ids
    ]
    if not receives:
        return missing("an archiver `<STREAM> receive` under a producer span")
    receive = receives[0]
    if len(receive["links"]) != 1:
        return missing(f"one link of the receive span: {receive['links']}")
    link = receive["links"][0]
    batch_spans = spans if link["trace_id"] == trace_id else fetch(link["trace_id"])
    batch = _by_id(batch_spans).get(link["span_id"])
    stream = receive["name"].removesuffix(" receive")
    if batch is None or batch["name"] != f"{stream} process":
        return missing(f"the linked `{stream} process` batch span {link}")
    inserts = [
        s
        for s in batch_spans
        if s["name"] == "INSERT events" and s["parent_span_id"] == batch["span_id"]
    ]
    if len(inserts) != 1:
        return missing(f"one `INSERT events` under the batch: {len(inserts)}")
    return TraceCheck(
        trace_id,
        spans,
        poll=poll,
        producers=producers,
        receive=receive,
        batch=batch,
        insert=inserts[0],
        batch_spans=batch_spans,
    )


def _label(span: Span) -> str:
    """The span's name, with a producer span's subject folded away."""
    head, _, verb = span["name"].rpartition(" ")
    if span["kind"] == PRODUCER and verb in PRODUCER_VERBS and head:
        return f"<subject> {verb}"
    return str(span["name"])


def table(check: TraceCheck) -> list[dict[str, Any]]:
    """The trace as summary rows: service, span, count, longest ms, parent.

    Spans of one service with the same label and parent label share a row (a poll
    publishes one producer span per record). The batch span and its insert follow,
    marked as linked, when they lie in another trace.
    """
    spans = list(check.spans)
    linked: set[str] = set()
    if check.batch is not None and check.batch["trace_id"] != check.trace_id:
        extra = [
            s
            for s in check.batch_spans
            if check.batch["span_id"] in (s["span_id"], s["parent_span_id"])
        ]
        linked = {s["span_id"] for s in extra}
        spans += extra
    by_id = _by_id(spans)
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for span in sorted(spans, key=lambda s: int(s["start_ns"])):
        parent = by_id.get(span["parent_span_id"] or "")
        if span["span_id"] in linked and parent is None:
            parent_label = "linked from receive"
        elif parent is None:
            parent_label = "-" if span["parent_span_id"] is None else "(elsewhere)"
        else:
            parent_label = _label(parent)
        key = (str(span["service"]), _label(span), parent_label)
        ms = (int(span["end_ns"]) - int(span["start_ns"])) / 1e6
        row = rows.setdefault(
            key,
            {"service": key[0], "span": key[1], "n": 0, "ms": 0.0, "parent": key[2]},
        )
        row["n"] += 1
        row["ms"] = round(max(row["ms"], ms), 1)
    return list(rows.values())

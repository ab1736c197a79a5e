"""One trace from the upstream poll to the archived row, in-process.

A recorded USGS payload is served over HTTP, polled by the real quake adapter,
published to a real JetStream and archived by the real archiver into PostGIS; the
adapter and the archiver each trace through their own provider (their own
``service.name``) into an in-memory exporter.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import asyncpg
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

from adapter_contract import FIXTURES, adapter, provision, wait_until
from central.logs import get_logger
from central.replay import Fault, ReplayApp, running
from central.telemetry import Telemetry, setup
from central_adapter_quake.feeds import FEEDS
from central_archiver.migrations import default_dir, migrate
from central_archiver.service import Archiver
from central_archiver.settings import ArchiverSettings

USGS = FIXTURES / "usgs-earthquake" / "usgs_all_day_2016-11-03_api1.5.2.geojson"
RECORDS = 151


def _by_name(spans: list[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x")


@pytest.fixture
def exporters() -> tuple[InMemorySpanExporter, InMemorySpanExporter]:
    return InMemorySpanExporter(), InMemorySpanExporter()


async def _archive_one_poll(
    nats_url: str,
    database_url: str,
    adapter_telemetry: Telemetry,
    archiver_telemetry: Telemetry,
    **archiver_settings: Any,
) -> list[asyncpg.Record]:
    await provision(nats_url)
    await migrate(database_url, default_dir(), get_logger())
    app = ReplayApp()
    route = app.serve("/usgs", USGS.read_bytes())
    route.fault = Fault(ignore_validators=True)
    archiver = Archiver(
        ArchiverSettings(
            nats_url=nats_url, database_url=database_url, **archiver_settings
        ),
        telemetry=archiver_telemetry,
    )
    await archiver.start()
    conn = await asyncpg.connect(database_url)
    try:
        async with (
            running(app) as base,
            adapter(
                "adapter-quake",
                FEEDS,
                nats_url,
                {"usgs": f"{base}/usgs"},
                telemetry=adapter_telemetry,
                usgs_interval_s=60,
            ),
        ):

            async def archived() -> bool:
                count = await conn.fetchval("SELECT count(*) FROM events")
                return bool(count == RECORDS)

            await wait_until(archived, 30, "every record of the poll as a row")
        await archiver.stop()
        return list(await conn.fetch("SELECT id, trace_id FROM events"))
    finally:
        await conn.close()
        await archiver.stop()


async def test_poll_publish_hop_batch_and_insert_share_one_trace(
    nats_url: str,
    database_url: str,
    exporters: tuple[InMemorySpanExporter, InMemorySpanExporter],
) -> None:
    adapter_spans, archiver_spans = exporters
    adapter_telemetry = setup("adapter-quake", "test", exporter=adapter_spans)
    archiver_telemetry = setup(
        "archiver", "test", exporter=archiver_spans, max_links=1000
    )
    try:
        rows = await _archive_one_poll(
            nats_url, database_url, adapter_telemetry, archiver_telemetry
        )
    finally:
        adapter_telemetry.shutdown()
        archiver_telemetry.shutdown()
    produced = list(adapter_spans.get_finished_spans())
    consumed = list(archiver_spans.get_finished_spans())

    # The adapter: one poll span, the root of its trace.
    (poll,) = _by_name(produced, "poll usgs")
    assert poll.parent is None
    assert poll.resource.attributes["service.name"] == "adapter-quake"
    assert poll.attributes is not None
    assert poll.attributes["central.poll.published"] == RECORDS
    assert poll.attributes["http.response.status_code"] == 200
    trace_id = poll.context.trace_id
    poll_id = poll.context.span_id

    # Its children: the upstream GET (httpx), normalization, a producer per event.
    (get,) = [s for s in produced if s.kind is SpanKind.CLIENT]
    assert get.parent is not None
    assert get.parent.span_id == poll_id
    assert get.attributes is not None
    assert str(get.attributes["url.full"]).endswith("/usgs")
    normalize = _by_name(produced, "normalize usgs")
    assert normalize
    assert all(s.parent is not None and s.parent.span_id == poll_id for s in normalize)
    assert sum(int((s.attributes or {})["central.records"]) for s in normalize) == (
        RECORDS
    )
    creates = [s for s in produced if s.name.endswith(" create")]
    assert len(creates) == RECORDS
    assert all(s.kind is SpanKind.PRODUCER for s in creates)
    assert all(s.parent is not None and s.parent.span_id == poll_id for s in creates)
    assert {s.context.trace_id for s in produced} == {trace_id}
    producer_ids = {s.context.span_id for s in creates}

    # The archiver: the JetStream hop, in the poll's trace, under a producer span.
    assert {s.resource.attributes["service.name"] for s in consumed} == {"archiver"}
    hops = _by_name(consumed, "CENTRAL_QUAKE receive")
    assert hops
    assert all(s.context.trace_id == trace_id for s in hops)
    assert all(s.parent is not None and s.parent.span_id in producer_ids for s in hops)
    assert sum(int((s.attributes or {})["messaging.batch.message_count"]) for s in hops)
    assert all(s.start_time is not None and s.end_time is not None for s in hops)
    assert all(
        s.start_time >= poll.start_time  # type: ignore[operator]
        for s in hops
    )

    # The batches: linked to every message's producer span, each with one INSERT.
    batches = _by_name(consumed, "CENTRAL_QUAKE process")
    assert batches
    linked = Counter(link.context.span_id for b in batches for link in b.links)
    assert set(linked) == producer_ids
    assert all(count == 1 for count in linked.values())
    assert all(b.context.trace_id == trace_id for b in batches)
    assert all(b.kind is SpanKind.CONSUMER for b in batches)
    inserts = _by_name(consumed, "INSERT events")
    assert len(inserts) == len(batches)
    batch_ids = {b.context.span_id for b in batches}
    assert all(s.parent is not None and s.parent.span_id in batch_ids for s in inserts)
    inserted = sum(int((s.attributes or {})["central.rows.inserted"]) for s in inserts)
    assert inserted == RECORDS
    assert all(s.status.status_code is not StatusCode.ERROR for s in consumed)
    # Every hop links to its batch, so a reader of the poll's trace finds it.
    assert {link.context.span_id for h in hops for link in h.links} <= batch_ids

    # The archive leads back to the trace.
    assert {row["trace_id"] for row in rows} == {_hex(trace_id, 32)}


async def test_batch_links_one_producer_span_per_trace_when_asked(
    nats_url: str,
    database_url: str,
    exporters: tuple[InMemorySpanExporter, InMemorySpanExporter],
) -> None:
    adapter_spans, archiver_spans = exporters
    adapter_telemetry = setup("adapter-quake", "test", exporter=adapter_spans)
    archiver_telemetry = setup("archiver", "test", exporter=archiver_spans)
    try:
        rows = await _archive_one_poll(
            nats_url,
            database_url,
            adapter_telemetry,
            archiver_telemetry,
            trace_links="trace",
        )
    finally:
        adapter_telemetry.shutdown()
        archiver_telemetry.shutdown()
    (poll,) = _by_name(list(adapter_spans.get_finished_spans()), "poll usgs")
    creates = {
        s.context.span_id
        for s in adapter_spans.get_finished_spans()
        if s.name.endswith(" create")
    }
    batches = _by_name(
        list(archiver_spans.get_finished_spans()), "CENTRAL_QUAKE process"
    )
    assert batches
    # One poll is one trace: each batch links its first producer span only.
    assert all(len(b.links) == 1 for b in batches)
    assert {link.context.span_id for b in batches for link in b.links} <= creates
    assert {row["trace_id"] for row in rows} == {_hex(poll.context.trace_id, 32)}

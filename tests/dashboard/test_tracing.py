"""The dashboard opens a server span per API request when tracing is on."""

from __future__ import annotations

import httpx
from dashboard.harness import Archive, settings_for
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind

from central.telemetry import Telemetry, setup
from central_dashboard.app import create_app
from central_dashboard.tracing import traced


async def test_api_requests_are_server_spans_and_probes_are_not(
    archive: Archive, shared_database: str
) -> None:
    exporter = InMemorySpanExporter()
    telemetry = setup("dashboard", "test", exporter=exporter)
    app = create_app(settings_for(archive.nats_url, shared_database))
    served = traced(app, telemetry)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=served)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://d"
        ) as client:
            assert (
                await client.get("/api/events", params={"limit": 3})
            ).status_code == 200
            assert (await client.get("/healthz")).status_code == 200
            assert (
                await client.get("/api/events", params={"limit": -1})
            ).status_code == 400
    telemetry.shutdown()

    servers = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert [s.name for s in servers] == ["GET /api/events", "GET /api/events"]
    assert all(s.resource.attributes["service.name"] == "dashboard" for s in servers)
    codes = [
        (s.attributes or {}).get("http.response.status_code")
        or (s.attributes or {}).get("http.status_code")
        for s in servers
    ]
    assert codes == [200, 400]


def test_untraced_app_is_served_as_it_is() -> None:
    app = object()
    assert traced(app, Telemetry("dashboard")) is app

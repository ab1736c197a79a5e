"""Tracing set-up: off without an endpoint, OTLP export with one, ids in logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from adapter_contract import wait_until
from central.errors import SettingsError
from central.logs import configure, get_logger
from central.otlpsink import SinkApp
from central.replay import running
from central.telemetry import TelemetrySettings, setup


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x")


@pytest.fixture
def json_lines(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], Any]]:
    """Starts JSON logging to the captured stdout; returns a reader of its lines.

    Called inside the test, where the capture is live; logging is undone
    afterwards, since the capture closes with the test.
    """

    def start() -> Callable[[], list]:
        configure("adapter-quake")
        return lambda: [orjson.loads(x) for x in capsys.readouterr().out.splitlines()]

    yield start
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        pytest.param(TelemetrySettings(), "is not set", id="no-endpoint"),
        pytest.param(
            TelemetrySettings(
                exporter_otlp_endpoint="http://x:4318", sdk_disabled=True
            ),
            "OTEL_SDK_DISABLED",
            id="sdk-disabled",
        ),
        pytest.param(
            TelemetrySettings(
                exporter_otlp_endpoint="http://x:4318", traces_exporter="none"
            ),
            "OTEL_TRACES_EXPORTER",
            id="exporter-none",
        ),
        pytest.param(
            TelemetrySettings(
                exporter_otlp_endpoint="http://no-such-host.invalid:4318"
            ),
            "does not resolve",
            id="unresolvable-host",
        ),
    ],
)
def test_setup_traces_nothing_when_export_is_off(
    settings: TelemetrySettings, reason: str, json_lines: Callable[[], Any]
) -> None:
    read = json_lines()
    telemetry = setup("archiver", "test", settings=settings)

    assert not telemetry.enabled
    assert telemetry.broker_middlewares() == ()
    assert type(telemetry.http_transport()) is httpx.AsyncHTTPTransport
    assert isinstance(telemetry.tracer(), trace.NoOpTracer)
    (line,) = read()
    assert line["event"] == "tracing_off"
    assert reason in line["reason"]


def test_setup_refuses_the_grpc_protocol() -> None:
    settings = TelemetrySettings(
        exporter_otlp_endpoint="http://127.0.0.1:4317", exporter_otlp_protocol="grpc"
    )
    with pytest.raises(SettingsError, match=r"OTEL_EXPORTER_OTLP_PROTOCOL.*grpc"):
        setup("archiver", "test", settings=settings)


async def test_spans_reach_an_otlp_receiver_with_the_service_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sink = SinkApp()
    async with running(sink) as base:
        # The SDK's exporter reads its endpoint from the environment itself.
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", base)
        monkeypatch.setenv("CENTRAL_ENVIRONMENT", "ci")
        telemetry = setup(
            "adapter-quake",
            "1.2.3",
            settings=TelemetrySettings(exporter_otlp_endpoint=base),
        )
        with telemetry.tracer().start_as_current_span("poll usgs") as span:
            span.set_attribute("central.feed", "usgs")
        # shutdown() flushes the batch processor in a worker thread.
        await asyncio.to_thread(telemetry.shutdown)
        await wait_until(lambda: sink.spans, 10, "the exported span")
        async with httpx.AsyncClient() as client:
            answer = (await client.get(f"{base}/spans")).json()

    (got,) = answer["spans"]
    assert got["name"] == "poll usgs"
    assert got["service"] == "adapter-quake"
    assert got["resource"]["service.version"] == "1.2.3"
    assert got["resource"]["deployment.environment"] == "ci"
    assert got["attributes"] == {"central.feed": "usgs"}
    assert got["trace_id"] == _hex(span.get_span_context().trace_id, 32)


async def test_sink_answers_400_to_a_body_that_is_not_protobuf() -> None:
    async with running(SinkApp()) as base, httpx.AsyncClient() as client:
        answer = await client.post(f"{base}/v1/traces", content=b"\xff not protobuf")
    assert answer.status_code == 400


async def test_log_lines_carry_trace_and_span_ids_inside_a_span(
    json_lines: Callable[[], Any],
) -> None:
    read = json_lines()
    telemetry = setup("adapter-quake", "test", exporter=InMemorySpanExporter())
    log = get_logger()
    with telemetry.tracer().start_as_current_span("work") as span:
        log.info("inside")
    log.info("outside")
    telemetry.shutdown()

    lines: list[dict[str, Any]] = read()
    inside = next(line for line in lines if line["event"] == "inside")
    outside = next(line for line in lines if line["event"] == "outside")
    context = span.get_span_context()
    assert inside["trace_id"] == _hex(context.trace_id, 32)
    assert inside["span_id"] == _hex(context.span_id, 16)
    assert inside["service"] == "adapter-quake"
    assert "trace_id" not in outside

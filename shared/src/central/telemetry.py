"""OpenTelemetry tracing, set up once per service at start-up.

:func:`setup` gives a :class:`Telemetry`: a tracer provider whose resource names the
service (``service.name``, ``service.version``, ``deployment.environment``) and
exports spans over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set. The exporter, the sampler and the
batch processor read the standard ``OTEL_*`` variables themselves
(``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*`` and so on);
``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` turn tracing off.

With no endpoint, there is no provider at all: tracers are OpenTelemetry's no-op
ones, the broker gets no telemetry middleware and the HTTP client no tracing
transport, so nothing is recorded, exported or slowed.

While a span is current, every log line carries its ``trace_id`` and ``span_id``.

Note: an endpoint whose host does not resolve at start-up (for example compose's
default ``jaeger`` when the observability profile is not running) turns tracing off
for the life of the process, with one ``tracing_off`` line saying why.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from opentelemetry import trace
from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransport
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from central.errors import SettingsError
from central.logs import add_trace_hook, get_logger
from central.upstream import redact_url

#: The instrumentation scope of Central's own spans.
SCOPE = "central"


class TelemetrySettings(BaseSettings):
    """The standard OpenTelemetry variables that decide whether spans are exported."""

    model_config = SettingsConfigDict(
        env_prefix="OTEL_", extra="ignore", frozen=True, case_sensitive=False
    )

    exporter_otlp_endpoint: str = ""
    exporter_otlp_traces_endpoint: str = ""
    exporter_otlp_protocol: str = "http/protobuf"
    exporter_otlp_traces_protocol: str = ""
    traces_exporter: str = "otlp"
    sdk_disabled: bool = False

    @property
    def endpoint(self) -> str:
        return self.exporter_otlp_traces_endpoint or self.exporter_otlp_endpoint

    @property
    def protocol(self) -> str:
        return self.exporter_otlp_traces_protocol or self.exporter_otlp_protocol

    def off_reason(self) -> str | None:
        """Why nothing is exported, or None when spans go to the endpoint."""
        if self.sdk_disabled:
            return "OTEL_SDK_DISABLED is true"
        if self.traces_exporter.strip().lower() == "none":
            return "OTEL_TRACES_EXPORTER is none"
        if not self.endpoint:
            return "OTEL_EXPORTER_OTLP_ENDPOINT is not set"
        return None


class ResourceSettings(BaseSettings):
    """``CENTRAL_ENVIRONMENT``: the ``deployment.environment`` of every span."""

    model_config = SettingsConfigDict(
        env_prefix="CENTRAL_", extra="ignore", frozen=True, case_sensitive=False
    )

    environment: str = Field(default="development", min_length=1)


@dataclass(frozen=True)
class Telemetry:
    """One service's tracing: a provider, or none when tracing is off."""

    service: str
    provider: TracerProvider | None = None

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    def tracer(self, scope: str = SCOPE) -> trace.Tracer:
        """A tracer of this service; OpenTelemetry's no-op tracer when off."""
        if self.provider is None:
            return trace.NoOpTracer()
        return self.provider.get_tracer(scope)

    def broker_middlewares(self) -> tuple[Any, ...]:
        """FastStream's NATS telemetry middleware bound to this provider, if on.

        It opens a producer span per publish and writes W3C ``traceparent`` into
        the message headers.
        """
        if self.provider is None:
            return ()
        from faststream.nats.opentelemetry import NatsTelemetryMiddleware

        return (NatsTelemetryMiddleware(tracer_provider=self.provider),)

    def http_transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport that opens a client span per request when tracing.

        The span's ``url.full`` is the redacted URL: a key in the query or the path
        never reaches the trace backend.
        """
        transport = httpx.AsyncHTTPTransport()
        if self.provider is None:
            return transport

        async def redact(span: Any, request: Any) -> None:
            if span is not None and span.is_recording():
                span.set_attribute("url.full", redact_url(str(request.url)))

        return AsyncOpenTelemetryTransport(
            transport, tracer_provider=self.provider, request_hook=redact
        )

    def shutdown(self) -> None:
        """Export what is buffered and stop; safe to call more than once."""
        if self.provider is not None:
            self.provider.shutdown()


def setup(
    service: str,
    version: str,
    *,
    exporter: SpanExporter | None = None,
    max_links: int | None = None,
    settings: TelemetrySettings | None = None,
) -> Telemetry:
    """The service's :class:`Telemetry`, from the ``OTEL_*`` variables.

    ``exporter`` (tests pass an in-memory one) is used as given, synchronously, and
    overrides the environment. ``max_links`` raises the per-span link limit (the
    archiver links a batch span to every message in it). Raises SettingsError for a
    protocol other than ``http/protobuf``.
    """
    log = get_logger()
    environment = ResourceSettings().environment
    resource = Resource.create(
        {
            "service.name": service,
            "service.version": version,
            "deployment.environment": environment,
            "deployment.environment.name": environment,
        }
    )
    limits = SpanLimits(max_links=max_links) if max_links else None
    if exporter is not None:
        provider = TracerProvider(resource=resource, span_limits=limits)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        _hook_logs()
        return Telemetry(service, provider)

    settings = settings or TelemetrySettings()
    reason = settings.off_reason() or _unreachable(settings.endpoint)
    if reason is not None:
        log.info("tracing_off", reason=reason)
        return Telemetry(service)
    if settings.protocol != "http/protobuf":
        raise SettingsError(
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            f"{settings.protocol!r} is not supported; use http/protobuf",
        )

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter,
    )

    provider = TracerProvider(resource=resource, span_limits=limits)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _hook_logs()
    log.info("tracing_on", endpoint=redact_url(settings.endpoint))
    return Telemetry(service, provider)


def _unreachable(endpoint: str) -> str | None:
    """Why ``endpoint``'s host cannot be used, or None when it resolves."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"endpoint {redact_url(endpoint)!r} is not an http(s) URL"
    try:
        socket.getaddrinfo(parts.hostname, parts.port or 4318)
    except OSError:
        return f"endpoint host {parts.hostname!r} does not resolve"
    return None


_hooked = False


def _hook_logs() -> None:
    global _hooked
    if not _hooked:
        add_trace_hook(current_ids)
        _hooked = True


def current_ids() -> dict[str, str]:
    """``trace_id`` and ``span_id`` of the current span, or nothing without one."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
    }

"""Request spans for the dashboard: one server span per HTTP request.

OpenTelemetry's ASGI middleware wraps the whole application when tracing is on
(:mod:`central.telemetry`); the probes (``/healthz``, ``/readyz``, ``/metrics``)
and the static assets are left out, so a trace backend sees the API and the pages.
With tracing off the application is served as it is.
"""

from __future__ import annotations

from typing import Any

from central.telemetry import Telemetry

#: Paths not traced (regular expressions, matched against the URL).
UNTRACED = "/healthz,/readyz,/metrics,/static/"


def traced(app: Any, telemetry: Telemetry) -> Any:
    """``app`` wrapped to open a server span per request, if tracing is on."""
    if telemetry.provider is None:
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(
        app, excluded_urls=UNTRACED, tracer_provider=telemetry.provider
    )

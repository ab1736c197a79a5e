"""The dashboard's ASGI application: the API, the pages, health and metrics.

:func:`create_app` builds a FastAPI app around one :class:`~central_dashboard.hub.
Hub`, which its lifespan starts (NATS and both database pools; a failure there
fails the start-up) and stops. Besides ``/api`` it serves, like every Central
service, ``/healthz`` (200 while the process runs), ``/readyz`` (200 when NATS is
connected and the database answers, else 503 naming what failed) and ``/metrics``
(Prometheus), plus ``/openapi.json``. The HTML pages (``central_dashboard.pages``)
and ``/static`` are mounted when the package has them.

Every error is JSON, ``{"error": {"parameter": ..., "reason": ...}}``: 400 for
invalid input (FastAPI's own validation errors included, which it would otherwise
answer 422), 401/403 for a PUT without the right token, 404, 409 for a refused
stream change, 503 when the database or NATS did not answer or the query budget
is spent (with ``Retry-After``); and, before any route, 429 (with
``Retry-After``) from :class:`~central_dashboard.admission.ClientLimits` and 408,
413, 414 or 431 from :class:`~central_dashboard.limits.RequestLimits`.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException

from central_dashboard import __version__, schemas
from central_dashboard.admission import ClientLimits
from central_dashboard.api import AuthError, router
from central_dashboard.errors import (
    BudgetSpentError,
    ConflictError,
    NotFoundError,
    ParameterError,
    UnavailableError,
)
from central_dashboard.hub import Hub
from central_dashboard.limits import RequestLimits
from central_dashboard.queries import DEFAULT_LIMIT, MAX_LIMIT, PARAMETERS
from central_dashboard.settings import DashboardSettings

SERVICE = "dashboard"
STATIC = Path(__file__).parent / "static"
#: Parameter names counted by name in the rejection metric; others as "other".
_KNOWN_PARAMETERS = frozenset(
    {
        *PARAMETERS,
        "format",
        "body",
        "id",
        "name",
        "max_age_s",
        "max_bytes",
        "duplicate_window_s",
        "replicas",
        "Authorization",
        "X-Central-Actor",
    }
)


def create_app(settings: DashboardSettings, hub: Hub | None = None) -> FastAPI:
    """The dashboard's FastAPI app around ``hub`` (a new one by default)."""
    hub = hub or Hub(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await hub.start()
        except UnavailableError as exc:
            hub.log.error("start_failed", what=exc.what, reason=exc.reason)
            raise
        try:
            yield
        finally:
            await hub.stop()

    app = FastAPI(
        title="Central dashboard",
        version=__version__,
        description="Queries over Central's event archive and its JetStream "
        "streams. Times are RFC 3339 UTC; coordinates WGS84, longitude first.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.hub = hub
    app.add_middleware(
        RequestLimits,
        hub=hub,
        max_body_bytes=settings.dashboard_max_body_bytes,
        body_timeout_s=settings.dashboard_body_timeout_s,
    )
    # Added last, so it runs first: a throttled client costs the least.
    app.add_middleware(ClientLimits, admission=hub.admission)
    app.include_router(router)
    _service_routes(app, hub)
    _mount_pages(app)
    _error_handlers(app, hub)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _service_routes(app: FastAPI, hub: Hub) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return JSONResponse({"status": "alive"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        try:
            checks = await asyncio.wait_for(hub.ready(), timeout=3)
        except TimeoutError:
            checks = {"nats": False, "database": False}
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            return JSONResponse({"status": "not ready", "failed": failed}, 503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(
            generate_latest(hub.metrics.registry), media_type=CONTENT_TYPE_LATEST
        )


def _mount_pages(app: FastAPI) -> None:
    try:
        pages = importlib.import_module("central_dashboard.pages")
    except ModuleNotFoundError as exc:
        if exc.name != "central_dashboard.pages":
            raise
        pages = None
    if pages is not None:
        app.include_router(pages.router)
    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")


def error_body(status: int, parameter: str | None, reason: str) -> JSONResponse:
    """The JSON error answer every route gives."""
    return JSONResponse(
        {"error": {"parameter": parameter, "reason": reason}}, status_code=status
    )


def _error_handlers(app: FastAPI, hub: Hub) -> None:
    def rejected(
        request: Request, status: int, parameter: str, reason: str
    ) -> JSONResponse:
        label = parameter if parameter in _KNOWN_PARAMETERS else "other"
        hub.metrics.rejected.labels(label).inc()
        hub.log.warning(
            "request_rejected",
            status=status,
            method=request.method,
            path=request.url.path,
            parameter=parameter,
            reason=reason,
        )
        return error_body(status, parameter, reason)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        parameter, reason = _validation_detail(exc)
        return rejected(request, 400, parameter, reason)

    async def on_parameter(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ParameterError)
        return rejected(request, 400, exc.parameter, exc.reason)

    async def on_auth(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AuthError)
        response = rejected(request, exc.status, "Authorization", exc.reason)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    async def on_not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotFoundError)
        return error_body(404, None, str(exc))

    async def on_conflict(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConflictError)
        hub.metrics.stream_changes.labels("refused").inc()
        hub.log.warning("stream_change_refused", stream=exc.stream, reason=exc.reason)
        return error_body(409, None, exc.reason)

    async def on_unavailable(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UnavailableError)
        response = error_body(503, None, str(exc))
        if isinstance(exc, BudgetSpentError):
            response.headers["Retry-After"] = exc.retry_after
        else:
            hub.log.warning("backend_unavailable", what=exc.what, reason=exc.reason)
        return response

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        response = error_body(exc.status_code, None, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    async def on_crash(request: Request, exc: Exception) -> Response:
        hub.log.error(
            "request_failed", path=request.url.path, error=repr(exc), exc_info=exc
        )
        return error_body(500, None, "internal error")

    for kind, handler in (
        (RequestValidationError, on_validation),
        (ParameterError, on_parameter),
        (AuthError, on_auth),
        (NotFoundError, on_not_found),
        (ConflictError, on_conflict),
        (UnavailableError, on_unavailable),
        (StarletteHTTPException, on_http),
        (Exception, on_crash),
    ):
        app.add_exception_handler(kind, handler)


def _validation_detail(exc: RequestValidationError) -> tuple[str, str]:
    errors = exc.errors()
    if not errors:
        return "request", "invalid request"
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ())]
    where = loc[0] if loc else "request"
    if where == "body":
        field = loc[1] if len(loc) > 1 and not loc[1].isdigit() else "body"
        if first.get("type") == "json_invalid":
            field = "body"
        return field, str(first.get("msg", "invalid"))
    parameter = loc[1] if len(loc) > 1 else where
    return parameter, str(first.get("msg", "invalid"))


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    # Validation errors answer 400 with ErrorBody (see _error_handlers), never 422.
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "limit" and parameter["in"] == "query":
                    parameter["schema"] = {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_LIMIT,
                        "default": DEFAULT_LIMIT,
                        "title": "Limit",
                    }
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    _, extra = models_json_schema(
        [
            (schemas.EventsPage, "serialization"),
            (schemas.FeatureCollection, "serialization"),
        ],
        ref_template="#/components/schemas/{model}",
    )
    for name, schema in extra.get("$defs", {}).items():
        components.setdefault(name, schema)
    app.openapi_schema = spec
    return spec

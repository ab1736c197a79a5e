"""The skeleton every Central service runs in.

A FastStream application (``AsgiFastStream`` around a ``NatsBroker``) served by
uvicorn on ``CENTRAL_HTTP_HOST:CENTRAL_HTTP_PORT`` with three routes:

- ``/healthz``: 200 while the process runs;
- ``/readyz``: 200 when every readiness check passes (NATS connected, plus whatever
  the service adds, such as the database), else 503 naming the failing check;
- ``/metrics``: Prometheus text from the process's default registry.

uvicorn owns SIGINT/SIGTERM: it stops serving, FastStream runs the shutdown hooks
(where services finish or nak work in hand) and drains the broker.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
import uvicorn
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.nats import NatsBroker
from faststream.security import BaseSecurity
from prometheus_client import REGISTRY, CollectorRegistry, make_asgi_app

from central.httpserver import with_head_deadline
from central.logs import get_logger
from central.settings import CentralSettings
from central.telemetry import Telemetry

ReadyCheck = Callable[[], Awaitable[bool]]
Hook = Callable[[], Awaitable[None]]


def make_broker(
    settings: CentralSettings, service: str, telemetry: Telemetry | None = None
) -> NatsBroker:
    """A NatsBroker for ``service`` that never declares streams and logs as JSON.

    With ``telemetry`` on, every publish opens a producer span and carries its
    ``traceparent``. TLS is used as the settings say (:meth:`CentralSettings.
    nats_tls`); SettingsError if its files cannot be read.
    """
    tls = settings.nats_tls()
    return NatsBroker(
        settings.nats_servers(),
        security=BaseSecurity(ssl_context=tls) if tls else None,
        name=service,
        middlewares=telemetry.broker_middlewares() if telemetry else (),
        logger=framework_logger(service),
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=5,
    )


def framework_logger(service: str) -> logging.Logger:
    """A plain stdlib logger for FastStream, so its lines are JSON like ours.

    FastStream's default logger writes coloured text to stderr; this one propagates
    to the root handler that :func:`central.logs.configure` installs.
    """
    return logging.getLogger(f"{service}.faststream")


def _json(status: int, body: dict[str, Any]) -> AsgiResponse:
    return AsgiResponse(
        orjson.dumps(body), status, headers={"content-type": "application/json"}
    )


def build_app(
    broker: NatsBroker,
    service: str,
    *,
    checks: dict[str, ReadyCheck] | None = None,
    on_startup: Sequence[Hook] = (),
    after_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    registry: CollectorRegistry = REGISTRY,
) -> AsgiFastStream:
    """The service's ASGI application with health, readiness and metrics routes.

    ``checks`` are extra readiness checks by name; NATS connectivity is always
    checked.  A check that raises or takes longer than two seconds counts as failed.
    ``on_startup`` hooks run before the broker connects (a failure there fails the
    ASGI start-up), ``after_startup`` ones once it has.  ``/metrics`` serves
    ``registry``, the process's default one unless the service keeps its own.
    """
    all_checks: dict[str, ReadyCheck] = {"nats": lambda: _nats_ready(broker)}
    all_checks.update(checks or {})

    @get(include_in_schema=False)
    async def healthz(scope: Any) -> AsgiResponse:
        return _json(200, {"status": "alive"})

    @get(include_in_schema=False)
    async def readyz(scope: Any) -> AsgiResponse:
        failed = [name for name, check in all_checks.items() if not await _run(check)]
        if failed:
            return _json(503, {"status": "not ready", "failed": failed})
        return _json(200, {"status": "ready"})

    return AsgiFastStream(
        broker,
        asgi_routes=[
            ("/healthz", healthz),
            ("/readyz", readyz),
            ("/metrics", make_asgi_app(registry)),
        ],
        on_startup=list(on_startup),
        after_startup=list(after_startup),
        on_shutdown=list(on_shutdown),
        logger=framework_logger(service),
    )


async def _nats_ready(broker: NatsBroker) -> bool:
    try:
        return bool(broker.connection.is_connected)
    except Exception:
        return False


async def _run(check: ReadyCheck) -> bool:
    try:
        return await asyncio.wait_for(check(), timeout=2.0)
    except Exception:
        return False


def serve(app: AsgiFastStream, settings: CentralSettings) -> int:
    """Run ``app`` until SIGINT/SIGTERM; the process exit code.

    0 after a clean shutdown, 3 when start-up failed (for example NATS unreachable
    or the HTTP port taken); the reason is logged by then.
    """
    code = serve_until_stopped(app, settings, get_logger(), graceful_s=20)
    return 3 if code else 0


def serve_until_stopped(
    app: Any, settings: CentralSettings, log: Any, *, graceful_s: int | None = None
) -> int:
    """Run ``app`` in a new event loop until SIGTERM/SIGINT; the exit code.

    0 after a clean shutdown (logged ``shutdown_complete``), 1 when start-up
    failed (the lifespan start-up raised, or the port was taken; logged
    ``startup_failed``). ``graceful_s`` bounds how long open connections may
    finish after the signal.
    """
    proxies = settings.trusted_proxies()
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=graceful_s,
        # uvicorn would otherwise believe X-Forwarded-For from any local peer.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies,
        http=with_head_deadline(settings.http_head_timeout_s),
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it has shut down; with
    # the default handler SIGTERM would then kill the process after a clean
    # shutdown. Handlers that ignore it keep the exit code ours.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _ignore_signal)
    try:
        asyncio.run(server.serve())
    except SystemExit as exc:
        # uvicorn exits with its own code when the lifespan start-up failed.
        log.error("startup_failed", uvicorn_exit_code=exc.code)
        return 1
    if not server.started:
        log.error("startup_failed")
        return 1
    log.info("shutdown_complete")
    return 0


def _ignore_signal(signum: int, frame: Any) -> None:
    return None

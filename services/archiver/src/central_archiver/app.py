"""The FastStream application: NATS broker, archiver hooks and the HTTP endpoints.

FastStream owns the NATS connection and the ASGI lifecycle; the archiver borrows
the connection. No subscriber or stream is declared on the broker (the
stream-provisioner alone writes stream configs), so FastStream never touches
JetStream itself.

Routes: ``/healthz`` (200 while the process runs), ``/readyz`` (200 when NATS is
connected and the database answers, else 503; the body says which) and
``/metrics`` (Prometheus text format).
"""

from __future__ import annotations

import logging
from typing import Any

from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.asgi.types import Scope
from faststream.nats import NatsBroker
from prometheus_client import make_asgi_app

from central_archiver.service import Archiver
from central_archiver.settings import ArchiverSettings


def create_app(
    settings: ArchiverSettings, archiver: Archiver | None = None
) -> AsgiFastStream:
    """An ASGI app that runs ``archiver`` (a new one by default) on FastStream.

    The archiver starts in FastStream's ``on_startup`` hook on the broker's
    connection, so a failure there fails the ASGI lifespan start-up; it stops in
    ``on_shutdown``, before the broker drains and closes the connection.
    """
    archiver = archiver or Archiver(settings)
    # FastStream's own logger writes coloured text to stderr; a plain logger that
    # propagates to the root keeps every line JSON (central.logs.configure).
    logger = logging.getLogger("archiver.faststream")
    broker = NatsBroker(
        settings.nats_url,
        name="central-archiver",
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        logger=logger,
    )

    async def start_archiver() -> None:
        await broker.connect()
        await archiver.start(broker.connection)

    async def stop_archiver() -> None:
        await archiver.stop()

    app = AsgiFastStream(
        broker,
        asgi_routes=[
            ("/healthz", _healthz()),
            ("/readyz", _readyz(archiver)),
            ("/metrics", make_asgi_app(archiver.metrics.registry)),
        ],
        on_startup=[start_archiver],
        on_shutdown=[stop_archiver],
        logger=logger,
    )
    app.context.set_global("archiver", archiver)
    return app


def _healthz() -> Any:
    @get(include_in_schema=False)
    async def healthz(scope: Scope) -> AsgiResponse:
        return AsgiResponse(b"ok\n", status_code=200)

    return healthz


def _readyz(archiver: Archiver) -> Any:
    @get(include_in_schema=False)
    async def readyz(scope: Scope) -> AsgiResponse:
        checks = await archiver.ready()
        status = 200 if all(checks.values()) else 503
        lines = [f"{name} {'ok' if ok else 'down'}\n" for name, ok in checks.items()]
        body = "".join(lines)
        return AsgiResponse(body.encode(), status_code=status)

    return readyz

"""The FastStream application: NATS broker, archiver hooks and the HTTP endpoints.

FastStream owns the NATS connection and the ASGI lifecycle; the archiver borrows
the connection. No subscriber or stream is declared on the broker (the
stream-provisioner alone writes stream configs), so FastStream never touches
JetStream itself.

Routes (shared with every service): ``/healthz`` (200 while the process runs),
``/readyz`` (200 when NATS is connected and the database answers, else 503; the
JSON body names what failed) and ``/metrics`` (Prometheus text format).
"""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from central.service import build_app, make_broker
from central.telemetry import Telemetry
from central_archiver.service import Archiver
from central_archiver.settings import ArchiverSettings

SERVICE = "archiver"


def create_app(
    settings: ArchiverSettings,
    archiver: Archiver | None = None,
    telemetry: Telemetry | None = None,
) -> AsgiFastStream:
    """An ASGI app that runs ``archiver`` (a new one by default) on FastStream.

    The archiver starts in FastStream's ``on_startup`` hook on the broker's
    connection, so a failure there fails the ASGI lifespan start-up; it stops in
    ``on_shutdown``, before the broker drains and closes the connection.  The
    routes are the shared ones (:func:`central.service.build_app`), with the
    database as a readiness check and the archiver's own metrics registry.
    ``telemetry`` traces a new archiver's batches.
    """
    archiver = archiver or Archiver(settings, telemetry=telemetry)
    broker = make_broker(settings, SERVICE)

    async def start_archiver() -> None:
        await broker.connect()
        await archiver.start(broker.connection)

    async def stop_archiver() -> None:
        await archiver.stop()

    async def database_ready() -> bool:
        return (await archiver.ready())["database"]

    app = build_app(
        broker,
        SERVICE,
        checks={"database": database_ready},
        on_startup=[start_archiver],
        on_shutdown=[stop_archiver],
        registry=archiver.metrics.registry,
    )
    app.context.set_global("archiver", archiver)
    return app

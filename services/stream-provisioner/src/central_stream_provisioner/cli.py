"""``central-stream-provisioner``: make JetStream match the registry, then exit.

Exit codes: 0 when every stream and the adapters' bucket match (after creating or
updating what differed); 1 when a stream cannot be reconciled (the message names
the stream and the field) or a server cannot be reached; 2 on invalid settings.
Every change is one JSON log line on stdout; a second run reports no change.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

import nats
from nats.errors import Error as NatsError
from opentelemetry import trace

from central.errors import SettingsError
from central.logs import configure, get_logger
from central.provisioning import (
    ReconcileError,
    desired_streams,
    reconcile_bucket,
    reconcile_stream,
)
from central.settings import DatabaseSettings, load
from central.telemetry import Telemetry, setup
from central_stream_provisioner import __version__
from central_stream_provisioner.limits import LimitsError, read_limits

SERVICE = "stream-provisioner"


async def provision(
    settings: DatabaseSettings, telemetry: Telemetry | None = None
) -> int:
    """Reconcile every stream and the bucket; returns the exit code.

    With ``telemetry`` on, the run is one ``provision`` span with a ``reconcile
    <stream>`` child per stream.
    """
    tracer = (telemetry or Telemetry(SERVICE)).tracer()
    with tracer.start_as_current_span("provision") as span:
        code = await _provision(settings, tracer)
        span.set_attribute("central.exit_code", code)
    return code


async def _provision(settings: DatabaseSettings, tracer: trace.Tracer) -> int:
    log = get_logger()
    try:
        limits = await read_limits(settings.database_url)
    except LimitsError as exc:
        log.error("limits_unavailable", error=str(exc))
        return 1
    try:
        nc = await nats.connect(
            settings.nats_servers(),
            tls=settings.nats_tls(),
            connect_timeout=5,
            max_reconnect_attempts=2,
            allow_reconnect=False,
        )
    except (OSError, NatsError) as exc:
        log.error("nats_unavailable", url=settings.nats_url, error=str(exc))
        return 1

    failures = 0
    changed = 0
    try:
        js = nc.jetstream()
        for wanted in desired_streams(limits):
            try:
                with tracer.start_as_current_span(f"reconcile {wanted.name}") as span:
                    change = await reconcile_stream(js, wanted)
                    span.set_attribute("central.action", change.action)
            except ReconcileError as exc:
                failures += 1
                log.error(
                    "stream_unreconcilable",
                    stream=exc.stream,
                    field=exc.field,
                    live=exc.live,
                    wanted=exc.wanted,
                    error=str(exc),
                )
                continue
            except NatsError as exc:
                failures += 1
                log.error("stream_rejected", stream=wanted.name, error=str(exc))
                continue
            changed += change.action != "unchanged"
            log.info(
                f"stream_{change.action}",
                stream=change.name,
                changes={
                    k: {"from": a, "to": b} for k, (a, b) in change.fields.items()
                },
            )
        bucket = await reconcile_bucket(js)
        changed += bucket.action != "unchanged"
        log.info(f"bucket_{bucket.action}", bucket=bucket.name)
    finally:
        await nc.close()

    log.info("provision_finished", changed=changed, failed=failures)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    del argv
    try:
        settings = load(DatabaseSettings)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure(SERVICE, settings.log_level, settings.secrets())
    get_logger().info(
        "service_starting", version=__version__, settings=settings.summary()
    )
    try:
        telemetry = setup(SERVICE, __version__)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(provision(settings, telemetry))
    finally:
        telemetry.shutdown()


if __name__ == "__main__":
    sys.exit(main())

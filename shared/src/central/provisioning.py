"""Reconciling JetStream with the stream registry and ``config.streams``.

:func:`desired_streams` joins each registry entry with its operator-set limits;
:func:`reconcile_stream` diffs one against the server's ``stream_info()`` and creates
or updates it.  Fields that JetStream cannot change in place (storage, retention)
raise :class:`ReconcileError` naming the stream and the field, and nothing is
changed for that stream.  The stream-provisioner runs this for every stream; the
dashboard uses the same code to apply one operator change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BucketNotFoundError, NotFoundError

from central.errors import CentralError
from central.streams import ADAPTER_BUCKET, REGISTRY, StreamLimits, StreamSpec

#: Fields compared with the live stream, by their StreamConfig attribute name.
_MUTABLE = (
    "subjects",
    "description",
    "max_age",
    "max_bytes",
    "duplicate_window",
    "num_replicas",
    "discard",
    "allow_direct",
)
_IMMUTABLE = ("storage", "retention")


class ReconcileError(CentralError, ValueError):
    """A live stream differs from its spec in a field that cannot be updated."""

    def __init__(self, stream: str, field: str, live: object, wanted: object) -> None:
        super().__init__(
            f"stream {stream}: field {field} is {live!r} on the server but "
            f"{wanted!r} is wanted, and JetStream cannot change it in place"
        )
        self.stream = stream
        self.field = field
        self.live = live
        self.wanted = wanted


@dataclass(frozen=True)
class Change:
    """What reconciling one stream or bucket did: created, updated or unchanged."""

    kind: str
    name: str
    action: str
    fields: dict[str, tuple[object, object]]


def desired_streams(
    overrides: Mapping[str, StreamLimits] | None = None,
    registry: Iterable[StreamSpec] = REGISTRY,
) -> list[StreamConfig]:
    """The wanted StreamConfig of every registry stream.

    ``overrides`` holds the ``config.streams`` rows by stream name; a stream
    without a row keeps the registry's default limits.
    """
    overrides = overrides or {}
    return [
        stream_config(spec, overrides.get(spec.name, spec.limits)) for spec in registry
    ]


def stream_config(spec: StreamSpec, limits: StreamLimits) -> StreamConfig:
    """One registry entry with the given limits, as a JetStream StreamConfig."""
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType(spec.storage),
        discard=DiscardPolicy(spec.discard),
        max_age=limits.max_age_s,
        max_bytes=limits.max_bytes,
        duplicate_window=limits.duplicate_window_s,
        num_replicas=limits.replicas,
        allow_direct=spec.allow_direct,
    )


async def reconcile_stream(js: JetStreamContext, wanted: StreamConfig) -> Change:
    """Create ``wanted`` or update the live stream to match it."""
    name = str(wanted.name)
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(config=wanted)
        return Change("stream", name, "created", {})
    live = info.config
    for field in _IMMUTABLE:
        if getattr(live, field) != getattr(wanted, field):
            raise ReconcileError(
                name,
                field,
                _plain(getattr(live, field)),
                _plain(getattr(wanted, field)),
            )
    diff = {
        field: (_plain(getattr(live, field)), _plain(getattr(wanted, field)))
        for field in _MUTABLE
        if not _same(getattr(live, field), getattr(wanted, field))
    }
    if not diff:
        return Change("stream", name, "unchanged", {})
    await js.update_stream(config=wanted)
    return Change("stream", name, "updated", diff)


async def reconcile_bucket(js: JetStreamContext, replicas: int = 1) -> Change:
    """Create the adapters' key-value bucket if it is missing."""
    try:
        status = await js.key_value(ADAPTER_BUCKET)
    except BucketNotFoundError:
        await js.create_key_value(
            config=KeyValueConfig(
                bucket=ADAPTER_BUCKET,
                description="Adapter state and feed leases",
                history=1,
                storage=StorageType.FILE,
                replicas=replicas,
            )
        )
        return Change("bucket", ADAPTER_BUCKET, "created", {})
    del status
    return Change("bucket", ADAPTER_BUCKET, "unchanged", {})


async def reconcile_all(
    js: JetStreamContext,
    streams: Iterable[StreamConfig] | None = None,
    bucket_replicas: int = 1,
) -> list[Change]:
    """Reconcile ``streams`` (default: every registry stream at its default
    limits), then the bucket; the changes in that order. For tools and tests; the
    provisioner itself logs and traces each step."""
    wanted = desired_streams() if streams is None else streams
    changes = [await reconcile_stream(js, config) for config in wanted]
    changes.append(await reconcile_bucket(js, bucket_replicas))
    return changes


def _same(live: object, wanted: object) -> bool:
    if isinstance(wanted, bool) or isinstance(live, bool):
        return bool(live) == bool(wanted)  # a server may leave a false flag out
    if isinstance(live, float | int) and isinstance(wanted, float | int):
        return abs(float(live) - float(wanted)) < 1e-6
    if isinstance(live, list) and isinstance(wanted, list):
        return sorted(live) == sorted(wanted)
    return live == wanted


def _plain(value: object) -> object:
    return getattr(value, "value", value)

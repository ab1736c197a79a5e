"""The stream registry: the one source of truth for Central's JetStream streams.

Each :class:`StreamSpec` names a stream, its subject filter, whether the archiver
consumes it, whether the dashboard shows it, and its default limits.  The provisioner,
the archiver, the dashboard and the tests all derive what they need from
:data:`REGISTRY`; operator-tunable limits are seeded from these defaults into the
``config.streams`` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DAY_S = 86_400
GIB = 1024**3

Storage = Literal["file", "memory"]
Discard = Literal["old", "new"]

#: The JetStream key-value bucket holding adapter state and feed leases.
ADAPTER_BUCKET = "central_adapters"


@dataclass(frozen=True)
class StreamLimits:
    """The operator-tunable limits of one stream (``config.streams`` columns)."""

    max_age_s: float
    max_bytes: int
    duplicate_window_s: float
    replicas: int = 1


@dataclass(frozen=True)
class StreamSpec:
    """One registry entry.

    ``domain`` is the subject token after ``central.``; ``archived`` says the archiver
    consumes the stream as events; ``dashboard`` says the dashboard shows a card for
    it.  ``storage``, ``retention`` and ``discard`` are fixed by design and not
    operator-tunable. ``allow_direct`` turns on direct gets, whose request subject
    names the subject read, so that NATS permissions can say which may be read.
    """

    name: str
    domain: str
    description: str
    archived: bool
    dashboard: bool
    limits: StreamLimits
    storage: Storage = "file"
    discard: Discard = "old"
    allow_direct: bool = False

    @property
    def subjects(self) -> tuple[str, ...]:
        """The stream's subject filter."""
        return (f"central.{self.domain}.>",)

    @property
    def durable(self) -> str:
        """The archiver's durable consumer name on this stream."""
        return f"archiver-{self.domain}"


def _events(domain: str, what: str, *, days: int, gib: int) -> StreamSpec:
    return StreamSpec(
        name=f"CENTRAL_{domain.upper()}",
        domain=domain,
        description=f"{what} events normalized to CloudEvents",
        archived=True,
        dashboard=True,
        limits=StreamLimits(
            max_age_s=days * DAY_S, max_bytes=gib * GIB, duplicate_window_s=2 * DAY_S
        ),
    )


REGISTRY: tuple[StreamSpec, ...] = (
    _events("wx", "Weather alert", days=7, gib=2),
    _events("fire", "Active fire", days=7, gib=8),
    _events("quake", "Earthquake", days=30, gib=2),
    _events("space", "Space weather", days=14, gib=2),
    _events("disaster", "Disaster", days=30, gib=2),
    StreamSpec(
        name="CENTRAL_META",
        domain="meta",
        description="Adapter status heartbeats and rejected records",
        archived=False,
        dashboard=False,
        limits=StreamLimits(
            max_age_s=3 * DAY_S, max_bytes=1 * GIB, duplicate_window_s=120
        ),
        # The dashboard reads the last heartbeat of each service, and nothing
        # else here, by direct get.
        allow_direct=True,
    ),
)

ARCHIVED: tuple[StreamSpec, ...] = tuple(s for s in REGISTRY if s.archived)
DASHBOARD: tuple[StreamSpec, ...] = tuple(s for s in REGISTRY if s.dashboard)
BY_NAME: dict[str, StreamSpec] = {s.name: s for s in REGISTRY}
BY_DOMAIN: dict[str, StreamSpec] = {s.domain: s for s in REGISTRY}


def stream_for_subject(subject: str) -> StreamSpec:
    """The registry stream whose filter covers ``subject``; KeyError if none."""
    parts = subject.split(".")
    if len(parts) < 3 or parts[0] != "central" or parts[1] not in BY_DOMAIN:
        raise KeyError(f"no registry stream covers subject {subject!r}")
    return BY_DOMAIN[parts[1]]

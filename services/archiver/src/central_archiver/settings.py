"""The archiver's settings, read once at start-up from ``CENTRAL_*`` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from central.settings import DatabaseSettings


class ArchiverSettings(DatabaseSettings):
    """Everything the archiver reads: NATS, the database, HTTP, batching and retries.

    Beyond the common ``CENTRAL_NATS_URL``, ``CENTRAL_DATABASE_URL``,
    ``CENTRAL_HTTP_HOST``, ``CENTRAL_HTTP_PORT`` and ``CENTRAL_LOG_LEVEL``, each field
    is read from ``CENTRAL_<FIELD>`` (for example ``CENTRAL_BATCH_SIZE``).

    ``max_ack_pending`` must leave room for what one replica keeps in flight
    (``batch_size * prefetch_batches``); scaled-out replicas share that limit, so
    size it for all of them.
    """

    #: Most messages written in one transaction.
    batch_size: int = Field(default=1000, ge=1, le=10_000)
    #: How many batches' worth of messages one stream may have requested or in hand.
    prefetch_batches: int = Field(default=4, ge=2, le=32)
    #: How long a partial batch waits for more messages before it is decoded.
    batch_linger_s: float = Field(default=0.02, ge=0, le=5)
    #: Lifetime of one pull request on the server; a shutdown waits up to this
    #: long for open requests to end.
    pull_expires_s: float = Field(default=5.0, ge=0.1, le=300)
    #: Redelivery timeout of the durable consumers (set when they are created).
    ack_wait_s: float = Field(default=30.0, ge=1, le=3600)
    #: Delay asked for when a batch is naked after a database error.
    nak_delay_s: float = Field(default=2.0, ge=0, le=600)
    #: Concurrent writer transactions (connections); the pool has one more for probes.
    db_writers: int = Field(default=2, ge=1, le=16)
    #: Longest a single database statement may take before it counts as a failure.
    db_command_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    #: Upper bound of the reconnect back-off after a database error.
    db_backoff_max_s: float = Field(default=10.0, gt=0, le=600)
    #: Longest ``stop()`` waits for the batch in hand before naking it.
    shutdown_timeout_s: float = Field(default=20.0, gt=0, le=600)
    #: At most one ``batch_written`` line per stream per this many seconds.
    log_interval_s: float = Field(default=1.0, ge=0, le=3600)
    #: Parse message headers with the archiver's faster, equivalent parser.
    fast_headers: bool = True
    #: Folder of ``NNN_what.sql`` files; found beside the checkout when unset.
    migrations_dir: Path | None = None
    #: Must cover ``batch_size * prefetch_batches`` (validated).
    max_ack_pending: int = Field(default=20_000, ge=1)
    #: What a batch span links to: every message's producer span (``message``),
    #: or the first producer span of each trace in the batch (``trace``, cheaper).
    trace_links: Literal["message", "trace"] = "message"
    #: Passwords ``migrate`` gives the duty roles of sql/006_roles.sql, turning
    #: their LOGIN on; a role whose password is unset is left as it is.
    archiver_db_password: str = ""
    dashboard_db_password: str = ""
    provisioner_db_password: str = ""

    def role_passwords(self) -> dict[str, str]:
        """Duty role → password, for the roles whose password is set."""
        wanted = {
            "central_archiver": self.archiver_db_password,
            "central_dashboard": self.dashboard_db_password,
            "central_provisioner": self.provisioner_db_password,
        }
        return {role: password for role, password in wanted.items() if password}

    @field_validator("max_ack_pending")
    @classmethod
    def _covers_prefetch(cls, value: int, info: ValidationInfo) -> int:
        batch = info.data.get("batch_size")
        batches = info.data.get("prefetch_batches")
        if not (isinstance(batch, int) and isinstance(batches, int)):
            return value  # an earlier field failed; its own error is reported
        needed = batch * batches
        if value < needed:
            raise ValueError(
                f"must be at least batch_size * prefetch_batches ({needed}), "
                f"got {value}"
            )
        return value

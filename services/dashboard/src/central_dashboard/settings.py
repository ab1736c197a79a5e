"""The dashboard's settings, read once at start-up from ``CENTRAL_*`` variables."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from central.settings import DatabaseSettings


class DashboardSettings(DatabaseSettings):
    """Everything the dashboard reads: NATS, the database, HTTP, limits and the token.

    Beyond the common ``CENTRAL_NATS_URL``, ``CENTRAL_DATABASE_URL``,
    ``CENTRAL_HTTP_HOST``, ``CENTRAL_HTTP_PORT`` and ``CENTRAL_LOG_LEVEL``, each field
    is read from ``CENTRAL_<FIELD>`` (for example ``CENTRAL_DASHBOARD_TOKEN``).

    An empty ``CENTRAL_DASHBOARD_TOKEN`` counts as none: then every ``PUT`` answers
    403, so stream limits cannot be changed through the dashboard at all.
    """

    #: Bearer token that ``PUT /api/streams/{name}`` requires.
    dashboard_token: SecretStr | None = None
    #: Where the query pool connects (a read replica of the archive, say); empty:
    #: ``CENTRAL_DATABASE_URL``, which the writes always use.
    database_read_url: str = ""
    #: Connections of the read-only query pool (each runs as ``central_reader``).
    db_query_connections: int = Field(default=4, ge=1, le=64)
    #: Connections of the pool that writes ``config.streams`` and the audit rows.
    db_write_connections: int = Field(default=1, ge=1, le=8)
    #: Longest an archive query may run (the server cancels it after this).
    db_statement_timeout_s: float = Field(default=5.0, gt=0, le=600)
    #: Longest a request waits for a free query connection before it answers 503.
    db_acquire_timeout_s: float = Field(default=5.0, gt=0, le=600)
    #: Database seconds per second that all archive queries together may take on
    #: average (0: no limit); beyond it they answer 503 with ``Retry-After``.
    db_query_share: float = Field(default=0.5, ge=0, le=64)
    #: How far the archive queries may run ahead of that share, in seconds.
    db_query_burst_s: float = Field(default=5.0, gt=0, le=3600)
    #: Seconds of service per second one client may take on average (0: no
    #: limit): each request costs 0.01 s plus its queries' time; beyond it the
    #: client is answered 429 with ``Retry-After``.
    dashboard_client_share: float = Field(default=0.25, ge=0, le=64)
    #: How far one client may run ahead of its share, in seconds.
    dashboard_client_burst_s: float = Field(default=2.5, gt=0, le=3600)
    #: Largest request body accepted (``PUT`` bodies are a few dozen bytes); a
    #: larger one answers 413 before it is read.
    dashboard_max_body_bytes: int = Field(default=65_536, ge=1024, le=64 * 2**20)
    #: Longest a request body may take to arrive (a client announcing more than it
    #: sends is answered 408 after this).
    dashboard_body_timeout_s: float = Field(default=10.0, gt=0, le=600)
    #: How long a JetStream API request (stream info, consumer list) may take.
    nats_request_timeout_s: float = Field(default=2.0, gt=0, le=60)
    #: The adapters' heartbeat interval (their ``CENTRAL_STATUS_INTERVAL_S``).
    status_interval_s: float = Field(default=30.0, gt=0)
    #: An adapter is stale when its last heartbeat is older than this many intervals.
    stale_after_intervals: float = Field(default=3.0, gt=0)
    #: Most NATS subjects one live client subscribes to before the feed falls back
    #: to a wider subscription filtered in the process.
    live_max_subjects: int = Field(default=128, ge=1, le=10_000)
    #: Events buffered per live client; a client that falls behind loses the rest.
    live_queue_size: int = Field(default=1000, ge=1, le=100_000)
    #: Seconds between keep-alive comments on an idle live stream.
    live_ping_s: float = Field(default=15.0, gt=0, le=3600)

    @field_validator("dashboard_token", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def query_database_url(self) -> str:
        """The URL the query pool connects to."""
        return self.database_read_url or self.database_url

    @property
    def stale_after_s(self) -> float:
        """Age in seconds beyond which a heartbeat counts as stale."""
        return self.status_interval_s * self.stale_after_intervals

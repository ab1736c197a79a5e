"""Prometheus metrics of one dashboard, in a registry of its own.

A registry per :class:`Metrics` lets tests run several dashboards in one process.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
)

_QUERY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Rejected and throttled requests, archive query times and budget, pool
    timeouts, live clients, stream changes."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.rejected = Counter(
            "central_dashboard_rejected_requests_total",
            "Requests answered 4xx because of bad input, by parameter.",
            ["parameter"],
            registry=self.registry,
        )
        self.query_seconds = Histogram(
            "central_dashboard_query_seconds",
            "Time of one archive query, by kind.",
            ["query"],
            buckets=_QUERY_BUCKETS,
            registry=self.registry,
        )
        self.live_clients = Gauge(
            "central_dashboard_live_clients",
            "Clients connected to the live event feed.",
            registry=self.registry,
        )
        self.live_events = Counter(
            "central_dashboard_live_events_total",
            "Events offered to live clients, by outcome (sent, filtered, dropped, "
            "undecodable).",
            ["outcome"],
            registry=self.registry,
        )
        self.stream_changes = Counter(
            "central_dashboard_stream_changes_total",
            "Stream-limit changes, by outcome (updated, unchanged, refused).",
            ["outcome"],
            registry=self.registry,
        )
        self.pool_timeouts = Counter(
            "central_dashboard_query_pool_timeouts_total",
            "Requests answered 503 because no query connection came free in time.",
            registry=self.registry,
        )
        self.throttled = Counter(
            "central_dashboard_throttled_requests_total",
            "Requests refused because a budget was spent, by budget (client: "
            "answered 429; database: answered 503).",
            ["budget"],
            registry=self.registry,
        )
        self.query_budget = Gauge(
            "central_dashboard_query_budget_seconds",
            "Seconds left in the archive queries' budget (negative: in debt).",
            registry=self.registry,
        )
        self.unreadable_heartbeats = Counter(
            "central_dashboard_unreadable_heartbeats_total",
            "Status messages in CENTRAL_META that are not a JSON heartbeat.",
            registry=self.registry,
        )

    def value(self, name: str, **labels: str) -> float:
        """The current value of sample ``name`` with ``labels`` (0 when unset)."""
        return self.registry.get_sample_value(name, labels) or 0.0

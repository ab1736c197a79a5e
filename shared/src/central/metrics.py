"""Prometheus metrics of the adapter runtime (``central_adapter_*``).

Defined once per process on the default registry, which ``/metrics`` serves.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

POLLS = Counter(
    "central_adapter_polls_total",
    "Polls of an upstream feed by result",
    ["feed", "result"],
)
RECORDS = Counter(
    "central_adapter_records_total",
    "Upstream records by outcome (fetched, published, duplicate, rejected)",
    ["feed", "outcome"],
)
UPSTREAM_SECONDS = Histogram(
    "central_adapter_upstream_seconds",
    "Time to fetch an upstream payload",
    ["feed"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
UPSTREAM_ERRORS = Counter(
    "central_adapter_upstream_errors_total",
    "Failed polls by error kind",
    ["feed", "kind"],
)
LAST_SUCCESS = Gauge(
    "central_adapter_last_success_timestamp_seconds",
    "Unix time of the feed's last successful poll",
    ["feed"],
)

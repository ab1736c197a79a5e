"""Prometheus metrics of one archiver, in a registry of its own.

A registry per :class:`Metrics` (rather than the process-wide default) lets tests and
benchmarks run several archivers in one process and read each one's figures.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
)

_BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Counters labelled by stream, the batch duration histogram, process figures."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.batches = Counter(
            "central_archiver_batches_total",
            "Batches committed.",
            ["stream"],
            registry=self.registry,
        )
        self.rows_inserted = Counter(
            "central_archiver_rows_inserted_total",
            "Events inserted into the archive.",
            ["stream"],
            registry=self.registry,
        )
        self.conflicts = Counter(
            "central_archiver_conflicts_total",
            "Events that were already archived (same time, source and id).",
            ["stream"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "central_archiver_dead_letters_total",
            "Messages stored in dead_letters and terminated.",
            ["stream"],
            registry=self.registry,
        )
        self.batch_failures = Counter(
            "central_archiver_batch_failures_total",
            "Batches naked because the database could not take them.",
            ["stream"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "central_archiver_batch_seconds",
            "Time from taking a batch to its commit.",
            ["stream"],
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )

        self.pending = Gauge(
            "central_archiver_consumer_pending",
            "Messages of the stream not yet delivered to the archiver's consumer, "
            "as of its last batch.",
            ["stream"],
            registry=self.registry,
        )

    def value(self, name: str, stream: str) -> float:
        """The current value of sample ``name`` for ``stream`` (0 when unset)."""
        sample = self.registry.get_sample_value(name, {"stream": stream})
        return sample or 0.0

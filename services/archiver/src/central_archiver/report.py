"""The ``batch_written`` log line: one per batch, at most one per interval.

At high rates a line per batch would flood the log, so counts are summed and
written when ``interval`` seconds have passed since the last line; the consumer's
once-a-second tick flushes whatever is left, so a quiet stream's last batch shows
up within about a second.
"""

from __future__ import annotations

import time
from typing import Any

from central_archiver.writer import WriteResult


class BatchReport:
    """Sums batch results for one stream and logs them as ``batch_written``."""

    def __init__(self, log: Any, interval: float) -> None:
        self._log = log
        self._interval = interval
        self._last = float("-inf")
        self._reset()

    def _reset(self) -> None:
        self.batches = 0
        self.rows = 0
        self.inserted = 0
        self.conflicts = 0
        self.dead_letters = 0
        self.seconds = 0.0

    def add(self, result: WriteResult, seconds: float) -> None:
        """Count one committed batch; log at once when the interval has passed."""
        self.batches += 1
        self.rows += result.rows
        self.inserted += result.inserted
        self.conflicts += result.conflicts
        self.dead_letters += result.dead_letters
        self.seconds += seconds
        self.flush_if_due()

    def flush_if_due(self) -> None:
        if self.batches and time.monotonic() - self._last >= self._interval:
            self.flush()

    def flush(self) -> None:
        """Log the counts summed so far (nothing when there are none)."""
        if not self.batches:
            return
        self._log.info(
            "batch_written",
            batches=self.batches,
            rows=self.rows,
            inserted=self.inserted,
            conflicts=self.conflicts,
            dead_letters=self.dead_letters,
            seconds=round(self.seconds, 4),
        )
        self._last = time.monotonic()
        self._reset()

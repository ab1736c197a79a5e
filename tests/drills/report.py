"""The drill table a run of ``bench/drills.py`` reported, for the terminal summary."""

from __future__ import annotations

from typing import Any

#: Filled by the test: ``drills`` (the script's closing JSON), ``seconds`` and
#: ``exit_code``.
REPORT: dict[str, Any] = {}

COLUMNS = ("offered", "published", "archived", "duplicates", "lost", "accepted_loss")


def table(drills: list[dict[str, Any]]) -> list[str]:
    """One line per drill: name, the counts, seconds; its note on the next line."""
    header = f"{'drill':<17}" + "".join(f"{c:>14}" for c in COLUMNS) + f"{'s':>8}"
    rows = [header]
    for drill in drills:
        counts = "".join(f"{drill[c]:>14,}" for c in COLUMNS)
        rows.append(f"{drill['name']:<17}{counts}{drill['seconds']:>8.1f}")
        rows.append(f"    {drill['note']}")
    return rows

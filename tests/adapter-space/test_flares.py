"""Flare events derived from the long band of one X-ray payload.

The recorded payload peaks at C3.3, so the crossings here are made by raising the
long-band flux of chosen minutes in a copy of it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from central.feeds import Normalized
from central_adapter_space import xray
from central_adapter_space.flares import Crossing, flare_class

Document = Callable[[str], list[Any]]

LONG = "0.1-0.8nm"


def _long_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["energy"] == LONG]


def _flares(rows: list[Any]) -> list[Normalized]:
    records = xray.parse(json.dumps(rows).encode())
    return [xray.normalize(r) for r in records if isinstance(r, Crossing)]


def _raise(rows: list[dict[str, Any]], fluxes: dict[int, float]) -> None:
    """Set the flux of the long-band rows at the given long-band positions."""
    long = _long_rows(rows)
    for index, flux in fluxes.items():
        long[index]["flux"] = flux


def test_parse_appends_m1_flare_when_long_band_crosses_threshold(
    document: Document,
) -> None:
    rows = document("xray")
    _raise(rows, {100: 2.5e-5, 101: 3.1e-5, 102: 8e-6})
    crossing_time = _long_rows(rows)[100]["time_tag"]

    records = xray.parse(json.dumps(rows).encode())
    flares = [xray.normalize(r) for r in records[716:]]

    assert len(records) == 717
    assert [f.event.type for f in flares] == ["central.space.xray-flare"]
    event = flares[0].event
    assert crossing_time == "2026-08-20T00:25:00Z"
    assert event.subject == "goes-18/0.1-0.8nm/M1/2026-08-20T00:25:00Z"
    assert event.time == datetime(2026, 8, 20, 0, 25, tzinfo=UTC)
    assert event.source == "https://www.swpc.noaa.gov/products/goes-x-ray-flux"
    assert flares[0].nats_subject == "central.space.xray-flare.swpc.none"
    assert event.data == {
        "threshold": "M1",
        "threshold_flux": 1e-05,
        "satellite": 18,
        "energy": "0.1-0.8nm",
        "flux": 2.5e-05,
        "xray_class": "M2.5",
        "previous_time": "2026-08-20T00:24:00Z",
        "previous_flux": _long_rows(rows)[99]["flux"],
    }


def test_parse_finds_m1_and_x1_when_one_step_crosses_both(document: Document) -> None:
    rows = document("xray")
    _raise(rows, {200: 9.5e-6, 201: 2.2e-4})

    flares = _flares(rows)

    assert [f.event.data["threshold"] for f in flares] == ["M1", "X1"]
    assert {f.event.time for f in flares} == {datetime(2026, 8, 20, 2, 6, tzinfo=UTC)}
    assert flares[1].event.data["xray_class"] == "X2.2"
    assert flares[0].event.id != flares[1].event.id


def test_parse_finds_no_flare_when_flux_only_declines(document: Document) -> None:
    rows = document("xray")
    _raise(rows, {0: 5e-4, 1: 2e-4, 2: 5e-5, 3: 1e-6})

    assert _flares(rows) == []


def test_parse_finds_no_flare_when_payload_starts_above_threshold(
    document: Document,
) -> None:
    """The crossing lies before the window: it was (or is lost) in older payloads."""
    rows = document("xray")
    _raise(rows, {0: 2e-5, 1: 2.1e-5})

    assert _flares(rows) == []


def test_parse_counts_new_crossing_when_flux_rises_again(document: Document) -> None:
    rows = document("xray")
    _raise(rows, {10: 1.2e-5, 11: 9e-6, 12: 1.1e-5})

    flares = _flares(rows)

    assert [f.event.data["flux"] for f in flares] == [1.2e-5, 1.1e-5]
    assert len({f.event.subject for f in flares}) == 2


def test_parse_ignores_short_band_above_threshold(document: Document) -> None:
    rows = document("xray")
    for row in rows[:40]:
        if row["energy"] != LONG:
            row["flux"] = 5e-4

    assert _flares(rows) == []


def test_parse_counts_flux_exactly_at_threshold_as_crossed(
    document: Document,
) -> None:
    rows = document("xray")
    _raise(rows, {50: 1e-5})

    flares = _flares(rows)

    assert [
        (f.event.data["threshold"], f.event.data["xray_class"]) for f in flares
    ] == [("M1", "M1.0")]


def test_parse_gives_same_flare_ids_when_rows_are_shuffled(document: Document) -> None:
    rows = document("xray")
    _raise(rows, {100: 2.5e-5, 300: 1.5e-4})
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)

    assert [f.event.id for f in _flares(shuffled)] == [
        f.event.id for f in _flares(rows)
    ]
    assert len(_flares(rows)) == 3


def test_parse_gives_same_flare_id_in_next_overlapping_window(
    document: Document,
) -> None:
    """The next poll's window lost its oldest rows: the flare is the same event."""
    rows = document("xray")
    _raise(rows, {300: 1.5e-5})
    later = rows[100:]
    later.append({**rows[-1], "time_tag": "2026-08-20T04:43:00Z"})

    assert [f.event.id for f in _flares(later)] == [f.event.id for f in _flares(rows)]


def test_parse_bridges_rejected_sample_between_two_valid_ones(
    document: Document,
) -> None:
    rows = document("xray")
    _raise(rows, {60: 9e-6, 62: 1.3e-5})
    _long_rows(rows)[61]["flux"] = "spoiled"

    flares = _flares(rows)

    assert [f.event.data["previous_time"] for f in flares] == ["2026-08-19T23:45:00Z"]
    assert flares[0].event.time == datetime(2026, 8, 19, 23, 47, tzinfo=UTC)


def test_parse_pairs_samples_per_satellite_when_primary_switches(
    document: Document,
) -> None:
    rows = document("xray")
    long = _long_rows(rows)
    other = {**long[20], "satellite": 16, "flux": 9e-6}
    rows.append(other)
    _raise(rows, {20: 2e-5})

    flares = _flares(rows)

    assert [f.event.data["satellite"] for f in flares] == [18]
    assert str(flares[0].event.subject).startswith("goes-18/")


def test_parse_skips_pair_when_samples_share_time_tag(document: Document) -> None:
    rows = document("xray")
    long = _long_rows(rows)
    rows.append({**long[30], "flux": 4e-5})

    assert _flares(rows) == []


@pytest.mark.parametrize(
    ("flux", "expected"),
    [
        (1.3758807426711428e-06, "C1.3"),
        (2.3e-06, "C2.3"),
        (9.99e-06, "C9.9"),
        (1e-05, "M1.0"),
        (9.99e-05, "M9.9"),
        (1e-4, "X1.0"),
        (2.5e-3, "X25.0"),
        (4.5261270287255684e-08, "A4.5"),
        (5e-9, "A0.5"),
        (0.0, None),
        (-1e-7, None),
        (float("nan"), None),
        (2.0, None),
    ],
)
def test_flare_class_cuts_flux_to_one_decimal_of_its_class(
    flux: float, expected: str | None
) -> None:
    assert flare_class(flux) == expected

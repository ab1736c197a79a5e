"""Recorded SWPC payloads, and copies of single records to change."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FILES = {
    "alerts": "noaa-swpc/swpc_alerts_2025-04-17_G4.json",
    "kp-forecast": (
        "noaa-swpc/swpc_noaa-planetary-k-index-forecast_2025-04-11_arrays.json"
    ),
    "kp-3h": "noaa-swpc/swpc_noaa-planetary-k-index_2026-08-01_objects.json",
    "kp-1m": "noaa-swpc/swpc_planetary_k_index_1m_2026-07-09.json",
    "xray": "noaa-swpc/swpc_goes_xrays-6-hour_2026-08-20.json",
    "plasma": "noaa-swpc/swpc_solar_wind_plasma-7-day_2024-05-08.json",
}

Payload = Callable[[str], bytes]
Document = Callable[[str], list[Any]]


@pytest.fixture
def payload(fixtures_dir: Path) -> Payload:
    """The bytes of a recorded payload, by its short name in FILES."""

    def read(name: str) -> bytes:
        return (fixtures_dir / FILES[name]).read_bytes()

    return read


@pytest.fixture
def document(payload: Payload) -> Document:
    """A fresh parsed copy of a recorded payload, free to change."""

    def load(name: str) -> list[Any]:
        return copy.deepcopy(json.loads(payload(name)))

    return load

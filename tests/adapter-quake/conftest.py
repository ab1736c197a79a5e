"""Recorded USGS and EMSC payloads, and copies of single features to break."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from recorded import only

USGS_FILES = {
    "2013": "usgs-earthquake/usgs_significant_month_2013-07_api1.0.8.geojson",
    "2016": "usgs-earthquake/usgs_all_day_2016-11-03_api1.5.2.geojson",
    "2024": "usgs-earthquake/usgs_4.5_day_2024-02-06_api1.10.3.geojson",
}
EMSC_FILE = "emsc-seismicportal/emsc_fdsnws_event_json_2025-04-26.json"

Payload = Callable[[str], bytes]
FeatureLookup = Callable[[str, str], dict[str, Any]]


@pytest.fixture
def usgs_payload(fixtures_dir: Path) -> Payload:
    """The bytes of the USGS fixture recorded in a year ("2013", "2016", "2024")."""

    def read(year: str) -> bytes:
        return (fixtures_dir / USGS_FILES[year]).read_bytes()

    return read


@pytest.fixture
def emsc_payload(fixtures_dir: Path) -> bytes:
    """The bytes of the EMSC fixture."""
    return (fixtures_dir / EMSC_FILE).read_bytes()


@pytest.fixture
def usgs_feature(usgs_payload: Payload) -> FeatureLookup:
    """A deep copy of the feature with id ``native_id`` in a year's USGS fixture."""

    def find(year: str, native_id: str) -> dict[str, Any]:
        features = json.loads(usgs_payload(year))["features"]
        return only(features, lambda f: f["id"], native_id, f"the {year} fixture")

    return find


@pytest.fixture
def emsc_feature(emsc_payload: bytes) -> Callable[[str], dict[str, Any]]:
    """A deep copy of the EMSC feature with ``properties.unid`` ``unid``."""

    def find(unid: str) -> dict[str, Any]:
        features = json.loads(emsc_payload)["features"]
        return only(
            features, lambda f: f["properties"]["unid"], unid, "the EMSC fixture"
        )

    return find

"""Recorded GDACS, EONET and OpenFEMA payloads, parsed and normalized once per run.

The once-per-run fixtures are shared and must not be changed; the lookup fixtures hand
out deep copies of single records to edit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapter_contract import FIXTURES
from central.feeds import Normalized
from central_adapter_disaster import eonet, fema, gdacs
from recorded import only

GDACS_FILE = "gdacs/gdacs_xml_gdacs.geojson_2026-05-27.geojson"
GDACS_RSS_FILE = "gdacs/gdacs_rss_2019-12-30.xml"
EONET_FILE = "nasa-eonet/eonet_v3_events_open_2025-11-09.json"
FEMA_FILE = "openfema/fema_DisasterDeclarationsSummaries_v2_2022-10-28.json"

Lookup = Callable[[str], dict[str, Any]]


@pytest.fixture(scope="session")
def gdacs_body() -> bytes:
    return (FIXTURES / GDACS_FILE).read_bytes()


@pytest.fixture(scope="session")
def gdacs_records(gdacs_body: bytes) -> list[dict[str, Any]]:
    return gdacs.parse(gdacs_body)


@pytest.fixture(scope="session")
def gdacs_results(gdacs_records: list[dict[str, Any]]) -> list[Normalized]:
    return [gdacs.normalize(record) for record in gdacs_records]


@pytest.fixture
def gdacs_record(gdacs_records: list[dict[str, Any]]) -> Lookup:
    """A deep copy of the GDACS episode record of an event (``EQ1542046``)."""
    return lambda subject: only(
        gdacs_records, gdacs.record_id, subject, "the GDACS fixture"
    )


@pytest.fixture(scope="session")
def eonet_body() -> bytes:
    return (FIXTURES / EONET_FILE).read_bytes()


@pytest.fixture(scope="session")
def eonet_events(eonet_body: bytes) -> list[dict[str, Any]]:
    return eonet.parse(eonet_body)


@pytest.fixture(scope="session")
def eonet_results(eonet_events: list[dict[str, Any]]) -> list[Normalized]:
    return [eonet.normalize(event) for event in eonet_events]


@pytest.fixture
def eonet_event(eonet_events: list[dict[str, Any]]) -> Lookup:
    """A deep copy of the EONET event with ``id``."""
    return lambda native_id: only(
        eonet_events, eonet.record_id, native_id, "the EONET fixture"
    )


@pytest.fixture(scope="session")
def fema_body() -> bytes:
    return (FIXTURES / FEMA_FILE).read_bytes()


@pytest.fixture(scope="session")
def fema_rows(fema_body: bytes) -> list[dict[str, Any]]:
    return fema.parse(fema_body)


@pytest.fixture(scope="session")
def fema_results(fema_rows: list[dict[str, Any]]) -> list[Normalized]:
    return [fema.normalize(row) for row in fema_rows]


@pytest.fixture
def fema_row(fema_rows: list[dict[str, Any]]) -> Lookup:
    """A deep copy of the OpenFEMA row with ``id``."""
    return lambda native_id: only(
        fema_rows, fema.record_id, native_id, "the OpenFEMA fixture"
    )

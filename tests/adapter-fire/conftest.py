"""Recorded FIRMS payloads, their rows, and each file normalized once per test run."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from central.errors import RecordError
from central.feeds import Normalized
from central_adapter_fire import firms

FIXTURES = Path(__file__).parents[1] / "fixtures"
MODIS_FILE = "nasa-firms/firms_modis_c6.1_global_24h_2023-08-02.csv"
VIIRS_FILE = "nasa-firms/firms_viirs_snpp_c2_europe_24h_2022-09-05.csv"

RowLookup = Callable[[int], dict[str, str]]


def _normalize_all(body: bytes) -> tuple[list[Normalized], list[RecordError]]:
    """Every record of ``body``: the accepted events and the rejections."""
    accepted: list[Normalized] = []
    rejected: list[RecordError] = []
    for row in firms.parse(body):
        try:
            accepted.append(firms.normalize(row))
        except RecordError as exc:
            rejected.append(exc)
    return accepted, rejected


@pytest.fixture(scope="session")
def modis_payload() -> bytes:
    return (FIXTURES / MODIS_FILE).read_bytes()


@pytest.fixture(scope="session")
def viirs_payload() -> bytes:
    return (FIXTURES / VIIRS_FILE).read_bytes()


@pytest.fixture(scope="session")
def modis_results(modis_payload: bytes) -> tuple[list[Normalized], list[RecordError]]:
    """The whole MODIS file normalized once per test run: it has 36,555 rows."""
    return _normalize_all(modis_payload)


@pytest.fixture(scope="session")
def viirs_results(viirs_payload: bytes) -> tuple[list[Normalized], list[RecordError]]:
    return _normalize_all(viirs_payload)


def _lookup(body: bytes) -> RowLookup:
    lines = body.decode().splitlines()
    header = lines[0]

    def row_at(line: int) -> dict[str, str]:
        """A fresh copy of the row on 1-based ``line`` of the file (1 is the header)."""
        return dict(next(csv.DictReader(io.StringIO(f"{header}\n{lines[line - 1]}"))))

    return row_at


@pytest.fixture(scope="session")
def modis_row(modis_payload: bytes) -> RowLookup:
    return _lookup(modis_payload)


@pytest.fixture(scope="session")
def viirs_row(viirs_payload: bytes) -> RowLookup:
    return _lookup(viirs_payload)

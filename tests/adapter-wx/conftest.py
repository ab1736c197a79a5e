"""Recorded NWS payloads, and copies of single records to change or break."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from central_adapter_wx import cap
from recorded import only

NWS_FILE = "nws-alerts/nws_alerts_active_point_AZ_2024-07-18.json"
CAP_FILE = "nws-alerts/nws_cap_atom_us_feed_2014-11-05.xml"

ATOM_NS = "http://www.w3.org/2005/Atom"
CAP11_NS = "urn:oasis:names:tc:emergency:cap:1.1"


@pytest.fixture
def nws_payload(fixtures_dir: Path) -> bytes:
    """The bytes of the recorded NWS alerts API payload."""
    return (fixtures_dir / NWS_FILE).read_bytes()


@pytest.fixture
def cap_payload(fixtures_dir: Path) -> bytes:
    """The bytes of the recorded NWS CAP 1.1 ATOM feed."""
    return (fixtures_dir / CAP_FILE).read_bytes()


@pytest.fixture
def nws_feature(nws_payload: bytes) -> Callable[[str], dict[str, Any]]:
    """A deep copy of the NWS feature whose ``properties.id`` is ``native_id``."""

    def find(native_id: str) -> dict[str, Any]:
        features = json.loads(nws_payload)["features"]
        return only(
            features, lambda f: f["properties"]["id"], native_id, "the NWS fixture"
        )

    return find


@pytest.fixture
def cap_entry(cap_payload: bytes) -> Callable[[str], cap.CapEntry]:
    """A fresh copy of the CAP feed entry whose ATOM ``id`` is ``entry_id``."""

    def find(entry_id: str) -> cap.CapEntry:
        return only(cap.parse(cap_payload), cap.record_id, entry_id, "the CAP fixture")

    return find


@pytest.fixture
def feed_of() -> Callable[..., bytes]:
    """Builds an ATOM feed document (CAP 1.1 as ``cap:``) around entry XML texts."""

    def build(entries: list[str], feed_id: str = "urn:test:feed") -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<feed xmlns="{ATOM_NS}" xmlns:cap="{CAP11_NS}">'
            f"<id>{feed_id}</id><title>test feed</title>{''.join(entries)}</feed>"
        ).encode()

    return build

"""Property-based checks of what the shared contract's mangling does not reach.

The contract mangles records that are JSON objects.  Here: header-row payloads
whose rows are arrays of arbitrary values, arbitrary message text, arbitrary
payload bytes, and sequences of long-band fluxes for the flare search.
"""

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central.errors import FeedFormatError, RecordError
from central.events import from_structured, to_structured
from central_adapter_space import alerts, flares
from central_adapter_space.feeds import FEEDS
from central_adapter_space.flares import Crossing, Sample
from central_adapter_space.models import FLARE_THRESHOLDS

HEADERS = {
    "swpc-kp": [
        ["time_tag", "kp", "observed", "noaa_scale"],
        ["time_tag", "Kp", "a_running", "station_count"],
        ["time_tag", "kp_index", "estimated_kp", "kp"],
    ],
    "swpc-solarwind": [
        ["time_tag", "density", "speed", "temperature"],
        [
            "time_tag",
            "source",
            "active",
            "proton_density",
            "proton_speed",
            "proton_temperature",
        ],
    ],
    "swpc-xray": [["time_tag", "satellite", "flux", "energy", "electron_contaminaton"]],
}
CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "2025-04-04 00:00:00",
            "2026-07-25T00:00:00",
            "2022-04-25T02:02:00Z",
            "9999-12-31T23:59:59",
            "0001-01-01 00:00:00",
            "4.00",
            "4P",
            "-1",
            "1e400",
            "18",
            "0.1-0.8nm",
            "DSCOVR",
            "true",
            "",
            "x" * 10_000,
            "\u00e9\u4e2d",
        ]
    ),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
)
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _accept_or_reject(feed: str, record: Any) -> None:
    try:
        item = FEEDS[feed].normalize(record)
    except RecordError:
        return
    assert from_structured(to_structured(item.event)) == item.event


@SETTINGS
@given(data=st.data())
def test_normalize_accepts_or_rejects_header_rows_of_arbitrary_values(
    data: st.DataObject,
) -> None:
    feed = data.draw(st.sampled_from(sorted(HEADERS)))
    header = data.draw(st.sampled_from(HEADERS[feed]))
    rows = data.draw(
        st.lists(
            st.lists(CELLS, min_size=len(header) - 1, max_size=len(header) + 1),
            max_size=4,
        )
    )
    body = json.dumps([header, *rows]).encode()

    for record in FEEDS[feed].parse(body):
        _accept_or_reject(feed, record)


@SETTINGS
@given(
    lines=st.lists(
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(
                [
                    "Space Weather Message Code: ALTK05",
                    "Space Weather Message Code: A/B",
                    "Serial Number: 1752",
                    "Serial Number: 99999999999",
                    "Issue Time: 2025 Feb 30 2140 UTC",
                    "ALERT: Geomagnetic K-index of 9",
                    "WATCH: Geomagnetic Storm Category G5 Predicted",
                    "Dec 31:  G1 (Minor)   Jan 01:  G5 (Extreme)",
                    "Highest Storm Level Predicted by Day:",
                    "NOAA Scale: G9",
                    "Valid To: 2025 Apr 16 2513 UTC",
                    "Potential Impacts:",
                    "\ud800",
                ]
            ),
        ),
        max_size=14,
    ),
    newline=st.sampled_from(["\r\n", "\n"]),
    issued=st.sampled_from(["2025-04-16 23:13:52.333", "2025-12-31 23:59:00", "x"]),
)
def test_normalize_accepts_or_rejects_alert_of_arbitrary_text(
    lines: list[str], newline: str, issued: str
) -> None:
    record = {"product_id": "K05A", "issue_datetime": issued}
    record["message"] = newline.join(lines)

    _accept_or_reject("swpc-alerts", record)
    assert isinstance(alerts.record_id(record), str)


@SETTINGS
@given(
    feed=st.sampled_from(sorted(FEEDS)),
    body=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.integers() | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=8), inner, max_size=3)
            ),
            max_leaves=10,
        ).map(lambda value: json.dumps(value).encode()),
    ),
)
def test_parse_returns_records_or_raises_feed_format_error_for_any_bytes(
    feed: str, body: bytes
) -> None:
    try:
        records = FEEDS[feed].parse(body)
    except FeedFormatError:
        return
    for record in records:
        _accept_or_reject(feed, record)


START = datetime(2026, 8, 20, tzinfo=UTC)
FLUX = st.floats(min_value=1e-9, max_value=1e-3)


def _brute_force(fluxes: list[float]) -> int:
    count = 0
    for before, after in itertools.pairwise(fluxes):
        count += sum(before < level <= after for level in (1e-5, 1e-4))
    return count


@SETTINGS
@given(fluxes=st.lists(FLUX, max_size=40), satellite=st.integers(0, 99))
def test_crossings_match_brute_force_count_of_upward_crossings(
    fluxes: list[float], satellite: int
) -> None:
    samples = [
        Sample(START + timedelta(minutes=i), satellite, "0.1-0.8nm", flux)
        for i, flux in enumerate(fluxes)
    ]

    found = flares.crossings(reversed(samples))

    assert len(found) == _brute_force(fluxes)
    assert found == flares.crossings(samples)
    for crossing in found:
        assert isinstance(crossing, Crossing)
        assert crossing.previous_flux < FLARE_THRESHOLDS[crossing.threshold]
        event = flares.normalize(crossing).event
        assert event.time == crossing.time
        assert math.isclose(event.data["flux"], crossing.flux)

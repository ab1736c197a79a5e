from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from central.events import from_structured, to_structured
from central.subjects import event_subject
from central_adapter_quake import emsc, usgs
from central_adapter_quake.feeds import FEEDS
from recorded import digests_in_processes

SUBJECT = re.compile(
    r"^central\.quake\.(earthquake|quarry-blast|explosion|other)\.(usgs|emsc)"
    r"\.[0-9b-hjkmnp-z]{3}$"
)
RECORDED = [
    ("usgs", "usgs-earthquake/usgs_significant_month_2013-07_api1.0.8.geojson"),
    ("usgs", "usgs-earthquake/usgs_all_day_2016-11-03_api1.5.2.geojson"),
    ("usgs", "usgs-earthquake/usgs_4.5_day_2024-02-06_api1.10.3.geojson"),
    ("emsc", "emsc-seismicportal/emsc_fdsnws_event_json_2025-04-26.json"),
]
RECORDED_IDS = ["usgs-2013", "usgs-2016", "usgs-2024", "emsc-2025"]


def test_feeds_declare_usgs_and_emsc_with_defaults() -> None:
    usgs_feed, emsc_feed = FEEDS["usgs"], FEEDS["emsc"]

    assert sorted(FEEDS) == ["emsc", "usgs"]
    assert usgs_feed.name == "usgs"
    assert usgs_feed.domain == "quake"
    assert usgs_feed.default_url == (
        "https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/all_hour.geojson"
    )
    assert usgs_feed.default_interval_s == 60
    assert (usgs_feed.parse, usgs_feed.normalize, usgs_feed.record_id) == (
        usgs.parse,
        usgs.normalize,
        usgs.record_id,
    )
    assert emsc_feed.name == "emsc"
    assert emsc_feed.domain == "quake"
    assert emsc_feed.default_url == (
        "https://www.seismicportal.eu/fdsnws/event/1/query"
        "?format=json&limit=500&orderby=time"
    )
    assert emsc_feed.default_interval_s == 120
    assert (emsc_feed.parse, emsc_feed.normalize, emsc_feed.record_id) == (
        emsc.parse,
        emsc.normalize,
        emsc.record_id,
    )


@pytest.mark.parametrize(("feed", "path"), RECORDED, ids=RECORDED_IDS)
def test_feed_normalizes_recorded_payload_into_valid_events(
    fixtures_dir: Path, feed: str, path: str
) -> None:
    spec = FEEDS[feed]

    results = [
        spec.normalize(r) for r in spec.parse((fixtures_dir / path).read_bytes())
    ]

    for result in results:
        event = result.event
        assert from_structured(to_structured(event)) == event
        assert SUBJECT.match(result.nats_subject), result.nats_subject
        kind = event.type.removeprefix("central.quake.")
        geometry = event.data["geometry"]
        assert result.nats_subject == event_subject("quake", kind, feed, geometry)
        assert len(geometry["coordinates"]) == 2
        assert event.time.utcoffset() is not None


def test_normalize_gives_identical_bytes_across_processes(fixtures_dir: Path) -> None:
    """Two interpreters with different hash seeds print the same digest."""
    args = [
        part for feed, path in RECORDED for part in (feed, str(fixtures_dir / path))
    ]

    first, second = digests_in_processes(
        "central_adapter_quake.feeds", args, seeds=["1", "2"]
    )

    assert first == second
    assert len(first) == len(hashlib.sha256().hexdigest())

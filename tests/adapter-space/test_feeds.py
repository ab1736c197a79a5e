from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from central.events import from_structured, to_structured
from central.settings import adapter_settings
from central_adapter_space import alerts, kp, solarwind, xray
from central_adapter_space.cli import main
from central_adapter_space.feeds import FEEDS
from recorded import digests_in_processes

SUBJECT = re.compile(
    r"^central\.space\.(alert|kp-index|kp-index-1m|xray-flux|xray-flare"
    r"|solar-wind-plasma)\.swpc\.none$"
)
RECORDED = [
    ("swpc-alerts", "noaa-swpc/swpc_alerts_2025-04-17_G4.json", 200),
    (
        "swpc-kp",
        "noaa-swpc/swpc_noaa-planetary-k-index-forecast_2025-04-11_arrays.json",
        81,
    ),
    ("swpc-kp", "noaa-swpc/swpc_noaa-planetary-k-index_2026-08-01_objects.json", 58),
    ("swpc-kp", "noaa-swpc/swpc_planetary_k_index_1m_2026-07-09.json", 358),
    ("swpc-xray", "noaa-swpc/swpc_goes_xrays-6-hour_2026-08-20.json", 716),
    ("swpc-solarwind", "noaa-swpc/swpc_solar_wind_plasma-7-day_2024-05-08.json", 9545),
]
RECORDED_IDS = ["alerts", "kp-forecast", "kp-3h", "kp-1m", "xray", "plasma"]
BASE = "https://services.swpc.noaa.gov"


def test_feeds_declare_four_swpc_feeds_with_defaults() -> None:
    assert sorted(FEEDS) == ["swpc-alerts", "swpc-kp", "swpc-solarwind", "swpc-xray"]
    declared = {
        name: (feed.name, feed.domain, feed.default_url, feed.default_interval_s)
        for name, feed in FEEDS.items()
    }
    assert declared == {
        "swpc-alerts": (
            "swpc-alerts",
            "space",
            f"{BASE}/products/alerts.json",
            60.0,
        ),
        "swpc-kp": (
            "swpc-kp",
            "space",
            f"{BASE}/products/noaa-planetary-k-index-forecast.json",
            300.0,
        ),
        "swpc-xray": (
            "swpc-xray",
            "space",
            f"{BASE}/json/goes/primary/xrays-6-hour.json",
            60.0,
        ),
        "swpc-solarwind": (
            "swpc-solarwind",
            "space",
            f"{BASE}/json/rtsw/rtsw_wind_1m.json",
            60.0,
        ),
    }
    for module, name in (
        (alerts, "swpc-alerts"),
        (kp, "swpc-kp"),
        (xray, "swpc-xray"),
        (solarwind, "swpc-solarwind"),
    ):
        feed = FEEDS[name]
        assert (feed.parse, feed.normalize, feed.record_id) == (
            module.parse,
            module.normalize,
            module.record_id,
        )


def test_settings_read_feed_url_and_interval_from_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CENTRAL_FEED_SWPC_KP_URL", f"{BASE}/products/x.json")
    monkeypatch.setenv("CENTRAL_FEED_SWPC_SOLARWIND_INTERVAL_S", "30")
    settings_cls = adapter_settings(
        "adapter-space",
        {n: (f.default_url, f.default_interval_s) for n, f in FEEDS.items()},
    )

    settings = settings_cls()

    assert settings.feed_url("swpc-kp") == f"{BASE}/products/x.json"
    assert settings.feed_interval_s("swpc-solarwind") == 30.0
    assert settings.feed_url("swpc-alerts") == f"{BASE}/products/alerts.json"
    assert settings.feed_interval_s("swpc-xray") == 60.0


@pytest.mark.parametrize(("feed", "path", "count"), RECORDED, ids=RECORDED_IDS)
def test_feed_normalizes_recorded_payload_into_valid_events(
    fixtures_dir: Path, feed: str, path: str, count: int
) -> None:
    spec = FEEDS[feed]

    records = list(spec.parse((fixtures_dir / path).read_bytes()))
    results = [spec.normalize(r) for r in records]

    assert len(records) == len(results) == count
    for result in results:
        event = result.event
        assert from_structured(to_structured(event)) == event
        assert SUBJECT.match(result.nats_subject), result.nats_subject
        assert result.nats_subject.split(".")[2] == event.type.split(".")[2]
        assert event.time.utcoffset() is not None
        assert event.subject
        assert "geometry" not in event.data
        assert isinstance(event.data["extra"], dict)


def test_cli_prints_one_event_per_record_and_nothing_else(
    fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["normalize", "--feed", "swpc-kp", str(fixtures_dir / RECORDED[3][1])])

    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert (code, err) == (0, "")
    assert len(lines) == 358
    assert {json.loads(line)["type"] for line in lines} == {"central.space.kp-index-1m"}


def test_cli_reports_rejected_record_on_stderr_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = '[["time_tag","kp"],["2025-04-04 00:00:00","4.00"],["soon","4.00"]]'
    path = tmp_path / "kp.json"
    path.write_text(body)

    code = main(["normalize", "--feed", "swpc-kp", str(path)])

    out, err = capsys.readouterr()
    assert code == 0
    assert len(out.splitlines()) == 1
    assert err == f"rejected: {path}: record soon: time_tag 'soon' is not a date-time\n"


def test_cli_exits_2_with_one_line_when_file_is_other_feed(
    fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = fixtures_dir / RECORDED[0][1]

    code = main(["normalize", "--feed", "swpc-solarwind", str(path)])

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (
        f"error: {path}: not a swpc-solarwind payload: swpc-solarwind payload has "
        "no 'time_tag' in any element\n"
    )


def test_normalize_gives_identical_bytes_across_processes(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    """Two interpreters with different hash seeds print the same digest.

    The plasma payload is cut to its first 1000 rows to keep the run short.
    """
    plasma = tmp_path / "plasma.json"
    rows = json.loads((fixtures_dir / RECORDED[-1][1]).read_bytes())
    plasma.write_text(json.dumps(rows[:1001]))
    files = [(feed, str(fixtures_dir / path)) for feed, path, _ in RECORDED[:-1]]
    args = [part for pair in [*files, ("swpc-solarwind", str(plasma))] for part in pair]

    digests = digests_in_processes(
        "central_adapter_space.feeds", args, seeds=["1", "2"]
    )

    assert digests[0] == digests[1]
    assert len(digests[0]) == len(hashlib.sha256().hexdigest())

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import orjson
import pytest

from central.events import from_structured, to_structured
from central.settings import adapter_settings
from central.subjects import event_subject
from central_adapter_wx import cap, cli, nws
from central_adapter_wx.feeds import FEEDS
from recorded import digests_in_processes

NWS_FILE = "nws-alerts/nws_alerts_active_point_AZ_2024-07-18.json"
CAP_FILE = "nws-alerts/nws_cap_atom_us_feed_2014-11-05.xml"
RECORDED = [("nws", NWS_FILE), ("cap", CAP_FILE)]
SUBJECT = re.compile(r"^central\.wx\.alert\.(nws|cap)\.(none|[0-9b-hjkmnp-z]{3})$")


def test_feeds_declare_nws_and_cap_with_defaults() -> None:
    nws_feed, cap_feed = FEEDS["nws"], FEEDS["cap"]

    assert sorted(FEEDS) == ["cap", "nws"]
    assert (nws_feed.name, nws_feed.domain) == ("nws", "wx")
    assert nws_feed.default_url == "https://api.weather.gov/alerts/active"
    assert nws_feed.default_interval_s == 60
    assert (nws_feed.parse, nws_feed.normalize, nws_feed.record_id) == (
        nws.parse,
        nws.normalize,
        nws.record_id,
    )
    assert (cap_feed.name, cap_feed.domain) == ("cap", "wx")
    assert cap_feed.default_url == "https://api.weather.gov/alerts/active.atom"
    assert cap_feed.default_interval_s == 120
    assert (cap_feed.parse, cap_feed.normalize, cap_feed.record_id) == (
        cap.parse,
        cap.normalize,
        cap.record_id,
    )


def test_settings_read_feed_url_and_interval_from_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "CENTRAL_FEED_NWS_URL", "https://api.weather.gov/alerts/active?area=AZ"
    )
    monkeypatch.setenv("CENTRAL_FEED_CAP_INTERVAL_S", "300")
    monkeypatch.setenv("CENTRAL_USER_AGENT", "(central.example, ops@central.example)")
    settings_cls = adapter_settings(
        "adapter-wx",
        {n: (f.default_url, f.default_interval_s) for n, f in FEEDS.items()},
    )

    settings = settings_cls()

    assert settings.feed_url("nws") == "https://api.weather.gov/alerts/active?area=AZ"
    assert settings.feed_interval_s("nws") == 60
    assert settings.feed_url("cap") == "https://api.weather.gov/alerts/active.atom"
    assert settings.feed_interval_s("cap") == 300
    assert settings.user_agent == "(central.example, ops@central.example)"


@pytest.mark.parametrize(("feed", "path"), RECORDED, ids=["nws", "cap"])
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
        geometry = event.data["geometry"]
        assert result.nats_subject == event_subject("wx", "alert", feed, geometry)
        assert event.time.utcoffset() is not None
        assert isinstance(event.data["extra"], dict)


@pytest.mark.parametrize(
    ("feed", "path", "count"),
    [("nws", NWS_FILE, 2), ("cap", CAP_FILE, 39)],
    ids=["nws", "cap"],
)
def test_cli_normalize_prints_one_event_per_record_and_nothing_else(
    fixtures_dir: Path,
    capsys: pytest.CaptureFixture[str],
    feed: str,
    path: str,
    count: int,
) -> None:
    code = cli.main(["normalize", "--feed", feed, str(fixtures_dir / path)])

    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert code == 0
    assert err == ""
    assert len(lines) == count
    assert all(orjson.loads(line)["type"] == "central.wx.alert" for line in lines)


def test_cli_normalize_reports_rejected_record_on_stderr(
    tmp_path: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = orjson.loads((fixtures_dir / NWS_FILE).read_bytes())
    del doc["features"][0]["properties"]["sent"]
    broken = tmp_path / "broken.json"
    broken.write_bytes(orjson.dumps(doc))

    code = cli.main(["normalize", "--feed", "nws", str(broken)])

    out, err = capsys.readouterr()
    assert code == 0
    assert len(out.splitlines()) == 1
    assert err == (
        f"rejected: {broken}: record urn:oid:2.49.0.1.840.0."
        "505a7220d91b00eb1d75a3fb4f339f825496a522.004.1: record has no sent\n"
    )


@pytest.mark.parametrize(
    ("feed", "path", "message"),
    [
        ("nws", CAP_FILE, "not a nws payload: nws payload is not JSON"),
        ("cap", NWS_FILE, "not a cap payload: cap payload is not XML"),
    ],
    ids=["xml-as-nws", "json-as-cap"],
)
def test_cli_normalize_exits_2_with_one_line_when_payload_is_wrong(
    fixtures_dir: Path,
    capsys: pytest.CaptureFixture[str],
    feed: str,
    path: str,
    message: str,
) -> None:
    code = cli.main(["normalize", "--feed", feed, str(fixtures_dir / path)])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: {fixtures_dir / path}: {message}")


def test_normalize_gives_identical_bytes_across_processes(fixtures_dir: Path) -> None:
    """Two interpreters with different hash seeds print the same digest."""
    args = [
        part for feed, path in RECORDED for part in (feed, str(fixtures_dir / path))
    ]

    first, second = digests_in_processes(
        "central_adapter_wx.feeds", args, seeds=["1", "2"]
    )

    assert first == second
    assert len(first) == len(hashlib.sha256().hexdigest())

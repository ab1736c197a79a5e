from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from adapter_contract import FIXTURES
from central.events import from_structured, to_structured
from central.feeds import Normalized
from central.settings import adapter_settings, load
from central_adapter_disaster import eonet, fema, gdacs
from central_adapter_disaster.cli import main
from central_adapter_disaster.feeds import FEEDS
from recorded import digests_in_processes, normalize_digest

GDACS = FIXTURES / "gdacs" / "gdacs_xml_gdacs.geojson_2026-05-27.geojson"
RSS = FIXTURES / "gdacs" / "gdacs_rss_2019-12-30.xml"
EONET = FIXTURES / "nasa-eonet" / "eonet_v3_events_open_2025-11-09.json"
FEMA = FIXTURES / "openfema" / "fema_DisasterDeclarationsSummaries_v2_2022-10-28.json"


def _settings_class() -> type:
    return adapter_settings(
        "adapter-disaster",
        {n: (f.default_url, f.default_interval_s) for n, f in FEEDS.items()},
    )


def test_feeds_declare_gdacs_eonet_and_fema_with_defaults() -> None:
    assert list(FEEDS) == ["gdacs", "eonet", "fema"]
    assert {name: feed.name for name, feed in FEEDS.items()} == {
        "gdacs": "gdacs",
        "eonet": "eonet",
        "fema": "fema",
    }
    assert {feed.domain for feed in FEEDS.values()} == {"disaster"}
    assert {name: feed.default_url for name, feed in FEEDS.items()} == {
        "gdacs": "https://www.gdacs.org/xml/gdacs.geojson",
        "eonet": "https://eonet.gsfc.nasa.gov/api/v3/events?status=all&days=30",
        "fema": "https://www.fema.gov/api/open/v2/DisasterDeclarationsSummaries"
        "?$orderby=lastRefresh%20desc&$top=1000",
    }
    assert {name: feed.default_interval_s for name, feed in FEEDS.items()} == {
        "gdacs": 300,
        "eonet": 900,
        "fema": 1800,
    }
    for name, module in (("gdacs", gdacs), ("eonet", eonet), ("fema", fema)):
        feed = FEEDS[name]
        assert (feed.parse, feed.normalize, feed.record_id) == (
            module.parse,
            module.normalize,
            module.record_id,
        )


def test_settings_read_feed_url_and_interval_from_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CENTRAL_FEED_EONET_URL", "http://127.0.0.1:9/eonet")
    monkeypatch.setenv("CENTRAL_FEED_FEMA_INTERVAL_S", "60")

    settings = load(_settings_class())

    assert settings.feed_url("eonet") == "http://127.0.0.1:9/eonet"
    assert settings.feed_interval_s("fema") == 60.0
    assert settings.feed_url("gdacs") == "https://www.gdacs.org/xml/gdacs.geojson"
    assert settings.feed_interval_s("gdacs") == 300.0


def test_normalize_command_prints_one_event_per_record(
    capfdbinary: pytest.CaptureFixture[bytes], fema_results: list[Normalized]
) -> None:
    code = main(["normalize", "--feed", "fema", str(FEMA)])

    out, err = capfdbinary.readouterr()
    assert (code, err) == (0, b"")
    assert len(out.splitlines()) == 1000
    assert out == b"".join(to_structured(r.event) + b"\n" for r in fema_results)
    assert from_structured(out.splitlines()[0]) == fema_results[0].event


def test_normalize_command_reports_rejected_row_on_stderr(
    capfdbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    document = json.loads(FEMA.read_bytes())
    rows = document["DisasterDeclarationsSummaries"][:3]
    rows[1]["fipsStateCode"] = 48
    path = tmp_path / "fema.json"
    path.write_text(json.dumps({"DisasterDeclarationsSummaries": rows}))

    code = main(["normalize", "--feed", "fema", str(path)])

    out, err = capfdbinary.readouterr()
    assert code == 0
    assert len(out.splitlines()) == 2
    assert err.decode() == (
        f"rejected: {path}: record e671348b-9782-42df-99f4-d38b8b1a89e6: "
        "fipsStateCode 48 is not a string of digits of the code's width\n"
    )


@pytest.mark.parametrize(
    ("feed", "path", "message"),
    [
        ("gdacs", RSS, "gdacs payload is XML or HTML, not JSON"),
        (
            "eonet",
            FEMA,
            "eonet payload has neither an events array nor GeoJSON features",
        ),
        ("fema", GDACS, "fema payload has no DisasterDeclarationsSummaries array"),
    ],
    ids=["gdacs-rss", "eonet-fema", "fema-gdacs"],
)
def test_normalize_command_exits_2_when_file_is_not_the_feed(
    capfdbinary: pytest.CaptureFixture[bytes], feed: str, path: Path, message: str
) -> None:
    code = main(["normalize", "--feed", feed, str(path)])

    out, err = capfdbinary.readouterr()
    assert (code, out) == (2, b"")
    assert err.decode() == f"error: {path}: not a {feed} payload: {message}\n"


def test_normalize_gives_identical_bytes_across_processes(tmp_path: Path) -> None:
    """Another interpreter, with a fixed hash seed, prints this one's digest."""
    # The first 400 EONET events (every storm track among them) keep this quick.
    document = json.loads(EONET.read_bytes())
    document["events"] = document["events"][:400]
    eonet_part = tmp_path / "eonet.json"
    eonet_part.write_text(json.dumps(document))
    args = ["gdacs", str(GDACS), "eonet", str(eonet_part), "fema", str(FEMA)]
    here = normalize_digest(FEEDS, args)

    (there,) = digests_in_processes("central_adapter_disaster.feeds", args, seeds=["1"])

    assert there == here
    assert len(here) == len(hashlib.sha256().hexdigest())

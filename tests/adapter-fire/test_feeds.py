from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from central.settings import adapter_settings
from central_adapter_fire import firms
from central_adapter_fire.cli import main
from central_adapter_fire.feeds import FEEDS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nasa-firms"
VIIRS_FILE = FIXTURES / "firms_viirs_snpp_c2_europe_24h_2022-09-05.csv"
DEFAULT_URL = (
    "https://firms.modaps.eosdis.nasa.gov/data/active_fire/"
    "modis-c6.1/csv/MODIS_C6_1_Global_24h.csv"
)


def test_feeds_declare_firms_with_real_upstream_defaults() -> None:
    feed = FEEDS["firms"]

    assert list(FEEDS) == ["firms"]
    assert (feed.name, feed.domain, feed.media_type) == ("firms", "fire", "text/csv")
    assert feed.default_url == DEFAULT_URL
    assert feed.default_interval_s == 900
    assert (feed.parse, feed.normalize, feed.record_id) == (
        firms.parse,
        firms.normalize,
        firms.record_id,
    )


def test_settings_read_firms_url_and_interval_from_feed_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings_cls = adapter_settings(
        "adapter-fire",
        {n: (f.default_url, f.default_interval_s) for n, f in FEEDS.items()},
    )
    monkeypatch.delenv("CENTRAL_FEED_FIRMS_URL", raising=False)
    monkeypatch.delenv("CENTRAL_FEED_FIRMS_INTERVAL_S", raising=False)
    defaults = settings_cls()
    monkeypatch.setenv("CENTRAL_FEED_FIRMS_URL", "http://replay/firms.csv")
    monkeypatch.setenv("CENTRAL_FEED_FIRMS_INTERVAL_S", "300")

    configured = settings_cls()

    assert (defaults.feed_url("firms"), defaults.feed_interval_s("firms")) == (
        DEFAULT_URL,
        900.0,
    )
    assert configured.feed_url("firms") == "http://replay/firms.csv"
    assert configured.feed_interval_s("firms") == 300.0


_COMMAND = (
    sys.executable,
    *("-m", "central_adapter_fire.cli", "normalize", "--feed", "firms"),
)


def _normalize_in_processes(
    path: Path, seeds: list[str]
) -> list[tuple[int, bytes, bytes]]:
    """Run ``normalize`` on ``path`` in one interpreter per hash seed, side by side."""
    procs = [
        subprocess.Popen(
            [*_COMMAND, str(path)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for seed in seeds
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        results.append((proc.returncode, out, err))
    return results


def test_cli_prints_one_event_per_row_identically_across_processes() -> None:
    """Two interpreters with different hash seeds print the same bytes."""
    first, second = _normalize_in_processes(VIIRS_FILE, ["1", "2"])

    code, out, err = first
    lines = out.splitlines()
    assert (code, err) == (0, b"")
    assert len(lines) == 1_205
    assert orjson.loads(lines[0])["subject"] == (
        "VIIRS/N/2022-09-04T00:24Z/46.06979/13.63111"
    )
    assert second == first


def test_cli_reports_rejected_row_on_stderr_and_exits_zero(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    header, first, rest = VIIRS_FILE.read_bytes().split(b"\n", 2)
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\n".join((header, first + b",surplus", rest)))

    code = main(["normalize", "--feed", "firms", str(broken)])

    out, err = capfdbinary.readouterr()
    assert code == 0
    assert len(out.splitlines()) == 1_204
    assert err.decode() == (
        f"rejected: {broken}: record line 2: line 2 has 14 cells, the header has 13\n"
    )


def test_cli_exits_2_with_one_line_when_file_is_not_firms_csv(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    wrong = tmp_path / "key.csv"
    wrong.write_bytes(b"Invalid MAP_KEY.")

    code = main(["normalize", "--feed", "firms", str(wrong)])

    out, err = capfdbinary.readouterr()
    assert code == 2
    assert out == b""
    assert err.decode() == (
        f"error: {wrong}: not a firms payload: firms payload header has no latitude, "
        "longitude, acq_date, acq_time, satellite column: 'invalid map_key.'\n"
    )

"""Property-based tests: whatever a row or a payload holds, the normalizer either
accepts it as a valid event or rejects it with RecordError (and the parser with
FeedFormatError), never anything else."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from central.errors import FeedFormatError, RecordError
from central.events import from_structured, to_structured
from central.feeds import Normalized
from central_adapter_fire import firms
from central_adapter_fire.models import Hotspot

MODIS_HEADER = (
    "latitude,longitude,brightness,scan,track,acq_date,acq_time,satellite,"
    "confidence,version,bright_t31,frp,daynight"
)
VIIRS_HEADER = (
    "latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,"
    "confidence,version,bright_ti5,frp,daynight"
)
# Real lines: MODIS lines 2 and 42, VIIRS lines 2 and 264 of the recorded files.
MODIS_LINES = (
    "-8.98654,-42.46322,311.91,2.05,1.39,2023-08-01,0035,T,84,6.1NRT,293.89,27.87,N",
    "13.27126,13.9536,305.18,1.11,1.05,2023-08-01,0054,A,63,6.1NRT,289.58,6.58,N",
)
VIIRS_LINES = (
    "46.06979,13.63111,297.87,0.58,0.52,2022-09-04,0024,N,nominal,2.0NRT,283.65,0.99,N",
    "53.98596,20.71564,367,0.41,0.6,2022-09-04,0202,N,high,2.0NRT,282,10.53,N",
)
SAMPLES = [
    dict(zip(header.split(","), line.split(","), strict=True))
    for header, lines in ((MODIS_HEADER, MODIS_LINES), (VIIRS_HEADER, VIIRS_LINES))
    for line in lines
]
NATS_SUBJECT = re.compile(r"^central\.fire\.hotspot\.firms\.(none|[0-9b-hjkmnp-z]{3})$")

_TEXT_CELLS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            " ",
            "nan",
            "NaN",
            "inf",
            "-Infinity",
            "1e309",
            "-0",
            "90.00001",
            "-180.5",
            "2400",
            "0060",
            "00:35",
            "2023-13-01",
            "n",
            "H",
            "101",
            "-1",
            "1_000",
            "١٢",
            "\x00",
            "a,b",
            '"',
            "x" * 100_000,
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
_OTHER_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.lists(st.text(max_size=5), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)
_COLUMNS = st.sampled_from(
    [
        *sorted(firms.SHARED_COLUMNS),
        *(name for s in firms.COLUMN_SETS for name in (s.mir, s.tir)),
        *("country_id", "", "Latitude", "x" * 300),
    ]
)


def _check_accepted(result: Normalized) -> None:
    """What every accepted row must give: a valid, round-tripping event."""
    event = result.event
    assert from_structured(to_structured(event)) == event
    data = event.data
    assert Hotspot.model_validate(data).model_dump(mode="json") == data
    lon, lat = data["geometry"]["coordinates"]
    assert -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0
    assert event.time.tzinfo is not None
    assert event.subject == firms.native_id(
        data["instrument"],
        data["satellite"],
        event.time.strftime("%Y-%m-%dT%H:%MZ"),
        lat,
        lon,
    )
    assert NATS_SUBJECT.match(result.nats_subject)
    for key in ("brightness_mir_k", "brightness_tir_k", "frp_mw", "scan_km"):
        assert data[key] is None or (math.isfinite(data[key]) and data[key] >= 0)


def _outcome(record: Any) -> None:
    try:
        result = firms.normalize(record)
    except RecordError:
        event("rejected")
        return
    event("accepted")
    _check_accepted(result)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_normalize_accepts_or_rejects_mangled_row_never_raises(
    data: st.DataObject,
) -> None:
    row: dict[Any, Any] = dict(data.draw(st.sampled_from(SAMPLES)))
    for _ in range(data.draw(st.integers(1, 3))):
        column = data.draw(_COLUMNS)
        action = data.draw(st.sampled_from(["delete", "text", "other"]))
        if action == "delete":
            row.pop(column, None)
        elif action == "text":
            row[column] = data.draw(_TEXT_CELLS)
        else:
            row[column] = data.draw(_OTHER_VALUES)

    _outcome(row)


@settings(max_examples=200, deadline=None)
@given(
    sample=st.sampled_from([(MODIS_HEADER, MODIS_LINES), (VIIRS_HEADER, VIIRS_LINES)]),
    at=st.floats(0, 1),
    inserted=st.text(alphabet=st.sampled_from(',"\n\r\x00 abc1.-\ufeff'), max_size=12),
    cut=st.integers(0, 5),
)
def test_parse_and_normalize_accept_or_reject_mangled_csv_never_raise(
    sample: tuple[str, tuple[str, ...]], at: float, inserted: str, cut: int
) -> None:
    header, lines = sample
    text = "\n".join((header, *lines)) + "\n"
    where = int(at * len(text))
    mangled = text[:where] + inserted + text[where + cut :]

    try:
        rows = list(firms.parse(mangled.encode()))
    except FeedFormatError:
        return
    for row in rows:
        _outcome(row)


@settings(max_examples=200, deadline=None)
@given(
    header=st.sampled_from([b"", f"{MODIS_HEADER}\n".encode(), VIIRS_HEADER.encode()]),
    body=st.binary(max_size=300),
)
def test_parse_raises_only_feed_format_error_on_arbitrary_bytes(
    header: bytes, body: bytes
) -> None:
    try:
        rows = list(firms.parse(header + body))
    except FeedFormatError:
        return
    for row in rows:
        _outcome(row)


_CONFIDENCE_WORDS = {"l": "low", "n": "nominal", "h": "high"}


@settings(max_examples=200, deadline=None)
@given(
    lat=st.floats(-90, 90).map(lambda v: round(v, 5)),
    lon=st.floats(-180, 180).map(lambda v: round(v, 5)),
    when=st.datetimes(datetime(2000, 11, 1), datetime(2030, 12, 31)),
    padded=st.booleans(),
    confidence=st.sampled_from(["l", "n", "h", "low", "nominal", "high"]),
    frp=st.floats(0, 10_000).map(lambda v: round(v, 2)),
    satellite=st.sampled_from(["N", "1", "N20", "N21"]),
)
def test_normalize_accepts_every_well_formed_viirs_row(
    lat: float,
    lon: float,
    when: datetime,
    padded: bool,
    confidence: str,
    frp: float,
    satellite: str,
) -> None:
    hhmm = (
        f"{when.hour:02d}{when.minute:02d}"
        if padded
        else str(when.hour * 100 + when.minute)
    )
    line = (
        f"{lat},{lon},330.5,0.4,0.37,{when:%Y-%m-%d},{hhmm},{satellite},{confidence},"
        f"2.0NRT,290.1,{frp},D"
    )
    (row,) = firms.parse(f"{VIIRS_HEADER}\n{line}\n".encode())

    result = firms.normalize(row)

    _check_accepted(result)
    data = result.event.data
    assert result.event.time == when.replace(second=0, microsecond=0, tzinfo=UTC)
    assert data["geometry"]["coordinates"] == [lon, lat]
    assert data["frp_mw"] == frp
    assert data["confidence"] == _CONFIDENCE_WORDS.get(confidence, confidence)

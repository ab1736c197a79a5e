from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from central.errors import FeedFormatError, RecordError
from central.feeds import Normalized
from central.ids import event_id
from central_adapter_fire import firms
from recorded import DELETE, edit

RowLookup = Callable[[int], dict[str, str]]
Results = tuple[list[Normalized], list[RecordError]]

MODIS_HEADER = (
    "latitude,longitude,brightness,scan,track,acq_date,acq_time,satellite,"
    "confidence,version,bright_t31,frp,daynight"
)
VIIRS_HEADER = (
    "latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,"
    "confidence,version,bright_ti5,frp,daynight"
)
# Line 2 of the VIIRS file, as the area API writes it: with an instrument column,
# a one-letter confidence and acq_time without its leading zeros.
AREA_API_HEADER = (
    "latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,"
    "instrument,confidence,version,bright_ti5,frp,daynight"
)
AREA_API_LINE = (
    "46.06979,13.63111,297.87,0.58,0.52,2022-09-04,24,N,VIIRS,n,2.0NRT,283.65,0.99,N"
)
# Line 3 of the VIIRS file.
GOOD_LINE = (
    "45.46414,10.45491,310.62,0.41,0.6,2022-09-04,0024,N,nominal,2.0NRT,286.45,1.58,N"
)


def _body(*lines: str) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


def _one(body: bytes) -> Normalized:
    (row,) = firms.parse(body)
    return firms.normalize(row)


def _revision(row: dict[str, str]) -> str:
    """The documented revision: the row as JSON with sorted keys, hashed."""
    return hashlib.sha256(orjson.dumps(dict(sorted(row.items())))).hexdigest()[:16]


@pytest.mark.parametrize(
    ("results", "count"),
    [("modis_results", 36_555), ("viirs_results", 1_205)],
    ids=["modis-36555", "viirs-1205"],
)
def test_normalize_accepts_every_row_of_recorded_payload(
    request: pytest.FixtureRequest, results: str, count: int
) -> None:
    """Every row of both files is a valid detection, so none is rejected."""
    accepted, rejected = request.getfixturevalue(results)

    assert (len(accepted), len(rejected)) == (count, 0)
    assert len({r.event.id for r in accepted}) == count
    assert len({r.event.subject for r in accepted}) == count


def test_normalize_maps_fields_of_terra_modis_row(modis_row: RowLookup) -> None:
    row = modis_row(2)
    assert list(row.values()) == [
        "-8.98654",
        "-42.46322",
        "311.91",
        "2.05",
        "1.39",
        "2023-08-01",
        "0035",
        "T",
        "84",
        "6.1NRT",
        "293.89",
        "27.87",
        "N",
    ]

    result = firms.normalize(row)

    event = result.event
    subject = "MODIS/T/2023-08-01T00:35Z/-8.98654/-42.46322"
    assert event.source == "https://firms.modaps.eosdis.nasa.gov/data/active_fire"
    assert event.type == "central.fire.hotspot"
    assert event.subject == subject
    assert event.id == event_id("firms", subject, _revision(row))
    assert event.id == "c41bfbeb27185ae0361db34d8319d6d8"
    assert event.time == datetime(2023, 8, 1, 0, 35, tzinfo=UTC)
    assert event.data == {
        "instrument": "MODIS",
        "satellite": "T",
        "platform": "Terra",
        "confidence": "high",
        "confidence_percent": 84,
        "brightness_mir_k": 311.91,
        "brightness_tir_k": 293.89,
        "frp_mw": 27.87,
        "scan_km": 2.05,
        "track_km": 1.39,
        "daynight": "night",
        "version": "6.1NRT",
        "detection_type": None,
        "geometry": {"type": "Point", "coordinates": [-42.46322, -8.98654]},
        "extra": {},
    }
    assert result.nats_subject == "central.fire.hotspot.firms.7n3"


def test_normalize_maps_fields_of_suomi_npp_viirs_row(viirs_row: RowLookup) -> None:
    row = viirs_row(2)
    assert list(row.values()) == [
        "46.06979",
        "13.63111",
        "297.87",
        "0.58",
        "0.52",
        "2022-09-04",
        "0024",
        "N",
        "nominal",
        "2.0NRT",
        "283.65",
        "0.99",
        "N",
    ]

    result = firms.normalize(row)

    event = result.event
    assert event.subject == "VIIRS/N/2022-09-04T00:24Z/46.06979/13.63111"
    assert event.id == "5ad7e0c39f2daac2a474228559e90609"
    assert event.time == datetime(2022, 9, 4, 0, 24, tzinfo=UTC)
    assert event.data == {
        "instrument": "VIIRS",
        "satellite": "N",
        "platform": "Suomi NPP",
        "confidence": "nominal",
        "confidence_percent": None,
        "brightness_mir_k": 297.87,
        "brightness_tir_k": 283.65,
        "frp_mw": 0.99,
        "scan_km": 0.58,
        "track_km": 0.52,
        "daynight": "night",
        "version": "2.0NRT",
        "detection_type": None,
        "geometry": {"type": "Point", "coordinates": [13.63111, 46.06979]},
        "extra": {},
    }
    assert result.nats_subject == "central.fire.hotspot.firms.u21"


def test_normalize_maps_aqua_satellite_code_to_its_platform(
    modis_row: RowLookup,
) -> None:
    event = firms.normalize(modis_row(42)).event

    assert event.subject == "MODIS/A/2023-08-01T00:54Z/13.27126/13.9536"
    assert (event.data["satellite"], event.data["platform"]) == ("A", "Aqua")
    assert (event.data["confidence"], event.data["confidence_percent"]) == (
        "nominal",
        63,
    )


def test_normalize_counts_instruments_and_satellites_of_recorded_payloads(
    modis_results: Results, viirs_results: Results
) -> None:
    events = [r.event for r in modis_results[0] + viirs_results[0]]

    pairs = Counter((e.data["instrument"], e.data["platform"]) for e in events)

    assert pairs == {
        ("MODIS", "Aqua"): 25_464,
        ("MODIS", "Terra"): 11_091,
        ("VIIRS", "Suomi NPP"): 1_205,
    }


@pytest.mark.parametrize(
    ("line", "percent", "confidence", "daynight"),
    [
        (6, 28, "low", "night"),
        (34, 30, "nominal", "night"),
        (108, 79, "nominal", "day"),
        (62, 80, "high", "night"),
        (10, 100, "high", "night"),
    ],
    ids=["28-low", "30-nominal", "79-nominal", "80-high", "100-high"],
)
def test_normalize_classes_modis_percentage_at_class_bounds(
    modis_row: RowLookup, line: int, percent: int, confidence: str, daynight: str
) -> None:
    data = firms.normalize(modis_row(line)).event.data

    assert (data["confidence_percent"], data["confidence"]) == (percent, confidence)
    assert data["daynight"] == daynight


def test_normalize_reads_viirs_confidence_words_of_recorded_payload(
    viirs_results: Results,
) -> None:
    data = [r.event.data for r in viirs_results[0]]

    assert Counter(d["confidence"] for d in data) == {
        "nominal": 1_164,
        "low": 34,
        "high": 7,
    }
    assert {d["confidence_percent"] for d in data} == {None}


@pytest.mark.parametrize(
    ("text", "confidence", "percent"),
    [
        ("n", "nominal", None),
        ("l", "low", None),
        ("h", "high", None),
        ("H", "high", None),
        ("Nominal", "nominal", None),
        ("55", "nominal", 55),
        ("084", "high", 84),
        ("84.0", "high", 84),
        ("", None, None),
    ],
    ids=lambda value: repr(value),
)
def test_normalize_reads_confidence_as_word_letter_or_number(
    viirs_row: RowLookup, text: str, confidence: str | None, percent: int | None
) -> None:
    row = viirs_row(2)
    row["confidence"] = text

    data = firms.normalize(row).event.data

    assert (data["confidence"], data["confidence_percent"]) == (confidence, percent)


def test_normalize_keeps_saturated_viirs_brightness(viirs_row: RowLookup) -> None:
    """I-4 saturates at 367 K; the file writes it as ``367``, a number all the same."""
    row = viirs_row(264)
    assert row["bright_ti4"] == "367"

    data = firms.normalize(row).event.data

    assert data["brightness_mir_k"] == 367.0
    assert data["confidence"] == "high"


def test_normalize_keeps_zero_frp(modis_row: RowLookup) -> None:
    row = modis_row(1149)
    assert row["frp"] == "0"

    assert firms.normalize(row).event.data["frp_mw"] == 0.0


@pytest.mark.parametrize(
    ("lookup", "line", "text", "expected"),
    [
        ("modis_row", 18916, "0005", datetime(2023, 8, 2, 0, 5, tzinfo=UTC)),
        ("viirs_row", 752, "0001", datetime(2022, 9, 5, 0, 1, tzinfo=UTC)),
        ("modis_row", 2, "0035", datetime(2023, 8, 1, 0, 35, tzinfo=UTC)),
    ],
    ids=["modis-0005", "viirs-0001", "modis-0035"],
)
def test_normalize_reads_zero_padded_acq_time_of_recorded_rows(
    request: pytest.FixtureRequest,
    lookup: str,
    line: int,
    text: str,
    expected: datetime,
) -> None:
    row = request.getfixturevalue(lookup)(line)
    assert row["acq_time"] == text

    assert firms.normalize(row).event.time == expected


@pytest.mark.parametrize(
    ("padded", "unpadded", "hour", "minute"),
    [("0024", "24", 0, 24), ("0005", "5", 0, 5), ("0141", "141", 1, 41)],
    ids=["24", "5", "141"],
)
def test_normalize_gives_same_subject_when_acq_time_unpadded(
    viirs_row: RowLookup, padded: str, unpadded: str, hour: int, minute: int
) -> None:
    first, second = viirs_row(2), viirs_row(2)
    first["acq_time"], second["acq_time"] = padded, unpadded

    a, b = firms.normalize(first).event, firms.normalize(second).event

    assert a.subject == b.subject
    assert a.time == b.time == datetime(2022, 9, 4, hour, minute, tzinfo=UTC)
    assert a.data == b.data


def test_normalize_reads_area_api_layout_like_the_file(viirs_row: RowLookup) -> None:
    """Instrument column, letter confidence, unpadded time: the same detection."""
    from_file = firms.normalize(viirs_row(2)).event

    from_api = _one(_body(AREA_API_HEADER, AREA_API_LINE)).event

    assert from_api.subject == from_file.subject
    assert from_api.time == from_file.time
    assert from_api.data == from_file.data
    # Different cells are a different revision of the same subject.
    assert from_api.id != from_file.id


def test_normalize_gives_same_id_when_columns_reordered(viirs_row: RowLookup) -> None:
    row = viirs_row(2)
    names = list(reversed(row))

    reordered = _one(_body(",".join(names), ",".join(row[n] for n in names)))

    assert reordered.event == firms.normalize(row).event


def test_normalize_gives_new_id_and_same_subject_when_row_revised(
    modis_row: RowLookup,
) -> None:
    first, revised = modis_row(2), modis_row(2)
    revised["frp"] = "31.02"
    revised["version"] = "6.1"

    before, after = firms.normalize(first).event, firms.normalize(revised).event

    assert after.subject == before.subject
    assert after.id != before.id
    assert after.id == event_id("firms", after.subject or "", _revision(revised))
    assert after.data["frp_mw"] == 31.02


def test_normalize_gives_distinct_subjects_when_satellite_differs(
    modis_row: RowLookup,
) -> None:
    terra, aqua = modis_row(2), modis_row(2)
    aqua["satellite"] = "A"

    assert firms.normalize(terra).event.subject != firms.normalize(aqua).event.subject


@pytest.mark.parametrize(
    ("code", "platform"),
    [("1", "NOAA-20"), ("N20", "NOAA-20"), ("N21", "NOAA-21"), ("J9", None)],
    ids=["1", "N20", "N21", "unknown"],
)
def test_normalize_maps_viirs_satellite_code_to_platform(
    viirs_row: RowLookup, code: str, platform: str | None
) -> None:
    row = viirs_row(2)
    row["satellite"] = code

    event = firms.normalize(row).event

    assert (event.data["satellite"], event.data["platform"]) == (code, platform)
    assert event.subject == f"VIIRS/{code}/2022-09-04T00:24Z/46.06979/13.63111"


def test_normalize_reads_type_column_and_keeps_unknown_columns_in_extra() -> None:
    """Archive files add ``type``; an unknown column is kept, cell text as given."""
    body = _body(
        "country_id," + MODIS_HEADER + ",type",
        "BRA,-8.98654,-42.46322,311.91,2.05,1.39,2023-08-01,0035,T,84,6.1,"
        "293.89,27.87,N,0",
    )

    data = _one(body).event.data

    assert data["detection_type"] == 0
    assert data["version"] == "6.1"
    assert data["extra"] == {"country_id": "BRA"}


def test_normalize_keeps_other_instruments_column_in_extra(
    modis_row: RowLookup,
) -> None:
    row = modis_row(2)
    row["bright_ti5"] = "290.1"

    data = firms.normalize(row).event.data

    assert data["brightness_tir_k"] == 293.89
    assert data["extra"] == {"bright_ti5": "290.1"}


def test_parse_reads_header_case_insensitively_with_bom_and_crlf() -> None:
    body = (
        b"\xef\xbb\xbf"
        + MODIS_HEADER.upper().encode()
        + b"\r\n-8.98654,-42.46322,311.91,2.05,1.39,2023-08-01,0035,T,84,6.1NRT,"
        b"293.89,27.87,N\r\n"
    )

    event = _one(body).event

    assert event.subject == "MODIS/T/2023-08-01T00:35Z/-8.98654/-42.46322"
    assert event.data["extra"] == {}


def test_parse_yields_no_rows_when_payload_is_header_only() -> None:
    assert list(firms.parse(_body(VIIRS_HEADER))) == []


def test_parse_skips_blank_lines() -> None:
    body = _body(VIIRS_HEADER, "", AREA_API_LINE.replace(",VIIRS,", ","), "")

    assert len(list(firms.parse(body))) == 1


def test_native_id_writes_coordinates_in_shortest_form() -> None:
    assert (
        firms.native_id("VIIRS", "N", "2022-09-04T00:24Z", 45.10, -3.0)
        == "VIIRS/N/2022-09-04T00:24Z/45.1/-3.0"
    )


_NID = r" \(record MODIS/T/2023-08-01T00:35Z/-8\.98654/-42\.46322\)$"


@pytest.mark.parametrize(
    ("edit", "message", "has_id"),
    [
        (edit(latitude=""), r"^row has no latitude$", False),
        (edit(longitude=DELETE), r"^row has no longitude$", False),
        (edit(latitude="95"), r"^latitude '95' is not within -90..90$", False),
        (edit(longitude="-180.5"), r"^longitude '-180.5' is not within", False),
        (edit(latitude="nan"), r"^latitude 'nan' is not a finite number$", False),
        (edit(longitude="east"), r"^longitude 'east' is not a number$", False),
        (edit(latitude=-8.98654), r"^latitude -8.98654 is not the text of", False),
        (edit(satellite=""), r"^row has no satellite$", False),
        (edit(satellite="T/A"), r"^satellite 'T/A' is not a FIRMS satellite", False),
        (edit(acq_date="2023/08/01"), r"^acq_date '2023/08/01' is not a YYYY", False),
        (
            edit(acq_date="2023-02-30"),
            r"^acq_date/acq_time '2023-02-30 0035' is not a valid UTC date",
            False,
        ),
        (
            edit(acq_time="2400"),
            r"^acq_date/acq_time '2023-08-01 2400' is not a valid UTC date",
            False,
        ),
        (edit(acq_time="00:35"), r"^acq_time '00:35' is not an HHMM time$", False),
        (edit(acq_time="03500"), r"^acq_time '03500' is not an HHMM time$", False),
        (edit(brightness="-5"), r"^brightness '-5' is not at least 0" + _NID, True),
        (edit(frp="inf"), r"^frp 'inf' is not a finite number" + _NID, True),
        (
            edit(scan="x" * 100_000),
            r"^scan 'xxxxxxxxxxx.+\.\.\. is not a number",
            True,
        ),
        (
            edit(confidence="101"),
            r"^confidence '101' is not 0-100 or low/nominal/high",
            True,
        ),
        (edit(confidence="medium"), r"^confidence 'medium' is not 0-100", True),
        (edit(daynight="X"), r"^daynight 'X' is not D or N" + _NID, True),
        (edit(type="7"), r"^type '7' is not 0 or 1 or 2 or 3" + _NID, True),
        (edit(version="6" * 40), r"^version '6+\.\.\. is not a version of at", True),
        (
            edit(instrument="VIIRS"),
            r"^instrument 'VIIRS' is not MODIS, as its columns" + _NID,
            True,
        ),
        (edit(brightness=DELETE), r"^row has neither a MODIS brightness nor", False),
        (edit(bright_ti4="301.2"), r"^row has both the MODIS and the VIIRS", False),
        (edit(frp=27.87), r"^frp 27.87 is not the text of a CSV cell" + _NID, True),
        (edit(extra_column=3), r"^extra_column 3 is not the text of a CSV", True),
    ],
    ids=[
        "no-latitude",
        "no-longitude-column",
        "latitude-95",
        "longitude-out-of-range",
        "latitude-nan",
        "longitude-word",
        "latitude-not-text",
        "no-satellite",
        "satellite-with-slash",
        "date-slashes",
        "date-not-in-calendar",
        "time-2400",
        "time-with-colon",
        "time-five-digits",
        "negative-brightness",
        "infinite-frp",
        "huge-scan",
        "confidence-101",
        "confidence-medium",
        "daynight-unknown",
        "type-unknown",
        "version-too-long",
        "instrument-contradicts-columns",
        "no-brightness-column",
        "both-column-sets",
        "cell-not-text",
        "extra-not-text",
    ],
)
def test_normalize_raises_record_error_when_row_is_broken(
    modis_row: RowLookup,
    edit: Callable[[dict[str, Any]], None],
    message: str,
    has_id: bool,
) -> None:
    row: dict[str, Any] = modis_row(2)
    edit(row)

    with pytest.raises(RecordError, match=message) as caught:
        firms.normalize(row)

    expected = "MODIS/T/2023-08-01T00:35Z/-8.98654/-42.46322" if has_id else None
    assert caught.value.native_id == expected


@pytest.mark.parametrize(
    "record", [["-8.98654", "-42.46322"], "a,b,c", None], ids=["list", "text", "none"]
)
def test_normalize_raises_record_error_when_record_is_not_a_row(record: Any) -> None:
    with pytest.raises(RecordError, match=r"^record is not a CSV row$"):
        firms.normalize(record)


def test_normalize_rejects_line_with_wrong_cell_count_and_keeps_the_rest() -> None:
    short = "46.06979,13.63111,297.87,0.58,0.52,2022-09-04,0024,N,nominal,2.0NRT,283.65"
    good = GOOD_LINE
    rows = list(firms.parse(_body(VIIRS_HEADER, short, good, good + ",extra")))

    with pytest.raises(RecordError, match=r"^line 2 has 11 cells, the header has 13$"):
        firms.normalize(rows[0])
    with pytest.raises(RecordError, match=r"^line 4 has 14 cells, the header has 13$"):
        firms.normalize(rows[2])
    assert firms.normalize(rows[1]).event.data["frp_mw"] == 1.58
    assert [firms.record_id(r) for r in rows] == [
        "line 2",
        "VIIRS/N/2022-09-04T00:24Z/45.46414/10.45491",
        "line 4",
    ]


def test_normalize_rejects_line_over_csv_field_limit_and_keeps_the_rest() -> None:
    good = GOOD_LINE
    rows = list(firms.parse(_body(VIIRS_HEADER, "x" * 200_000 + good, good)))

    with pytest.raises(RecordError, match=r"^line 2: field larger than field limit"):
        firms.normalize(rows[0])
    assert firms.normalize(rows[1]).event.subject.endswith("/45.46414/10.45491")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"latitude": "1"}, None),
        ({"brightness": "300"}, None),
        (None, None),
        ("a,b", None),
    ],
    ids=["no-column-set", "no-id-columns", "none", "text"],
)
def test_record_id_is_none_when_row_has_no_readable_id(
    row: Any, expected: str | None
) -> None:
    assert firms.record_id(row) == expected


def test_record_id_names_native_id_of_readable_row(modis_row: RowLookup) -> None:
    row = modis_row(2)
    row["frp"] = "broken"

    assert firms.record_id(row) == "MODIS/T/2023-08-01T00:35Z/-8.98654/-42.46322"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", r"^firms payload is empty, with no header line$"),
        (b"\n\n", r"^firms payload is empty, with no header line$"),
        (b"\x1f\x8b\x08\x00", r"^firms payload is not UTF-8 text \(byte 1\)$"),
        (
            b"Invalid MAP_KEY.",
            r"^firms payload header has no latitude, longitude, acq_date, acq_time, "
            r"satellite column: 'invalid map_key\.'$",
        ),
        (
            b'{"type": "FeatureCollection", "features": []}',
            r"^firms payload header has no latitude, longitude, acq_date",
        ),
        (b"<!DOCTYPE html>\n<html>", r"^firms payload header has no latitude"),
        (
            b"latitude,longitude,acq_date,acq_time,satellite,frp\n",
            r"^firms payload header has neither the MODIS brightness nor the VIIRS "
            r"bright_ti4 column$",
        ),
        (
            (VIIRS_HEADER + ",brightness\n").encode(),
            r"^firms payload header has both the MODIS brightness and the VIIRS "
            r"bright_ti4 column$",
        ),
        (
            (VIIRS_HEADER + ",FRP\n").encode(),
            r"^firms payload header repeats column 'frp'$",
        ),
        (
            (VIIRS_HEADER + ",\n").encode(),
            r"^firms payload header column 14 has no name: 'latitude,longitude,",
        ),
    ],
    ids=[
        "empty",
        "blank",
        "gzip",
        "area-api-error",
        "json",
        "html",
        "no-brightness",
        "both-column-sets",
        "repeated-column",
        "unnamed-column",
    ],
)
def test_parse_raises_feed_format_error_when_payload_is_not_firms_csv(
    body: bytes, message: str
) -> None:
    with pytest.raises(FeedFormatError, match=message):
        firms.parse(body)

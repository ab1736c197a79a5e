"""NASA FIRMS active-fire CSV: the MODIS and VIIRS hotspot files and the area API.

FIRMS (Fire Information for Resource Management System) writes one line per fire
pixel.  Two column sets exist, told apart by the header:

- MODIS (Aqua, Terra): ``brightness`` and ``bright_t31``, a numeric ``confidence``
  from 0 to 100;
- VIIRS (Suomi NPP, NOAA-20, NOAA-21): ``bright_ti4`` and ``bright_ti5``, a
  ``confidence`` written as a word (``low``, ``nominal``, ``high``) or, in the area
  API, as a letter (``l``, ``n``, ``h``).

Both share ``latitude``, ``longitude``, ``scan``, ``track``, ``acq_date``,
``acq_time``, ``satellite``, ``version``, ``frp`` and ``daynight``.  The area API
adds ``instrument``; archive and country files add ``type``.  Any other column is
kept in ``data.extra``.

One row becomes one ``central.fire.hotspot`` event:

- ``source`` is :data:`SOURCE` whichever FIRMS file or query the feed polls;
- ``subject`` is the native id built by :func:`native_id` from the instrument, the
  satellite code, the acquisition time and the pixel centre, since FIRMS rows have
  no id of their own;
- ``id`` is built from ``firms``, that native id and a content hash of the row
  (every column name and cell text, in name order): FIRMS never revises a row in
  place, so the hash is the revision, and a row that comes back changed (a
  reprocessed ``version``, a corrected FRP) is a new event with the same subject;
- ``time`` is ``acq_date`` plus ``acq_time`` (UTC), the satellite overpass.

Upstream quirks handled: ``acq_time`` is ``HHMM`` zero-padded in the files
(``0024``) and unpadded in the area API (``41`` for 00:41); the confidence comes in
both forms; header names are read case-insensitively; a UTF-8 byte-order mark is
ignored.  The area API answers a bad key or query with HTTP 200 and a line of text
(``Invalid MAP_KEY.``), which fails the header check as a payload of another kind.

Note: the revision hashes the cells as written, so one detection read from two
endpoints that write it differently (``n`` and ``41`` in the area API for
``nominal`` and ``0041`` in the files) is two revisions of one subject.  The
normalizer builds ``data`` itself rather than validating it through
:class:`~central_adapter_fire.models.Hotspot` again, since every cell has already
been checked on the way in and a global file holds over 100,000 rows per poll; the
tests hold every event of the recorded files, and every mangled row that is
accepted, to the model.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

import orjson

from central.errors import FeedFormatError, RecordError
from central.events import CloudEvent
from central.feeds import Normalized, normalized
from central.ids import content_revision, event_id
from central_adapter_fire._common import (
    MalformedRow,
    Row,
    bad,
    cell,
    number,
    open_csv,
    quote,
    required,
)
from central_adapter_fire.models import DOMAIN, HOTSPOT, Instrument, event_type

PROVIDER: Final = "firms"
SOURCE: Final = "https://firms.modaps.eosdis.nasa.gov/data/active_fire"
TYPE: Final = event_type(HOTSPOT)


#: Columns every FIRMS payload has; the native id is built from them.
ID_COLUMNS: Final = ("latitude", "longitude", "acq_date", "acq_time", "satellite")
#: Columns both instruments share beyond those, where the file has them.
SHARED_COLUMNS: Final = frozenset(
    {
        *ID_COLUMNS,
        *("scan", "track", "instrument", "confidence", "version", "frp", "daynight"),
        "type",
    }
)


@dataclass(frozen=True)
class ColumnSet:
    """What tells one instrument's rows apart: its two brightness columns.

    ``known`` is every column this adapter reads from such a row; any other column
    of the row (the other instrument's ``tir`` column included) goes to
    ``data.extra``.
    """

    instrument: Instrument
    mir: str
    tir: str

    @property
    def known(self) -> frozenset[str]:
        return SHARED_COLUMNS | {self.mir, self.tir}


MODIS: Final = ColumnSet("MODIS", "brightness", "bright_t31")
VIIRS: Final = ColumnSet("VIIRS", "bright_ti4", "bright_ti5")
COLUMN_SETS: Final = (MODIS, VIIRS)
_KNOWN: Final = {s.instrument: s.known for s in COLUMN_SETS}

# Satellite codes of the FIRMS files and the area API.  NOAA-20 is "1" in older
# files and "N20" in newer ones.
_PLATFORMS: Final[dict[tuple[str, str], str]] = {
    ("MODIS", "A"): "Aqua",
    ("MODIS", "T"): "Terra",
    ("VIIRS", "N"): "Suomi NPP",
    ("VIIRS", "1"): "NOAA-20",
    ("VIIRS", "N20"): "NOAA-20",
    ("VIIRS", "N21"): "NOAA-21",
}
_SATELLITE = re.compile(r"[A-Za-z0-9_-]{1,16}", re.ASCII)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_HHMM = re.compile(r"\d{1,4}", re.ASCII)
_DAYNIGHT: Final = {"D": "day", "N": "night"}
_DETECTION_TYPES: Final = {"0": 0, "1": 1, "2": 2, "3": 3}
_VERSION_CHARS = 32


def _confidence_class(percent: int) -> str:
    # FIRMS's classes for the MODIS percentage: low 0-29, nominal 30-79, high 80-100.
    if percent < 30:
        return "low"
    return "nominal" if percent < 80 else "high"


# Every value the confidence column takes in practice, read once instead of per row.
_CONFIDENCE: Final[dict[str, tuple[str, int | None]]] = {
    "l": ("low", None),
    "low": ("low", None),
    "n": ("nominal", None),
    "nominal": ("nominal", None),
    "h": ("high", None),
    "high": ("high", None),
    **{str(p): (_confidence_class(p), p) for p in range(101)},
}


def parse(body: bytes) -> Iterator[Row | MalformedRow]:
    """The rows of a FIRMS CSV payload, one at a time.

    The header is checked before any row is read: it must name every column of
    :data:`ID_COLUMNS` and exactly one of the MODIS ``brightness`` and VIIRS
    ``bright_ti4`` columns, or :class:`~central.errors.FeedFormatError` is raised
    with a one-line message.  A header with no rows is a valid payload (no fire in
    the area queried).  Each row is a dict from lower-cased column name to cell
    text; a line with the wrong number of cells comes out as a
    :class:`~central_adapter_fire._common.MalformedRow`, which :func:`normalize`
    rejects.
    """
    header, rows = open_csv(body, PROVIDER)
    missing = [name for name in ID_COLUMNS if name not in header]
    if missing:
        raise FeedFormatError(
            f"{PROVIDER} payload header has no {', '.join(missing)} column: "
            f"{quote(','.join(header))}"
        )
    sets = [s for s in COLUMN_SETS if s.mir in header]
    if not sets:
        raise FeedFormatError(
            f"{PROVIDER} payload header has neither the MODIS brightness nor the "
            "VIIRS bright_ti4 column"
        )
    if len(sets) > 1:
        raise FeedFormatError(
            f"{PROVIDER} payload header has both the MODIS brightness and the "
            "VIIRS bright_ti4 column"
        )
    return rows


def record_id(row: Any) -> str | None:
    """The row's native id, ``line N`` for a malformed line, None if unreadable."""
    if isinstance(row, MalformedRow):
        return f"line {row.line}"
    if not isinstance(row, dict):
        return None
    try:
        return _identity(row, _column_set(row)).native_id
    except RecordError:
        return None


def native_id(
    instrument: str, satellite: str, stamp: str, lat: float, lon: float
) -> str:
    """The subject of a hotspot: ``MODIS/T/2023-08-01T00:35Z/-8.98654/-42.46322``.

    ``stamp`` is the acquisition time to the minute; latitude and longitude are
    written in Python's shortest round-trip form, so ``45.10`` and ``45.1`` name the
    same pixel.

    Note: the satellite code is kept as given, so NOAA-20, written ``1`` in older
    files and ``N20`` in newer ones, gives one detection two subjects across them.
    """
    return f"{instrument}/{satellite}/{stamp}/{lat!r}/{lon!r}"


def normalize(row: Any) -> Normalized:
    """One FIRMS row as a ``central.fire.hotspot`` event.

    Raises :class:`~central.errors.RecordError` (with ``native_id`` once the id
    columns are read) for a malformed line, a row with neither column set, a
    missing or unreadable latitude, longitude, acquisition date, time or satellite
    code, a coordinate out of range, a brightness, pixel size or FRP that is not a
    non-negative finite number, a confidence that is neither 0-100 nor a known word
    or letter, an unknown ``daynight`` or ``type`` code, or an ``instrument`` cell
    that contradicts the column set.
    """
    if isinstance(row, MalformedRow):
        raise RecordError(row.reason)
    if not isinstance(row, dict):
        raise RecordError("record is not a CSV row")
    columns = _column_set(row)
    nid, when, lon, lat, satellite = _identity(row, columns)

    instrument = cell(row, "instrument", nid)
    if instrument is not None and instrument.upper() != columns.instrument:
        bad("instrument", instrument, f"{columns.instrument}, as its columns", nid)
    confidence, percent = _confidence(row, nid)
    geometry = {"type": "Point", "coordinates": [lon, lat]}
    data = {
        "instrument": columns.instrument,
        "satellite": satellite,
        "platform": _PLATFORMS.get((columns.instrument, satellite)),
        "confidence": confidence,
        "confidence_percent": percent,
        "brightness_mir_k": number(row, columns.mir, nid, low=0.0),
        "brightness_tir_k": number(row, columns.tir, nid, low=0.0),
        "frp_mw": number(row, "frp", nid, low=0.0),
        "scan_km": number(row, "scan", nid, low=0.0),
        "track_km": number(row, "track", nid, low=0.0),
        "daynight": _code(row, "daynight", _DAYNIGHT, nid),
        "version": _version(row, nid),
        "detection_type": _code(row, "type", _DETECTION_TYPES, nid),
        "geometry": geometry,
        "extra": _extra(row, _KNOWN[columns.instrument], nid),
    }

    event = CloudEvent(
        id=event_id(PROVIDER, nid, content_revision(_canonical(row))),
        source=SOURCE,
        type=TYPE,
        time=when,
        subject=nid,
        data=data,
    )
    return normalized(event, DOMAIN, HOTSPOT, PROVIDER, geometry)


def _column_set(row: Mapping[str, Any]) -> ColumnSet:
    modis, viirs = MODIS.mir in row, VIIRS.mir in row
    if modis != viirs:
        return MODIS if modis else VIIRS
    if modis:
        raise RecordError("row has both the MODIS and the VIIRS brightness columns")
    raise RecordError("row has neither a MODIS brightness nor a VIIRS bright_ti4")


class _Identity(NamedTuple):
    native_id: str
    time: datetime
    lon: float
    lat: float
    satellite: str


def _identity(row: Mapping[str, Any], columns: ColumnSet) -> _Identity:
    lat = number(row, "latitude", None, low=-90.0, high=90.0)
    lon = number(row, "longitude", None, low=-180.0, high=180.0)
    if lat is None:
        raise RecordError("row has no latitude")
    if lon is None:
        raise RecordError("row has no longitude")
    satellite = required(row, "satellite", None)
    if not _SATELLITE.fullmatch(satellite):
        bad("satellite", satellite, "a FIRMS satellite code", None)
    day = required(row, "acq_date", None)
    when, stamp = _acquired(day, required(row, "acq_time", None))
    nid = native_id(columns.instrument, satellite, stamp, lat, lon)
    return _Identity(nid, when, lon, lat, satellite)


@functools.lru_cache(maxsize=4096)
def _acquired(day: str, hhmm: str) -> tuple[datetime, str]:
    # A 24-hour file has a few hundred distinct overpass minutes over two dates, so
    # the cache turns the per-row date arithmetic into a lookup.  Failures are
    # raised, not cached.
    match = _DATE.fullmatch(day)
    if match is None:
        bad("acq_date", day, "a YYYY-MM-DD date", None)
    # "acq_time" is HHMM; the area API drops the leading zeros (41 is 00:41).
    if not _HHMM.fullmatch(hhmm):
        bad("acq_time", hhmm, "an HHMM time", None)
    hour, minute = divmod(int(hhmm), 100)
    year, month, date = (int(part) for part in match.groups())
    try:
        when = datetime(year, month, date, hour, minute, tzinfo=UTC)
    except ValueError:
        bad("acq_date/acq_time", f"{day} {hhmm}", "a valid UTC date and time", None)
    return when, f"{day}T{hour:02d}:{minute:02d}Z"


def _confidence(row: Mapping[str, Any], nid: str) -> tuple[str | None, int | None]:
    text = cell(row, "confidence", nid)
    if text is None:
        return None, None
    known = _CONFIDENCE.get(text.lower())
    if known is not None:
        return known
    # Rare spellings of a percentage ("084", "84.0") are read the slow way.
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if value.is_integer() and 0 <= value <= 100:
        return _CONFIDENCE[str(int(value))]
    bad("confidence", text, "0-100 or low/nominal/high (l/n/h)", nid)


def _code(row: Mapping[str, Any], key: str, codes: Mapping[str, Any], nid: str) -> Any:
    text = cell(row, key, nid)
    if text is None:
        return None
    value = codes.get(text.upper())
    if value is None:
        bad(key, text, " or ".join(codes), nid)
    return value


def _version(row: Mapping[str, Any], nid: str) -> str | None:
    text = cell(row, "version", nid)
    if text is not None and len(text) > _VERSION_CHARS:
        bad("version", text, f"a version of at most {_VERSION_CHARS} characters", nid)
    return text


def _extra(row: Mapping[str, Any], known: frozenset[str], nid: str) -> dict[str, str]:
    unknown = row.keys() - known
    if not unknown:  # the usual case, found without a loop in Python
        return {}
    extra: dict[str, str] = {}
    for key, value in row.items():  # row order, not set order: deterministic
        if key not in unknown:
            continue
        if not isinstance(key, str):
            raise RecordError(f"column name {quote(key)} is not text", nid)
        if not isinstance(value, str):
            bad(key, value, "the text of a CSV cell", nid)
        if not (key.isascii() and value.isascii()):
            try:
                key.encode()
                value.encode()
            except UnicodeEncodeError:
                bad(key, value, "encodable as UTF-8", nid)
        extra[key] = value
    return extra


def _canonical(row: Mapping[str, Any]) -> bytes:
    # The row as JSON with its keys sorted: every column name and cell text, in an
    # order that does not depend on the column order of the endpoint that served
    # the row.
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS)

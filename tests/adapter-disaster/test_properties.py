"""Mangled records beyond the contract's generic ones: each feed's own shapes.

GDACS writes every property as text and gathers an event from several features;
EONET's GeoJSON form is regathered from loose observations; OpenFEMA's codes are
digit strings.  Whatever these tests feed in, parsing a FeatureCollection never
raises and normalizing either accepts a valid event or raises RecordError.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central.errors import FeedFormatError, RecordError
from central.events import (
    encode_data,
    from_nats,
    from_structured,
    to_nats_headers,
    to_structured,
)
from central.feeds import Normalized
from central_adapter_disaster import eonet, fema, gdacs

SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# Text GDACS could plausibly send, and text it should never send.
GDACS_TEXT = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-0",
            "5.7",
            ".5",
            "1e3",
            "1e999",
            "NaN",
            "Infinity",
            "0x1F",
            "27 May 2026 14:51:04",
            "31 Feb 2026 00:00:00",
            "2026-05-27T14:51:04Z",
            "99999999999999999999",
            "x" * 100_000,
        ]
    ),
    st.text(max_size=30),
    st.from_regex(r"\A-?[0-9]{1,4}(\.[0-9]{1,6})?\Z"),
)
JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    GDACS_TEXT,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
GEOMETRIES = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["Point", "Polygon", "LineString", "Circle", 7]),
            "coordinates": st.one_of(
                JSON_VALUES, st.lists(st.lists(JSON_VALUES, max_size=3), max_size=3)
            ),
        }
    ),
)
COORDINATE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([180.0, -180.0, 90.0, -90.0, 180.0001, -90.0001, "12.5", None]),
)


def assert_valid(item: Normalized) -> None:
    """The event survives both wire forms unchanged."""
    event = item.event
    assert from_structured(to_structured(event)) == event
    assert from_nats(to_nats_headers(event), encode_data(event)) == event
    assert item.nats_subject.split(".")[:2] == ["central", "disaster"]


def normalize_or_reject(normalize: Any, record: Any) -> bool:
    """True when accepted (and valid), False when rejected with RecordError."""
    try:
        item = normalize(record)
    except RecordError:
        return False
    assert_valid(item)
    return True


def strict_json(document: Any, parse: Any, provider: str) -> bytes | None:
    """``document`` as JSON, or None after showing that its NaN sinks the payload."""
    try:
        return json.dumps(document, allow_nan=False).encode()
    except ValueError:
        with pytest.raises(FeedFormatError, match=rf"^{provider} payload is not JSON"):
            parse(json.dumps(document).encode())
        return None


def test_normalize_accepts_or_rejects_gdacs_features_of_any_value(
    gdacs_records: list[dict[str, Any]],
) -> None:
    samples = (
        gdacs_records[:2] + [r for r in gdacs_records if r["eventtype"] == "DR"][:1]
    )

    @SETTINGS
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        record = copy.deepcopy(data.draw(st.sampled_from(samples)))
        for _ in range(data.draw(st.integers(1, 4))):
            feature = data.draw(st.sampled_from(record["features"]))
            if data.draw(st.integers(0, 5)) == 0:
                feature["geometry"] = data.draw(GEOMETRIES)
                continue
            props = feature["properties"]
            key = data.draw(st.sampled_from([*sorted(props), "extra_field"]))
            if data.draw(st.booleans()) and key in props:
                del props[key]
            else:
                props[key] = data.draw(JSON_VALUES)

        normalize_or_reject(gdacs.normalize, record)

    check()


def test_parse_gathers_any_mix_of_gdacs_features_into_records(
    gdacs_body: bytes,
) -> None:
    pool = json.loads(gdacs_body)["features"][:8]
    garbage = st.sampled_from(
        [None, 7, "Feature", [], {}, {"type": "Feature"}, {"type": "Feature", "id": 3}]
    )
    # A feature of the pool with one of the members that place it changed.
    edited = st.tuples(
        st.integers(0, len(pool) - 1),
        st.sampled_from(["id", "link", "eventid", "episodeid", "eventtype", "x"]),
        st.one_of(JSON_VALUES, st.just("https://[gdacs.org/?eventid=1")),
    )

    @SETTINGS
    @given(picks=st.lists(st.one_of(edited, garbage), max_size=12))
    def check(picks: list[Any]) -> None:
        features = []
        for pick in picks:
            if not isinstance(pick, tuple):
                features.append(pick)
                continue
            index, key, value = pick
            feature = copy.deepcopy(pool[index])
            target = feature if key == "id" else feature["properties"]
            target[key] = value
            features.append(feature)
        document = {"type": "FeatureCollection", "features": features}
        body = strict_json(document, gdacs.parse, "gdacs")
        if body is None:
            return

        records = gdacs.parse(body)

        assert sum(len(r["features"]) for r in records) == len(features)
        for record in records:
            normalize_or_reject(gdacs.normalize, record)

    check()


def test_normalize_accepts_or_rejects_eonet_geojson_observations(
    eonet_events: list[dict[str, Any]],
) -> None:
    storm = next(e for e in eonet_events if e["id"] == "EONET_15859")
    head = {k: v for k, v in storm.items() if k != "geometry"}
    features = [
        {
            "type": "Feature",
            "properties": {**head, **{k: entry[k] for k in ("date", "magnitudeValue")}},
            "geometry": {"type": entry["type"], "coordinates": entry["coordinates"]},
        }
        for entry in storm["geometry"][:4]
    ]

    @SETTINGS
    @given(
        index=st.integers(0, 3),
        key=st.sampled_from(["date", "magnitudeValue", "magnitudeUnit", "closed"]),
        value=JSON_VALUES,
        lon=COORDINATE,
        lat=COORDINATE,
    )
    def check(index: int, key: str, value: Any, lon: Any, lat: Any) -> None:
        mangled = copy.deepcopy(features)
        mangled[index]["properties"][key] = value
        mangled[index]["geometry"]["coordinates"] = [lon, lat]
        document = {"type": "FeatureCollection", "features": mangled}
        body = strict_json(document, eonet.parse, "eonet")
        if body is None:
            return

        (record,) = eonet.parse(body)

        in_range = (
            isinstance(lon, float | int)
            and isinstance(lat, float | int)
            and -180 <= lon <= 180
            and -90 <= lat <= 90
        )
        if normalize_or_reject(eonet.normalize, record):
            assert in_range

    check()


def test_normalize_keeps_fema_code_only_when_digits_of_its_width(
    fema_rows: list[dict[str, Any]],
) -> None:
    row = fema_rows[0]
    widths = {"fipsStateCode": 2, "fipsCountyCode": 3}

    @SETTINGS
    @given(
        key=st.sampled_from(sorted(widths)),
        value=st.one_of(
            st.from_regex(r"\A[0-9]{1,4}\Z"),
            st.integers(min_value=-(2**70), max_value=2**70),
            st.text(max_size=4),
            st.floats(),
        ),
    )
    def check(key: str, value: Any) -> None:
        mangled = {**row, key: value}

        accepted = normalize_or_reject(fema.normalize, mangled)

        wanted = isinstance(value, str) and len(value) == widths[key]
        assert accepted == (wanted and value.isascii() and value.isdigit())
        if accepted:
            data = fema.normalize(mangled).event.data
            assert data["fips"] == mangled["fipsStateCode"] + mangled["fipsCountyCode"]

    check()


ISO_LIKE = st.from_regex(
    r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?\Z"
)
GDACS_DATE_LIKE = st.from_regex(
    r"\A[0-9]{1,2} [A-Za-z]{3} [0-9]{4}( [0-9]{1,2}:[0-9]{2}(:[0-9]{2})?)?\Z"
)


def test_normalize_accepts_or_rejects_any_date_time_text(
    fema_rows: list[dict[str, Any]], gdacs_records: list[dict[str, Any]]
) -> None:
    row = fema_rows[0]
    record = gdacs_records[0]

    @SETTINGS
    @given(iso=ISO_LIKE, gdacs_date=st.one_of(GDACS_DATE_LIKE, ISO_LIKE))
    def check(iso: str, gdacs_date: str) -> None:
        if normalize_or_reject(fema.normalize, {**row, "declarationDate": iso}):
            moment = fema.normalize({**row, "declarationDate": iso}).event.time
            assert moment.utcoffset() is not None
            assert moment.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        edited = copy.deepcopy(record)
        edited["features"][0]["properties"]["todate"] = gdacs_date
        normalize_or_reject(gdacs.normalize, edited)

    check()

"""Mangled records: accepted as valid events or rejected with RecordError, only.

The shared contract mangles records that are JSON objects; CAP records are XML
elements, so these tests mangle element trees (removed, repeated, re-texted and
added elements) and raw payload bytes, and give NWS features hostile geometries.
"""

from __future__ import annotations

import copy
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

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
from central_adapter_wx import cap, nws

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nws-alerts"
CAP_BODY = (FIXTURES / "nws_cap_atom_us_feed_2014-11-05.xml").read_bytes()
NWS_BODY = (FIXTURES / "nws_alerts_active_point_AZ_2024-07-18.json").read_bytes()

NAMESPACES = [
    "urn:oasis:names:tc:emergency:cap:1.1",
    "urn:oasis:names:tc:emergency:cap:1.2",
    "http://www.w3.org/2005/Atom",
    "urn:test:other",
]
CAP_NAMES = [
    "alert",
    "info",
    "area",
    "identifier",
    "sender",
    "sent",
    "references",
    "code",
    "category",
    "effective",
    "expires",
    "polygon",
    "circle",
    "geocode",
    "parameter",
    "eventCode",
    "valueName",
    "value",
    "areaDesc",
    "id",
    "updated",
    "published",
    "link",
]
EMBEDDED_FEED = b"""<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:test:feed</id>
<entry><id>urn:test:entry:1</id><updated>2024-03-01T06:00:00+00:00</updated>
<content type="text/xml"><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
<identifier>T-1</identifier><sender>s@example</sender>
<sent>2024-03-01T07:00:00+01:00</sent><status>Actual</status><msgType>Alert</msgType>
<references>s@example,T-0,2024-02-29T22:00:00-00:00</references>
<info><event>Wind</event><parameter><valueName>VTEC</valueName><value>/a/ /b/</value>
</parameter><area><areaDesc>North</areaDesc>
<polygon>45.0,10.0 45.0,11.0 46.0,11.0 45.0,10.0</polygon>
<geocode><valueName>NUTS3</valueName><value>XX011</value></geocode></area></info>
<info><language>es</language></info></alert></content></entry></feed>"""

SAMPLES = [*cap.parse(CAP_BODY)[:3], cap.parse(CAP_BODY)[30], *cap.parse(EMBEDDED_FEED)]


def _coordinate_text() -> st.SearchStrategy[str]:
    """CAP polygon text: lat,lon pairs, often closed, sometimes out of range."""
    number = st.one_of(
        st.floats(-200, 200, allow_nan=False),
        st.floats(allow_nan=True, allow_infinity=True),
    )
    pairs = st.lists(st.tuples(number, number), min_size=1, max_size=6)
    return pairs.map(lambda ps: " ".join(f"{lat},{lon}" for lat, lon in [*ps, ps[0]]))


TEXTS = st.one_of(
    st.text(max_size=40),
    st.just("x" * 100_000),
    st.just(""),
    st.just("NaN"),
    st.just("2014-11-05T05:25:00-09:00"),
    st.just("2014-13-05T05:25:00-09:00"),
    st.just("9999-12-31T23:59:59-23:59"),
    st.just("0001-01-01T00:00:00+23:59"),
    st.just("a,b,2014-11-05T05:25:00-09:00 c"),
    _coordinate_text(),
)


def _mangle(entry: ET.Element, data: st.DataObject) -> None:
    """Apply one random change to the tree under ``entry`` in place."""
    elements = list(entry.iter())
    parents = {child: parent for parent in elements for child in parent}
    target = data.draw(st.sampled_from(elements))
    action = data.draw(st.sampled_from(["remove", "retext", "add", "repeat", "attr"]))
    if action == "remove" and target in parents:
        parents[target].remove(target)
    elif action == "retext":
        target.text = data.draw(TEXTS)
    elif action == "add":
        ns = data.draw(st.sampled_from(NAMESPACES))
        name = data.draw(st.sampled_from(CAP_NAMES))
        ET.SubElement(target, f"{{{ns}}}{name}").text = data.draw(TEXTS)
    elif action == "repeat" and target in parents:
        parents[target].append(copy.deepcopy(target))
    else:
        target.set(
            data.draw(st.sampled_from(["rel", "href", "term"])), data.draw(TEXTS)
        )


def _check_event(record: Any, result: Any) -> None:
    event = result.event
    assert from_structured(to_structured(event)) == event
    assert from_nats(to_nats_headers(event), encode_data(event)) == event
    json.dumps(event.data, allow_nan=False)
    geometry = event.data["geometry"]
    if geometry is not None:
        polygons = geometry["coordinates"]
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        for polygon in polygons:
            for ring in polygon:
                for lon, lat in ring:
                    assert math.isfinite(lon) and -180 <= lon <= 180
                    assert math.isfinite(lat) and -90 <= lat <= 90


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_normalize_accepts_or_rejects_mangled_cap_entry_never_raises_else(
    data: st.DataObject,
) -> None:
    sample = data.draw(st.sampled_from(SAMPLES))
    record = cap.CapEntry(copy.deepcopy(sample.entry), sample.source)
    for _ in range(data.draw(st.integers(1, 4))):
        _mangle(record.entry, data)

    try:
        result = cap.normalize(record)
    except RecordError:
        return
    _check_event(record, result)
    assert result.event.subject == cap.record_id(record)


@settings(max_examples=200, deadline=None)
@given(
    cut=st.integers(0, len(CAP_BODY)),
    noise=st.binary(max_size=64),
    keep_rest=st.booleans(),
)
def test_parse_raises_only_feed_format_error_on_cut_or_noisy_cap_payload(
    cut: int, noise: bytes, keep_rest: bool
) -> None:
    """A payload cut short, or with bytes spliced in, parses or is refused cleanly."""
    body = CAP_BODY[:cut] + noise + (CAP_BODY[cut:] if keep_rest else b"")

    try:
        records = cap.parse(body)
    except FeedFormatError:
        return
    for record in records:
        try:
            _check_event(record, cap.normalize(record))
        except RecordError:
            continue


_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-200, 200),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
)
_POSITIONS = st.lists(_NUMBERS, min_size=0, max_size=4)
_GOOD_POSITIONS = st.tuples(st.floats(-180, 180), st.floats(-90, 90)).map(list)
_RINGS = st.one_of(
    st.lists(_GOOD_POSITIONS, min_size=3, max_size=6),
    st.lists(_POSITIONS, max_size=6),
).map(lambda ring: [*ring, ring[0]] if ring else ring)
_GEOMETRIES = st.one_of(
    st.builds(
        lambda rings: {"type": "Polygon", "coordinates": rings},
        st.lists(_RINGS, max_size=3),
    ),
    st.builds(
        lambda polygons: {"type": "MultiPolygon", "coordinates": polygons},
        st.lists(st.lists(_RINGS, max_size=2), max_size=3),
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["Point", "GeometryCollection", "Polygon", ""])},
        optional={"coordinates": st.recursive(_NUMBERS, st.lists, max_leaves=6)},
    ),
    _NUMBERS,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(geometry=_GEOMETRIES, index=st.integers(0, 1))
def test_normalize_accepts_or_rejects_hostile_nws_geometry_never_raises_else(
    geometry: Any, index: int
) -> None:
    feature = copy.deepcopy(nws.parse(NWS_BODY)[index])
    feature["geometry"] = geometry

    try:
        result = nws.normalize(feature)
    except RecordError:
        return
    _check_event(feature, result)
    assert result.event.data["geometry"] is not None or geometry is None


@settings(max_examples=200, deadline=None)
@given(
    key=st.sampled_from(["sent", "effective", "onset", "expires", "ends"]),
    value=TEXTS,
)
def test_normalize_accepts_or_rejects_nws_time_text_never_raises_else(
    key: str, value: str
) -> None:
    feature = copy.deepcopy(nws.parse(NWS_BODY)[0])
    feature["properties"][key] = value

    try:
        result = nws.normalize(feature)
    except RecordError:
        return
    _check_event(feature, result)
    assert result.event.time.utcoffset() is not None

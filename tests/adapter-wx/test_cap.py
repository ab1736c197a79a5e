from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from central.errors import FeedFormatError, RecordError
from central.ids import event_id
from central_adapter_wx import cap

EntryLookup = Callable[[str], cap.CapEntry]
FeedBuilder = Callable[..., bytes]

ATOM = "{http://www.w3.org/2005/Atom}"
CAP11 = "{urn:oasis:names:tc:emergency:cap:1.1}"
FEED_ID = "http://alerts.weather.gov/cap/us.atom"
ENTRY = "http://alerts.weather.gov/cap/wwacapget.php?x="
HIGH_WIND = (
    ENTRY + "AK1251776ADAE4.HighWindWarning.125177795010AK.AJKNPWAJK."
    "0b2fbe9c62ef103901a2841f43c56168"
)
FLOOD_WARNING = (
    ENTRY + "TX1251776ADD3C.FloodWarning.1251777B0D60TX.EWXFLWEWX."
    "4a8765ae1fff40e5e6ef663bbcb8ed7f"
)
FLASH_FLOOD_WATCH = (
    ENTRY + "PR1251776B05DC.FlashFloodWatch.1251776C09A0PR.JSJFFASJU."
    "87e206f75fb9a76ed6d6afa35fd23bd7"
)
SPECIAL_STATEMENT = (
    ENTRY + "WI1251776B2198.SpecialWeatherStatement.1251776BE290WI.GRBSPSGRB."
    "7b03dc5bb42c73529d14900d2b101631"
)

# A whole CAP 1.2 alert embedded in an entry, as publishers other than NWS send it:
# two areas with a polygon each, a circle, a second info block in Spanish.
EMBEDDED = """
<entry>
  <id>urn:test:entry:wind-1</id>
  <updated>2024-03-01T06:00:00+00:00</updated>
  <title>Wind warning for the coast</title>
  <category term="met"/>
  <content type="text/xml">
    <alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
      <identifier>TEST-2024-0042</identifier>
      <sender>warnings@met.example</sender>
      <sent>2024-03-01T07:00:00+01:00</sent>
      <status>Actual</status>
      <msgType>Update</msgType>
      <scope>Public</scope>
      <code>IPAWSv1.0</code>
      <note>second issue</note>
      <references>warnings@met.example,TEST-2024-0041,2024-02-29T22:00:00-00:00</references>
      <info>
        <language>en</language>
        <category>Met</category>
        <category>Safety</category>
        <event>Wind</event>
        <responseType>Prepare</responseType>
        <urgency>Expected</urgency>
        <severity>Moderate</severity>
        <certainty>Likely</certainty>
        <eventCode><valueName>WMO</valueName><value>wind</value></eventCode>
        <onset>2024-03-01T12:00:00+01:00</onset>
        <expires>2024-03-02T00:00:00+01:00</expires>
        <senderName>Example Met Service</senderName>
        <description>Gusts to 90 km/h.</description>
        <parameter>
          <valueName>awareness_level</valueName><value>2; yellow</value>
        </parameter>
        <area>
          <areaDesc>North coast</areaDesc>
          <polygon>45.0,10.0 45.0,11.0 46.0,11.0 45.0,10.0</polygon>
          <geocode><valueName>NUTS3</valueName><value>XX011</value></geocode>
          <circle>45.5,10.5 20</circle>
        </area>
        <area>
          <areaDesc>South coast</areaDesc>
          <polygon>44.0,10.0 44.0,11.0 44.5,11.0 44.0,10.0</polygon>
          <geocode><valueName>NUTS3</valueName><value>XX012</value></geocode>
        </area>
      </info>
      <info><language>es</language><event>Viento</event></info>
    </alert>
  </content>
</entry>
"""


def _child(record: cap.CapEntry, tag: str) -> ET.Element:
    found = record.entry.find(tag)
    if found is None:
        raise LookupError(f"the entry has no {tag}")
    return found


def _normalize_all(body: bytes) -> list[Any]:
    return [cap.normalize(record) for record in cap.parse(body)]


def test_normalize_accepts_every_entry_of_recorded_feed(cap_payload: bytes) -> None:
    """The NWS CAP 1.1 feed holds 39 entries; all 39 are accepted, none rejected."""
    results = _normalize_all(cap_payload)

    assert len(results) == 39
    assert len({r.event.id for r in results}) == 39
    assert all(r.event.subject.startswith(ENTRY) for r in results)
    assert {r.event.source for r in results} == {FEED_ID}
    assert {r.event.type for r in results} == {"central.wx.alert"}


def test_normalize_maps_fields_of_index_entry(cap_entry: EntryLookup) -> None:
    result = cap.normalize(cap_entry(HIGH_WIND))

    event = result.event
    assert event.subject == HIGH_WIND
    assert event.id == event_id("cap", HIGH_WIND, "2014-11-05T05:25:00-09:00")
    assert event.time == datetime(2014, 11, 5, 14, 25, tzinfo=UTC)
    assert event.data == {
        "identifier": None,
        "url": HIGH_WIND,
        "sender": "w-nws.webmaster@noaa.gov",
        "sender_name": None,
        "sent": "2014-11-05T14:25:00Z",
        "updated": "2014-11-05T14:25:00Z",
        "effective": "2014-11-05T14:25:00Z",
        "onset": None,
        "expires": "2014-11-06T09:00:00Z",
        "ends": None,
        "status": "Actual",
        "message_type": "Alert",
        "scope": None,
        "codes": [],
        "language": None,
        "categories": ["Met"],
        "event": "High Wind Warning",
        "event_codes": {},
        "response_types": [],
        "urgency": "Expected",
        "severity": "Severe",
        "certainty": "Likely",
        "headline": "High Wind Warning issued November 05 at 5:25AM AKST until "
        "November 06 at 12:00AM AKST by NWS",
        "description": "...HIGH WIND WARNING REMAINS IN EFFECT FROM 3 PM THIS "
        "AFTERNOON TO MIDNIGHT AKST TONIGHT... * LOCATION...PORTIONS OF THE THE "
        "SOUTHERN PANHANDLE INCLUDING SOUTHERN BARANOF ISLAND...KUIU ISLAND..."
        "SOUTHERN KUPREANOF ISLAND...ETOLIN ISLAND AND ZAREMBO ISLAND. * WIND...25 "
        "TO 40 MPH WITH GUSTS TO AROUND 60 MPH. STRONGEST WINDS IN",
        "instruction": None,
        "web": None,
        "area_description": "Cape Decision to Salisbury Sound Coastal Area; Inner "
        "Channels from Kupreanof Island to Etolin Island",
        "geocodes": {
            "FIPS6": ["002105", "002195", "002198", "002220", "002275"],
            "UGC": ["AKZ023", "AKZ026"],
        },
        "affected_zones": [],
        "references": [],
        "parameters": {"VTEC": ["/X.CON.PAJK.HW.W.0011.141106T0000Z-141106T0900Z/"]},
        "geometry": None,
        "extra": {},
    }
    assert result.nats_subject == "central.wx.alert.cap.none"


def test_normalize_swaps_latitude_first_polygon_into_lon_lat(
    cap_entry: EntryLookup,
) -> None:
    result = cap.normalize(cap_entry(FLOOD_WARNING))

    assert result.event.data["geometry"] == {
        "type": "Polygon",
        "coordinates": [
            [
                [-101.76, 29.75],
                [-101.76, 29.82],
                [-101.46, 29.82],
                [-101.22, 29.62],
                [-101.28, 29.54],
                [-101.47, 29.73],
                [-101.76, 29.75],
            ]
        ],
    }
    assert result.nats_subject == "central.wx.alert.cap.9tr"


def test_normalize_reads_empty_polygon_as_no_geometry(cap_payload: bytes) -> None:
    results = _normalize_all(cap_payload)

    with_geometry = [r.event.subject for r in results if r.event.data["geometry"]]
    assert with_geometry == [FLOOD_WARNING]
    cells = Counter(r.nats_subject.rsplit(".", 1)[1] for r in results)
    assert cells == {"none": 38, "9tr": 1}


FIPS_COUNTIES = ["073", "078", "083", "087", "097", "115", "135", "137", "139", "141"]
UGC_ZONES = ["020", "030", "031", "035", "036", "037", "038", "045", "048", "074"]


def test_normalize_splits_alternating_geocode_pairs_into_code_lists(
    cap_entry: EntryLookup,
) -> None:
    geocodes = cap.normalize(cap_entry(SPECIAL_STATEMENT)).event.data["geocodes"]

    assert geocodes == {
        "FIPS6": [f"055{county}" for county in FIPS_COUNTIES],
        "UGC": [f"WIZ{zone}" for zone in UGC_ZONES],
    }


def test_normalize_splits_vtec_value_spanning_two_lines(
    cap_entry: EntryLookup,
) -> None:
    parameters = cap.normalize(cap_entry(FLASH_FLOOD_WATCH)).event.data["parameters"]

    assert parameters == {
        "VTEC": [
            "/O.CON.TJSJ.FF.A.0005.000000T0000Z-141105T2200Z/",
            "/00000.0.ER.000000T0000Z.000000T0000Z.000000T0000Z.OO/",
        ]
    }


def test_normalize_reads_empty_vtec_value_as_no_code(cap_payload: bytes) -> None:
    results = _normalize_all(cap_payload)

    empty = [r for r in results if r.event.data["parameters"] == {"VTEC": []}]
    assert len(empty) == 9
    assert {r.event.data["event"] for r in empty} == {
        "Special Weather Statement",
        "Air Quality Alert",
    }


def test_parse_reads_xml_declaration_with_spaces(cap_payload: bytes) -> None:
    assert cap_payload.startswith(b"<?xml version = '1.0' encoding = 'UTF-8'")

    records = cap.parse(cap_payload)

    assert len(records) == 39
    assert {r.source for r in records} == {FEED_ID}


def test_normalize_gives_same_data_when_feed_is_cap_1_2(cap_payload: bytes) -> None:
    """The NWS index in the CAP 1.2 namespace (as the NWS API writes it) reads alike."""
    newer = cap_payload.replace(
        b"urn:oasis:names:tc:emergency:cap:1.1", b"urn:oasis:names:tc:emergency:cap:1.2"
    )

    old = [r.event for r in _normalize_all(cap_payload)]
    new = [r.event for r in _normalize_all(newer)]

    assert [e.data for e in new] == [e.data for e in old]
    assert [e.id for e in new] == [e.id for e in old]


def test_normalize_prefers_cap_sent_and_identifier_when_index_gives_them(
    cap_entry: EntryLookup,
) -> None:
    record = cap_entry(HIGH_WIND)
    for name, text in (
        ("sent", "2014-11-05T05:24:00-09:00"),
        ("identifier", "NOAA-NWS-ALERTS-AK1251776ADAE4"),
        ("headline", "HIGH WIND WARNING REMAINS IN EFFECT"),
    ):
        ET.SubElement(record.entry, CAP11 + name).text = text

    event = cap.normalize(record).event

    assert event.time == datetime(2014, 11, 5, 14, 24, tzinfo=UTC)
    assert event.data["sent"] == "2014-11-05T14:24:00Z"
    assert event.data["identifier"] == "NOAA-NWS-ALERTS-AK1251776ADAE4"
    assert event.data["headline"] == "HIGH WIND WARNING REMAINS IN EFFECT"


def test_normalize_keeps_references_when_index_entry_cancels(
    cap_entry: EntryLookup,
) -> None:
    record = cap_entry(HIGH_WIND)
    _child(record, CAP11 + "msgType").text = "Cancel"
    ET.SubElement(record.entry, CAP11 + "references").text = (
        "w-nws.webmaster@noaa.gov,NOAA-NWS-ALERTS-AK1,2014-11-04T05:25:00-09:00 "
        "w-nws.webmaster@noaa.gov,NOAA-NWS-ALERTS-AK2,2014-11-05T01:00:00-09:00"
    )

    data = cap.normalize(record).event.data

    assert data["message_type"] == "Cancel"
    assert data["references"] == [
        {
            "identifier": "NOAA-NWS-ALERTS-AK1",
            "sender": "w-nws.webmaster@noaa.gov",
            "sent": "2014-11-04T14:25:00Z",
            "url": None,
        },
        {
            "identifier": "NOAA-NWS-ALERTS-AK2",
            "sender": "w-nws.webmaster@noaa.gov",
            "sent": "2014-11-05T10:00:00Z",
            "url": None,
        },
    ]


def test_normalize_dates_by_updated_when_entry_has_no_sent_or_published(
    cap_entry: EntryLookup,
) -> None:
    record = cap_entry(HIGH_WIND)
    record.entry.remove(_child(record, ATOM + "published"))
    _child(record, ATOM + "updated").text = "2014-11-05T06:00:00-09:00"

    event = cap.normalize(record).event

    assert event.time == datetime(2014, 11, 5, 15, 0, tzinfo=UTC)
    assert event.data["sent"] is None


def test_normalize_gives_new_id_and_same_subject_when_entry_is_updated(
    cap_entry: EntryLookup,
) -> None:
    original = cap.normalize(cap_entry(HIGH_WIND)).event
    record = cap_entry(HIGH_WIND)
    _child(record, ATOM + "updated").text = "2014-11-05T07:00:00-09:00"

    revised = cap.normalize(record).event

    assert revised.subject == original.subject
    assert revised.id != original.id
    assert cap.normalize(cap_entry(HIGH_WIND)).event.id == original.id


def test_normalize_hashes_content_when_entry_has_no_updated(
    cap_entry: EntryLookup,
) -> None:
    def without_updated(severity: str) -> str:
        record = cap_entry(HIGH_WIND)
        record.entry.remove(_child(record, ATOM + "updated"))
        _child(record, CAP11 + "severity").text = severity
        return cap.normalize(record).event.id

    assert without_updated("Severe") == without_updated("Severe")
    assert without_updated("Severe") != without_updated("Extreme")


def test_normalize_maps_fields_of_embedded_cap_alert(feed_of: FeedBuilder) -> None:
    (record,) = cap.parse(feed_of([EMBEDDED], feed_id="urn:test:met-example"))

    result = cap.normalize(record)

    event = result.event
    assert (event.source, event.subject) == (
        "urn:test:met-example",
        "urn:test:entry:wind-1",
    )
    assert event.time == datetime(2024, 3, 1, 6, 0, tzinfo=UTC)
    data = event.data
    assert data["identifier"] == "TEST-2024-0042"
    assert (data["sender"], data["sender_name"]) == (
        "warnings@met.example",
        "Example Met Service",
    )
    assert (data["status"], data["message_type"], data["scope"]) == (
        "Actual",
        "Update",
        "Public",
    )
    assert data["codes"] == ["IPAWSv1.0"]
    assert data["categories"] == ["Met", "Safety"]
    assert data["response_types"] == ["Prepare"]
    assert data["event_codes"] == {"WMO": ["wind"]}
    assert (data["onset"], data["expires"]) == (
        "2024-03-01T11:00:00Z",
        "2024-03-01T23:00:00Z",
    )
    assert data["headline"] == "Wind warning for the coast"
    assert data["description"] == "Gusts to 90 km/h."
    assert data["area_description"] == "North coast; South coast"
    assert data["geocodes"] == {"NUTS3": ["XX011", "XX012"]}
    assert data["parameters"] == {"awareness_level": ["2; yellow"]}
    assert data["references"] == [
        {
            "identifier": "TEST-2024-0041",
            "sender": "warnings@met.example",
            "sent": "2024-02-29T22:00:00Z",
            "url": None,
        }
    ]
    assert data["geometry"] == {
        "type": "MultiPolygon",
        "coordinates": [
            [[[10.0, 45.0], [11.0, 45.0], [11.0, 46.0], [10.0, 45.0]]],
            [[[10.0, 44.0], [11.0, 44.0], [11.0, 44.5], [10.0, 44.0]]],
        ],
    }
    assert data["extra"] == {
        "atom:category": {"@term": "met"},
        "note": "second issue",
        "circle": "45.5,10.5 20",
        "info": [{"language": "es", "event": "Viento"}],
    }
    assert result.nats_subject.startswith("central.wx.alert.cap.")


def test_normalize_keeps_unknown_elements_in_extra(cap_entry: EntryLookup) -> None:
    record = cap_entry(HIGH_WIND)
    ET.SubElement(
        record.entry, "{http://www.alerting.net/namespace/index_1.0}zone"
    ).text = "AKZ023"
    ET.SubElement(record.entry, CAP11 + "audience").text = "mariners"
    ET.SubElement(record.entry, ATOM + "rights").text = "public domain"

    extra = cap.normalize(record).event.data["extra"]

    assert extra == {
        "{http://www.alerting.net/namespace/index_1.0}zone": "AKZ023",
        "audience": "mariners",
        "atom:rights": "public domain",
    }


def _set(tag: str, text: str | None) -> Callable[[cap.CapEntry], None]:
    def change(record: cap.CapEntry) -> None:
        found = record.entry.find(tag)
        if found is None:
            found = ET.SubElement(record.entry, tag)
        found.text = text

    return change


def _remove(tag: str) -> Callable[[cap.CapEntry], None]:
    def change(record: cap.CapEntry) -> None:
        for found in record.entry.findall(tag):
            record.entry.remove(found)

    return change


def _remove_all_cap(record: cap.CapEntry) -> None:
    for child in list(record.entry):
        if child.tag.startswith(CAP11):
            record.entry.remove(child)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_remove(ATOM + "id"), r"^entry has no id$"),
        (_remove_all_cap, r"^entry carries no CAP 1\.1 or 1\.2 element \(record http"),
        (
            _set(CAP11 + "polygon", "29.75,-101.76 29.82,-101.76 29.82"),
            r"polygon '29\.82' is not a lat,lon pair of numbers",
        ),
        (
            _set(
                CAP11 + "polygon",
                "29.75,-101.76 29.82,-101.76 29.82,-101.46 29.75,-101.7",
            ),
            r"polygon ring does not end where it starts",
        ),
        (
            _set(CAP11 + "polygon", "29.75,-101.76 29.82,-101.76 29.75,-101.76"),
            r"polygon 3 is not at least 4 positions in a ring",
        ),
        (
            _set(
                CAP11 + "polygon",
                "-101.76,29.75 -101.76,29.82 -101.46,29.82 -101.76,29.75",
            ),
            r"polygon -101\.76 is not a latitude in -90\.\.90",
        ),
        (
            _set(CAP11 + "polygon", "nan,1 2,3 4,5 nan,1"),
            r"polygon 'nan,1' is not a lat,lon pair of numbers",
        ),
        (
            _set(CAP11 + "expires", "2014-11-06T00:00:00"),
            r"expires '2014-11-06T00:00:00' is not a date-time with a zone",
        ),
        (
            _set(CAP11 + "references", "w-nws.webmaster@noaa.gov,ABC"),
            r"references 'w-nws\.webmaster@noaa\.gov,ABC' is not a "
            r"sender,identifier,sent triple",
        ),
        (
            _set(ATOM + "updated", "yesterday"),
            r"updated 'yesterday' is not a date-time with a zone",
        ),
    ],
    ids=[
        "no-id",
        "no-cap",
        "odd-pair",
        "open-ring",
        "short-ring",
        "lon-first",
        "nan",
        "expires-without-zone",
        "bad-references",
        "bad-updated",
    ],
)
def test_normalize_raises_record_error_when_entry_is_broken(
    cap_entry: EntryLookup, change: Callable[[cap.CapEntry], None], message: str
) -> None:
    record = cap_entry(FLOOD_WARNING)
    change(record)

    with pytest.raises(RecordError, match=message):
        cap.normalize(record)


def test_normalize_raises_record_error_when_value_has_no_name(
    cap_entry: EntryLookup,
) -> None:
    record = cap_entry(HIGH_WIND)
    geocode = _child(record, CAP11 + "geocode")
    geocode.remove(geocode[0])

    with pytest.raises(RecordError, match=r"geocode has a value before any valueName"):
        cap.normalize(record)


def test_normalize_raises_record_error_when_entry_has_no_time(
    cap_entry: EntryLookup,
) -> None:
    record = cap_entry(HIGH_WIND)
    for name in (ATOM + "published", ATOM + "updated", CAP11 + "effective"):
        _remove(name)(record)

    with pytest.raises(
        RecordError, match=r"entry has no sent, published, updated or effective time"
    ):
        cap.normalize(record)


@pytest.mark.parametrize("record", [None, {"id": "x"}, "<entry/>"], ids=repr)
def test_normalize_raises_record_error_when_record_is_not_entry(record: Any) -> None:
    with pytest.raises(RecordError, match=r"^record is not an ATOM entry$"):
        cap.normalize(record)


def test_parse_returns_no_entries_when_feed_is_empty(feed_of: FeedBuilder) -> None:
    assert cap.parse(feed_of([])) == []


def test_parse_names_source_by_self_link_when_feed_has_no_id() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" '
        b'xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">'
        b'<link rel="self" href="https://alerts.example/cap.atom"/>'
        b"<entry><id>e1</id><cap:event>Storm</cap:event></entry></feed>"
    )

    (record,) = cap.parse(body)

    assert record.source == "https://alerts.example/cap.atom"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", r"^cap payload is not XML: no element found \(line 1, column 0\)$"),
        (
            b'{"type": "FeatureCollection"}',
            r"^cap payload is not XML: not well-formed \(invalid token\) "
            r"\(line 1, column 0\)$",
        ),
        (
            b'<rss version="2.0"><channel/></rss>',
            r"^cap payload root element is <rss> in namespace None, "
            r"not an ATOM <feed>$",
        ),
        (
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>',
            r"^cap payload root element is <alert> in namespace "
            r"'urn:oasis:names:tc:emergency:cap:1\.2', not an ATOM <feed>$",
        ),
        (
            b'<feed xmlns="http://www.w3.org/2005/Atom"><id>usgs</id>'
            b"<entry><id>us7000lx8h</id><title>M 4.9</title></entry></feed>",
            r"^cap payload is an ATOM feed with no CAP alert in it$",
        ),
        (
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title></feed>',
            r"^cap payload is an ATOM feed with neither an id nor a self link$",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<feed xmlns="http://www.w3.org/2005/Atom"><id>&b;</id></feed>',
            r"^cap payload has a document type declaration, which is not accepted$",
        ),
        (
            b'<feed xmlns="http://www.w3.org/2005/Atom"><id>&ent;</id></feed>',
            r"^cap payload is not XML: undefined entity \(line 1, column 46\)$",
        ),
    ],
    ids=[
        "empty",
        "json",
        "rss",
        "bare-cap-alert",
        "atom-without-cap",
        "feed-without-id",
        "billion-laughs",
        "undefined-entity",
    ],
)
def test_parse_raises_feed_format_error_when_payload_is_wrong(
    body: bytes, message: str
) -> None:
    with pytest.raises(FeedFormatError, match=message):
        cap.parse(body)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("<entry><id> urn:x:1 </id></entry>", "urn:x:1"),
        ("<entry><id></id></entry>", None),
        ("<entry><title>no id</title></entry>", None),
    ],
    ids=["padded", "empty", "missing"],
)
def test_record_id_reads_entry_id_or_none(
    feed_of: FeedBuilder, entry: str, expected: str | None
) -> None:
    body = feed_of([entry.replace("</entry>", "<cap:event>x</cap:event></entry>")])

    (record,) = cap.parse(body)

    assert cap.record_id(record) == expected
    assert cap.record_id("not a record") is None

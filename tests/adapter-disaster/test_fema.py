from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from central.errors import FeedFormatError, RecordError
from central.feeds import Normalized
from central.ids import event_id
from central_adapter_disaster import fema
from recorded import DELETE, edit

Lookup = Callable[[str], dict[str, Any]]
HOOD = "867be42a-71d5-4f13-aa21-d91e0a6fd577"
PARK = "78d73b44-deab-4328-86c2-c1b4beb3e863"
NEZ_PERCE = "41c41e3e-528d-441a-a7f4-83c40aa7f8bb"
STATEWIDE = "0a47cc92-3705-4331-8c1a-da55a165c7fd"


def test_normalize_accepts_every_row_in_recorded_payload(
    fema_body: bytes, fema_results: list[Normalized]
) -> None:
    document = json.loads(fema_body)
    rows = document["DisasterDeclarationsSummaries"]

    # No inline count was asked for, so metadata says 0 for a page of 1000 rows.
    assert (document["metadata"]["count"], len(rows)) == (0, 1000)
    assert len(fema_results) == 1000
    assert [r.event.subject for r in fema_results] == [row["id"] for row in rows]
    assert len({r.event.id for r in fema_results}) == 1000


def test_normalize_keys_rows_by_id_not_disaster_number(
    fema_results: list[Normalized],
) -> None:
    numbers = {r.event.data["disaster_number"] for r in fema_results}
    per_declaration = Counter(r.event.data["declaration_string"] for r in fema_results)

    assert len(numbers) == 480
    assert len({r.event.subject for r in fema_results}) == 1000
    assert per_declaration["FM-5444-TX"] == 2  # Hood and Somervell counties


def test_normalize_maps_fields_of_fire_management_row(fema_row: Lookup) -> None:
    result = fema.normalize(fema_row(HOOD))

    event = result.event
    assert (
        event.source == "https://www.fema.gov/api/open/v2/DisasterDeclarationsSummaries"
    )
    assert event.type == "central.disaster.declaration"
    assert event.subject == HOOD
    assert event.id == event_id("fema", HOOD, "2022-07-20T21:21:23.941Z")
    assert event.time == datetime(2022, 7, 19, tzinfo=UTC)
    assert event.data == {
        "hazard": "wildfire",
        "declaration_string": "FM-5444-TX",
        "disaster_number": 5444,
        "declaration_type": "FM",
        "declaration_title": "CHALK MOUNTAIN FIRE",
        "incident_type": "Fire",
        "state": "TX",
        "designated_area": "Hood (County)",
        "fips_state_code": "48",
        "fips_county_code": "221",
        "fips": "48221",
        "place_code": "99221",
        "declaration_date": "2022-07-19T00:00:00Z",
        "fiscal_year_declared": 2022,
        "incident_begin": "2022-07-18T00:00:00Z",
        "incident_end": None,
        "closeout_date": None,
        "last_ia_filing_date": None,
        "ih_program_declared": False,
        "ia_program_declared": False,
        "pa_program_declared": True,
        "hm_program_declared": True,
        "tribal_request": None,
        "declaration_request_number": "22060",
        "hash": "373c5ec27998afc08a53302dae796f476b1a6546",
        "last_refresh": "2022-07-20T21:21:23.941000Z",
        "geometry": None,
        "extra": {},
    }
    assert result.nats_subject == "central.disaster.declaration.fema.none"


def test_normalize_maps_dates_of_major_disaster_row(fema_row: Lookup) -> None:
    data = fema.normalize(fema_row(PARK)).event.data

    assert data["hazard"] == "flood"
    assert data["declaration_type"] == "DR"
    assert data["incident_end"] == "2022-07-05T00:00:00Z"
    assert data["last_ia_filing_date"] == "2022-08-29T00:00:00Z"
    assert data["ih_program_declared"] is True
    assert data["fips"] == "30067"


def test_normalize_keeps_leading_zeros_of_codes(
    fema_row: Lookup, fema_results: list[Normalized]
) -> None:
    statewide = fema.normalize(fema_row(STATEWIDE)).event.data
    state_codes = Counter(r.event.data["fips_state_code"] for r in fema_results)

    assert (statewide["fips_state_code"], statewide["fips_county_code"]) == (
        "08",
        "000",
    )
    assert (statewide["place_code"], statewide["designated_area"]) == ("0", "Statewide")
    assert state_codes["06"] == 155
    assert sum(code.startswith("0") for code in state_codes.elements()) == 229


def test_normalize_keeps_tribal_area_with_county_code_000(
    fema_row: Lookup, fema_results: list[Normalized]
) -> None:
    data = fema.normalize(fema_row(NEZ_PERCE)).event.data
    areas = [
        r.event.data for r in fema_results if r.event.data["fips_county_code"] == "000"
    ]

    assert data["designated_area"] == "Nez Perce Indian Reservation"
    assert (data["fips"], data["place_code"]) == ("16000", "57340")
    assert len(areas) == 34
    assert sum("Reservation" in a["designated_area"] for a in areas) == 33


def test_normalize_reads_null_dates_as_none(fema_results: list[Normalized]) -> None:
    data = [r.event.data for r in fema_results]

    assert sum(d["last_ia_filing_date"] is None for d in data) == 898
    assert sum(d["closeout_date"] is None for d in data) == 797
    assert sum(d["incident_end"] is None for d in data) == 135


def test_normalize_types_every_row_by_hazard(fema_results: list[Normalized]) -> None:
    hazards = Counter(r.event.data["hazard"] for r in fema_results)

    assert {r.event.type for r in fema_results} == {"central.disaster.declaration"}
    assert hazards == {
        "wildfire": 560,
        "severe-storm": 261,
        "flood": 68,
        "tropical-cyclone": 54,
        "winter-storm": 31,
        "tornado": 26,
    }


def test_normalize_reads_offset_date_time_as_utc(fema_row: Lookup) -> None:
    row = fema_row(HOOD)
    row["declarationDate"] = "2022-07-18T19:00:00-05:00"

    assert fema.normalize(row).event.time == datetime(2022, 7, 19, tzinfo=UTC)


def test_normalize_gives_new_id_and_same_subject_when_row_is_refreshed(
    fema_row: Lookup,
) -> None:
    first = fema_row(PARK)
    refreshed = fema_row(PARK)
    refreshed["lastRefresh"] = "2022-09-01T10:00:00.000Z"
    refreshed["disasterCloseoutDate"] = "2022-08-31T00:00:00.000Z"

    before = fema.normalize(first).event
    after = fema.normalize(refreshed).event

    assert after.id != before.id
    assert after.id == event_id("fema", PARK, "2022-09-01T10:00:00.000Z")
    assert after.subject == before.subject == PARK
    assert after.data["closeout_date"] == "2022-08-31T00:00:00Z"


def test_normalize_reads_tribal_request_and_keeps_unknown_fields(
    fema_row: Lookup,
) -> None:
    row = fema_row(NEZ_PERCE)
    row["tribalRequest"] = True
    row["region"] = 10
    row["designatedIncidentTypes"] = "R"

    data = fema.normalize(row).event.data

    assert data["tribal_request"] is True
    assert data["extra"] == {"designatedIncidentTypes": "R", "region": 10}


def test_normalize_rejects_v1_row_for_want_of_v2_fields(fema_row: Lookup) -> None:
    row = fema_row(HOOD)
    row["title"] = row.pop("declarationTitle")
    row["disasterType"] = row.pop("declarationType")
    row["declaredCountyArea"] = row.pop("designatedArea")
    row["placeCode"] = 99221

    with pytest.raises(RecordError, match=r"^record has no declarationType"):
        fema.normalize(row)


@pytest.mark.parametrize(
    ("incident_type", "hazard"),
    [
        ("Fire", "wildfire"),
        ("Severe Storm(s)", "severe-storm"),
        ("Severe Storm", "severe-storm"),
        ("Hurricane", "tropical-cyclone"),
        ("Typhoon", "tropical-cyclone"),
        ("Snowstorm", "winter-storm"),
        ("Severe Ice Storm", "winter-storm"),
        ("Mud/Landslide", "landslide"),
        ("Volcanic Eruption", "volcano"),
        ("Biological", "biological"),
        ("Toxic Substances", "manmade"),
        ("  coastal   STORM ", "severe-storm"),
        ("Fishing Losses", "other"),
    ],
    ids=lambda value: str(value).strip(),
)
def test_hazard_of_maps_incident_type(incident_type: str, hazard: str) -> None:
    assert fema.hazard_of(incident_type) == hazard


def test_parse_returns_no_rows_when_array_is_empty() -> None:
    body = b'{"metadata": {"count": 0}, "DisasterDeclarationsSummaries": []}'

    assert fema.parse(body) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", r"^fema payload is empty$"),
        (b"<!DOCTYPE html><html>", r"^fema payload is XML or HTML, not JSON$"),
        (b"[{}]", r"^fema payload is a JSON array, not an object$"),
        (
            b'{"error": {"code": 400, "message": "bad filter"}}',
            r"^fema payload has no DisasterDeclarationsSummaries array$",
        ),
        (
            b'{"metadata": {}, "FemaWebDisasterDeclarations": []}',
            r"^fema payload has no DisasterDeclarationsSummaries array$",
        ),
        (b'{"DisasterDeclarationsSummaries": [', r"^fema payload is not JSON: "),
    ],
    ids=["empty", "html", "array", "error", "other-dataset", "truncated"],
)
def test_parse_raises_feed_format_error_when_payload_is_wrong(
    body: bytes, message: str
) -> None:
    with pytest.raises(FeedFormatError, match=message):
        fema.parse(body)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (edit(lastRefresh=DELETE), r"^record has no lastRefresh \(record 867be42a-"),
        (edit(declarationDate=None), r"^record has no declarationDate"),
        (
            edit(declarationDate="07/19/2022"),
            r"^declarationDate '07/19/2022' is not an ISO 8601 date-time",
        ),
        (edit(disasterNumber="5444"), r"^disasterNumber '5444' is not an integer"),
        (edit(disasterNumber=2**60), r"^disasterNumber 1152921504606846976 is not an"),
        (edit(fipsStateCode=48), r"^fipsStateCode 48 is not a string of digits"),
        (edit(fipsStateCode="6"), r"^fipsStateCode '6' is not a string of digits"),
        (edit(fipsCountyCode=None), r"^record has no fipsCountyCode"),
        (edit(placeCode=99221), r"^placeCode 99221 is not a string of digits"),
        (edit(paProgramDeclared=1), r"^paProgramDeclared 1 is not true or false"),
        (edit(incidentType=""), r"^record has no incidentType"),
        (edit(state=["TX"]), r"^state \['TX'\] is not a string"),
        (edit(femaDeclarationString=DELETE), r"^record has no femaDeclarationString"),
        (
            edit(incidentEndDate="2022-02-30T00:00:00.000Z"),
            r"^incidentEndDate '2022-02-30T00:00:00.000Z' is not a valid calendar",
        ),
        (edit(region=2**64), r"^region holds a value that is not portable JSON"),
        (
            edit(declarationDate="2022-07-19T00:00:00+99:00"),
            r"^declarationDate '2022-07-19T00:00:00\+99:00' is not a valid calendar",
        ),
    ],
    ids=[
        "no-last-refresh",
        "null-declaration-date",
        "us-date",
        "number-as-text",
        "number-too-big",
        "state-code-number",
        "state-code-one-digit",
        "no-county-code",
        "place-code-number",
        "program-as-int",
        "empty-incident-type",
        "state-array",
        "no-declaration-string",
        "february-30",
        "extra-too-big",
        "offset-past-a-day",
    ],
)
def test_normalize_raises_record_error_when_row_is_broken(
    fema_row: Lookup, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    row = fema_row(HOOD)
    edit(row)

    with pytest.raises(RecordError, match=message) as caught:
        fema.normalize(row)

    assert caught.value.native_id == HOOD


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"disasterNumber": 5444}, r"^record has no id$"),
        ({"id": ""}, r"^id '' is not an id of 1 to 128 visible characters$"),
        ("FM-5444-TX", r"^record is not a JSON object$"),
    ],
    ids=["no-id", "empty-id", "not-object"],
)
def test_normalize_raises_record_error_without_native_id(
    row: Any, message: str
) -> None:
    with pytest.raises(RecordError, match=message) as caught:
        fema.normalize(row)

    assert caught.value.native_id is None


@pytest.mark.parametrize(
    ("row", "expected"),
    [({"id": HOOD}, HOOD), ({"id": 7}, None), ({}, None), (None, None)],
    ids=["id", "number", "missing", "not-object"],
)
def test_record_id_reads_row_id(row: Any, expected: str | None) -> None:
    assert fema.record_id(row) == expected

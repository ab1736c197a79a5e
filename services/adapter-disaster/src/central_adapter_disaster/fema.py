"""OpenFEMA: Disaster Declarations Summaries, API version 2.

``/api/open/v2/DisasterDeclarationsSummaries`` answers ``{"metadata": {...},
"DisasterDeclarationsSummaries": [...]}`` with **one row per designated area**: a
declaration covering twelve counties is twelve rows sharing a ``disasterNumber``.
So one row becomes one event:

- ``source`` is :data:`SOURCE`;
- ``subject`` is the row's ``id`` (a UUID), not the disaster number, which repeats;
- ``id`` is built from ``fema``, that id and ``lastRefresh`` exactly as given, so a
  refreshed row is a new event with the same subject;
- ``time`` is ``declarationDate``;
- ``type`` is ``central.disaster.declaration``, the hazard in ``data.hazard`` (from
  ``incidentType``); rows carry no geometry, so the subject cell is ``none``.

Upstream quirks handled: FIPS codes and ``placeCode`` are strings with leading zeros
(``"06"``, ``"000"``) and are kept as strings; a number there has lost its zeros and
is refused.  ``fipsCountyCode "000"`` marks a statewide or tribal designation (Nez
Perce Indian Reservation).  ``lastIAFilingDate``, ``disasterCloseoutDate`` and
``incidentEndDate`` are often null.  ``metadata.count`` is 0 unless an inline count
was asked for, so it is not checked.  Rows are not in date order.  Newer v2 rows add
``tribalRequest``, which is read when present.

Note: v1 rows (``disasterType``, ``title``, ``declaredCountyArea``, numeric
``placeCode``) are not read: they are rejected for want of the v2 fields.  When
OpenFEMA reloads a row without changing it, ``lastRefresh`` still moves and the row
is published again; ``data.hash`` lets a consumer see that nothing changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from central.errors import FeedFormatError, RecordError
from central.feeds import Normalized
from central.payloads import json_type
from central.records import bad, id_of, integer, required, stripped
from central_adapter_disaster._common import (
    MAX_SAFE_INTEGER,
    assemble,
    boolean,
    iso_time,
    leftovers,
    load_json,
    native_id_of,
    optional_time,
)
from central_adapter_disaster.models import (
    BIOLOGICAL,
    DECLARATION,
    DROUGHT,
    EARTHQUAKE,
    FLOOD,
    LANDSLIDE,
    MANMADE,
    OTHER,
    SEVERE_STORM,
    TORNADO,
    TROPICAL_CYCLONE,
    TSUNAMI,
    VOLCANO,
    WILDFIRE,
    WINTER_STORM,
)

PROVIDER: Final = "fema"
SOURCE: Final = "https://www.fema.gov/api/open/v2/DisasterDeclarationsSummaries"
ENTITY: Final = "DisasterDeclarationsSummaries"

# OpenFEMA incidentType values, lower-cased, by hazard.
HAZARDS: Final[dict[str, str]] = {
    "fire": WILDFIRE,
    "severe storm(s)": SEVERE_STORM,
    "severe storm": SEVERE_STORM,
    "coastal storm": SEVERE_STORM,
    "straight-line winds": SEVERE_STORM,
    "flood": FLOOD,
    "dam/levee break": FLOOD,
    "hurricane": TROPICAL_CYCLONE,
    "typhoon": TROPICAL_CYCLONE,
    "tropical storm": TROPICAL_CYCLONE,
    "tropical depression": TROPICAL_CYCLONE,
    "snow": WINTER_STORM,
    "snowstorm": WINTER_STORM,
    "winter storm": WINTER_STORM,
    "severe ice storm": WINTER_STORM,
    "freezing": WINTER_STORM,
    "tornado": TORNADO,
    "earthquake": EARTHQUAKE,
    "drought": DROUGHT,
    "volcano": VOLCANO,
    "volcanic eruption": VOLCANO,
    "mud/landslide": LANDSLIDE,
    "tsunami": TSUNAMI,
    "biological": BIOLOGICAL,
    "chemical": MANMADE,
    "toxic substances": MANMADE,
    "terrorist": MANMADE,
    "human cause": MANMADE,
}
_KNOWN: Final = frozenset(
    {
        "femaDeclarationString",
        "disasterNumber",
        "state",
        "declarationType",
        "declarationDate",
        "fyDeclared",
        "incidentType",
        "declarationTitle",
        "ihProgramDeclared",
        "iaProgramDeclared",
        "paProgramDeclared",
        "hmProgramDeclared",
        "incidentBeginDate",
        "incidentEndDate",
        "disasterCloseoutDate",
        "tribalRequest",
        "fipsStateCode",
        "fipsCountyCode",
        "placeCode",
        "designatedArea",
        "declarationRequestNumber",
        "lastIAFilingDate",
        "hash",
        "id",
        "lastRefresh",
    }
)
_DIGITS: Final = {
    "fipsStateCode": re.compile(r"\d{2}", re.ASCII),
    "fipsCountyCode": re.compile(r"\d{3}", re.ASCII),
    "placeCode": re.compile(r"\d{1,10}", re.ASCII),
}


def hazard_of(incident_type: str) -> str:
    """The hazard of an OpenFEMA ``incidentType``, ignoring case and spaces."""
    return HAZARDS.get(" ".join(incident_type.lower().split()), OTHER)


def parse(body: bytes) -> list[Any]:
    """The rows of a DisasterDeclarationsSummaries payload.

    Raises :class:`FeedFormatError` when ``body`` is not a JSON object with a
    ``DisasterDeclarationsSummaries`` array (an OpenFEMA error answer, another
    dataset, or not JSON at all).  An empty array yields no rows.
    """
    document = load_json(body, PROVIDER)
    if not isinstance(document, dict):
        raise FeedFormatError(
            f"{PROVIDER} payload is a JSON {json_type(document)}, not an object"
        )
    rows = document.get(ENTITY)
    if not isinstance(rows, list):
        raise FeedFormatError(f"{PROVIDER} payload has no {ENTITY} array")
    return rows


def record_id(row: Any) -> str | None:
    """The row ``id``, or None when it has no readable one."""
    return id_of(row, "id")


def normalize(row: Any) -> Normalized:
    """One designated-area row as a ``central.disaster.declaration`` event.

    Raises :class:`~central.errors.RecordError` for a row without an ``id``,
    ``lastRefresh``, ``declarationDate``, ``disasterNumber``, declaration string or
    type, incident type, state or FIPS codes; for a FIPS or place code that is not a
    string of digits of its width; or for a field of the wrong type.
    """
    if not isinstance(row, dict):
        raise RecordError("record is not a JSON object")
    native_id = native_id_of(required(row.get("id"), "id", None), "id")
    refreshed = required(
        stripped(row, "lastRefresh", native_id), "lastRefresh", native_id
    )
    declared = required(
        stripped(row, "declarationDate", native_id), "declarationDate", native_id
    )
    incident_type = _required_text(row, "incidentType", native_id)
    state_code = _code(row, "fipsStateCode", native_id)
    county_code = _code(row, "fipsCountyCode", native_id)

    fields: dict[str, Any] = {
        "hazard": hazard_of(incident_type),
        "declaration_string": _required_text(row, "femaDeclarationString", native_id),
        "disaster_number": required(
            integer(row, "disasterNumber", native_id, largest=MAX_SAFE_INTEGER),
            "disasterNumber",
            native_id,
        ),
        "declaration_type": _required_text(row, "declarationType", native_id),
        "declaration_title": stripped(row, "declarationTitle", native_id),
        "incident_type": incident_type,
        "state": _required_text(row, "state", native_id),
        "designated_area": stripped(row, "designatedArea", native_id),
        "fips_state_code": state_code,
        "fips_county_code": county_code,
        "fips": state_code + county_code,
        "place_code": _optional_code(row, "placeCode", native_id),
        "declaration_date": iso_time(declared, "declarationDate", native_id),
        "fiscal_year_declared": integer(
            row, "fyDeclared", native_id, largest=MAX_SAFE_INTEGER
        ),
        "incident_begin": optional_time(row, "incidentBeginDate", native_id),
        "incident_end": optional_time(row, "incidentEndDate", native_id),
        "closeout_date": optional_time(row, "disasterCloseoutDate", native_id),
        "last_ia_filing_date": optional_time(row, "lastIAFilingDate", native_id),
        "ih_program_declared": boolean(row, "ihProgramDeclared", native_id),
        "ia_program_declared": boolean(row, "iaProgramDeclared", native_id),
        "pa_program_declared": boolean(row, "paProgramDeclared", native_id),
        "hm_program_declared": boolean(row, "hmProgramDeclared", native_id),
        "tribal_request": boolean(row, "tribalRequest", native_id),
        "declaration_request_number": stripped(
            row, "declarationRequestNumber", native_id
        ),
        "hash": stripped(row, "hash", native_id),
        "last_refresh": iso_time(refreshed, "lastRefresh", native_id),
        "geometry": None,
        "extra": leftovers(row, _KNOWN, native_id),
    }

    return assemble(
        provider=PROVIDER,
        source=SOURCE,
        native_id=native_id,
        revision=refreshed,
        time=fields["declaration_date"],
        kind=DECLARATION,
        fields=fields,
    )


def _required_text(row: Mapping[str, Any], key: str, native_id: str) -> str:
    return required(stripped(row, key, native_id), key, native_id)


def _code(row: Mapping[str, Any], key: str, native_id: str) -> str:
    return required(_optional_code(row, key, native_id), key, native_id)


def _optional_code(row: Mapping[str, Any], key: str, native_id: str) -> str | None:
    """A code of digits kept as text; a JSON number has lost its leading zeros."""
    value = row.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _DIGITS[key].fullmatch(value):
        bad(key, value, "a string of digits of the code's width", native_id)
    return value

"""Readers of CAP's own value formats, shared by both ways CAP comes in ATOM.

CAP packs structure into element text and element sequences: ``valueName`` /
``value`` pairs (``geocode``, ``parameter``, ``eventCode``), space-separated
``sender,identifier,sent`` triples (``references``) and ``lat,lon`` pair lists
(``polygon``).  Each reader raises :class:`~central.errors.RecordError` naming the
element and the bad text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from central.errors import RecordError
from central.records import bad, decimal
from central_adapter_wx._common import (
    date_time,
    position,
    ring,
    sorted_mapping,
    split_codes,
)
from central_adapter_wx._xml import local_name, text_of


def pairs(
    elements: list[ET.Element], name: str, native_id: str, *, split: bool = False
) -> dict[str, list[str]]:
    """The ``valueName`` / ``value`` pairs of ``elements`` (CAP ``name``), by name.

    Pairs may come one per element (CAP) or alternating in one element (the NWS
    index); a ``value`` belongs to the ``valueName`` before it.  With ``split``,
    each value is a space-separated list of codes.
    """
    found: dict[str, list[str]] = {}
    for element in elements:
        current: str | None = None
        for child in element:
            part = local_name(child.tag)
            if part == "valueName":
                current = text_of(child)
                if not current:
                    raise RecordError(f"{name} has an empty valueName", native_id)
                found.setdefault(current, [])
            elif part == "value":
                if current is None:
                    raise RecordError(
                        f"{name} has a value before any valueName", native_id
                    )
                text = text_of(child)
                values = text.split() if split else split_codes([text], current)
                found[current].extend(values)
    return sorted_mapping(found)


def references(value: str | None, native_id: str) -> list[dict[str, Any]]:
    """CAP ``references``: space-separated ``sender,identifier,sent`` triples."""
    found = []
    for token in (value or "").split():
        parts = token.split(",")
        if len(parts) != 3 or not all(parts):
            bad("references", token, "a sender,identifier,sent triple", native_id)
        sender, identifier, sent = parts
        found.append(
            {
                "identifier": identifier,
                "sender": sender,
                "sent": date_time(sent, "references", native_id),
                "url": None,
            }
        )
    return found


def geometry(polygons: list[ET.Element], native_id: str) -> dict[str, Any] | None:
    """The CAP polygons as one GeoJSON Polygon or MultiPolygon, None for none."""
    rings = []
    for element in polygons:
        text = text_of(element)
        if text:
            rings.append(_ring(text, native_id))
    if not rings:
        return None
    if len(rings) == 1:
        return {"type": "Polygon", "coordinates": rings}
    return {"type": "MultiPolygon", "coordinates": [[r] for r in rings]}


def _ring(text: str, native_id: str) -> list[tuple[float, float]]:
    # CAP (1.2, sections 3.2.4 and 3.3.1) writes each point as "latitude,longitude"
    # in WGS 84, the reverse of GeoJSON, so every pair is swapped.
    positions = []
    for pair in text.split():
        numbers = [decimal(part) for part in pair.split(",")]
        if len(numbers) != 2 or None in numbers:
            bad("polygon", pair, "a lat,lon pair of numbers", native_id)
        lat, lon = numbers
        positions.append(position(lon, lat, "polygon", native_id))
    ring(positions, "polygon", native_id)
    return positions

"""CAP alerts (1.1 and 1.2) in an ATOM feed, from NWS or any other CAP publisher.

Publishers put CAP into ATOM in two ways, and both are read:

- **index entries** carry CAP elements beside the ATOM ones (``<cap:event>``,
  ``<cap:severity>``, ``<cap:polygon>``, ``<cap:geocode>``...), as the NWS CAP 1.1
  feed did and the NWS API's ATOM output still does in CAP 1.2;
- **embedding entries** carry a whole CAP ``<alert>`` (usually in ``<content>``),
  whose first ``<info>`` block and every ``<area>`` of it are read.

One entry becomes one ``central.wx.alert`` event:

- ``source`` is the feed's own ATOM ``id``, its permanent identity (RFC 4287
  section 4.2.6; ``http://alerts.weather.gov/cap/us.atom``), so each publisher and
  feed has its own source whatever URL it was fetched from;
- ``subject`` is the entry's ATOM ``id``, the record's own id;
- ``id`` is built from ``cap``, that id and the entry's ATOM ``updated`` as given (a
  hash of the entry's content in a canonical form when it has none);
- ``time`` is CAP ``sent``, else the ATOM ``published`` (the NWS index gives no
  ``sent``; its ``published`` is the message's issue time), else ``updated``, else
  CAP ``effective``.

Upstream quirks handled: CAP ``polygon`` is ``"lat,lon lat,lon ..."``, latitude
first, and comes out as GeoJSON ``[lon, lat]``; an empty ``<cap:polygon/>`` (38 of
39 entries in the recorded NWS feed) means no geometry; several polygons make a
MultiPolygon.  An NWS index ``<cap:geocode>`` holds alternating ``valueName`` /
``value`` pairs whose values are space-separated code lists (``002105 002195``);
a full CAP alert has one pair per ``<geocode>``; both read the same.  A VTEC
parameter value can hold two codes on two lines (P-VTEC, then H-VTEC) and is split
into both.  Where the entry lacks CAP ``sender``, ``headline`` or ``description``,
the ATOM author name, ``title`` and ``summary`` stand in (the NWS index summary is
the start of the description, cut short).  The XML declaration may be written with
spaces (``version = '1.0'``), which XML allows.

Note: only the first ``<info>`` block of an embedded alert is mapped; any further
one (another language, usually) is kept whole in ``extra["info"]``.  A CAP element
given more than once where CAP allows one keeps its first value.  Geocode values
are split on spaces in either form, so a code that itself holds a space would be
cut in two.  CAP ``circle``
areas are not turned into geometry; they stay in ``extra``.  Entries that only link
to their CAP message, and RSS feeds, are not read.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from central.errors import FeedFormatError, RecordError
from central.feeds import Normalized
from central.ids import content_revision
from central_adapter_wx._capvalues import geometry, pairs, references
from central_adapter_wx._common import assemble, date_time, plain_json
from central_adapter_wx._xml import (
    add_value,
    local_name,
    namespace,
    parse_document,
    text_of,
    value_of,
)

PROVIDER: Final = "cap"
ATOM: Final = "http://www.w3.org/2005/Atom"
CAP_NAMESPACES: Final = frozenset(
    {"urn:oasis:names:tc:emergency:cap:1.1", "urn:oasis:names:tc:emergency:cap:1.2"}
)

# The ATOM members of an entry that named fields read.
_ATOM_READ: Final = frozenset(
    {"id", "updated", "published", "title", "summary", "link", "author"}
)
# CAP elements that named fields read; any other CAP element goes to "extra".
_CAP_READ: Final = frozenset(
    {
        "identifier",
        "sender",
        "sent",
        "status",
        "msgType",
        "scope",
        "code",
        "references",
        "language",
        "category",
        "event",
        "responseType",
        "urgency",
        "severity",
        "certainty",
        "eventCode",
        "effective",
        "onset",
        "expires",
        "senderName",
        "headline",
        "description",
        "instruction",
        "web",
        "parameter",
        "areaDesc",
        "polygon",
        "geocode",
    }
)

Gathered = dict[str, list[ET.Element]]


@dataclass(frozen=True)
class CapEntry:
    """One ATOM entry of a CAP feed, with the ``source`` of the feed it came in."""

    entry: ET.Element
    source: str


def parse(body: bytes) -> list[CapEntry]:
    """The entries of an ATOM feed of CAP alerts, in feed order.

    The XML is parsed safely (no document type declarations, so no entities; see
    :mod:`central_adapter_wx._xml`).  Raises :class:`~central.errors.FeedFormatError`
    when ``body`` is not XML, is not an ATOM ``<feed>``, has neither an ``id`` nor a
    ``self`` link to name it, or has entries none of which carries CAP.  A feed
    without entries (no alert in force) yields none.
    """
    root = parse_document(body, PROVIDER)
    if root.tag != f"{{{ATOM}}}feed":
        raise FeedFormatError(
            f"cap payload root element is <{local_name(root.tag)}> in namespace "
            f"{namespace(root.tag)!r}, not an ATOM <feed>"
        )
    source = _feed_source(root)
    entries = root.findall(f"{{{ATOM}}}entry")
    if entries and not any(_carries_cap(entry) for entry in entries):
        raise FeedFormatError("cap payload is an ATOM feed with no CAP alert in it")
    return [CapEntry(entry, source) for entry in entries]


def record_id(record: Any) -> str | None:
    """The entry's ATOM ``id``, or None when it has none."""
    if not isinstance(record, CapEntry):
        return None
    found = record.entry.find(f"{{{ATOM}}}id")
    text = text_of(found) if found is not None else ""
    return text or None


def normalize(record: Any) -> Normalized:
    """One ATOM entry as a ``central.wx.alert`` event.

    Raises :class:`~central.errors.RecordError` (with ``native_id`` when the entry
    id is readable) for an entry without an id, without any CAP element, without a
    time to date it by, or with a malformed date-time, polygon, name/value pair or
    reference.
    """
    if not isinstance(record, CapEntry):
        raise RecordError("record is not an ATOM entry")
    native_id = record_id(record)
    if native_id is None:
        raise RecordError("entry has no id")
    entry = record.entry
    atom, cap, extra = _gather_entry(entry)
    if not cap:
        raise RecordError("entry carries no CAP 1.1 or 1.2 element", native_id)

    fields = _fields(atom, cap, native_id)
    fields["extra"] = plain_json(extra, "extra", native_id)
    time = fields["sent"] or fields["updated"] or fields["effective"]
    if time is None:
        raise RecordError(
            "entry has no sent, published, updated or effective time", native_id
        )
    updated = _first(atom, "updated")
    revision = updated or content_revision(_canonical(entry))

    return assemble(
        provider=PROVIDER,
        source=record.source,
        native_id=native_id,
        revision=revision,
        time=time,
        fields=fields,
    )


def _canonical(element: ET.Element) -> bytes:
    """``element`` as canonical JSON: names, sorted attributes, stripped text.

    Whitespace between elements and attribute order do not change it; it is built
    from the tree without writing XML back, so no text can fail to re-parse.
    """

    def tree(node: ET.Element) -> list[Any]:
        return [
            node.tag,
            sorted(node.attrib.items()),
            (node.text or "").strip(),
            [tree(child) for child in node],
            (node.tail or "").strip(),
        ]

    text = json.dumps(tree(element), ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass")


def _feed_source(root: ET.Element) -> str:
    found = root.find(f"{{{ATOM}}}id")
    if found is not None and text_of(found):
        return text_of(found)
    for link in root.findall(f"{{{ATOM}}}link"):
        if link.get("rel") == "self" and (link.get("href") or "").strip():
            return (link.get("href") or "").strip()
    raise FeedFormatError(
        "cap payload is an ATOM feed with neither an id nor a self link"
    )


def _carries_cap(entry: ET.Element) -> bool:
    return any(namespace(element.tag) in CAP_NAMESPACES for element in entry.iter())


def _extra_key(tag: str) -> str:
    ns, name = namespace(tag), local_name(tag)
    if ns in CAP_NAMESPACES or ns is None:
        return name
    return f"atom:{name}" if ns == ATOM else tag


def _gather_entry(entry: ET.Element) -> tuple[Gathered, Gathered, dict[str, Any]]:
    """The entry's ATOM members, its CAP elements by name, and what else it holds.

    With an embedded ``<alert>``, the alert's elements come first and the entry's
    own CAP elements only fill names the alert lacks.
    """
    atom: Gathered = {}
    inline: Gathered = {}
    extra: dict[str, Any] = {}
    alert = _embedded_alert(entry)
    for child in entry:
        ns, name = namespace(child.tag), local_name(child.tag)
        if alert is not None and any(e is alert for e in child.iter()):
            continue  # the element holding the alert (usually <content>)
        if ns == ATOM and name in _ATOM_READ:
            atom.setdefault(name, []).append(child)
        elif ns in CAP_NAMESPACES:
            inline.setdefault(name, []).append(child)
        else:
            add_value(extra, _extra_key(child.tag), value_of(child))
    if alert is None:
        cap = _split_unread(inline, extra)
        return atom, cap, extra

    cap = _gather_alert(alert, extra)
    for name, elements in _split_unread(inline, extra).items():
        cap.setdefault(name, elements)
    return atom, cap, extra


def _embedded_alert(entry: ET.Element) -> ET.Element | None:
    """The first CAP ``<alert>`` inside ``entry``, or None for an index entry."""
    for element in entry.iter():
        if (
            local_name(element.tag) == "alert"
            and namespace(element.tag) in CAP_NAMESPACES
        ):
            return element
    return None


def _gather_alert(alert: ET.Element, extra: dict[str, Any]) -> Gathered:
    """The CAP elements of ``alert``, its first ``info`` and that info's areas.

    CAP gives alert, info and area elements distinct names, so one mapping holds
    all three levels.  Unread elements and any further info go to ``extra``.
    """
    found: Gathered = {}

    def take(parent: ET.Element, nested: str | None) -> list[ET.Element]:
        """Gather ``parent``'s children; return those named ``nested`` instead."""
        held = []
        for child in parent:
            name = local_name(child.tag)
            if namespace(child.tag) not in CAP_NAMESPACES:
                add_value(extra, _extra_key(child.tag), value_of(child))
            elif name == nested:
                held.append(child)
            else:
                found.setdefault(name, []).append(child)
        return held

    infos = take(alert, "info")
    if infos:
        for area in take(infos[0], "area"):
            take(area, None)
    if infos[1:]:
        # Always a list, however many further blocks there are.
        extra["info"] = [value_of(info) for info in infos[1:]]
    return _split_unread(found, extra)


def _split_unread(found: Gathered, extra: dict[str, Any]) -> Gathered:
    """``found`` without the CAP elements no field reads, which go to ``extra``."""
    for name in [name for name in found if name not in _CAP_READ]:
        for element in found.pop(name):
            add_value(extra, name, value_of(element))
    return found


def _fields(atom: Gathered, cap: Gathered, native_id: str) -> dict[str, Any]:
    """Every WeatherAlert field but ``extra``."""

    def one(name: str) -> str | None:
        return _first(cap, name)

    def when(name: str, value: str | None) -> datetime | None:
        return None if value is None else date_time(value, name, native_id)

    area = [text_of(e) for e in cap.get("areaDesc", []) if text_of(e)]
    return {
        "identifier": one("identifier"),
        "url": _link(atom),
        "sender": one("sender") or _author(atom),
        "sender_name": one("senderName"),
        "sent": when("sent", one("sent"))
        or when("published", _first(atom, "published")),
        "updated": when("updated", _first(atom, "updated")),
        "effective": when("effective", one("effective")),
        "onset": when("onset", one("onset")),
        "expires": when("expires", one("expires")),
        "ends": None,
        "status": one("status"),
        "message_type": one("msgType"),
        "scope": one("scope"),
        "codes": _all(cap, "code"),
        "language": one("language"),
        "categories": _all(cap, "category"),
        "event": one("event"),
        "event_codes": pairs(cap.get("eventCode", []), "eventCode", native_id),
        "response_types": _all(cap, "responseType"),
        "urgency": one("urgency"),
        "severity": one("severity"),
        "certainty": one("certainty"),
        "headline": one("headline") or _first(atom, "title"),
        "description": one("description") or _first(atom, "summary"),
        "instruction": one("instruction"),
        "web": one("web"),
        "area_description": "; ".join(area) or None,
        "geocodes": pairs(cap.get("geocode", []), "geocode", native_id, split=True),
        "affected_zones": [],
        "references": references(one("references"), native_id),
        "parameters": pairs(cap.get("parameter", []), "parameter", native_id),
        "geometry": geometry(cap.get("polygon", []), native_id),
    }


def _first(found: Gathered, name: str) -> str | None:
    for element in found.get(name, []):
        return text_of(element) or None
    return None


def _all(found: Gathered, name: str) -> list[str]:
    return [text for text in (text_of(e) for e in found.get(name, [])) if text]


def _link(atom: Gathered) -> str | None:
    links = atom.get("link", [])
    preferred = [e for e in links if e.get("rel") in (None, "alternate")]
    for link in preferred + links:
        href = (link.get("href") or "").strip()
        if href:
            return href
    return None


def _author(atom: Gathered) -> str | None:
    for author in atom.get("author", []):
        name = author.find(f"{{{ATOM}}}name")
        if name is not None and text_of(name):
            return text_of(name)
    return None

"""XML from the network, parsed without its dangerous corners.

:func:`parse_document` builds an :mod:`xml.etree.ElementTree` tree straight from
the expat parser, refusing what an alert feed never needs and an attacker would:

- any document type declaration (``<!DOCTYPE ...>``), so no entity can be declared,
  expanded (the "billion laughs" and quadratic blow-ups) or fetched from outside;
  a reference to an undeclared entity is then a plain parse error;
- elements nested deeper than :data:`MAX_DEPTH`, so that no later walk of the tree
  can run out of stack.

Names come out in ElementTree's ``{namespace}local`` form.  Comments and processing
instructions are dropped.  The size of the document is bounded by the runtime
before it gets here.

Note: UTF-8, UTF-16 and the single-byte encodings Python knows (ISO-8859-*,
windows-125x...) are decoded; a document declaring a multi-byte encoding other than
UTF-8 and UTF-16 (Shift_JIS, Big5) is refused.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, Final
from xml.parsers import expat

from central.errors import FeedFormatError

#: Deepest element nesting accepted; an ATOM feed of CAP alerts needs about eight.
MAX_DEPTH: Final = 64

# expat reports a namespaced name as "uri}local" with this separator; a "}" cannot
# occur in a namespace URI that ElementTree can represent anyway.
_SEPARATOR: Final = "}"


class _Refused(Exception):
    """Raised from inside an expat handler to stop the parse."""


def _name(raw: str) -> str:
    return "{" + raw if _SEPARATOR in raw else raw


def parse_document(body: bytes, provider: str) -> ET.Element:
    """The root element of the XML document ``body``.

    Raises :class:`~central.errors.FeedFormatError`, naming ``provider`` and the
    reason in one line, for a document that is not well-formed XML, declares an
    encoding that cannot be read, has a document type declaration, or nests deeper
    than :data:`MAX_DEPTH`.
    """
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator=_SEPARATOR)
    depth = 0

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise _Refused(f"nests elements deeper than {MAX_DEPTH} levels")
        builder.start(_name(name), {_name(k): v for k, v in attrs.items()})

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(_name(name))

    def refuse_doctype(*_: Any) -> None:
        raise _Refused("has a document type declaration, which is not accepted")

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(body, True)
    except _Refused as exc:
        raise FeedFormatError(f"{provider} payload {exc}") from None
    except (LookupError, ValueError) as exc:
        # Raised by the codec lookup for a declared encoding expat cannot take:
        # unknown to Python ("unknown encoding: x") or multi-byte (Shift_JIS).
        raise FeedFormatError(
            f"{provider} payload declares an encoding that cannot be read: {exc}"
        ) from None
    except expat.ExpatError as exc:
        reason = expat.ErrorString(exc.code) or "malformed"
        raise FeedFormatError(
            f"{provider} payload is not XML: {reason} (line {exc.lineno}, "
            f"column {exc.offset})"
        ) from None
    return builder.close()


def local_name(tag: str) -> str:
    """``tag`` without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str | None:
    """The namespace of ``tag``, or None for a name in no namespace."""
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else None


def text_of(element: ET.Element) -> str:
    """All the text inside ``element``, its children's included, stripped."""
    return "".join(element.itertext()).strip()


def value_of(element: ET.Element) -> Any:
    """``element`` as a JSON value, for fields that are kept as they came.

    A leaf without attributes is its stripped text.  Anything else is an object:
    attributes as ``@name``, children by local name (a repeated name holds a list)
    and any text of its own as ``#text``.  The tree is at most :data:`MAX_DEPTH`
    deep, so the recursion is bounded.
    """
    children = list(element)
    if not children and not element.attrib:
        return (element.text or "").strip()
    value: dict[str, Any] = {f"@{local_name(k)}": v for k, v in element.attrib.items()}
    own = (element.text or "").strip()
    if own:
        value["#text"] = own
    for child in children:
        add_value(value, local_name(child.tag), value_of(child))
    return value


def add_value(target: dict[str, Any], name: str, value: Any) -> None:
    """Set ``target[name]``; a second value for the same name makes it a list.

    :func:`value_of` never returns a list, so a list held here always stands for a
    repeated name.
    """
    held = target.get(name)
    if name not in target:
        target[name] = value
    elif isinstance(held, list):
        held.append(value)
    else:
        target[name] = [held, value]

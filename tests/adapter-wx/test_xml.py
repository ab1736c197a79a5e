from __future__ import annotations

import pytest

from central.errors import FeedFormatError
from central_adapter_wx._xml import (
    MAX_DEPTH,
    add_value,
    local_name,
    namespace,
    parse_document,
    text_of,
    value_of,
)


def test_parse_document_names_elements_and_attributes_in_clark_form() -> None:
    root = parse_document(
        b'<a xmlns="urn:a" xmlns:b="urn:b" plain="1" b:qualified="2">'
        b"<b:c>x</b:c><d/></a>",
        "test",
    )

    assert root.tag == "{urn:a}a"
    assert root.attrib == {"plain": "1", "{urn:b}qualified": "2"}
    assert [child.tag for child in root] == ["{urn:b}c", "{urn:a}d"]
    assert (local_name(root[0].tag), namespace(root[0].tag)) == ("c", "urn:b")
    assert (local_name("plain"), namespace("plain")) == ("plain", None)


def test_parse_document_drops_comments_and_processing_instructions() -> None:
    root = parse_document(b"<a><!-- note --><?pi x?>text<b>more</b></a>", "test")

    assert text_of(root) == "textmore"
    assert [child.tag for child in root] == ["b"]


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "windows-1252", "UTF-16"])
def test_parse_document_decodes_text_in_declared_encoding(encoding: str) -> None:
    document = f'<?xml version="1.0" encoding="{encoding}"?><a>Güiria</a>'

    root = parse_document(document.encode(encoding), "test")

    assert root.text == "Güiria"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd"><a/>',
            r"^test payload has a document type declaration, which is not accepted$",
        ),
        (
            b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
            r"^test payload has a document type declaration",
        ),
        (
            b"<!DOCTYPE a [<!ENTITY % p 'x'>]><a/>",
            r"^test payload has a document type declaration",
        ),
        (b"<a>&nbsp;</a>", r"^test payload is not XML: undefined entity"),
        (
            b"<a><b></a>",
            r"^test payload is not XML: mismatched tag \(line 1, column 8\)$",
        ),
        (
            b'<?xml version="1.0" encoding="Shift_JIS"?><a/>',
            r"^test payload declares an encoding that cannot be read: multi-byte",
        ),
        (
            b'<?xml version="1.0" encoding="x-none"?><a/>',
            r"^test payload declares an encoding that cannot be read: unknown encoding",
        ),
        (b"<a/><b/>", r"^test payload is not XML: junk after document element"),
    ],
    ids=[
        "external-dtd",
        "external-entity",
        "parameter-entity",
        "undeclared-entity",
        "mismatched-tag",
        "multi-byte-encoding",
        "unknown-encoding",
        "two-roots",
    ],
)
def test_parse_document_raises_feed_format_error_when_document_is_refused(
    body: bytes, message: str
) -> None:
    with pytest.raises(FeedFormatError, match=message):
        parse_document(body, "test")


def test_parse_document_raises_feed_format_error_when_nesting_is_too_deep() -> None:
    deep = b"<a>" * (MAX_DEPTH + 1) + b"</a>" * (MAX_DEPTH + 1)
    allowed = b"<a>" * MAX_DEPTH + b"</a>" * MAX_DEPTH

    with pytest.raises(FeedFormatError, match=r"deeper than 64 levels$"):
        parse_document(deep, "test")
    assert parse_document(allowed, "test").tag == "a"


def test_value_of_turns_element_into_json_value() -> None:
    root = parse_document(
        b'<r xmlns:x="urn:x"><leaf> v </leaf>'
        b'<node x:k="1">own<c>1</c><c>2</c><d/></node></r>',
        "test",
    )

    assert value_of(root[0]) == "v"
    assert value_of(root[1]) == {"@k": "1", "#text": "own", "c": ["1", "2"], "d": ""}


def test_add_value_makes_list_on_second_value_of_name() -> None:
    target: dict[str, object] = {}

    add_value(target, "a", "1")
    add_value(target, "b", {"k": "v"})
    add_value(target, "a", "2")
    add_value(target, "a", "3")

    assert target == {"a": ["1", "2", "3"], "b": {"k": "v"}}

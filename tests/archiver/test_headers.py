"""The fast header parser gives exactly what nats-py's own parser gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from nats.aio.client import Client

from central.events import CloudEvent, to_nats_headers
from central_archiver import headers as fast_headers
from central_archiver.headers import make_parser

EVENT = CloudEvent(
    id="a",
    source="https://example.org/feed",
    type="central.quake.earthquake",
    time=datetime(2024, 2, 6, tzinfo=UTC),
    subject="x y",
    extensions={"provider": "usgs"},
)

NATS_PARSER = Client._parse_header_lines
FAST = make_parser(NATS_PARSER)


def block(*lines: bytes) -> bytes:
    return b"".join(line + b"\r\n" for line in lines) + b"\r\n"


CENTRAL = block(*(f"{k}: {v}".encode() for k, v in to_nats_headers(EVENT).items()))
BLOCKS = {
    "central-event": CENTRAL,
    "empty": b"\r\n",
    "nothing": b"",
    "no-space-after-colon": block(b"a:b"),
    "value-with-colons": block(b"url: https://x:8080/a"),
    "padded-value": block(b"a:    b  "),
    "empty-value": block(b"a:"),
    "empty-name": block(b": v"),
    "name-with-space": block(b"a b: v"),
    "name-leading-space": block(b" a: v"),
    "name-with-tab": block(b"a\tb: v"),
    "tab-in-value": block(b"a: b\tc"),
    "no-colon-line": block(b"garbage", b"a: 1"),
    "duplicate-names": block(b"a: 1", b"a: 2"),
    "blank-line-between": block(b"a: 1", b"", b"b: 2"),
    "no-final-crlf": b"a: 1\r\nb: 2",
    "utf8-value": block("city: Zürich".encode()),
    "bad-utf8-value": block(b"a: \xff\xfe"),
    "non-ascii-name": block("nüme: v".encode()),
    "control-char-name": block(b"\x1ca: v"),
    "vertical-tab-value": block(b"a: \x0bb\x0b"),
    "lone-lf": b"a: 1\nb: 2\r\n\r\n",
    "lone-cr": b"a: 1\rb: 2\r\n\r\n",
    "nul-in-value": block(b"a: x\x00y"),
}


@pytest.mark.parametrize("raw", BLOCKS.values(), ids=BLOCKS.keys())
def test_parse_header_lines_matches_nats_py_when_given_the_same_block(
    raw: bytes,
) -> None:
    assert FAST(raw) == NATS_PARSER(raw)


def test_install_shadows_the_parser_on_one_connection_only() -> None:
    patched, untouched = Client(), Client()

    assert fast_headers.install(patched) is True
    assert patched._parse_header_lines(CENTRAL) == NATS_PARSER(CENTRAL)
    assert patched._parse_header_lines is not untouched._parse_header_lines

    fast_headers.uninstall(patched)
    assert "_parse_header_lines" not in vars(patched)


def test_install_declines_when_the_client_has_no_such_parser() -> None:
    class Other:
        pass

    other = Other()
    assert fast_headers.install(other) is False
    assert vars(other) == {}

"""A faster NATS header parser, installed on the archiver's connection.

nats-py turns each message's header block into a dict with a Python loop that tests
every character of every header name for whitespace; with the ten or so headers of
a binary-mode CloudEvent that is the largest single cost of receiving a message.
:func:`install` shadows the connection's ``_parse_header_lines`` with
:func:`parse_header_lines`, which handles the common block (printable ASCII,
``Name: value`` lines) with two regular expressions and hands every other block to
nats-py's own parser, so the result is always the one nats-py would produce.

Note: this replaces a private nats-py method on one connection object. ``install``
checks that the method exists and that both parsers agree on a sample before it
does anything, and the archiver keeps working (only slower) when it declines.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Whole block: "Name:value\r\n" lines of printable ASCII, the name without ':' or
# space, then the blank line(s) that end the block.
_SIMPLE_BLOCK = re.compile(rb"(?:[!-9;-~]+:[ -~]*\r\n)*(?:\r\n)*")
_PAIR = re.compile(r"([!-9;-~]+):([ -~]*)\r\n")
_ATTRIBUTE = "_parse_header_lines"
_SAMPLE = (
    b"ce-specversion: 1.0\r\nce-id: a%20b\r\nNats-Msg-Id: x\r\n"
    b"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n"
)

Parser = Callable[[bytes], dict[str, str]]


def make_parser(fallback: Parser) -> Parser:
    """A parser equal to ``fallback`` that is fast on simple blocks."""

    def parse_header_lines(raw: bytes) -> dict[str, str]:
        if _SIMPLE_BLOCK.fullmatch(raw) is None:
            return fallback(raw)
        # Printable ASCII throughout: decoding cannot fail, names hold no
        # whitespace, and stripping a str strips exactly what bytes.strip() would.
        return {
            name: value.strip() for name, value in _PAIR.findall(raw.decode("ascii"))
        }

    return parse_header_lines


def install(nc: Any) -> bool:
    """Use the fast parser on connection ``nc``; False (and no change) if unsafe."""
    original = getattr(type(nc), _ATTRIBUTE, None)
    if not callable(original):
        return False
    fast = make_parser(original)
    try:
        agrees = fast(_SAMPLE) == original(_SAMPLE)
    except Exception:
        return False
    if not agrees:
        return False
    setattr(nc, _ATTRIBUTE, fast)
    return True


def uninstall(nc: Any) -> None:
    """Give connection ``nc`` back nats-py's own parser."""
    if _ATTRIBUTE in vars(nc):
        delattr(nc, _ATTRIBUTE)

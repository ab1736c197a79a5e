"""Reading a CSV payload row by row, and reading typed values out of its cells.

:func:`open_csv` checks what a payload must be before any row is read (UTF-8 text
with a header line of unique names) and then hands out the rows one at a time, so a
file of a hundred thousand rows is never held as a hundred thousand objects.  A row
is a ``dict`` from header name to cell text.  A line that is not a row of the file
(it has more or fewer cells than the header, or is not valid CSV) comes out as a
:class:`MalformedRow` instead, for the normalizer to reject, so one bad line costs
only itself.

The cell readers take a row that may come from anywhere (a test, a mangled copy):
they accept only text cells, treat an empty cell and a missing column alike, and
raise :class:`~central.errors.RecordError` naming the column and the bad value,
cut short so that a huge cell does not make a huge message.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from central import records
from central.errors import FeedFormatError, RecordError

#: How much of a bad value or line an error message quotes: less than
#: :data:`central.records.QUOTE_CHARS`, since a FIRMS cell or line is short and a
#: rejection report may list thousands of them.
QUOTE_CHARS = 40
_BOM = "\ufeff"


@dataclass(frozen=True)
class MalformedRow:
    """A line of a CSV payload that is not a row of it; ``reason`` says why."""

    line: int
    reason: str


Row = dict[str, str]


def open_csv(
    body: bytes, provider: str
) -> tuple[tuple[str, ...], Iterator[Row | MalformedRow]]:
    """The header of a CSV payload and an iterator over its rows.

    Header names are stripped and lower-cased.  A UTF-8 byte-order mark is ignored.
    Blank lines are skipped.  Raises :class:`FeedFormatError`, naming ``provider``,
    for a body that is not UTF-8 text, is empty, or whose header line has an empty
    or repeated name.  What the header must contain is the caller's business.

    The body is decoded a line at a time as the rows are read, so a payload costs
    its bytes and one line of text, not a decoded copy of itself.
    """
    if not body.isascii():  # FIRMS writes ASCII; anything else is checked once
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FeedFormatError(
                f"{provider} payload is not UTF-8 text (byte {exc.start})"
            ) from exc

    reader = csv.reader(raw.decode() for raw in io.BytesIO(body))
    first: list[str] = []
    try:
        while not first:
            first = next(reader)
    except StopIteration:
        pass
    except csv.Error as exc:
        raise FeedFormatError(f"{provider} payload header is not CSV: {exc}") from exc
    header = tuple(name.strip().lower() for name in first)
    if header:
        header = (header[0].removeprefix(_BOM), *header[1:])
    if not any(header):
        raise FeedFormatError(f"{provider} payload is empty, with no header line")
    for index, name in enumerate(header):
        if not name:
            raise FeedFormatError(
                f"{provider} payload header column {index + 1} has no name: "
                f"{quote(','.join(first))}"
            )
        if name in header[:index]:
            raise FeedFormatError(
                f"{provider} payload header repeats column {quote(name)}"
            )
    return header, _rows(reader, header)


def _rows(reader: Any, header: tuple[str, ...]) -> Iterator[Row | MalformedRow]:
    width = len(header)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The reader resumes at the next line after an error, so one bad line
            # (a cell over the csv module's field size limit) costs only itself.
            yield MalformedRow(reader.line_num, f"line {reader.line_num}: {exc}")
            continue
        if not cells:
            continue
        if len(cells) != width:
            yield MalformedRow(
                reader.line_num,
                f"line {reader.line_num} has {len(cells)} cells, "
                f"the header has {width}",
            )
            continue
        yield dict(zip(header, cells, strict=True))


def quote(value: Any) -> str:
    """``repr(value)``, cut to :data:`QUOTE_CHARS` characters for a message."""
    return records.quote(value, QUOTE_CHARS)


def cell(row: Mapping[str, Any], key: str, native_id: str | None) -> str | None:
    """The stripped text of a cell; None when the column is missing or empty."""
    value = row.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        bad(key, value, "the text of a CSV cell", native_id)
    value = value.strip()
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            bad(key, value, "encodable as UTF-8", native_id)
    return value or None


def required(row: Mapping[str, Any], key: str, native_id: str | None) -> str:
    """The stripped text of a cell that must not be missing or empty."""
    value = cell(row, key, native_id)
    if value is None:
        raise RecordError(f"row has no {key}", native_id)
    return value


def number(
    row: Mapping[str, Any],
    key: str,
    native_id: str | None,
    *,
    low: float = -math.inf,
    high: float = math.inf,
) -> float | None:
    """A finite decimal number from a cell, within ``low..high``.

    ``nan`` and ``inf``, which ``float()`` reads, are refused like any other
    non-number; an empty or blank cell and a missing column are None.
    """
    value = row.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        bad(key, value, "the text of a CSV cell", native_id)
    try:
        result = float(value)  # float() itself ignores surrounding blanks
    except ValueError:
        if value.isspace():
            return None
        bad(key, value.strip(), "a number", native_id)
    if not (math.isfinite(result) and low <= result <= high):
        if not math.isfinite(result):
            bad(key, value.strip(), "a finite number", native_id)
        bad(key, value.strip(), _range(low, high), native_id)
    return result


def bad(key: str, value: Any, wanted: str, native_id: str | None) -> NoReturn:
    """Raise RecordError: ``key`` holds ``value``, which is not ``wanted``."""
    records.bad(key, value, wanted, native_id, limit=QUOTE_CHARS)


def _range(low: float, high: float) -> str:
    if math.isinf(high):
        return f"at least {low:g}"
    if math.isinf(low):
        return f"at most {high:g}"
    return f"within {low:g}..{high:g}"

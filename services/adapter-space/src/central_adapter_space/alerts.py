"""SWPC alerts, warnings, watches and summaries: ``products/alerts.json``.

The product is a JSON array of objects, newest first, each with ``product_id``
(``K05W``: the kind of product, repeated by every message of that kind),
``issue_datetime`` (``2025-04-16 23:13:00.773``, UTC without a zone) and
``message``, the fixed-format text read by :mod:`central_adapter_space.messages`.

One record becomes one ``central.space.alert`` event:

- ``source`` is :data:`SOURCE` whatever URL the feed is configured with;
- ``subject`` is the message's own id, its Space Weather Message Code and Serial
  Number (``WARK05/2023``); ``product_id`` alone is not an id;
- ``id`` is built from ``swpc``, that subject and ``issue_datetime``.  SWPC
  sometimes reissues a message under the same code and serial with a new issue
  time (a corrected watch or warning): both are events, with one subject and two
  ids;
- ``time`` is ``issue_datetime``.

Note: messages stay in the product for about a month and are not revised in place,
so nothing marks an expired or cancelled message; a cancellation is a message of
its own whose ``cancels_serial`` names the one it cancels.
"""

from __future__ import annotations

import re
from typing import Any, Final

from central.feeds import Normalized
from central.payloads import json_type
from central_adapter_space._common import Row, assemble, load_rows, tag
from central_adapter_space.messages import (
    Message,
    day_of,
    k_index,
    message_time,
    read_message,
    scale_level,
    serial,
    watch_category,
)
from central_adapter_space.models import ALERT, SpaceAlert

FEED: Final = "swpc-alerts"
SOURCE: Final = "https://www.swpc.noaa.gov/products/alerts-watches-and-warnings"

_CODE: Final = re.compile(r"[A-Za-z0-9]{1,20}", re.ASCII)
_CODE_LINE: Final = re.compile(r"^\s*Space Weather Message Code:\s*(\S+)", re.M)
_SERIAL_LINE: Final = re.compile(r"^\s*Serial Number:\s*(\d+)", re.M)


def parse(body: bytes) -> list[Any]:
    """The records of an alerts payload, in payload order.

    Raises :class:`~central.errors.FeedFormatError` when ``body`` is not a JSON
    array of objects or no element has a ``message`` and an ``issue_datetime``.
    An empty array holds no records.
    """
    return load_rows(body, FEED, [("message",), ("issue_datetime",)], header_rows=False)


def record_id(record: Any) -> str | None:
    """``CODE/SERIAL`` read from the message, else ``product_id``, else None."""
    if not isinstance(record, dict):
        return None
    text = record.get("message")
    if isinstance(text, str):
        code, number = _CODE_LINE.search(text), _SERIAL_LINE.search(text)
        if code and number:
            return f"{code.group(1)}/{number.group(1)}"
    product = record.get("product_id")
    return product if isinstance(product, str) and product else None


def normalize(record: Any) -> Normalized:
    """One alerts record as a ``central.space.alert`` event.

    Raises :class:`~central.errors.RecordError` for a record that is not an object,
    has no message text, has no Space Weather Message Code or Serial Number line,
    or has no valid ``issue_datetime``.  Members other than ``product_id``,
    ``issue_datetime`` and ``message`` are kept in ``data.extra``.
    """
    row = Row(record, record_id(record))
    text = row.value("message", required=True)
    if not isinstance(text, str):
        row.fail(f"message is a JSON {json_type(text)}, not a string")
    if not text.strip():
        row.fail("message is blank")
    message = read_message(text)
    code = message.fields.get("space_weather_message_code")
    number = serial(message.fields.get("serial_number"))
    if code is None or not _CODE.fullmatch(code):
        row.fail(f"message has no valid Space Weather Message Code ({code!r})")
    if number is None:
        row.fail("message has no valid Serial Number")
    subject = f"{code}/{number}"
    row.native_id = subject
    issued_at = row.time("issue_datetime")
    product_id = row.text("product_id")

    fields = _fields(message, code, number)
    fields["product_id"] = product_id
    fields["message"] = text
    fields["extra"] = row.extra()

    return assemble(
        kind=ALERT,
        source=SOURCE,
        subject=subject,
        time=issued_at,
        model=SpaceAlert,
        fields=fields,
        revision=tag(issued_at),
    )


def _fields(message: Message, code: str, number: int) -> dict[str, Any]:
    """The typed ``data`` fields read from the parts of a message."""
    given = message.fields
    issue_time = message_time(given.get("issue_time"))
    levels = []
    for month, day, scale in message.by_day:
        when = day_of(month, day, issue_time)
        if when is not None:
            levels.append({"day": when, "scale": scale})
    category = message.heading.lower().replace(" ", "-") if message.heading else None
    predicted = scale_level(given.get("predicted_noaa_scale"))

    return {
        "message_code": code,
        "serial_number": number,
        "issue_time": issue_time,
        "category": category,
        "headline": message.headline,
        "k_index": k_index(message.headline),
        "noaa_scale": scale_level(given.get("noaa_scale")),
        "predicted_noaa_scale": predicted or watch_category(message.headline),
        "extends_serial": serial(given.get("extension_to_serial_number")),
        "continues_serial": serial(given.get("continuation_of_serial_number")),
        "cancels_serial": serial(given.get("cancel_serial_number")),
        "valid_from": message_time(given.get("valid_from")),
        "valid_until": message_time(
            given.get("valid_to") or given.get("now_valid_until")
        ),
        "threshold_reached": message_time(given.get("threshold_reached")),
        "begin_time": message_time(given.get("begin_time")),
        "maximum_time": message_time(given.get("maximum_time")),
        "end_time": message_time(given.get("end_time")),
        "xray_class": given.get("xray_class"),
        "predicted_levels": levels,
        "impacts": message.impacts,
        "description": message.description,
        "fields": given,
    }

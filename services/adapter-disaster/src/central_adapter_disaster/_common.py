"""What the GDACS, EONET and OpenFEMA normalizers share beyond :mod:`central.records`.

The three providers all answer with JSON, so the payload check, the readers of
their field formats, the date-time format, the content revision and the assembly of
a data model are the same code.  Every reader raises
:class:`~central.errors.RecordError` naming the field and the bad value; a missing
or ``null`` optional field reads as None.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson

from central import payloads, records
from central.errors import FeedFormatError, RecordError
from central.feeds import Normalized
from central.ids import content_revision
from central.records import bad, stripped
from central_adapter_disaster.models import DATA_MODELS, DOMAIN, event_type

#: Integers outside this range are refused: JSON consumers keep numbers as doubles.
MAX_SAFE_INTEGER = 2**53 - 1
# RFC 3339 / ISO 8601 extended date-time: seconds and a fraction of any length are
# optional, and a missing zone means UTC (OpenFEMA and EONET always write "Z").
_ISO = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt ]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
    r"(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)
# An id printed in subjects and headers: visible characters, no spaces.
_NATIVE_ID = re.compile(r"[!-~]{1,128}", re.ASCII)


def load_json(body: bytes, provider: str) -> Any:
    """The JSON document in ``body``; FeedFormatError when there is none.

    A leading UTF-8 byte order mark is skipped (GDACS writes one in its RSS and
    may in its other files).  ``NaN`` and ``Infinity`` are not JSON and are refused,
    as is an empty body (none of these providers answers with one) and a body that
    opens with ``<`` (XML or HTML), with a message saying so.
    """
    text = body.removeprefix(b"\xef\xbb\xbf")
    if not text.strip():
        raise FeedFormatError(f"{provider} payload is empty")
    if text.lstrip().startswith(b"<"):
        # An RSS or HTML page where JSON was expected: an error page, or a URL set
        # to another product of the provider.
        raise FeedFormatError(f"{provider} payload is XML or HTML, not JSON")
    return payloads.load_json(text, provider)


def boolean(record: Mapping[str, Any], key: str, native_id: str | None) -> bool | None:
    """A JSON boolean field (0/1 and strings are refused)."""
    value = record.get(key)
    if value is None or isinstance(value, bool):
        return value
    bad(key, value, "true or false", native_id)


def objects(
    record: Mapping[str, Any], key: str, native_id: str | None
) -> list[dict[str, Any]]:
    """An array of objects; a missing or null array reads as empty."""
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        bad(key, value, "an array of objects", native_id)
    return value


def native_id_of(value: Any, key: str, native_id: str | None = None) -> str:
    """An upstream id fit for a subject: 1 to 128 visible ASCII characters."""
    if not isinstance(value, str) or not _NATIVE_ID.fullmatch(value):
        bad(key, value, "an id of 1 to 128 visible characters", native_id)
    return value


def iso_time(value: Any, key: str, native_id: str | None) -> datetime:
    """An aware UTC datetime from an ISO 8601 extended date-time string.

    Seconds and fractions are optional; digits beyond the sixth are cut off, since
    datetime holds microseconds.  A value without a zone is taken as UTC.

    Note: the basic format (``20250426T125928Z``) and dates alone are refused.
    """
    return records.date_time(
        value, key, native_id, grammar=_ISO, wanted="an ISO 8601 date-time"
    )


def optional_time(
    record: Mapping[str, Any], key: str, native_id: str | None
) -> datetime | None:
    """An ISO date-time field, or None when missing, null or blank."""
    value = stripped(record, key, native_id)
    return None if value is None else iso_time(value, key, native_id)


def leftovers(
    record: Mapping[str, Any], known: Iterable[str], native_id: str | None
) -> dict[str, Any]:
    """The members of ``record`` not in ``known``, for a model's ``extra``.

    Values must be portable JSON (finite numbers, integers a double holds);
    RecordError otherwise, naming the member.
    """
    skip = set(known)
    extra = {key: value for key, value in record.items() if key not in skip}
    for key, value in extra.items():
        if not portable(value):
            raise RecordError(
                f"{key} holds a value that is not portable JSON", native_id
            )
    return dict(sorted(extra.items()))


def portable(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is JSON every consumer reads back as it was written."""
    if depth > 64:
        return False
    if value is None or isinstance(value, bool | str):
        return True
    if isinstance(value, int):
        return abs(value) <= MAX_SAFE_INTEGER
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(portable(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and portable(v, depth + 1) for k, v in value.items()
        )
    return False


def canonical(content: Any, native_id: str | None) -> bytes:
    """``content`` as canonical JSON: sorted keys, no spaces, UTF-8.

    The same content always gives the same bytes whatever member order or spacing
    the provider used.  Content that cannot be written as JSON (an integer past 64
    bits) raises RecordError.
    """
    try:
        return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, RecursionError) as exc:
        raise RecordError(
            "record cannot be written as canonical JSON", native_id
        ) from exc


def revision_of(content: Any, native_id: str | None) -> str:
    """A content revision: the hash of ``content`` as :func:`canonical` JSON."""
    return content_revision(canonical(content, native_id))


def assemble(
    *,
    provider: str,
    source: str,
    native_id: str,
    revision: str,
    time: datetime,
    kind: str,
    fields: dict[str, Any],
) -> Normalized:
    """Validate ``fields`` as the model of ``kind`` and wrap them in a CloudEvent.

    The event id is ``event_id(provider, native_id, revision)``, the subject is
    ``native_id`` and the NATS subject's cell comes from ``data.geometry`` (``none``
    without one).  A field the model refuses raises RecordError naming it (see
    :func:`central.records.assemble`).
    """
    return records.assemble(
        DATA_MODELS[event_type(kind)],
        fields,
        domain=DOMAIN,
        kind=kind,
        type=event_type(kind),
        provider=provider,
        source=source,
        subject=native_id,
        time=time,
        revision=revision,
    )

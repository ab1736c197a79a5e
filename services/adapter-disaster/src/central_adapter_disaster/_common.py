"""What the GDACS, EONET and OpenFEMA normalizers share.

The three providers all answer with JSON, so the payload check, the typed reading of
fields, the date-time format, the content revision and the assembly of the
CloudEvent are the same code.  Every reader raises
:class:`~central.errors.RecordError` naming the field and the bad value; a missing
or ``null`` optional field reads as None.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, NoReturn

import orjson
from pydantic import ValidationError

from central.errors import FeedFormatError, RecordError
from central.events import CloudEvent
from central.feeds import Normalized, normalized
from central.ids import content_revision, event_id
from central_adapter_disaster.models import DATA_MODELS, DOMAIN, event_type

#: Integers outside this range are refused: JSON consumers keep numbers as doubles.
MAX_SAFE_INTEGER = 2**53 - 1
_JSON_NAMES: dict[type, str] = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
# RFC 3339 / ISO 8601 extended date-time: seconds and a fraction of any length are
# optional, and a missing zone means UTC (OpenFEMA and EONET always write "Z").
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"([Zz]|[+-]\d{2}:?\d{2})?",
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
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise FeedFormatError(
            f"{provider} payload is not JSON: {_one_line(exc)}"
        ) from exc


def json_name(value: Any) -> str:
    """What JSON calls the type of ``value`` (object, array, string...)."""
    if isinstance(value, dict):
        return "object"
    return _JSON_NAMES.get(type(value), "value")


def text(record: Mapping[str, Any], key: str, native_id: str | None) -> str | None:
    """A string field, stripped; an empty or all-blank string reads as None."""
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        bad(key, value, "a string", native_id)
    return value.strip() or None


def required(value: Any, key: str, native_id: str | None) -> Any:
    """``value`` unless it is None; RecordError naming ``key`` otherwise."""
    if value is None:
        raise RecordError(f"record has no {key}", native_id)
    return value


def number(record: Mapping[str, Any], key: str, native_id: str | None) -> float | None:
    """A finite numeric field as float (booleans are not numbers)."""
    value = record.get(key)
    if value is None:
        return None
    if not is_number(value):
        bad(key, value, "a finite number", native_id)
    return float(value)


def integer(record: Mapping[str, Any], key: str, native_id: str | None) -> int | None:
    """An integral field within ±(2**53 - 1); a whole float is accepted."""
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or abs(value) > MAX_SAFE_INTEGER
    ):
        bad(key, value, "an integer", native_id)
    return value


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
    match = _ISO.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        bad(key, value, "an ISO 8601 date-time", native_id)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        tz = UTC
        if zone and zone.upper() != "Z":
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            tz = timezone(-offset if zone[0] == "-" else offset)
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            micro,
            tzinfo=tz,
        )
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        bad(key, value, "a valid calendar date-time", native_id)


def optional_time(
    record: Mapping[str, Any], key: str, native_id: str | None
) -> datetime | None:
    """An ISO date-time field, or None when missing, null or blank."""
    value = text(record, key, native_id)
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
    without one).  A field the model refuses raises RecordError naming it.
    """
    model = DATA_MODELS[event_type(kind)]
    try:
        data = model.model_validate(fields).to_data()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RecordError(f"{where}: {first['msg']}", native_id) from exc

    event = CloudEvent(
        id=event_id(provider, native_id, revision),
        source=source,
        type=event_type(kind),
        time=time,
        subject=native_id,
        data=data,
    )
    return normalized(event, DOMAIN, kind, provider, data.get("geometry"))


def is_number(value: Any) -> bool:
    """A finite JSON number that is not a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def bad(key: str, value: Any, wanted: str, native_id: str | None) -> NoReturn:
    """Raise RecordError: ``key`` holds ``value``, which is not ``wanted``."""
    raise RecordError(f"{key} {_shown(value)} is not {wanted}", native_id)


def _shown(value: Any) -> str:
    # Long values (a mangled 100 kB string) would flood the rejection log.
    try:
        shown = repr(value)
    except RecursionError:  # arrays nested hundreds deep
        return f"<a deeply nested {json_name(value)}>"
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__

"""The few JetStream API requests the dashboard makes, answered as plain JSON.

nats-py's typed wrappers drop fields the dashboard shows (a stream's first and
last message times), so these read the API's JSON answers directly. Each request
has a timeout, and every failure (no answer, no JetStream, a refusal, a missing
stream) raises :class:`JetStreamError` with a short reason fit for a client.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from central.events import format_time
from central_dashboard.errors import DashboardError

API = "$JS.API"
# The server writes nanoseconds; Python keeps microseconds.
_FRACTION = re.compile(r"(\.\d{6})\d+")
#: What the server writes for "no message yet".
_ZERO_TIME = "0001-01-01T00:00:00Z"


class JetStreamError(DashboardError, RuntimeError):
    """A JetStream API request failed; ``not_found`` when the server said 404."""

    def __init__(self, reason: str, *, not_found: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.not_found = not_found


async def _ask(
    nc: Any,
    subject: str,
    payload: bytes,
    timeout: float,
    no_responders: str = "JetStream is not available on the server",
) -> Any:
    """The reply to one request; JetStreamError when there is none."""
    try:
        return await nc.request(subject, payload, timeout=timeout)
    except NoRespondersError as exc:
        raise JetStreamError(no_responders) from exc
    except NatsTimeoutError as exc:
        raise JetStreamError(f"no answer from JetStream within {timeout:g} s") from exc
    except NatsError as exc:
        raise JetStreamError(f"NATS request failed: {exc!r}") from exc


async def request(
    nc: Any, subject: str, body: dict[str, Any] | None, timeout: float
) -> dict[str, Any]:
    """One API request; the JSON answer, or JetStreamError."""
    payload = orjson.dumps(body) if body is not None else b""
    msg = await _ask(nc, subject, payload, timeout)
    try:
        answer = orjson.loads(msg.data)
    except orjson.JSONDecodeError as exc:
        raise JetStreamError("JetStream answered with something not JSON") from exc
    if not isinstance(answer, dict):
        raise JetStreamError("JetStream answered with something not a JSON object")
    error = answer.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        description = str(error.get("description") or "request refused")
        raise JetStreamError(
            f"JetStream refused: {description} ({code})", not_found=code == 404
        )
    return answer


async def stream_info(
    nc: Any, name: str, timeout: float, subjects_filter: str | None = None
) -> dict[str, Any]:
    """The stream's info (``config``, ``state``); with ``subjects_filter``, the
    state also lists the matching subjects and their message counts."""
    body = {"subjects_filter": subjects_filter} if subjects_filter else None
    return await request(nc, f"{API}.STREAM.INFO.{name}", body, timeout)


async def consumers(nc: Any, stream: str, timeout: float) -> list[dict[str, Any]]:
    """Every consumer of ``stream`` (the API pages them; all pages are read)."""
    found: list[dict[str, Any]] = []
    while True:
        answer = await request(
            nc, f"{API}.CONSUMER.LIST.{stream}", {"offset": len(found)}, timeout
        )
        page = answer.get("consumers") or []
        found.extend(c for c in page if isinstance(c, dict))
        if not page or len(found) >= int(answer.get("total") or 0):
            return found


async def last_message(
    nc: Any, stream: str, subject: str, timeout: float
) -> tuple[bytes, datetime | None]:
    """The body and stored time of the last message on ``subject`` in ``stream``.

    A direct get, whose request subject ends with the subject read: permissions
    on that can allow some subjects and not others, where the body of a
    ``STREAM.MSG.GET`` cannot be seen by them. The stream must allow direct gets.
    """
    msg = await _ask(
        nc,
        f"{API}.DIRECT.GET.{stream}.{subject}",
        b"",
        timeout,
        no_responders=f"JetStream did not answer a direct get on {stream} (is the "
        "stream provisioned with direct gets allowed?)",
    )
    headers = msg.headers or {}
    status = headers.get("Status")
    if status:
        description = headers.get("Description") or "request refused"
        raise JetStreamError(
            f"JetStream refused: {description} ({status})", not_found=status == "404"
        )
    return bytes(msg.data), parse_time(headers.get("Nats-Time-Stamp"))


def parse_time(value: object) -> datetime | None:
    """A JetStream RFC 3339 time as an aware datetime; None for none or zero."""
    if not isinstance(value, str) or not value or value == _ZERO_TIME:
        return None
    text = _FRACTION.sub(r"\1", value.replace("Z", "+00:00"))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.year <= 1:
        return None
    return parsed.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """``value`` in the API's time format, or None."""
    return format_time(value) if value is not None else None

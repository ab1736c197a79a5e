"""Bounds on what one request can make the dashboard hold: target, headers, body.

:class:`RequestLimits` is ASGI middleware in front of every route. It answers,
with the API's JSON error body and before any route runs:

- 414 when the request target (path and query string, as sent) is longer than
  :data:`MAX_TARGET_BYTES`;
- 431 when the header lines together are longer than :data:`MAX_HEADER_BYTES`;
- 413 when the body is larger than ``max_body_bytes``
  (``CENTRAL_DASHBOARD_MAX_BODY_BYTES``): at once when ``Content-Length`` says
  so, without reading the body; otherwise as soon as the bytes received pass
  the bound, so no more than that is ever buffered. The connection stays open:
  uvicorn reads the rest of the body and throws it away, so that the client,
  still sending, is not reset before it reads the answer;
- 408 when a body within the bound has not arrived in ``body_timeout_s``
  (``CENTRAL_DASHBOARD_BODY_TIMEOUT_S``; a client that announces more than it
  sends), closing the connection.

Each refusal is counted in ``central_dashboard_rejected_requests_total``
(parameter ``target``, ``headers`` or ``body``) and logged as
``request_rejected``.

uvicorn's HTTP/1.1 parser (h11) already refuses a request head of more than 16
KiB with a plain-text 400, but only one that reaches it in several reads; a
larger head that arrives in one read gets through. These bounds hold whatever
the transport did.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Longest request target (path and query string, percent-encoded as sent).
MAX_TARGET_BYTES = 16 * 1024
#: Longest the header lines may be together (names and values).
MAX_HEADER_BYTES = 16 * 1024


class RequestLimits:
    """Refuse requests over the bounds above; pass every other one on unchanged.

    ``hub`` gives the metrics and the logger at the time of each refusal (tests
    replace the logger after the app is made).
    """

    def __init__(
        self, app: ASGIApp, *, hub: Any, max_body_bytes: int, body_timeout_s: float
    ) -> None:
        self.app = app
        self.hub = hub
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        target = len(scope.get("raw_path") or b"") + len(scope["query_string"])
        if target > MAX_TARGET_BYTES:
            await self._refuse(
                scope, send, 414, "target", f"is longer than {MAX_TARGET_BYTES} bytes"
            )
            return
        headers = scope["headers"]
        if sum(len(name) + len(value) for name, value in headers) > MAX_HEADER_BYTES:
            await self._refuse(
                scope, send, 431, "headers", f"exceed {MAX_HEADER_BYTES} bytes"
            )
            return
        declared = _content_length(headers)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(scope, send)
            return
        if declared == 0 or (declared is None and not _chunked(headers)):
            await self.app(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.body_timeout_s):
                body = await self._read_body(receive)
        except TimeoutError:
            reason = f"did not arrive within {self.body_timeout_s:g} s"
            await self._refuse(scope, send, 408, "body", reason, close=True)
            return
        if body is None:
            await self._too_large(scope, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None once it passes the bound (the rest unread)."""
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away; the app sees an empty body and, on its
                # next receive, the disconnect.
                return b""
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        await self._refuse(
            scope, send, 413, "body", f"is larger than {self.max_body_bytes} bytes"
        )

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        status: int,
        parameter: str,
        reason: str,
        *,
        close: bool = False,
    ) -> None:
        self.hub.metrics.rejected.labels(parameter).inc()
        self.hub.log.warning(
            "request_rejected",
            status=status,
            method=scope.get("method"),
            path=scope.get("path", "")[:200],
            parameter=parameter,
            reason=reason,
        )
        extra = [(b"connection", b"close")] if close else []
        await send_error(send, status, parameter, reason, extra)


async def send_error(
    send: Send,
    status: int,
    parameter: str | None,
    reason: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer with the API's JSON error body, from ASGI middleware."""
    body = orjson.dumps({"error": {"parameter": parameter, "reason": reason}})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            # h11 has refused a value that is not a non-negative integer.
            return int(value) if value.isdigit() else None
    return None


def _chunked(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        name == b"transfer-encoding" and b"chunked" in value.lower()
        for name, value in headers
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives ``body`` once, then whatever the client sends next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

"""uvicorn's HTTP/1.1 protocol with a deadline on every request head.

uvicorn closes a kept-alive connection that stays idle, but not one whose client
sends its request head a byte at a time: each byte restarts nothing and cancels the
idle timer, so such a client holds its connection for as long as it likes.
:class:`HeadDeadline` gives every head ``CENTRAL_HTTP_HEAD_TIMEOUT_S`` from the
moment the connection opens, or the previous response ends, to its last header
line; past that, the client gets a 408 and the connection is closed. Bodies are
the application's business (the dashboard bounds their time itself).

Timeouts are logged as ``request_head_timeout``, at most one line a second with
the count since the previous line.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from central.logs import get_logger

_BODY = b'{"error": {"parameter": "request", "reason": "the request head was late"}}'
_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"connection: close\r\n"
    b"content-length: " + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY
)


class _Tally:
    """Head timeouts since the last log line, and when that line was."""

    count = 0
    logged_at = 0.0

    @classmethod
    def note(cls, client: Any) -> None:
        cls.count += 1
        now = time.monotonic()
        if now - cls.logged_at >= 1.0:
            get_logger().warning(
                "request_head_timeout",
                client=client[0] if client else None,
                timeouts=cls.count,
            )
            cls.count = 0
            cls.logged_at = now


def with_head_deadline(timeout_s: float) -> type[H11Protocol]:
    """The protocol class to give ``uvicorn.Config(http=...)``."""

    class HeadDeadline(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            cycle = self.cycle
            super().data_received(data)
            if self.cycle is not cycle:  # a head was complete: a request began
                self._disarm()

        def on_response_complete(self) -> None:
            cycle = self.cycle
            self._arm()
            super().on_response_complete()
            if self.cycle is not cycle or self.transport.is_closing():
                self._disarm()  # a pipelined request began, or the end

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(timeout_s, self._late)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _late(self) -> None:
            self._head_timer = None
            if self.transport.is_closing():
                return
            _Tally.note(self.client)
            self.transport.write(_RESPONSE)
            self.transport.close()

    return HeadDeadline

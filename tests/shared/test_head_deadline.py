"""A request head has a deadline: a client trickling one gets 408 and is closed.

uvicorn serves a small ASGI app with :func:`central.httpserver.with_head_deadline`
on a loopback port; the clients are raw sockets, so the bytes and their timing
are exactly what each test sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from central import httpserver
from central.devservers import free_port
from central.httpserver import with_head_deadline

DEADLINE_S = 0.5


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow":
        await asyncio.sleep(DEADLINE_S * 3)
    body = scope["path"].encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def served() -> AsyncIterator[int]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_config=None,
            access_log=False,
            http=with_head_deadline(DEADLINE_S),
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def _read_all(reader: asyncio.StreamReader, timeout: float = 5) -> bytes:
    """What the server sent until it closed (or the connection broke)."""
    received = b""
    async with asyncio.timeout(timeout):
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionError:
                return received
            if not chunk:
                return received
            received += chunk


def _get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode()


async def test_a_trickled_head_gets_408_and_the_connection_closes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines: list[dict[str, Any]] = []

    class Log:
        def warning(self, event: str, **fields: Any) -> None:
            lines.append({"event": event, **fields})

    monkeypatch.setattr(httpserver, "get_logger", Log)
    monkeypatch.setattr(httpserver._Tally, "logged_at", 0.0)
    async with served() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        answered = asyncio.create_task(_read_all(reader))
        writer.write(b"GET / HTTP/1.1\r\nHost: t\r\n")
        for _ in range(40):  # a header byte every 0.1 s, for up to 4 s
            if answered.done():
                break
            try:
                writer.write(b"X")
                await writer.drain()
            except ConnectionError:
                break
            await asyncio.sleep(0.1)
        answer = await answered
        took = time.monotonic() - started
        writer.close()

    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    assert answer.endswith(b'"reason": "the request head was late"}}')
    assert DEADLINE_S <= took < DEADLINE_S + 1.5
    assert lines == [
        {"event": "request_head_timeout", "client": "127.0.0.1", "timeouts": 1}
    ]


async def test_an_idle_new_connection_is_closed_at_the_deadline() -> None:
    async with served() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        answer = await _read_all(reader)
        took = time.monotonic() - started
        writer.close()

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert DEADLINE_S <= took < DEADLINE_S + 1


async def test_kept_alive_pipelined_and_slow_requests_are_served() -> None:
    """A second request on a kept-alive connection, two pipelined in one write,
    and a request whose answer takes three deadlines: all 200."""
    async with served() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_get("/one"))
        first = await asyncio.wait_for(reader.readuntil(b"/one"), 5)
        await asyncio.sleep(DEADLINE_S * 0.6)
        writer.write(_get("/two") + _get("/three"))
        rest = await asyncio.wait_for(reader.readuntil(b"/three"), 5)
        writer.write(_get("/slow"))
        slow = await asyncio.wait_for(reader.readuntil(b"/slow"), 5)
        writer.close()

    assert first.startswith(b"HTTP/1.1 200 ")
    assert rest.count(b"HTTP/1.1 200 ") == 2
    assert slow.startswith(b"HTTP/1.1 200 ")

"""A local HTTP server replaying recorded upstream payloads, with fault modes.

Used by the integration tests and by ``central dev --replay`` so the hub runs
offline.  Each route serves one payload with a strong ETag and answers 304 to a
matching ``If-None-Match``.  A route can be told to misbehave (:class:`Fault`):
answer an HTTP status (with an optional ``Retry-After``), stall before answering,
cut its body short or hang up halfway, ignore conditional requests, serve other
bytes (an HTML error page, invalid UTF-8), stream random garbage, send a gzip bomb,
redirect to itself, or trickle its body a byte at a time.  Streamed bodies stop as
soon as the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from central.devservers import free_port

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

#: Bytes per message of a streamed body.
CHUNK = 64 * 1024


@dataclass
class Fault:
    """How a route misbehaves; the default is not at all.

    Applied in this order: ``delay_s`` stalls, then goes on; ``status`` answers that
    status (with ``retry_after``); ``redirect_loop`` answers 302 to the same path, so
    a client following redirects never arrives; ``garbage_bytes`` streams that many
    random bytes, without a Content-Length; ``gzip_bomb`` sends a gzip body
    (``Content-Encoding: gzip``) of about a thousandth of the size it inflates to,
    that many zero bytes; ``body`` is sent instead of the payload, as
    ``content_type``.  Otherwise the payload is served (304 to a matching
    ``If-None-Match`` unless ``ignore_validators``), its first half alone with
    ``truncate`` (the length declared is the half's).  Whatever 200 body is sent
    then goes one byte per ``trickle_s`` seconds, when that is set, and with
    ``hang_up`` the server declares the whole length, sends half and closes the
    connection.
    """

    status: int | None = None
    retry_after: str | None = None
    delay_s: float = 0.0
    truncate: bool = False
    ignore_validators: bool = False
    body: bytes | None = None
    content_type: str = "text/html; charset=utf-8"
    garbage_bytes: int = 0
    gzip_bomb: int = 0
    redirect_loop: bool = False
    trickle_s: float = 0.0
    hang_up: bool = False

    def __post_init__(self) -> None:
        if self.gzip_bomb:
            # Built now, not while a client waits for it.
            gzip_bomb(self.gzip_bomb)


@dataclass
class Route:
    """One served payload, how often it was asked for and how much was sent.

    ``hit_times`` holds the wall-clock time (``time.time()``) of the latest
    requests; ``bytes_sent`` counts body bytes handed to connections whose client
    was still there.
    """

    body: bytes
    content_type: str = "application/json"
    fault: Fault = field(default_factory=Fault)
    hits: int = 0
    not_modified: int = 0
    last_headers: dict[str, str] = field(default_factory=dict)
    hit_times: deque[float] = field(default_factory=lambda: deque(maxlen=1000))
    bytes_sent: int = 0

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'


class ReplayApp:
    """The ASGI application; mutate :attr:`routes` to change what it serves."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}

    def serve(
        self, path: str, body: bytes, content_type: str = "application/json"
    ) -> Route:
        """Serve ``body`` at ``path`` (replacing what was there, faults cleared)."""
        route = Route(body, content_type)
        self.routes[path] = route
        return route

    def serve_folder(self, folder: Path) -> list[str]:
        """Serve every file under ``folder`` at ``/<relative path>``."""
        paths = []
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            if file.name.startswith(".") or file.suffix == ".md":
                continue
            path = "/" + file.relative_to(folder).as_posix()
            kind = (
                "application/xml"
                if file.suffix == ".xml"
                else ("text/csv" if file.suffix == ".csv" else "application/json")
            )
            self.serve(path, file.read_bytes(), kind)
            paths.append(path)
        return paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        route = self.routes.get(scope["path"])
        if route is None:
            await respond(send, 404, b"not found\n", "text/plain")
            return
        route.hits += 1
        route.hit_times.append(time.time())
        route.last_headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        fault = route.fault
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault.status is not None:
            extra = (
                [(b"retry-after", fault.retry_after.encode())]
                if fault.retry_after
                else []
            )
            await respond(send, fault.status, b"upstream fault\n", "text/plain", extra)
            return
        if fault.redirect_loop:
            location = [(b"location", scope["path"].encode())]
            await respond(send, 302, b"", "text/plain", location)
            return
        if fault.garbage_bytes:
            kind = [(b"content-type", b"application/octet-stream")]
            chunks = _garbage(fault.garbage_bytes)
            await _stream(receive, send, route, kind, chunks, 0.0)
            return
        if fault.gzip_bomb:
            bomb = gzip_bomb(fault.gzip_bomb)
            coding = [(b"content-encoding", b"gzip")]
            await respond(send, 200, bomb, route.content_type, coding)
            route.bytes_sent += len(bomb)
            return
        await self._payload(route, scope, receive, send)

    async def _payload(
        self, route: Route, scope: Scope, receive: Receive, send: Send
    ) -> None:
        fault = route.fault
        if fault.body is not None:
            body, content_type, extra = fault.body, fault.content_type, []
        else:
            headers = dict(scope["headers"])
            asked = headers.get(b"if-none-match", b"").decode()
            etag = [(b"etag", route.etag.encode())]
            if asked == route.etag and not fault.ignore_validators:
                route.not_modified += 1
                await respond(send, 304, b"", route.content_type, etag)
                return
            body = route.body[: len(route.body) // 2] if fault.truncate else route.body
            content_type, extra = route.content_type, etag
        if not (fault.trickle_s or fault.hang_up):
            await respond(send, 200, body, content_type, extra)
            route.bytes_sent += len(body)
            return
        declared = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ]
        if fault.hang_up:
            body = body[: len(body) // 2]
        step = 1 if fault.trickle_s else CHUNK
        chunks = (body[i : i + step] for i in range(0, len(body), step))
        await _stream(
            receive, send, route, declared, chunks, fault.trickle_s, not fault.hang_up
        )


async def lifespan(receive: Receive, send: Send) -> None:
    """Answer an ASGI lifespan protocol: nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


@functools.cache
def gzip_bomb(inflated: int) -> bytes:
    """A gzip member inflating to ``inflated`` zero bytes; made once per size.

    About a thousandth of ``inflated`` in size (128 MiB pack into 130 kB), built a
    mebibyte at a time, so making it never holds what it inflates to.
    """
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    whole, rest = divmod(inflated, len(block))
    parts = [packer.compress(block) for _ in range(whole)]
    parts += [packer.compress(bytes(rest)), packer.flush()]
    return b"".join(parts)


def _garbage(size: int) -> Iterator[bytes]:
    for start in range(0, size, CHUNK):
        yield os.urandom(min(CHUNK, size - start))


async def _stream(
    receive: Receive,
    send: Send,
    route: Route,
    headers: list[tuple[bytes, bytes]],
    chunks: Iterable[bytes],
    pause_s: float,
    complete: bool = True,
) -> None:
    """A 200 whose body is ``chunks``, ``pause_s`` apart, until the client leaves.

    With ``complete`` false the body is left unfinished: the server then closes the
    connection (and logs that the response was not completed).
    """
    gone = asyncio.Event()
    watcher = asyncio.create_task(_watch_disconnect(receive, gone))
    try:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            # Let the watcher run: once the client is gone, send returns at once.
            await asyncio.sleep(0)
            if gone.is_set():
                return
            route.bytes_sent += len(chunk)
            if pause_s:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(gone.wait(), pause_s)
        if complete and not gone.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


async def respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def running(
    app: Callable[[Scope, Receive, Send], Awaitable[None]], port: int | None = None
) -> AsyncIterator[str]:
    """Serve ASGI ``app`` on 127.0.0.1 in this event loop; yields the base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def serve_replay(fixtures: Path, host: str, port: int) -> int:
    """Serve every payload under ``fixtures`` at ``/<relative path>`` until stopped.

    Also answers ``/healthz``, so a container healthcheck can probe it.
    """
    app = ReplayApp()
    paths = app.serve_folder(fixtures)
    app.serve("/healthz", b'{"status": "alive"}')
    print(
        f"replay: serving {len(paths)} payloads from {fixtures} on {host}:{port}",
        flush=True,
    )
    uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    ).run()
    return 0

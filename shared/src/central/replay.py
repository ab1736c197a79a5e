"""A local HTTP server replaying recorded upstream payloads, with fault modes.

Used by the integration tests and by ``central dev --replay`` so the hub runs
offline.  Each route serves one payload with a strong ETag and answers 304 to a
matching ``If-None-Match``.  A route can be told to misbehave: answer an HTTP status
(with an optional ``Retry-After``), stall before answering, cut its body short, or
ignore conditional requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from central.devservers import free_port

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Fault:
    """How a route misbehaves; the default is not at all."""

    status: int | None = None
    retry_after: str | None = None
    delay_s: float = 0.0
    truncate: bool = False
    ignore_validators: bool = False


@dataclass
class Route:
    """One served payload and how often it was asked for."""

    body: bytes
    content_type: str = "application/json"
    fault: Fault = field(default_factory=Fault)
    hits: int = 0
    not_modified: int = 0
    last_headers: dict[str, str] = field(default_factory=dict)

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
            await _lifespan(receive, send)
            return
        route = self.routes.get(scope["path"])
        if route is None:
            await _respond(send, 404, b"not found\n", "text/plain")
            return
        route.hits += 1
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
            await _respond(send, fault.status, b"upstream fault\n", "text/plain", extra)
            return
        headers = dict(scope["headers"])
        asked = headers.get(b"if-none-match", b"").decode()
        if asked == route.etag and not fault.ignore_validators:
            route.not_modified += 1
            await _respond(
                send, 304, b"", route.content_type, [(b"etag", route.etag.encode())]
            )
            return
        body = route.body[: len(route.body) // 2] if fault.truncate else route.body
        await _respond(
            send, 200, body, route.content_type, [(b"etag", route.etag.encode())]
        )


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _respond(
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

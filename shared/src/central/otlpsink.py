"""A small OTLP/HTTP trace receiver that keeps what it receives, for tests.

``POST /v1/traces`` takes an ``ExportTraceServiceRequest`` (protobuf, optionally
gzip-encoded) as the OpenTelemetry exporters send it; ``GET /spans`` answers every
span kept so far as JSON (optionally ``?trace_id=<hex>``), ``DELETE /spans``
forgets them and ``GET /healthz`` answers 200. ``central otlp-sink`` serves it for
the compose end-to-end suite; benchmarks and tests run it in-process with
:func:`central.replay.running`-style serving.

At most :attr:`SinkApp.limit` spans are kept; the rest are counted as dropped.
Requests are kept decoded but not converted until asked for, so that receiving
costs little CPU beside the services under test.
"""

from __future__ import annotations

import gzip
from typing import Any
from urllib.parse import parse_qs

import orjson
import uvicorn
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from central.replay import Receive, Scope, Send, lifespan, respond

_MAX_BODY = 64 * 1024 * 1024


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _attributes(items: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in items}


def spans_of(request: ExportTraceServiceRequest) -> list[dict[str, Any]]:
    """The spans of one export request as flat JSON-able dicts."""
    found: list[dict[str, Any]] = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                found.append(
                    {
                        "service": resource.get("service.name"),
                        "resource": resource,
                        "scope": scope_spans.scope.name,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex() or None,
                        "name": span.name,
                        "kind": span.kind,
                        "start_ns": span.start_time_unix_nano,
                        "end_ns": span.end_time_unix_nano,
                        "status": span.status.code,
                        "attributes": _attributes(span.attributes),
                        "links": [
                            {
                                "trace_id": link.trace_id.hex(),
                                "span_id": link.span_id.hex(),
                            }
                            for link in span.links
                        ],
                    }
                )
    return found


class SinkApp:
    """The ASGI application holding the received spans."""

    def __init__(self, limit: int = 500_000) -> None:
        self.limit = limit
        self.dropped = 0
        self.requests = 0
        self._received: list[ExportTraceServiceRequest] = []
        self._count = 0

    @property
    def spans(self) -> list[dict[str, Any]]:
        """Every span kept, oldest first, as :func:`spans_of` gives them."""
        return [span for request in self._received for span in spans_of(request)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if method == "POST" and path == "/v1/traces":
            await self._export(scope, receive, send)
        elif method == "GET" and path == "/spans":
            query = parse_qs(scope.get("query_string", b"").decode())
            wanted = query.get("trace_id", [None])[0]
            spans = [s for s in self.spans if wanted in (None, s["trace_id"])]
            await _answer(
                send, 200, orjson.dumps({"spans": spans, "dropped": self.dropped})
            )
        elif method == "DELETE" and path == "/spans":
            self._received.clear()
            self._count = 0
            await _answer(send, 204, b"")
        elif path == "/healthz":
            await _answer(send, 200, b'{"status": "alive"}')
        else:
            await _answer(send, 404, b'{"error": "not found"}')

    async def _export(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > _MAX_BODY:
                await _answer(send, 413, b'{"error": "request too large"}')
                return
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        try:
            raw = bytes(body)
            if headers.get("content-encoding") == "gzip":
                raw = gzip.decompress(raw)
            request = ExportTraceServiceRequest.FromString(raw)
        except Exception as exc:
            await _answer(send, 400, orjson.dumps({"error": repr(exc)}))
            return
        self.requests += 1
        count = sum(
            len(scope.spans)
            for resource in request.resource_spans
            for scope in resource.scope_spans
        )
        if self._count + count > self.limit:
            self.dropped += count
        else:
            self._received.append(request)
            self._count += count
        await _answer(
            send,
            200,
            ExportTraceServiceResponse().SerializeToString(),
            "application/x-protobuf",
        )


async def _answer(
    send: Send, status: int, body: bytes, content_type: str = "application/json"
) -> None:
    await respond(send, status, body, content_type)


def serve_sink(host: str, port: int) -> int:
    """Serve a :class:`SinkApp` until stopped (``central otlp-sink``)."""
    print(f"otlp-sink: listening on {host}:{port}", flush=True)
    uvicorn.Server(
        uvicorn.Config(
            SinkApp(), host=host, port=port, log_config=None, access_log=False
        )
    ).run()
    return 0

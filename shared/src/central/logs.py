"""JSON logging: one object per line on stdout with ``service``, ``event``, ``level``.

Built on structlog.  Call :func:`configure` once at start-up; afterwards
``get_logger()`` returns a logger whose first argument is a stable snake_case event
name and whose keyword arguments are the fields.  Standard-library loggers (asyncio,
uvicorn, faststream) are routed through the same renderer so that stdout stays pure
JSON lines.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, MutableMapping
from typing import Any

import orjson
import structlog

_TraceHook = Callable[[], dict[str, str]]
_trace_hooks: list[_TraceHook] = []


def add_trace_hook(hook: _TraceHook) -> None:
    """Register a callable returning ``trace_id``/``span_id`` fields for log lines."""
    _trace_hooks.append(hook)


def _trace_fields(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for hook in _trace_hooks:
        for key, value in hook().items():
            event_dict.setdefault(key, value)
    return event_dict


def _dumps(obj: Any, default: Callable[[Any], Any] | None = None) -> str:
    return orjson.dumps(obj, default=default or str).decode()


def configure(service: str, level: str = "INFO") -> None:
    """Route every log line of the process to stdout as JSON, tagged ``service``.

    Safe to call more than once (tests do); the last call wins.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        _trace_fields,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            structlog.processors.EventRenamer("event"),
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(serializer=_dumps),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.INFO))
    for noisy in ("uvicorn.access", "faststream.access", "faststream.access.nats"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(**fields: Any) -> Any:
    """A bound structlog logger; ``fields`` are added to every line it writes."""
    return structlog.get_logger().bind(**fields)

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
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

import orjson
import structlog

_TraceHook = Callable[[], dict[str, str]]
_trace_hooks: list[_TraceHook] = []
#: Values never to be written out (passwords, API keys), longest first.
_hidden: list[str] = []


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


def hide(*values: str) -> None:
    """Mask each of ``values`` as ``***`` wherever it appears in a log line.

    For secrets that may surface in text the service does not control, such as a
    library's error message quoting a URL. Values shorter than four characters are
    ignored (they would mask ordinary words).
    """
    for value in values:
        if len(value) >= 4 and value not in _hidden:
            _hidden.append(value)
    _hidden.sort(key=len, reverse=True)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        for secret in _hidden:
            if secret in value:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def _hide_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if _hidden:
        for key, value in event_dict.items():
            event_dict[key] = _masked(value)
    return event_dict


def _dumps(obj: Any, default: Callable[[Any], Any] | None = None) -> str:
    return orjson.dumps(obj, default=default or str).decode()


def configure(service: str, level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Route every log line of the process to stdout as JSON, tagged ``service``.

    ``secrets`` are masked in every line (:func:`hide`). Safe to call more than
    once (tests do); the last call wins, and masked values stay masked.
    """
    hide(*secrets)
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
            _hide_secrets,
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
                _hide_secrets,
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

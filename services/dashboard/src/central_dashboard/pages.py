"""The dashboard's HTML pages: overview, map, streams and event explorer.

Each handler asks the Hub (``request.app.state.hub``) for what the page shows and
renders a Jinja2 template from ``templates/``; the scripts in ``static/`` add map
drawing, form submission and live updates.  A hub call that fails leaves an error
note in its own section while the rest of the page renders, and a bad explorer
filter renders the form again with the reason (400): no page answers 500.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import QueryParams

from central.logs import get_logger
from central.streams import DASHBOARD
from central_dashboard.errors import BudgetSpentError, ParameterError
from central_dashboard.queries import PARAMETERS, EventQuery, parse_query

#: Rows in the overview's latest-events table.
LATEST = 10
#: Events the map asks for per page unless the operator says otherwise.
MAP_LIMIT = 500
#: Rows per explorer page unless the form says otherwise.
EXPLORER_LIMIT = 50
#: What a page shows for a value that is not known (an en dash).
MISSING = "\u2013"
#: The map's quick "since" choices: label and seconds before now.
PRESETS = (("1 h", 3600), ("24 h", 86_400), ("7 d", 7 * 86_400), ("30 d", 30 * 86_400))

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


@dataclass(frozen=True)
class Section:
    """What one hub call gave a page: its body, or the reason it failed."""

    what: str
    value: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True)
class StreamCard:
    """One overview card; ``error`` set means the stream's state could not be read."""

    name: str
    domain: str
    messages: int = 0
    bytes: int = 0
    rate: float | None = None
    last_time: str | None = None
    lag: int = 0
    error: str | None = None


async def _section(page: str, what: str, call: Awaitable[dict[str, Any]]) -> Section:
    try:
        return Section(what, value=await call)
    except Exception as exc:
        # The page must still render: the failed part shows its reason instead.
        if not isinstance(exc, BudgetSpentError):
            get_logger().warning(
                "page_section_failed", page=page, section=what, error=repr(exc)
            )
        return Section(what, error=_reason(exc))


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def stream_cards(body: Mapping[str, Any] | None) -> list[StreamCard]:
    """A card per dashboard stream of a ``GET /api/streams`` body, in its order."""
    cards = []
    for entry in (body or {}).get("streams", []):
        if not entry.get("dashboard"):
            continue
        name, domain = entry["name"], entry.get("domain", "")
        state = entry.get("state")
        if entry.get("error") or state is None:
            reason = entry.get("error") or "no state reported"
            cards.append(StreamCard(name, domain, error=str(reason)))
            continue
        lag = sum(int(c.get("pending") or 0) for c in state.get("consumers", []))
        cards.append(
            StreamCard(
                name,
                domain,
                messages=int(state.get("messages") or 0),
                bytes=int(state.get("bytes") or 0),
                rate=state.get("rate_per_s"),
                last_time=state.get("last_time"),
                lag=lag,
            )
        )
    return cards


def _render(
    request: Request, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request) -> HTMLResponse:
    """Stream cards, adapter health and the latest events."""
    hub = request.app.state.hub
    streams = await _section("overview", "streams", hub.streams())
    adapters = await _section("overview", "adapters", hub.adapters())
    latest = await _section(
        "overview", "latest events", hub.events(EventQuery(limit=LATEST))
    )
    context = {
        "title": "Overview",
        "page": "overview",
        "streams": streams,
        "cards": stream_cards(streams.value),
        "adapters": adapters,
        "rows": (adapters.value or {}).get("adapters", []),
        "latest": latest,
        "events": (latest.value or {}).get("events", []),
    }
    return _render(request, "overview.html", context)


@router.get("/map", response_class=HTMLResponse)
async def world_map(request: Request) -> HTMLResponse:
    """The map page; its script loads events from ``/api/events`` and ``/api/live``."""
    context = {
        "title": "Map",
        "page": "map",
        "presets": PRESETS,
        "limit": MAP_LIMIT,
        "domains": [spec.domain for spec in DASHBOARD],
    }
    return _render(request, "map.html", context)


@router.get("/streams", response_class=HTMLResponse)
async def streams_page(request: Request) -> HTMLResponse:
    """A limits form per stream; the script writes through ``PUT /api/streams``."""
    streams = await _section("streams", "streams", request.app.state.hub.streams())
    context = {
        "title": "Streams",
        "page": "streams",
        "streams": streams,
        "entries": (streams.value or {}).get("streams", []),
    }
    return _render(request, "streams.html", context)


@router.get("/explorer", response_class=HTMLResponse)
async def explorer(request: Request) -> HTMLResponse:
    """The query API's filters as a form, one page of results, a next-page link.

    The filters are the query string, so a result page is a link to share; a bad
    filter answers 400 with the form and the reason, and queries nothing.
    """
    hub = request.app.state.hub
    params = request.query_params
    form = _form_values(params)
    context: dict[str, Any] = {
        "title": "Explorer",
        "page": "explorer",
        "form": form,
        "rejected": None,
        "result": Section("events"),
        "events": [],
        "next_href": None,
    }
    try:
        query = parse_query(params, default_limit=EXPLORER_LIMIT)
    except ParameterError as exc:
        label = exc.parameter if exc.parameter in PARAMETERS else "other"
        hub.metrics.rejected.labels(label).inc()
        get_logger().warning(
            "page_query_rejected",
            page="explorer",
            parameter=exc.parameter,
            reason=exc.reason,
        )
        context["rejected"] = {"parameter": exc.parameter, "reason": exc.reason}
        return _render(request, "explorer.html", context, status=400)

    result = await _section("explorer", "events", hub.events(query))
    body = result.value or {}
    cursor = body.get("next_cursor")
    context["result"] = result
    context["events"] = body.get("events", [])
    context["next_href"] = _next_href(params, cursor) if cursor else None
    return _render(request, "explorer.html", context)


def _form_values(params: QueryParams) -> dict[str, Any]:
    form: dict[str, Any] = {
        key: params.get(key, "")
        for key in ("since", "until", "source", "subject", "bbox", "near")
    }
    form["types"] = [t for t in params.getlist("type") if t]
    form["limit"] = params.get("limit") or EXPLORER_LIMIT
    return form


def _next_href(params: QueryParams, cursor: str) -> str:
    pairs = [(k, v) for k, v in params.multi_items() if k != "cursor" and v != ""]
    pairs.append(("cursor", cursor))
    return "/explorer?" + urlencode(pairs)


# Template filters: how numbers, sizes, durations and times read on the pages.


def _count(value: Any) -> str:
    if value is None:
        return MISSING
    return f"{int(value):,}"


def _size(value: Any) -> str:
    if value is None:
        return MISSING
    size = float(value)
    if size < 0:
        return "unlimited"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def _duration(value: Any) -> str:
    if value is None:
        return MISSING
    seconds = float(value)
    if seconds <= 0:
        return "unlimited"
    for unit, length in (("d", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= length:
            amount = seconds / length
            return (
                f"{amount:.0f} {unit}"
                if amount.is_integer()
                else f"{amount:.1f} {unit}"
            )
    return f"{seconds:g} s"


def _rate(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return f"{float(value):.2f}/s"


def _ago(value: Any) -> str:
    if value is None:
        return MISSING
    seconds = float(value)
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 2 * 86_400:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86_400:.0f} d ago"


def _since(value: Any) -> str:
    """How long ago an ISO time was, as :func:`_ago` reads it."""
    moment = _parse_time(value)
    if moment is None:
        return MISSING
    return _ago(max(0.0, (datetime.now(UTC) - moment).total_seconds()))


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _when(value: Any) -> str:
    moment = _parse_time(value)
    if moment is None:
        return str(value) if value else MISSING
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _domain(event_type: Any) -> str:
    parts = str(event_type or "").split(".")
    return parts[1] if len(parts) > 2 else "other"


def _result_class(result: Any) -> str:
    text = str(result or "")
    if text in ("ok", "not_modified"):
        return "ok"
    return "bad" if text.startswith("error") else "muted"


def _pretty(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def _plain(value: Any) -> str:
    """A number as an input's value: integers without a trailing ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Embedded JSON keeps the event's own key order (Jinja sorts keys by default).
templates.env.policies["json.dumps_kwargs"] = {"sort_keys": False}
templates.env.filters.update(
    count=_count,
    size=_size,
    duration=_duration,
    rate=_rate,
    ago=_ago,
    since=_since,
    when=_when,
    domain=_domain,
    result_class=_result_class,
    pretty=_pretty,
    plain=_plain,
)

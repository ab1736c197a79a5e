"""The JSON API under ``/api``: events, history, streams, adapters, the live feed.

Routes stay thin: they validate the request, ask the Hub, and shape the answer
(CloudEvents JSON, or GeoJSON for ``format=geojson`` / ``Accept:
application/geo+json``). Every error answers with the body
``{"error": {"parameter": ..., "reason": ...}}``; :mod:`central_dashboard.app`
maps the errors to status codes.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from nats.errors import Error as NatsError
from sse_starlette import EventSourceResponse
from starlette.background import BackgroundTask

from central.streams import REGISTRY
from central_dashboard import schemas
from central_dashboard.errors import ParameterError, UnavailableError
from central_dashboard.hub import Hub
from central_dashboard.live import LiveFeed, LiveFilter
from central_dashboard.queries import (
    MAX_LIMIT,
    MAX_TEXT,
    TYPE_PATTERN,
    parse_event_query,
)

GEOJSON = "application/geo+json"
JSON = "application/json"
DEFAULT_ACTOR = "dashboard"
MAX_ACTOR = 200

router = APIRouter(prefix="/api")
_bearer = HTTPBearer(auto_error=False, description="CENTRAL_DASHBOARD_TOKEN")


class AuthError(Exception):
    """A PUT without the right token: 401 (none or malformed) or 403 (wrong)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


Responses = dict[int | str, dict[str, Any]]


def _error(description: str) -> dict[str, Any]:
    return {"model": schemas.ErrorBody, "description": description}


_BAD_REQUEST: Responses = {400: _error("A parameter is invalid; the body names it.")}
_UNAVAILABLE: Responses = {503: _error("The database or NATS did not answer.")}


def _numbers_pattern(count: int) -> str:
    number = r"-?[0-9]+(\.[0-9]+)?"
    return "^" + ",".join([number] * count) + "$"


# For the document only; the parameters are validated by EventQuery.
TYPE_RE = TYPE_PATTERN.pattern


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def json_response(body: Any, media_type: str = JSON, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type)


def _text(parameter: str, value: str) -> str:
    if len(value) > MAX_TEXT:
        raise ParameterError(parameter, f"is longer than {MAX_TEXT} characters")
    if "\x00" in value:
        raise ParameterError(parameter, "contains a NUL character")
    return value


@router.get(
    "/events",
    summary="Archived events, newest first",
    response_model=None,
    responses={
        200: {
            "description": "A page of events: CloudEvents in structured JSON, or "
            "with `format=geojson` (or `Accept: application/geo+json`) a GeoJSON "
            "FeatureCollection.",
            "content": {
                JSON: {"schema": {"$ref": "#/components/schemas/EventsPage"}},
                GEOJSON: {"schema": {"$ref": "#/components/schemas/FeatureCollection"}},
            },
        },
        **_BAD_REQUEST,
        **_UNAVAILABLE,
    },
)
async def list_events(
    request: Request,
    since: Annotated[
        str | None,
        Query(
            description="Events at or after this time (ISO 8601; UTC when no "
            "offset is given).",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(
            description="Events before this time (ISO 8601).",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
    type: Annotated[
        list[str] | None,
        Query(
            description="Event type, `central.<domain>.<kind>`; repeat for any of "
            "several.",
            json_schema_extra={"items": {"type": "string", "pattern": TYPE_RE}},
        ),
    ] = None,
    source: Annotated[
        str | None, Query(max_length=MAX_TEXT, description="Exact event source.")
    ] = None,
    subject: Annotated[
        str | None,
        Query(max_length=MAX_TEXT, description="Exact subject (upstream record id)."),
    ] = None,
    bbox: Annotated[
        str | None,
        Query(
            description="`minLon,minLat,maxLon,maxLat` in WGS84 degrees: the OGC "
            "and GeoJSON order, longitude first (NASA EONET's own `bbox` lists "
            "the upper-left corner first; this one does not). Events whose "
            "geometry intersects the box. A box crossing the antimeridian "
            "(minLon > maxLon) is refused.",
            examples=["-125,32,-114,42"],
            json_schema_extra={"pattern": _numbers_pattern(4)},
        ),
    ] = None,
    near: Annotated[
        str | None,
        Query(
            description="`lon,lat,km`: events whose geometry lies within `km` "
            "kilometres of the point, on the spheroid.",
            examples=["-122.4,37.8,50"],
            json_schema_extra={"pattern": _numbers_pattern(3)},
        ),
    ] = None,
    # Read as text, so that an empty value counts as not given like the other
    # filters; the OpenAPI document declares it an integer (see app._openapi).
    limit: Annotated[
        str | None, Query(description=f"Page size, 1 to {MAX_LIMIT} (default 100).")
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_TEXT,
            description="`next_cursor` of the previous page; only valid with the "
            "same filters.",
        ),
    ] = None,
    format: Annotated[
        Literal["cloudevents", "geojson"] | None,
        Query(description="Answer format; overrides the Accept header."),
    ] = None,
) -> Response:
    items = [(k, v) for k, v in request.query_params.multi_items() if k != "format"]
    query = parse_event_query(items)
    page = await hub_of(request).events(query)
    if _wants_geojson(format, request.headers.get("accept", "")):
        return json_response(feature_collection(page), GEOJSON)
    return json_response(page)


def _wants_geojson(format: str | None, accept: str) -> bool:
    if format is not None:
        return format == "geojson"
    return GEOJSON in accept.lower()


def feature_collection(page: dict[str, Any]) -> dict[str, Any]:
    """A page of events as a GeoJSON FeatureCollection (RFC 7946).

    Each feature's geometry is the event's ``data.geometry`` (null when it has
    none); its properties are the event with that geometry taken out of ``data``.
    """
    features = []
    for event in page["events"]:
        data = event.get("data")
        geometry = None
        properties = dict(event)
        if isinstance(data, dict):
            candidate = data.get("geometry")
            if isinstance(candidate, dict) and isinstance(candidate.get("type"), str):
                geometry = candidate
            properties["data"] = {k: v for k, v in data.items() if k != "geometry"}
        features.append(
            {
                "type": "Feature",
                "id": event["id"],
                "geometry": geometry,
                "properties": properties,
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "next_cursor": page["next_cursor"],
    }


@router.get(
    "/events/{source:path}/{id}",
    summary="One archived event",
    description="`source` is the event's source URI, percent-encoded as one path "
    "segment (`https%3A%2F%2Fearthquake.usgs.gov%2Fearthquakes%2Ffeed%2Fv1.0`); "
    "its slashes may also be left as they are, since the id is the last segment.",
    response_model=None,
    responses={
        200: {"model": schemas.CloudEvent, "description": "The event."},
        404: _error("No such event."),
        **_BAD_REQUEST,
        **_UNAVAILABLE,
    },
)
async def get_event(
    request: Request,
    source: Annotated[str, Path(description="The event's source URI.")],
    id: Annotated[str, Path(description="The event's id.")],
) -> Response:
    event = await hub_of(request).event(_text("source", source), _text("id", id))
    return json_response(event)


@router.get(
    "/subjects/{subject:path}/history",
    summary="Every revision of one upstream record, oldest first",
    description="`subject` is the record's id (the events' subject), "
    "percent-encoded where it holds reserved characters.",
    response_model=None,
    responses={
        200: {"model": schemas.History, "description": "The revisions."},
        404: _error("No event with that subject."),
        **_BAD_REQUEST,
        **_UNAVAILABLE,
    },
)
async def subject_history(
    request: Request,
    subject: Annotated[str, Path(description="The upstream record's id.")],
    source: Annotated[
        str | None,
        Query(max_length=MAX_TEXT, description="Only this source's record of it."),
    ] = None,
) -> Response:
    _only(request, {"source"})
    history = await hub_of(request).history(
        _text("subject", subject), _text("source", source) if source else None
    )
    return json_response(history)


@router.get(
    "/streams",
    summary="Every registry stream: limits, JetStream state, consumers",
    response_model=None,
    responses={
        200: {
            "model": schemas.Streams,
            "description": "One entry per registry stream; a stream that did not "
            "answer has `state` null and an `error`.",
        },
        **_UNAVAILABLE,
    },
)
async def list_streams(request: Request) -> Response:
    _only(request, set())
    return json_response(await hub_of(request).streams())


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """The bearer token check of every PUT, compared in constant time."""
    token = hub_of(request).settings.dashboard_token
    if token is None:
        raise AuthError(403, "no token is configured: changes are disabled")
    if credentials is None:
        raise AuthError(401, "send Authorization: Bearer <token>")
    expected = token.get_secret_value().encode()
    if not hmac.compare_digest(credentials.credentials.encode(), expected):
        raise AuthError(403, "the token is not valid")


@router.put(
    "/streams/{name}",
    summary="Change one stream's limits and apply them to JetStream",
    description="Needs `Authorization: Bearer <CENTRAL_DASHBOARD_TOKEN>`. The "
    "change, its actor (`X-Central-Actor`, else `dashboard`) and the client "
    "address are logged and kept in `config.stream_changes`. When reconcile or "
    "JetStream refuses the change, nothing changes and the answer is 409.",
    response_model=None,
    dependencies=[Depends(require_token)],
    responses={
        200: {"model": schemas.StreamUpdate, "description": "The change applied."},
        401: _error("No bearer token."),
        403: _error("Wrong token, or none configured."),
        404: _error("No such registry stream."),
        409: _error("Refused by reconcile or by JetStream; nothing changed."),
        **_BAD_REQUEST,
        **_UNAVAILABLE,
    },
)
async def update_stream(
    request: Request,
    name: Annotated[
        str,
        Path(
            description="A registry stream.",
            json_schema_extra={"enum": [spec.name for spec in REGISTRY]},
        ),
    ],
    change: schemas.LimitChange,
    actor: Annotated[
        str | None,
        Header(
            alias="X-Central-Actor",
            description="Who makes the change (default `dashboard`).",
        ),
    ] = None,
) -> Response:
    _only(request, set())
    who = _actor(actor)
    client = request.client.host if request.client else None
    result = await hub_of(request).update_stream(
        name, change.model_dump(exclude_none=True), who, client
    )
    return json_response(result)


def _actor(value: str | None) -> str:
    if not value:
        return DEFAULT_ACTOR
    if len(value) > MAX_ACTOR or not value.isprintable():
        raise ParameterError(
            "X-Central-Actor",
            f"must be printable text of at most {MAX_ACTOR} characters",
        )
    return value


@router.get(
    "/adapters",
    summary="The latest heartbeat of each adapter, and whether it is stale",
    response_model=None,
    responses={
        200: {"model": schemas.Adapters, "description": "One entry per service."},
        **_UNAVAILABLE,
    },
)
async def list_adapters(request: Request) -> Response:
    _only(request, set())
    return json_response(await hub_of(request).adapters())


@router.get(
    "/live",
    summary="New events as server-sent events",
    description="Each SSE message's data is one CloudEvent in structured JSON. "
    "`type` and `bbox` filter as for `/api/events`, except that the box holds an "
    "event when its representative point (a polygon's centroid) lies inside it. "
    "Only events published while connected are sent.",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "An endless text/event-stream.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **_BAD_REQUEST,
        **_UNAVAILABLE,
    },
)
async def live(
    request: Request,
    type: Annotated[
        list[str] | None, Query(description="Event type; repeat for several.")
    ] = None,
    bbox: Annotated[
        str | None,
        Query(description="`minLon,minLat,maxLon,maxLat` (OGC order)."),
    ] = None,
) -> EventSourceResponse:
    query = parse_event_query(request.query_params.multi_items(), {"type", "bbox"})
    hub = hub_of(request)
    settings = hub.settings
    if hub.nc is None or not hub.nc.is_connected:
        raise UnavailableError("NATS", "not connected")
    try:
        feed = await LiveFeed.open(
            hub.nc,
            LiveFilter(query.types, query.bbox),
            max_subjects=settings.live_max_subjects,
            queue_size=settings.live_queue_size,
            metrics=hub.metrics,
            log=hub.log,
        )
    except NatsError as exc:
        raise UnavailableError("NATS", repr(exc)) from exc
    # The background task closes the feed even when the stream never started.
    return EventSourceResponse(
        feed.events(), ping=settings.live_ping_s, background=BackgroundTask(feed.close)
    )


def _only(request: Request, allowed: set[str]) -> None:
    for name in request.query_params:
        if name not in allowed:
            raise ParameterError(name, "is not a parameter of this endpoint")

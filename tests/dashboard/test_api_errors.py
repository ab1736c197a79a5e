"""Bad input answers 400 naming the parameter, absent things 404; never 500.

Every rejection is also logged and counted
(``central_dashboard_rejected_requests_total``, by parameter).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from dashboard.harness import Running

from central_dashboard.cursor import Position, encode

USGS = "https://earthquake.usgs.gov/earthquakes/feed/v1.0"

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("since-garbage", {"since": "yesterday"}, "since"),
    ("since-out-of-range", {"since": "0001-01-01T00:00:00+05:00"}, "since"),
    ("until-garbage", {"until": "2024-13-45"}, "until"),
    (
        "until-before-since",
        {"since": "2024-05-02T00:00:00Z", "until": "2024-05-01T00:00:00Z"},
        "until",
    ),
    ("type-shape", {"type": "earthquake"}, "type"),
    ("type-upper", {"type": "central.Quake.earthquake"}, "type"),
    ("type-too-many", {"type": [f"central.x.t{i}" for i in range(33)]}, "type"),
    ("source-too-long", {"source": "x" * 2049}, "source"),
    ("source-nul", {"source": "a\x00b"}, "source"),
    ("subject-nul", {"subject": "\x00"}, "subject"),
    ("bbox-three", {"bbox": "1,2,3"}, "bbox"),
    ("bbox-word", {"bbox": "a,b,c,d"}, "bbox"),
    ("bbox-nan", {"bbox": "nan,0,1,1"}, "bbox"),
    ("bbox-lat", {"bbox": "0,-95,10,10"}, "bbox"),
    ("bbox-lon", {"bbox": "-190,0,10,10"}, "bbox"),
    ("bbox-antimeridian", {"bbox": "170,0,-170,10"}, "bbox"),
    ("bbox-flipped-lat", {"bbox": "0,10,10,0"}, "bbox"),
    ("near-two", {"near": "1,2"}, "near"),
    ("near-zero-km", {"near": "1,2,0"}, "near"),
    ("near-far", {"near": "1,2,30000"}, "near"),
    ("near-lat", {"near": "1,100,10"}, "near"),
    ("limit-zero", {"limit": "0"}, "limit"),
    ("limit-big", {"limit": "1001"}, "limit"),
    ("limit-word", {"limit": "many"}, "limit"),
    ("cursor-garbage", {"cursor": "not a cursor"}, "cursor"),
    ("cursor-base64", {"cursor": "v1.!!!"}, "cursor"),
    ("cursor-version", {"cursor": "v9.WzFd"}, "cursor"),
    ("cursor-shape", {"cursor": "v1.WzFd"}, "cursor"),
    ("format", {"format": "xml"}, "format"),
    ("unknown", {"types": "central.quake.earthquake"}, "types"),
]


@pytest.mark.parametrize(
    ("params", "parameter"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
async def test_bad_parameter_answers_400_naming_it(
    dashboard: Running, params: dict[str, Any], parameter: str
) -> None:
    before = _rejected(dashboard, parameter)

    answer = await dashboard.client.get("/api/events", params=params)

    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["parameter"] == parameter
    assert isinstance(error["reason"], str) and error["reason"]
    assert _rejected(dashboard, parameter) == before + 1


def _rejected(dashboard: Running, parameter: str) -> float:
    label = parameter if parameter != "types" else "other"
    return dashboard.hub.metrics.value(
        "central_dashboard_rejected_requests_total", parameter=label
    )


async def test_repeated_parameter_answers_400(dashboard: Running) -> None:
    answer = await dashboard.client.get("/api/events?limit=5&limit=6")

    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "parameter": "limit",
        "reason": "may be given only once",
    }


async def test_cursor_of_other_filters_answers_400(dashboard: Running) -> None:
    first = await dashboard.client.get(
        "/api/events", params={"type": "central.quake.earthquake", "limit": 2}
    )
    cursor = first.json()["next_cursor"]

    answer = await dashboard.client.get(
        "/api/events", params={"type": "central.wx.alert", "cursor": cursor}
    )

    assert answer.status_code == 400
    assert answer.json()["error"]["parameter"] == "cursor"
    assert "other filters" in answer.json()["error"]["reason"]


async def test_cursor_with_another_page_size_continues(dashboard: Running) -> None:
    first = await dashboard.client.get("/api/events", params={"limit": 3})
    cursor = first.json()["next_cursor"]

    answer = await dashboard.client.get(
        "/api/events", params={"limit": 4, "cursor": cursor}
    )

    assert answer.status_code == 200
    assert len(answer.json()["events"]) == 4


def _forged(payload: bytes) -> str:
    return "v1." + base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


async def test_forged_cursor_answers_400(dashboard: Running) -> None:
    foreign = encode(Position(datetime(2020, 1, 1, tzinfo=UTC), "s", "i"), "x")
    forged = [
        foreign,
        _forged(b'[1e30, "s", "i", "x"]'),
        _forged(b'[100000000000000000000, "s", "i", "x"]'),
        _forged(b'{"time": 1}'),
        _forged(b'[true, "s", "i", "x"]'),
    ]

    for text in forged:
        answer = await dashboard.client.get("/api/events", params={"cursor": text})
        assert answer.status_code == 400
        assert answer.json()["error"]["parameter"] == "cursor"


async def test_empty_values_count_as_not_given(dashboard: Running) -> None:
    answer = await dashboard.client.get(
        "/api/events?since=&type=&bbox=&limit=&cursor=&source="
    )

    assert answer.status_code == 200
    assert len(answer.json()["events"]) == 100


async def test_unknown_event_answers_404(dashboard: Running) -> None:
    answer = await dashboard.client.get(f"/api/events/{USGS}/0000")

    assert answer.status_code == 404
    assert answer.json()["error"]["parameter"] is None
    assert "no archived event" in answer.json()["error"]["reason"]


async def test_unknown_subject_answers_404(dashboard: Running) -> None:
    answer = await dashboard.client.get("/api/subjects/no-such-record/history")

    assert answer.status_code == 404
    assert "no archived event with subject" in answer.json()["error"]["reason"]


async def test_unknown_route_answers_404_json(dashboard: Running) -> None:
    answer = await dashboard.client.get("/api/nothing-here")

    assert answer.status_code == 404
    assert answer.json()["error"]["reason"] == "Not Found"


async def test_nul_in_path_answers_400(dashboard: Running) -> None:
    answer = await dashboard.client.get("/api/events/a%00b/1")

    assert answer.status_code == 400
    assert answer.json()["error"]["parameter"] == "source"


@pytest.mark.parametrize(
    "path", ["/api/streams?x=1", "/api/adapters?limit=1", "/api/live?limit=1"]
)
async def test_unknown_parameter_on_other_routes_answers_400(
    dashboard: Running, path: str
) -> None:
    answer = await dashboard.client.get(path)

    assert answer.status_code == 400
    assert answer.json()["error"]["parameter"] in {"x", "limit"}


async def test_live_with_bad_bbox_answers_400(dashboard: Running) -> None:
    answer = await dashboard.client.get("/api/live", params={"bbox": "1,2,3"})

    assert answer.status_code == 400
    assert answer.json()["error"]["parameter"] == "bbox"

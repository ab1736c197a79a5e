from __future__ import annotations

import gzip
import logging
import random

import httpx
import pytest
import structlog

from central.logs import configure, get_logger
from central.replay import Fault, ReplayApp, running
from central.upstream import (
    UpstreamError,
    Validators,
    backoff_delay,
    fetch,
    parse_retry_after,
    redact_url,
    url_secrets,
)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        pytest.param(
            "https://u:pw@h/x?a=1&api_key=s3&MAP_KEY=k",
            "https://u:***@h/x?a=1&api_key=***&MAP_KEY=***",
            id="masked",
        ),
        pytest.param(
            "https://h/feed.geojson?format=json&limit=5",
            "https://h/feed.geojson?format=json&limit=5",
            id="untouched",
        ),
        pytest.param(
            "https://firms.modaps.eosdis.nasa.gov/api/area/csv/"
            "0f3c5e7a9b1d2f4e6a8c0e2b4d6f8a1c/VIIRS_SNPP_NRT/world/1",
            "https://firms.modaps.eosdis.nasa.gov/api/area/csv/***/VIIRS_SNPP_NRT/world/1",
            id="key-in-path",
        ),
        pytest.param(
            "https://h/data/active_fire/modis-c6.1/csv/MODIS_C6_1_Global_24h.csv",
            "https://h/data/active_fire/modis-c6.1/csv/MODIS_C6_1_Global_24h.csv",
            id="long-file-name-kept",
        ),
    ],
)
def test_redact_url_masks_passwords_and_secret_parameters(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_url_secrets_lists_what_redact_url_masks() -> None:
    url = "https://u:pw12@h/api/0f3c5e7a9b1d2f4e6a8c0e2b4d6f8a1c/x?token=abcd&n=1"
    assert url_secrets(url) == ["pw12", "0f3c5e7a9b1d2f4e6a8c0e2b4d6f8a1c", "abcd"]


def test_log_lines_mask_hidden_values_in_nested_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure("adapter-fire", secrets=["hunter2-secret"])
    get_logger().warning(
        "poll_failed",
        error="GET https://h/?k=hunter2-secret failed",
        detail={"urls": ["x hunter2-secret"]},
    )
    out = capsys.readouterr().out
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()
    assert "hunter2-secret" not in out
    assert '"error":"GET https://h/?k=*** failed"' in out


def test_backoff_grows_with_failures_and_stays_under_cap() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, base_s=2, cap_s=60, rng=rng) for n in range(1, 10)]

    assert 1 <= delays[0] <= 2
    assert 8 <= delays[3] <= 16
    assert all(d <= 60 for d in delays)
    assert delays[-1] >= 30


def test_backoff_honours_retry_after_up_to_the_cap() -> None:
    assert backoff_delay(1, base_s=1, cap_s=600, retry_after_s=120) >= 120
    assert backoff_delay(1, base_s=1, cap_s=600, retry_after_s=86_400) == 600


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("120", 120.0, id="seconds"),
        pytest.param("Thu, 01 Jan 1970 00:01:40 GMT", 40.0, id="http-date"),
        pytest.param("soon", None, id="garbage"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_parse_retry_after_reads_both_forms(
    value: str | None, expected: float | None
) -> None:
    assert parse_retry_after(value, now=60.0) == expected


async def test_fetch_sends_etag_and_gets_304_when_unchanged() -> None:
    app = ReplayApp()
    route = app.serve("/feed", b'{"a": 1}')
    async with running(app) as base, httpx.AsyncClient() as client:
        first = await fetch(client, base + "/feed", Validators(), max_bytes=1000)
        second = await fetch(client, base + "/feed", first.validators, max_bytes=1000)

    assert first.status == 200 and first.body == b'{"a": 1}'
    assert second.not_modified and second.body is None
    assert route.not_modified == 1


async def test_fetch_sends_the_accept_header_when_given() -> None:
    app = ReplayApp()
    route = app.serve("/feed", b"<feed/>", "application/atom+xml")
    async with running(app) as base, httpx.AsyncClient() as client:
        await fetch(
            client,
            base + "/feed",
            Validators(),
            max_bytes=1000,
            accept="application/atom+xml",
        )

    assert route.last_headers["accept"] == "application/atom+xml"


async def test_fetch_raises_with_retry_after_when_server_answers_503() -> None:
    app = ReplayApp()
    app.serve("/feed", b"{}").fault = Fault(status=503, retry_after="30")
    async with running(app) as base, httpx.AsyncClient() as client:
        with pytest.raises(UpstreamError, match="answered 503") as info:
            await fetch(client, base + "/feed", Validators(), max_bytes=1000)

    assert info.value.kind == "http_status"
    assert info.value.retry_after_s == 30.0


async def test_fetch_raises_timeout_when_server_stalls() -> None:
    app = ReplayApp()
    app.serve("/feed", b"{}").fault = Fault(delay_s=2)
    async with running(app) as base, httpx.AsyncClient(timeout=0.3) as client:
        with pytest.raises(UpstreamError, match="timeout") as info:
            await fetch(client, base + "/feed", Validators(), max_bytes=1000)

    assert info.value.kind == "timeout"


async def test_fetch_cuts_off_body_larger_than_limit_even_when_compressed() -> None:
    bomb = gzip.compress(b"0" * 5_000_000)

    async def gzip_app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-encoding", b"gzip"),
                    (b"content-length", str(len(bomb)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": bomb})

    transport = httpx.ASGITransport(app=gzip_app)
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(UpstreamError, match="exceeds 100000 bytes"):
            await fetch(client, "http://replay/feed", Validators(), max_bytes=100_000)

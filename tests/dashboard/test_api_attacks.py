"""The query API under attack: injection, huge and forged input, floods.

Every answer is a 4xx naming what was wrong, a correct 200, or (under a flood) a
503 with a JSON reason; never a 500, never a hang, and the archive is intact
afterwards. The read-only attacks run on the shared archive through the
in-process dashboard; those that change limits on an archive and streams of
their own; those that measure memory or flood on a ``central-dashboard run``
process, whose resident memory is the server's alone.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import asyncpg
import httpx
import orjson
import pytest
from dashboard.harness import (
    TOKEN,
    Archive,
    Running,
    serving,
    settings_for,
    wait_for,
)
from dashboard.hostile import (
    DashboardProcess,
    Shot,
    dashboard_process,
    get,
    raw_request,
    storm,
)

from adapter_contract import provision
from central.devservers import loopback_address
from central_dashboard.cursor import Position, encode
from central_dashboard.queries import EventQuery

AUTH = {"Authorization": f"Bearer {TOKEN}"}
QUAKE = "CENTRAL_QUAKE"
#: pg_sleep(5) taking effect would hold an answer this long at least.
FAST_S = 4.0

PAYLOADS: list[tuple[str, str]] = [
    ("quote", "'"),
    ("double-quote", '"'),
    ("or-true", "' OR '1'='1"),
    ("or-true-unquoted", "1 OR 1=1"),
    ("drop", "'; DROP TABLE events; --"),
    ("drop-config", "x'); DROP TABLE config.streams; --"),
    ("union", "' UNION SELECT attributes, data FROM events --"),
    ("sleep", "'; SELECT pg_sleep(5); --"),
    ("sleep-or", "1' OR (SELECT pg_sleep(5)) IS NULL --"),
    ("comment", "*/ /* -- #"),
    ("dollar-quote", "$$; DROP TABLE events; $$"),
    ("backslash", "\\'; DROP TABLE events; --"),
    ("nul", "a\x00' OR 1=1 --"),
    ("unicode-quotes", "\u2019 OR \u20181\u2019=\u20181"),
    ("fullwidth-quote", "\uff07; DROP TABLE events; --"),
    ("percent", "%27%20OR%201%3D1"),
    ("long", "' OR 1=1 -- " * 400),
]
#: Parameters every payload is refused in (400 naming them).
REFUSED = ["since", "until", "type", "bbox", "near", "limit", "cursor", "format"]
TABLES = [
    "public.events",
    "public.dead_letters",
    "public.central_migrations",
    "config.streams",
    "config.stream_changes",
]


async def _archive_state(database_url: str) -> dict[str, Any]:
    """Row counts, the tables present and config.streams, to compare."""
    conn = await asyncpg.connect(database_url)
    try:
        tables = {
            name: await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name)
            for name in TABLES
        }
        return {
            "tables": tables,
            "events": await conn.fetchval("SELECT count(*) FROM events"),
            "changes": await conn.fetchval(
                "SELECT count(*) FROM config.stream_changes"
            ),
            "streams": [
                dict(r)
                for r in await conn.fetch("SELECT * FROM config.streams ORDER BY name")
            ],
        }
    finally:
        await conn.close()


def _port(running: Running) -> int:
    return int(urlsplit(running.url).port or 0)


async def _timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    answer = await call
    return answer, time.perf_counter() - started


def _refused(answer: httpx.Response, parameter: str) -> bool:
    return (
        answer.status_code == 400 and answer.json()["error"]["parameter"] == parameter
    )


# -- injection ---------------------------------------------------------------------


async def test_injection_in_every_query_parameter_is_refused_or_matches_nothing(
    dashboard: Running, archive: Archive, shared_database: str
) -> None:
    """Each payload in each parameter of GET /api/events: 400 naming it, or (in
    source and subject, which match exactly) a fast 200 with no events."""
    before = await _archive_state(shared_database)
    wrong: list[str] = []
    seen: Counter[int] = Counter()
    for name, payload in PAYLOADS:
        for parameter in [*REFUSED, "type-repeated", "source", "subject"]:
            params: Any = {parameter: payload}
            if parameter == "type-repeated":
                params = [("type", "central.quake.earthquake"), ("type", payload)]
            answer, took = await _timed(
                dashboard.client.get("/api/events", params=params)
            )
            seen[answer.status_code] += 1
            field = parameter.removesuffix("-repeated")
            ok = _refused(answer, field) or (
                field in {"source", "subject"}
                and answer.status_code == 200
                and answer.json() == {"events": [], "next_cursor": None}
            )
            if not ok or took > FAST_S:
                wrong.append(f"{name} in {parameter}: {answer.status_code} {took:.1f}s")
    print("injection, query parameters:", dict(seen))

    assert wrong == []
    assert await _archive_state(shared_database) == before
    assert all(before["tables"].values())
    assert before["events"] == archive.rows


async def test_injection_in_path_parameters_answers_404_or_400(
    dashboard: Running, archive: Archive, shared_database: str
) -> None:
    """Payloads as the source and id of an event, a subject, a history's source
    and the live feed's filters: 404 (nothing has that name) or 400, fast."""
    before = await _archive_state(shared_database)
    real = (await dashboard.client.get("/api/events", params={"limit": 1})).json()
    event = real["events"][0]
    source = quote(event["source"], safe="")
    wrong: list[str] = []
    seen: Counter[int] = Counter()
    for name, payload in PAYLOADS:
        text = quote(payload, safe="")
        calls = {
            "source": dashboard.client.get(f"/api/events/{text}/{event['id']}"),
            "id": dashboard.client.get(f"/api/events/{source}/{text}"),
            "subject": dashboard.client.get(f"/api/subjects/{text}/history"),
            "history-source": dashboard.client.get(
                f"/api/subjects/{quote(event['subject'], safe='')}/history",
                params={"source": payload},
            ),
        }
        for where, call in calls.items():
            answer, took = await _timed(call)
            seen[answer.status_code] += 1
            if answer.status_code not in (400, 404) or took > FAST_S:
                wrong.append(f"{name} in {where}: {answer.status_code} {took:.1f}s")
        for parameter in ("type", "bbox"):
            async with dashboard.client.stream(
                "GET", "/api/live", params={parameter: payload}
            ) as answer:
                await answer.aread()
                seen[answer.status_code] += 1
                if not _refused(answer, parameter):
                    wrong.append(f"{name} in live {parameter}: {answer.status_code}")
    print("injection, path parameters and live filters:", dict(seen))

    assert wrong == []
    assert await _archive_state(shared_database) == before


@pytest.fixture
async def own(nats_url: str, own_archive: str) -> AsyncIterator[Running]:
    """A dashboard over provisioned streams and a database of this test's own."""
    await provision(nats_url)
    async with serving(settings_for(nats_url, own_archive)) as running_:
        yield running_


async def test_injection_in_stream_changes_changes_nothing_but_valid_changes(
    own: Running,
) -> None:
    """PUT /api/streams/{name}: a payload as the name answers 404, in a body
    field 400 naming it, as the token 401/403; as the actor of a valid change it
    is stored verbatim. config.streams changes by exactly the valid changes."""
    database = str(own.hub.settings.database_url)
    before = await _archive_state(database)
    wrong: list[str] = []
    seen: Counter[int] = Counter()

    async def put(path: str, **kwargs: Any) -> httpx.Response:
        answer = await own.client.put(path, **kwargs)
        seen[answer.status_code] += 1
        return answer

    for name, payload in PAYLOADS:
        answer = await put(
            f"/api/streams/{quote(payload, safe='')}",
            json={"replicas": 1},
            headers=AUTH,
        )
        if answer.status_code != 404:
            wrong.append(f"{name} as name: {answer.status_code}")
        for field in ("max_age_s", "max_bytes", "duplicate_window_s", "replicas"):
            answer = await put(
                f"/api/streams/{QUAKE}", json={field: payload}, headers=AUTH
            )
            if not _refused(answer, field):
                wrong.append(f"{name} in {field}: {answer.status_code} {answer.text}")
        # A header value has no leading or trailing blanks on the wire.
        raw = payload.encode().strip()
        for token in (b"Bearer " + raw, raw):
            if b"\x00" in raw:
                continue  # h11 sends no NUL in a header; see the raw test below
            answer = await put(
                f"/api/streams/{QUAKE}",
                json={"max_age_s": 1},
                headers={"Authorization": token},
            )
            if answer.status_code not in (401, 403):
                wrong.append(f"{name} as token: {answer.status_code}")
    nul = await raw_request(
        _port(own),
        b"PUT /api/streams/CENTRAL_QUAKE HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer \x00' OR 1=1\r\nContent-Length: 2\r\n\r\n{}",
    )

    assert wrong == []
    assert nul.status == 400
    assert await _archive_state(database) == before

    stored: list[str] = []
    for n, (name, payload) in enumerate(PAYLOADS):
        actor = payload.encode().strip()
        if b"\x00" in actor:
            continue
        answer = await put(
            f"/api/streams/{QUAKE}",
            json={"max_age_s": 2_592_000 + 60 * (n + 1)},
            headers={**AUTH, "X-Central-Actor": actor},
        )
        if answer.status_code == 200:
            stored.append(actor.decode("latin-1"))
        elif not _refused(answer, "X-Central-Actor"):
            wrong.append(f"{name} as actor: {answer.status_code} {answer.text}")
    after = await _archive_state(database)
    conn = await asyncpg.connect(database)
    try:
        actors = [
            r["actor"]
            for r in await conn.fetch(
                "SELECT actor FROM config.stream_changes ORDER BY id"
            )
        ]
    finally:
        await conn.close()

    print("injection, stream changes:", dict(seen))

    assert wrong == []
    assert "'; DROP TABLE events; --" in stored
    assert actors == stored
    assert after["tables"] == before["tables"]
    assert after["events"] == before["events"]
    changed = {row["name"]: row for row in after["streams"]}
    assert changed[QUAKE]["updated_by"] == stored[-1]
    assert [r for r in after["streams"] if r["name"] != QUAKE] == [
        r for r in before["streams"] if r["name"] != QUAKE
    ]


# -- limits and cursors ------------------------------------------------------------


async def test_bad_limits_answer_400_naming_limit_and_1000_a_full_page(
    dashboard: Running,
) -> None:
    for value in (
        str(10**9),
        "-1",
        "1e3",
        "1000abc",
        "0",
        "1001",
        "0x10",
        "1.5",
        "\u0661\u0660",
    ):
        answer = await dashboard.client.get("/api/events", params={"limit": value})
        assert _refused(answer, "limit"), (value, answer.text)

    answer = await dashboard.client.get("/api/events", params={"limit": "1000"})

    assert answer.status_code == 200
    assert len(answer.json()["events"]) == 1000


async def test_paging_to_the_end_and_past_it_gives_every_event_once(
    dashboard: Running, archive: Archive
) -> None:
    seen: list[tuple[str, str]] = []
    params: dict[str, str] = {"limit": "1000"}
    last: dict[str, Any] = {}
    while True:
        page = (await dashboard.client.get("/api/events", params=params)).json()
        seen += [(e["source"], e["id"]) for e in page["events"]]
        last = page["events"][-1] if page["events"] else last
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    when = datetime.fromisoformat(last["time"].replace("Z", "+00:00"))
    past_the_end = encode(
        Position(when, last["source"], last["id"]), EventQuery().digest()
    )

    beyond = await dashboard.client.get(
        "/api/events", params={"limit": "1000", "cursor": past_the_end}
    )

    assert len(seen) == len(set(seen)) == archive.rows
    assert beyond.status_code == 200
    assert beyond.json() == {"events": [], "next_cursor": None}


async def test_cursors_far_in_the_past_or_future_give_valid_pages(
    dashboard: Running,
) -> None:
    digest = EventQuery().digest()
    first = (await dashboard.client.get("/api/events", params={"limit": 5})).json()
    dawn = encode(Position(datetime(1, 1, 1, tzinfo=UTC), "s", "i"), digest)
    doom = encode(Position(datetime(9999, 12, 31, tzinfo=UTC), "~", "~"), digest)

    past = await dashboard.client.get("/api/events", params={"cursor": dawn})
    future = await dashboard.client.get(
        "/api/events", params={"limit": 5, "cursor": doom}
    )

    assert past.status_code == 200
    assert past.json() == {"events": [], "next_cursor": None}
    assert future.status_code == 200
    assert future.json()["events"] == first["events"]


def _cursor_of(payload: bytes, version: str = "v1") -> str:
    return f"{version}." + base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


async def test_malformed_and_tampered_cursors_answer_400_naming_cursor_or_a_page(
    dashboard: Running,
) -> None:
    """Random bytes, base64 of garbage, other versions, edited fields (a NUL in
    the source included): 400 naming cursor. An edited position that is still
    well formed gives the page below it (cursors are not signed)."""
    rng = random.Random(7)
    digest = EventQuery().digest()
    real = (await dashboard.client.get("/api/events", params={"limit": 3})).json()
    cursor = real["next_cursor"]
    _, _, body = cursor.partition(".")
    fields = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    malformed = [
        rng.randbytes(48).decode("latin-1"),
        "v1." + base64.urlsafe_b64encode(rng.randbytes(60)).decode(),
        _cursor_of(b"[1, 2, 3]"),
        _cursor_of(b""),
        "v1",
        "V1." + body,
        _cursor_of(orjson.dumps(fields), "v2"),
        _cursor_of(orjson.dumps(fields), "v0"),
        _cursor_of(orjson.dumps([*fields[:3], "0" * 16])),
        _cursor_of(orjson.dumps([str(fields[0]), *fields[1:]])),
        _cursor_of(orjson.dumps([10**19, *fields[1:]])),
        _cursor_of(orjson.dumps([fields[0], "a\x00b", fields[2], digest])),
        _cursor_of(orjson.dumps([fields[0], fields[1], "\x00", digest])),
        "v1." + "A" * 10_000,
    ]
    for text in malformed:
        answer = await dashboard.client.get("/api/events", params={"cursor": text})
        assert _refused(answer, "cursor"), (text[:80], answer.status_code, answer.text)

    flipped = 0
    for n in range(3, len(body)):
        edited = (
            cursor[: n + 3] + ("A" if cursor[n + 3] != "A" else "B") + cursor[n + 4 :]
        )
        answer = await dashboard.client.get("/api/events", params={"cursor": edited})
        assert answer.status_code in (200, 400), answer.text
        flipped += answer.status_code == 400
    moved = _cursor_of(orjson.dumps([fields[0], fields[1], "' OR '1'='1", digest]))
    page = await dashboard.client.get("/api/events", params={"cursor": moved})

    print(f"tampered cursors: {flipped} of {len(body) - 3} one-character edits 400")

    assert flipped > 0
    assert page.status_code == 200
    assert all(e["time"] <= real["events"][-1]["time"] for e in page.json()["events"])
    huge = await raw_request(
        _port(dashboard), get(b"/api/events?cursor=v1." + b"A" * 100_000)
    )
    assert huge.status in (400, 414)


# -- oversized requests ------------------------------------------------------------


#: The answers each oversized request may get: the app's own refusal, or h11's
#: plain 400 when the request head reached it in pieces of more than 16 KiB.
BOUNDED = {
    "declared": {413},
    "query-1mb": {400, 414},
    "types-10000": {400, 414},
    "header-1mb": {400, 431},
    "header-100kb": {400, 431},
    "headers-10000": {400, 431},
    "slow-body": {408},
}


@pytest.fixture
async def process(
    archive: Archive, shared_database: str, tmp_path: Path
) -> AsyncIterator[DashboardProcess]:
    """``central-dashboard run`` over the shared archive, a 1 s body deadline."""
    async with dashboard_process(
        archive.nats_url,
        shared_database,
        tmp_path,
        CENTRAL_DASHBOARD_BODY_TIMEOUT_S="1",
    ) as running:
        yield running


@pytest.fixture
async def strict_process(
    archive: Archive, shared_database: str, tmp_path: Path
) -> AsyncIterator[DashboardProcess]:
    """The same with a 1 s deadline on request heads too (under a flood of
    connections at once, a head the busy server has not read in time would get
    408 as well, so the flood runs on ``process``)."""
    async with dashboard_process(
        archive.nats_url,
        shared_database,
        tmp_path,
        CENTRAL_DASHBOARD_BODY_TIMEOUT_S="1",
        CENTRAL_HTTP_HEAD_TIMEOUT_S="1",
    ) as running:
        yield running


async def test_oversized_requests_are_refused_with_bounded_memory(
    process: DashboardProcess,
) -> None:
    """10 MB bodies (twenty at once, with and without the token, chunked too), a
    megabyte of query string, 10,000 types, huge headers, a body that never
    comes: 413/414/431/400/408, and the server's RSS grows by less than 100 MB."""
    port = process.port
    before = process.memory_mb()["rss"]
    ten_mb = b"{" + b" " * 10_000_000 + b"}"
    async with httpx.AsyncClient(base_url=process.url, timeout=30) as client:

        async def put(headers: dict[str, str], content: Any) -> int:
            path = f"/api/streams/{QUAKE}"
            answer = await client.put(path, content=content, headers=headers)
            assert answer.json()["error"]["parameter"] == "body", answer.text
            return answer.status_code

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(160):
                yield b" " * 65536

        bodies = await asyncio.gather(
            *(put(AUTH if n % 2 else {}, ten_mb) for n in range(20)),
            put(AUTH, chunks()),
        )
    many_types = b"&".join([b"type=central.quake.earthquake"] * 10_000)
    answers = {
        "declared": await raw_request(
            port,
            b"PUT /api/streams/CENTRAL_QUAKE HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 99999999999999999999\r\n\r\n",
        ),
        "query-1mb": await raw_request(
            port, get(b"/api/events?source=" + b"a" * 2**20)
        ),
        "types-10000": await raw_request(port, get(b"/api/events?" + many_types)),
        "header-1mb": await raw_request(
            port, get(b"/api/events", b"X-A: " + b"a" * 2**20)
        ),
        "header-100kb": await raw_request(
            port, get(b"/api/events", b"X-A: " + b"a" * 100_000)
        ),
        "headers-10000": await raw_request(
            port, get(b"/api/events", *(b"X-%d: a" % n for n in range(10_000)))
        ),
        "slow-body": await raw_request(
            port,
            b"PUT /api/streams/CENTRAL_QUAKE HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 100\r\n\r\n",
            b'{"max_age_s"',
        ),
    }
    print(
        "oversized:",
        dict(Counter(bodies)),
        {name: answer.status for name, answer in answers.items()},
    )
    unexpected = {
        name: answer.status
        for name, answer in answers.items()
        if answer.status not in BOUNDED[name]
    }
    after = process.memory_mb()["rss"]
    print(f"oversized: server RSS {before:.0f} MB before, {after:.0f} MB after")
    async with httpx.AsyncClient(base_url=process.url) as client:
        metrics = (await client.get("/metrics")).text
        health = await client.get("/healthz")

    assert bodies == [413] * 21
    assert unexpected == {}
    assert after - before < 100, (before, after)
    assert 'central_dashboard_rejected_requests_total{parameter="body"} 23.0' in metrics
    assert not [e for e in process.log_events() if e.get("event") == "request_failed"]
    assert health.status_code == 200


async def test_a_slowloris_is_cut_off_while_others_are_served(
    strict_process: DashboardProcess,
) -> None:
    """300 connections that send their heads a byte every 0.2 s: each gets a 408
    and is closed at the 1 s head deadline, while a normal client is served, and
    memory stays bounded; a head that never ends the same."""
    process = strict_process
    never = await raw_request(
        process.port, b"GET /api/events HTTP/1.1\r\nHost: x\r\nX-Slow: a"
    )
    assert never.status == 408
    before = process.memory_mb()["rss"]

    async def trickle(n: int) -> tuple[bytes, float]:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", process.port, local_addr=(loopback_address(n), 0)
        )
        started = time.monotonic()
        received = b""

        async def read() -> None:
            nonlocal received
            with contextlib.suppress(ConnectionError):
                while chunk := await reader.read(4096):
                    received += chunk

        reading = asyncio.create_task(read())
        with contextlib.suppress(ConnectionError):
            writer.write(b"GET /api/events HTTP/1.1\r\nHost: x\r\n")
            for _ in range(50):
                if reading.done():
                    break
                writer.write(b"a")
                await writer.drain()
                await asyncio.sleep(0.2)
        await asyncio.wait_for(reading, 10)
        writer.close()
        return received, time.monotonic() - started

    slow = [asyncio.create_task(trickle(n)) for n in range(300)]
    await asyncio.sleep(0.3)
    async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
        served = await client.get("/api/events", params={"limit": 5})
    answers = await asyncio.gather(*slow)
    after = process.memory_mb()["rss"]
    cut = [a for a, _ in answers if a.startswith(b"HTTP/1.1 408 ")]
    took = max(t for _, t in answers)
    timeouts = [
        e for e in process.log_events() if e.get("event") == "request_head_timeout"
    ]
    print(f"slowloris: {len(cut)} of 300 cut off, the last after {took:.1f} s")

    assert served.status_code == 200
    assert len(cut) == 300
    assert took < 8
    assert timeouts, "the timeouts are logged"
    assert sum(e["timeouts"] for e in timeouts) <= 300
    assert after - before < 50, (before, after)


# -- a starved pool ----------------------------------------------------------------


async def test_a_starved_query_pool_answers_503_with_a_reason_in_bounded_time(
    archive: Archive, own_archive: str
) -> None:
    """With the only query connection stuck behind a lock, the next request
    answers 503 naming the cause once the acquire timeout passes; it does not
    wait for the lock. The stuck one completes when the lock goes."""
    settings = settings_for(
        archive.nats_url,
        own_archive,
        db_query_connections=1,
        db_acquire_timeout_s=0.5,
    )
    locker = await asyncpg.connect(own_archive)
    try:
        async with serving(settings) as running:
            transaction = locker.transaction()
            await transaction.start()
            await locker.execute("LOCK TABLE public.events IN ACCESS EXCLUSIVE MODE")
            stuck = asyncio.create_task(running.client.get("/api/events"))
            await wait_for(
                lambda: _lock_waiters(locker), 5, "a dashboard query held by the lock"
            )

            starved, took = await _timed(running.client.get("/api/events"))

            await transaction.rollback()
            released = await stuck
            metrics = running.hub.metrics.value(
                "central_dashboard_query_pool_timeouts_total"
            )
    finally:
        await locker.close()

    assert starved.status_code == 503
    assert starved.json()["error"]["reason"] == (
        "database unavailable: every query connection stayed busy for 0.5 s; "
        "retry shortly"
    )
    assert 0.5 <= took < 3
    assert released.status_code == 200
    assert metrics == 1


async def _lock_waiters(conn: asyncpg.Connection) -> int:
    """Dashboard queries waiting on a lock now."""
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND application_name = 'central-dashboard'"
        )
    )


# -- a flood -----------------------------------------------------------------------

#: What a client of a flooded dashboard may get: an answer, a refusal of its
#: input, or a prompt "busy" (429/503 with a JSON reason).
FLOOD_STATUSES = {200, 400, 429, 503}


async def _shots(process: DashboardProcess, count: int) -> list[Shot]:
    async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
        page = (await client.get("/api/events", params={"limit": 5})).json()
    event = page["events"][0]
    source = quote(event["source"], safe="")
    kinds = [
        Shot("page", "/api/events"),
        Shot("type", "/api/events", {"type": "central.quake.earthquake"}),
        Shot("bbox", "/api/events", {"bbox": "-130,20,-60,55", "limit": "500"}),
        Shot("near", "/api/events", {"near": "-120,38,500"}),
        Shot("geojson", "/api/events", {"format": "geojson", "limit": "1000"}),
        Shot("whole-globe", "/api/events", {"near": "0,0,20038", "limit": "1000"}),
        Shot("cursor", "/api/events", {"limit": "5", "cursor": page["next_cursor"]}),
        Shot("event", f"/api/events/{source}/{event['id']}"),
        Shot("history", f"/api/subjects/{quote(event['subject'], safe='')}/history"),
        Shot("streams", "/api/streams"),
        Shot("adapters", "/api/adapters"),
        Shot("bad-limit", "/api/events", {"limit": "1000abc"}),
        Shot("injection", "/api/events", {"source": "' OR '1'='1"}),
        Shot("forged-cursor", "/api/events", {"cursor": "v1.WzFd"}),
    ]
    return [kinds[n % len(kinds)] for n in range(count)]


@pytest.mark.slow
async def test_a_thousand_concurrent_clients_get_bounded_answers_and_health(
    process: DashboardProcess,
) -> None:
    """1,000 clients, each from an address of its own, send one request of a
    mixed kind at once: each answers 200, 400 or a 503 with a reason (the query
    pool's wait is bounded, the query budget answers at once), none 500 and none
    hangs; /healthz answers all along; memory stays bounded; the server then
    recovers."""
    shots = await _shots(process, 1000)

    report = await storm(process, shots, clients=1000, timeout=60)

    summary = report.summary()
    print("flood:", orjson.dumps(summary).decode())
    assert set(report.statuses) <= FLOOD_STATUSES, summary
    assert sum(report.statuses.values()) == 1000
    assert report.statuses[200] > 0, summary
    for kind in ("bad-limit", "forged-cursor"):
        assert report.by_kind[kind] == {400: len([s for s in shots if s.kind == kind])}
    reasons = {re.sub(r"\d+ s$", "N s", r) for r in report.unavailable_reasons}
    assert reasons <= {
        "database unavailable: every query connection stayed busy for 5 s; retry "
        "shortly",
        "database unavailable: the query took longer than 5 s; narrow the filters",
        "database unavailable: the archive's query budget is spent; retry in N s",
    }, report.unavailable_reasons
    assert report.health, "no health probe ran during the flood"
    assert all(status == 200 and took < 10 for status, took in report.health), (
        report.health
    )
    assert report.peak_rss_mb - report.rss_before_mb < 300, summary
    assert not [e for e in process.log_events() if e.get("event") == "request_failed"]
    # The flood may have spent the query budget: a client that waits as long as
    # Retry-After says is then served.
    async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
        for _ in range(3):
            after, took = await _timed(client.get("/api/events", params={"limit": 10}))
            if after.status_code != 503 or "retry-after" not in after.headers:
                break
            assert int(after.headers["retry-after"]) <= 20, after.headers
            await asyncio.sleep(int(after.headers["retry-after"]))
    assert after.status_code == 200
    assert took < 5

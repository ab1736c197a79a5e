"""``/api/streams``: JetStream state beside the limits, and changing the limits.

Tests that change or break streams run on a NATS server and a database of their
own; the read-only ones on the session's archive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import nats
import pytest
from dashboard.harness import TOKEN, Archive, Running, serving, settings_for
from nats.js.api import StorageType

from adapter_contract import provision
from central.provisioning import stream_config
from central.streams import BY_NAME, REGISTRY

QUAKE = "CENTRAL_QUAKE"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def own(nats_url: str, own_archive: str) -> AsyncIterator[Running]:
    """A dashboard over provisioned streams and a database of this test's own."""
    await provision(nats_url)
    async with serving(settings_for(nats_url, own_archive)) as running_:
        yield running_


async def _row(database_url: str, name: str) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT * FROM config.streams WHERE name = $1", name)
    finally:
        await conn.close()
    assert row is not None
    return dict(row)


async def _audit(database_url: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT * FROM config.stream_changes ORDER BY id")
    finally:
        await conn.close()
    return [dict(r) for r in rows]


async def _live_config(nats_url: str, name: str) -> Any:
    nc = await nats.connect(nats_url)
    try:
        return (await nc.jetstream().stream_info(name)).config
    finally:
        await nc.close()


def _database_of(running: Running) -> str:
    return str(running.hub.settings.database_url)


async def test_streams_show_every_registry_stream_with_state_and_limits(
    dashboard: Running, archive: Archive, shared_database: str
) -> None:
    answer = await dashboard.client.get("/api/streams")

    assert answer.status_code == 200
    streams = answer.json()["streams"]
    assert [s["name"] for s in streams] == [spec.name for spec in REGISTRY]
    conn = await asyncpg.connect(shared_database)
    try:
        rows = {
            r["stream"]: r["n"]
            for r in await conn.fetch(
                "SELECT stream, count(*) AS n FROM events GROUP BY stream"
            )
        }
    finally:
        await conn.close()
    for entry in streams:
        spec = BY_NAME[entry["name"]]
        assert entry["error"] is None
        assert entry["domain"] == spec.domain
        assert entry["archived"] is spec.archived
        assert entry["dashboard"] is spec.dashboard
        assert entry["limits"]["max_age_s"] == spec.limits.max_age_s
        assert entry["limits"]["updated_by"] == "seed"
        state = entry["state"]
        assert state["first_time"] and state["last_time"]
        assert state["first_time"] <= state["last_time"]
        if spec.archived:
            assert state["messages"] == rows[spec.name]
            assert state["consumers"] == [
                {"name": spec.durable, "pending": 0, "ack_pending": 0, "redelivered": 0}
            ]
    assert sum(rows.values()) == archive.rows


async def test_stream_rate_is_null_first_then_measured(dashboard: Running) -> None:
    first = (await dashboard.client.get("/api/streams")).json()["streams"]
    second = (await dashboard.client.get("/api/streams")).json()["streams"]

    assert all(s["state"]["rate_per_s"] is None for s in first)
    assert all(s["state"]["rate_per_s"] == 0.0 for s in second)


async def test_a_stream_deleted_from_jetstream_is_an_error_entry(
    own: Running, nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().delete_stream("CENTRAL_FIRE")
    finally:
        await nc.close()

    answer = await own.client.get("/api/streams")

    assert answer.status_code == 200
    entries = {s["name"]: s for s in answer.json()["streams"]}
    assert entries["CENTRAL_FIRE"]["state"] is None
    assert entries["CENTRAL_FIRE"]["error"] == "stream does not exist in JetStream"
    assert entries["CENTRAL_FIRE"]["limits"]["max_age_s"] > 0
    others = [s for name, s in entries.items() if name != "CENTRAL_FIRE"]
    assert all(s["error"] is None and s["state"] is not None for s in others)


async def test_put_changes_jetstream_and_keeps_an_audit_row(
    own: Running, nats_url: str
) -> None:
    database_url = _database_of(own)

    answer = await own.client.put(
        f"/api/streams/{QUAKE}",
        json={"max_age_s": 3600, "duplicate_window_s": 600, "max_bytes": 2**29},
        headers={**AUTH, "X-Central-Actor": "alice"},
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["action"] == "updated"
    assert body["after"]["max_age_s"] == 3600.0
    assert body["changes"]["max_age"] == {"from": 2592000.0, "to": 3600.0}
    live = await _live_config(nats_url, QUAKE)
    assert live.max_age == 3600.0
    assert live.max_bytes == 2**29
    assert live.duplicate_window == 600.0
    row = await _row(database_url, QUAKE)
    assert (row["max_age_s"], row["updated_by"]) == (3600.0, "alice")
    audit = await _audit(database_url)
    assert len(audit) == 1
    assert audit[0]["id"] == body["audit_id"]
    assert audit[0]["stream"] == QUAKE
    assert audit[0]["actor"] == "alice"
    assert audit[0]["client"] == "127.0.0.1"
    assert '"max_age_s": 2592000.0' in audit[0]["before"]
    assert '"max_age_s": 3600.0' in audit[0]["after"]
    shown = (await own.client.get("/api/streams")).json()["streams"]
    quake = next(s for s in shown if s["name"] == QUAKE)
    assert quake["limits"]["max_age_s"] == 3600.0
    assert quake["limits"]["updated_by"] == "alice"


async def test_put_without_actor_is_made_by_dashboard(own: Running) -> None:
    answer = await own.client.put(
        f"/api/streams/{QUAKE}", json={"duplicate_window_s": 60}, headers=AUTH
    )

    assert answer.status_code == 200
    assert (await _row(_database_of(own), QUAKE))["updated_by"] == "dashboard"


async def test_put_of_the_same_limits_changes_nothing(own: Running) -> None:
    answer = await own.client.put(
        f"/api/streams/{QUAKE}",
        json={"replicas": 1, "max_age_s": BY_NAME[QUAKE].limits.max_age_s},
        headers=AUTH,
    )

    assert answer.status_code == 200
    assert answer.json()["action"] == "unchanged"
    assert answer.json()["audit_id"] is None
    assert await _audit(_database_of(own)) == []


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 403),
        ({"Authorization": "Basic x"}, 401),
    ],
    ids=["no-token", "wrong-token", "not-bearer"],
)
async def test_put_without_the_token_is_refused_and_changes_nothing(
    own: Running, nats_url: str, headers: dict[str, str], status: int
) -> None:
    answer = await own.client.put(
        f"/api/streams/{QUAKE}", json={"max_age_s": 60}, headers=headers
    )

    assert answer.status_code == status
    assert answer.json()["error"]["parameter"] == "Authorization"
    if status == 401:
        assert answer.headers["www-authenticate"] == "Bearer"
    assert (await _live_config(nats_url, QUAKE)).max_age == BY_NAME[
        QUAKE
    ].limits.max_age_s
    assert await _audit(_database_of(own)) == []


async def test_put_with_no_token_configured_is_forbidden(
    nats_url: str, own_archive: str
) -> None:
    await provision(nats_url)
    settings = settings_for(nats_url, own_archive, dashboard_token="")
    async with serving(settings) as running:
        answer = await running.client.put(
            f"/api/streams/{QUAKE}", json={"max_age_s": 60}, headers=AUTH
        )

    assert answer.status_code == 403
    assert "no token is configured" in answer.json()["error"]["reason"]


async def test_put_refused_by_reconcile_answers_409_and_changes_nothing(
    own: Running, nats_url: str
) -> None:
    """The stream lives in memory, the registry says file: no update in place."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await js.delete_stream(QUAKE)
        memory = stream_config(BY_NAME[QUAKE], BY_NAME[QUAKE].limits)
        memory.storage = StorageType.MEMORY
        await js.add_stream(config=memory)
    finally:
        await nc.close()
    before = await _row(_database_of(own), QUAKE)

    answer = await own.client.put(
        f"/api/streams/{QUAKE}", json={"max_age_s": 60}, headers=AUTH
    )

    assert answer.status_code == 409
    assert "field storage" in answer.json()["error"]["reason"]
    assert await _row(_database_of(own), QUAKE) == before
    assert await _audit(_database_of(own)) == []
    assert (await _live_config(nats_url, QUAKE)).max_age == BY_NAME[
        QUAKE
    ].limits.max_age_s


async def test_put_refused_by_jetstream_answers_409_and_changes_nothing(
    own: Running,
) -> None:
    """A single server cannot hold three replicas."""
    before = await _row(_database_of(own), QUAKE)

    answer = await own.client.put(
        f"/api/streams/{QUAKE}", json={"replicas": 3}, headers=AUTH
    )

    assert answer.status_code == 409
    assert "JetStream refused" in answer.json()["error"]["reason"]
    assert await _row(_database_of(own), QUAKE) == before
    assert await _audit(_database_of(own)) == []


async def test_put_to_a_stream_missing_from_jetstream_answers_409(
    own: Running, nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().delete_stream(QUAKE)
    finally:
        await nc.close()

    answer = await own.client.put(
        f"/api/streams/{QUAKE}", json={"max_age_s": 60}, headers=AUTH
    )

    assert answer.status_code == 409
    assert "does not exist in JetStream" in answer.json()["error"]["reason"]


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"max_age_s": -1}, "max_age_s"),
        ({"max_bytes": -2}, "max_bytes"),
        ({"replicas": 0}, "replicas"),
        ({"replicas": 6}, "replicas"),
        ({"duplicate_window_s": "soon"}, "duplicate_window_s"),
        ({"max_age_s": 1e300}, "max_age_s"),
        ({"colour": "red"}, "colour"),
        ({}, "body"),
        ([1, 2], "body"),
    ],
    ids=[
        "negative-age",
        "bytes-below-minus-one",
        "zero-replicas",
        "six-replicas",
        "window-word",
        "age-huge",
        "unknown-field",
        "empty",
        "not-object",
    ],
)
async def test_put_with_bad_limits_answers_400_naming_the_field(
    own: Running, body: Any, parameter: str
) -> None:
    answer = await own.client.put(f"/api/streams/{QUAKE}", json=body, headers=AUTH)

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["parameter"] == parameter
    assert await _audit(_database_of(own)) == []


async def test_put_with_a_body_not_json_answers_400(own: Running) -> None:
    answer = await own.client.put(
        f"/api/streams/{QUAKE}",
        content=b"{max_age_s: 1",
        headers={**AUTH, "Content-Type": "application/json"},
    )

    assert answer.status_code == 400
    assert answer.json()["error"]["parameter"] == "body"


async def test_put_to_a_stream_outside_the_registry_answers_404(own: Running) -> None:
    answer = await own.client.put(
        "/api/streams/CENTRAL_NOPE", json={"max_age_s": 60}, headers=AUTH
    )

    assert answer.status_code == 404


async def test_put_with_an_unprintable_actor_answers_400(own: Running) -> None:
    answer = await own.client.put(
        f"/api/streams/{QUAKE}",
        json={"max_age_s": 60},
        headers={**AUTH, "X-Central-Actor": "a\tb"},
    )

    assert answer.status_code == 400
    assert answer.json()["error"]["parameter"] == "X-Central-Actor"


async def test_dashboard_works_as_its_own_database_role(
    nats_url: str, own_archive: str
) -> None:
    """As central_dashboard (sql/006_roles.sql): reads, and changes limits."""
    conn = await asyncpg.connect(own_archive)
    try:
        await conn.execute("ALTER ROLE central_dashboard LOGIN")
    finally:
        await conn.close()
    await provision(nats_url)
    as_role = own_archive.replace("postgres@", "central_dashboard@", 1)

    async with serving(settings_for(nats_url, as_role)) as running:
        events = await running.client.get("/api/events", params={"limit": 5})
        streams = await running.client.get("/api/streams")
        changed = await running.client.put(
            f"/api/streams/{QUAKE}", json={"max_bytes": 2**30}, headers=AUTH
        )

    assert events.status_code == 200 and len(events.json()["events"]) == 5
    assert streams.status_code == 200
    assert changed.status_code == 200, changed.text
    assert (await _row(own_archive, QUAKE))["max_bytes"] == 2**30
    assert len(await _audit(own_archive)) == 1

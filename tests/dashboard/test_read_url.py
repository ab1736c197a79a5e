"""CENTRAL_DATABASE_READ_URL: archive queries go there, writes stay on the primary.

Two copies of the filled archive stand for a primary and its replica; the
replica is made visibly different (it keeps only the earthquakes), so every
answer shows which one it came from.
"""

from __future__ import annotations

import asyncpg
from dashboard.harness import Archive, serving, settings_for


async def test_queries_read_the_replica_and_writes_go_to_the_primary(
    archive: Archive,
) -> None:
    primary = await archive.clone()
    replica = await archive.clone()
    conn = await asyncpg.connect(replica)
    try:
        await conn.execute(
            "DELETE FROM events WHERE type <> 'central.quake.earthquake'"
        )
        kept = await conn.fetchval("SELECT count(*) FROM events")
    finally:
        await conn.close()
    settings = settings_for(archive.nats_url, primary, database_read_url=replica)

    async with serving(settings) as running:
        page = (await running.client.get("/api/events", params={"limit": 1000})).json()
        types = {event["type"] for event in page["events"]}
        database = running.hub.database
        async with database.reader.acquire() as conn:
            read_from = await conn.fetchval("SELECT current_database()")
        async with database.writer.acquire() as conn:
            written_to = await conn.fetchval("SELECT current_database()")
        ready = await running.client.get("/readyz")

    assert kept > 0
    assert types == {"central.quake.earthquake"}
    assert read_from == replica.rsplit("/", 1)[1]
    assert written_to == primary.rsplit("/", 1)[1]
    assert ready.status_code == 200


def test_without_a_read_url_the_queries_use_the_database_url() -> None:
    settings = settings_for("nats://127.0.0.1:1", "postgresql://u@h/primary")

    assert settings.query_database_url == "postgresql://u@h/primary"
    masked = settings_for(
        "nats://127.0.0.1:1",
        "postgresql://u@h/primary",
        database_read_url="postgresql://reader:s3cret@replica/central",
    )
    assert "s3cret" in masked.secrets()
    assert "s3cret" not in str(masked.summary())

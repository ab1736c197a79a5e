from __future__ import annotations

import asyncpg
import nats


async def test_servers_answer_when_started_by_fixtures(
    nats_url: str, database_url: str
) -> None:
    nc = await nats.connect(nats_url)
    info = await nc.jetstream().account_info()
    assert info.limits is not None
    await nc.close()
    conn = await asyncpg.connect(database_url)
    assert await conn.fetchval("SELECT postgis_version()")
    await conn.close()

"""Outages: the database or NATS goes away mid-run; nothing is lost or doubled."""

from __future__ import annotations

from typing import Any

import asyncpg
import nats

from central.devservers import NatsServer, PostgresServer, throwaway_dir
from central_archiver.migrations import default_dir, migrate
from central_archiver.service import Archiver

QUAKE = "CENTRAL_QUAKE"


def inserted(archiver: Archiver) -> float:
    return float(archiver.metrics.value("central_archiver_rows_inserted_total", QUAKE))


async def assert_archived_once(url: str, total: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT id) AS ids, "
            "min(stream_seq) AS first, max(stream_seq) AS last FROM events"
        )
    finally:
        await conn.close()
    assert tuple(row) == (total, total, 1, total)


async def test_archive_loses_and_doubles_nothing_when_the_database_restarts(
    nc: Any,
    nats_url: str,
    settings_for: Any,
    quiet_log: Any,
    make: Any,
    pub: Any,
    wait_until: Any,
) -> None:
    with throwaway_dir("central-outage-") as folder:
        server = PostgresServer(folder / "data").start()
        archiver: Archiver | None = None
        try:
            conn = await asyncpg.connect(server.url)
            await conn.execute("CREATE EXTENSION postgis")
            await conn.close()
            await migrate(server.url, default_dir(), quiet_log)
            settings = settings_for(nats_url, server.url, nak_delay_s=0.3)
            archiver = Archiver(settings, log=quiet_log)
            await archiver.start()
            for n in range(100):
                await pub(nc, make(n))
            await wait_until(lambda: inserted(archiver) == 100, 10, "the first 100")

            server.stop(mode="fast")
            for n in range(100, 200):
                await pub(nc, make(n))
            await wait_until(
                lambda: quiet_log.events("database_unavailable"),
                10,
                "the archiver to notice the database is gone",
            )
            assert (await archiver.ready())["database"] is False
            assert archiver.metrics.value(
                "central_archiver_batch_failures_total", QUAKE
            )
            server.start()

            await wait_until(
                lambda: quiet_log.events("database_recovered"), 15, "the reconnect"
            )
            await wait_until(
                lambda: inserted(archiver) == 200, 15, "the events published while down"
            )
            await assert_archived_once(server.url, 200)
            assert (await archiver.ready())["database"] is True
            assert quiet_log.events("batch_failed")
        finally:
            if archiver is not None:
                await archiver.stop()
            server.stop(mode="immediate")


async def test_archive_resumes_when_nats_restarts(
    nats_server: NatsServer,
    migrated_url: str,
    settings_for: Any,
    quiet_log: Any,
    streams: Any,
    make: Any,
    pub: Any,
    wait_until: Any,
) -> None:
    await streams(nats_server.url)
    archiver = Archiver(settings_for(nats_server.url, migrated_url), log=quiet_log)
    await archiver.start()
    client = await nats.connect(
        nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1
    )
    try:
        for n in range(50):
            await pub(client, make(n))
        await wait_until(lambda: inserted(archiver) == 50, 10, "the first 50")

        nats_server.restart()
        await wait_until(
            lambda: client.is_connected and client.stats["reconnects"] == 1,
            10,
            "the publisher's reconnect",
        )
        for n in range(50, 100):
            await wait_until(lambda n=n: _try_publish(client, pub, make(n)), 10, "ack")

        await wait_until(
            lambda: inserted(archiver) == 100, 15, "the rest after restart"
        )
        await assert_archived_once(migrated_url, 100)
        assert (await archiver.ready())["nats"] is True
    finally:
        await client.close()
        await archiver.stop()


async def _try_publish(client: Any, pub: Any, event: Any) -> bool:
    # Straight after a restart JetStream may not answer the first publish yet.
    try:
        await pub(client, event)
    except (nats.errors.Error, TimeoutError):
        return False
    return True

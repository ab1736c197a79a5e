"""deploy/nats/central.conf lets each service do its work and nothing else.

A real nats-server runs the file, only its listen and monitoring addresses moved to
free loopback ports and its store to the test's folder, with a password per user
from the environment as compose and the quadlet provide them. The real provisioning
code, adapter runtime and archiver then work as their own users without a single
permission violation in the server's log, and each user is refused where it must be.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest
from dashboard.harness import TOKEN, serving, settings_for
from nats.errors import TimeoutError as NatsTimeoutError

from adapter_contract import adapter, wait_until
from central.devservers import NatsServer, free_port
from central.events import CloudEvent, encode_data, to_nats_headers
from central.ids import event_id
from central.provisioning import reconcile_all
from central.replay import ReplayApp, running
from central.streams import ADAPTER_BUCKET, ARCHIVED
from central_adapter_quake.feeds import FEEDS as QUAKE_FEEDS
from central_archiver.migrations import default_dir, migrate
from central_archiver.service import Archiver
from central_archiver.settings import ArchiverSettings

CONF = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "central.conf"
USERS = (
    "archiver",
    "stream-provisioner",
    "adapter-wx",
    "adapter-fire",
    "adapter-quake",
    "adapter-space",
    "adapter-disaster",
    "dashboard",
)
USGS = "usgs-earthquake/usgs_4.5_day_2024-02-06_api1.10.3.geojson"


@dataclass
class SecuredNats:
    server: NatsServer
    passwords: dict[str, str]

    def url(self, user: str) -> str:
        return f"nats://{user}:{self.passwords[user]}@127.0.0.1:{self.server.port}"

    def violations(self) -> list[str]:
        log = (self.server.store_dir / "nats-server.log").read_text()
        return [line for line in log.splitlines() if "Violation" in line]


@pytest.fixture
def secured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SecuredNats]:
    """nats-server running deploy/nats/central.conf on free loopback ports."""
    passwords = {user: "p" + secrets.token_hex(12) for user in USERS}
    for user, password in passwords.items():
        monkeypatch.setenv(f"NATS_{user.replace('-', '_').upper()}_PASSWORD", password)
    text = CONF.read_text()
    port = free_port()
    moved = text.replace("http: 0.0.0.0:8222", f"http: 127.0.0.1:{free_port()}")
    moved = moved.replace("listen: 0.0.0.0:4222", f"listen: 127.0.0.1:{port}")
    # NatsServer passes -js -sd <folder>, which may not repeat the file's store_dir.
    moved = moved.replace("store_dir: /data", "")
    assert moved.count("127.0.0.1") == 2, "central.conf's listen and http lines"
    assert "store_dir" not in moved
    conf = tmp_path / "central.conf"
    conf.write_text(moved)
    server = NatsServer(tmp_path, port=port, extra_args=("-c", str(conf))).start()
    try:
        yield SecuredNats(server, passwords)
    finally:
        server.stop()


async def _provision(secured: SecuredNats) -> list[str]:
    nc = await nats.connect(secured.url("stream-provisioner"))
    try:
        changes = await reconcile_all(nc.jetstream())
    finally:
        await nc.close()
    return [change.action for change in changes]


async def _refused(url: str, subject: str) -> str:
    """Publish ``subject`` as the user in ``url``; the server's refusal, if any."""
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(url, error_cb=on_error, max_reconnect_attempts=0)
    try:
        await nc.publish(subject, b"{}")
        await nc.flush(timeout=5)
        await wait_until(lambda: errors, 5, f"the server's answer to {subject}")
    finally:
        await nc.close()
    return errors[0]


async def _stream_counts(secured: SecuredNats) -> dict[str, int]:
    nc = await nats.connect(secured.url("stream-provisioner"))
    try:
        js = nc.jetstream()
        return {s.name: (await js.stream_info(s.name)).state.messages for s in ARCHIVED}
    finally:
        await nc.close()


async def test_provisioner_creates_streams_and_bucket_and_may_not_publish(
    secured: SecuredNats,
) -> None:
    assert set(await _provision(secured)) == {"created"}
    assert set(await _provision(secured)) == {"unchanged"}
    assert secured.violations() == []

    refusal = await _refused(secured.url("stream-provisioner"), "central.wx.a.b.none")
    assert "permissions violation for publish" in refusal


async def test_adapter_polls_and_publishes_as_itself_without_violation(
    secured: SecuredNats, fixtures_dir: Path
) -> None:
    """The real adapter runtime: lease, state, events, heartbeat, all permitted."""
    await _provision(secured)
    app = ReplayApp()
    app.serve("/usgs", (fixtures_dir / USGS).read_bytes())
    records = {
        QUAKE_FEEDS["usgs"].normalize(raw).event.id
        for raw in QUAKE_FEEDS["usgs"].parse((fixtures_dir / USGS).read_bytes())
    }

    async with (
        running(app) as base,
        adapter(
            "adapter-quake",
            {"usgs": QUAKE_FEEDS["usgs"]},
            secured.url("adapter-quake"),
            {"usgs": f"{base}/usgs"},
        ) as runtime,
    ):
        await wait_until(
            lambda: app.routes["/usgs"].not_modified >= 1, 20, "a re-poll (304)"
        )
        assert runtime.loops[0].status.leased
    counts = await _stream_counts(secured)

    assert counts["CENTRAL_QUAKE"] == len(records)
    assert secured.violations() == []


@pytest.mark.parametrize(
    ("subject", "why"),
    [
        ("central.wx.alert.nws.9q5", "another domain"),
        ("central.meta.status.adapter-wx", "another adapter's status"),
        ("central.meta.rejected.adapter-wx", "another adapter's rejects"),
        (f"$KV.{ADAPTER_BUCKET}.state.adapter-wx.nws", "another adapter's state"),
        (f"$KV.{ADAPTER_BUCKET}.lease.adapter-wx.nws", "another adapter's lease"),
        ("$JS.API.STREAM.DELETE.CENTRAL_QUAKE", "a stream config"),
    ],
    ids=[
        "other-domain",
        "other-status",
        "other-rejects",
        "other-state",
        "other-lease",
        "stream-api",
    ],
)
async def test_adapter_is_refused_outside_its_own_subjects(
    secured: SecuredNats, subject: str, why: str
) -> None:
    refusal = await _refused(secured.url("adapter-quake"), subject)
    # nats-py lower-cases the server's error text.
    assert refusal == f'nats: permissions violation for publish to "{subject.lower()}"'
    assert any(f'Subject "{subject}"' in line for line in secured.violations()), why


async def test_archiver_consumes_every_stream_and_may_not_publish(
    secured: SecuredNats, database_url: str
) -> None:
    """The real archiver, as its own user, archives what each adapter publishes."""
    await _provision(secured)
    await migrate(database_url, default_dir(), _Quiet())
    published = await _publish_one_per_domain(secured)
    settings = ArchiverSettings(
        nats_url=secured.url("archiver"),
        database_url=database_url,
        batch_linger_s=0.005,
        shutdown_timeout_s=5,
    )
    archiver = Archiver(settings, log=_Quiet())
    await archiver.start()
    try:
        conn = await asyncpg.connect(database_url)
        try:
            await wait_until(
                lambda: _rows(conn, published), 20, f"{len(published)} rows"
            )
        finally:
            await conn.close()
    finally:
        await archiver.stop()
    assert secured.violations() == []

    for subject in ("central.quake.earthquake.usgs.9q5", "$JS.API.STREAM.PURGE.X"):
        refusal = await _refused(secured.url("archiver"), subject)
        assert "permissions violation for publish" in refusal


async def _publish_one_per_domain(secured: SecuredNats) -> list[str]:
    ids = []
    for spec in ARCHIVED:
        nc = await nats.connect(secured.url(f"adapter-{spec.domain}"))
        try:
            event = CloudEvent(
                id=event_id("perm", spec.domain, "1"),
                source=f"urn:central:test:{spec.domain}",
                type=f"central.{spec.domain}.test",
                time="2024-02-06T12:00:00Z",
                data={"n": 1},
            )
            headers = {**to_nats_headers(event), "content-type": "application/json"}
            subject = f"central.{spec.domain}.test.perm.none"
            await nc.jetstream().publish(
                subject, encode_data(event), headers=headers, stream=spec.name
            )
        finally:
            await nc.close()
        ids.append(event.id)
    return ids


async def _rows(conn: Any, ids: list[str]) -> bool:
    found = await conn.fetchval("SELECT count(*) FROM events WHERE id = ANY($1)", ids)
    return bool(found == len(ids))


class _Quiet:
    """A logger that drops every line (the archiver's log is not under test)."""

    def bind(self, **_: Any) -> _Quiet:
        return self

    def __getattr__(self, _name: str) -> Any:
        return lambda *_a, **_k: None


async def test_kv_write_outside_own_keys_fails_for_the_adapter(
    secured: SecuredNats,
) -> None:
    await _provision(secured)
    nc = await nats.connect(secured.url("adapter-quake"))
    try:
        kv = await nc.jetstream().key_value(ADAPTER_BUCKET)
        await kv.put("state.adapter-quake.usgs", b"{}")
        with pytest.raises((NatsTimeoutError, asyncio.TimeoutError)):
            await asyncio.wait_for(kv.put("state.adapter-wx.nws", b"{}"), 3)
    finally:
        await nc.close()


async def test_dashboard_reads_changes_limits_and_follows_events_without_violation(
    secured: SecuredNats, database_url: str
) -> None:
    """The real dashboard, as its own user: streams, heartbeats, a PUT, the feed."""
    await _provision(secured)
    await migrate(database_url, default_dir(), _Quiet())
    event = CloudEvent(
        id=event_id("perm", "dashboard", "1"),
        source="urn:central:test:quake",
        type="central.quake.earthquake",
        time="2024-02-06T12:00:00Z",
        data={"geometry": {"type": "Point", "coordinates": [-120.0, 36.0]}},
    )
    nc = await nats.connect(secured.url("adapter-quake"))
    try:
        await nc.jetstream().publish(
            "central.meta.status.adapter-quake",
            b'{"service": "adapter-quake"}',
            stream="CENTRAL_META",
        )
        settings = settings_for(secured.url("dashboard"), database_url)
        async with serving(settings) as dashboard:
            streams = await dashboard.client.get("/api/streams")
            adapters = await dashboard.client.get("/api/adapters")
            changed = await dashboard.client.put(
                "/api/streams/CENTRAL_QUAKE",
                json={"max_bytes": 2**30},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            async with dashboard.client.stream(
                "GET",
                "/api/live",
                params={"type": "central.quake.earthquake", "bbox": "-125,32,-114,42"},
            ) as live:
                lines = live.aiter_lines()
                await asyncio.wait_for(_line(lines, ": subscribed"), 10)
                await nc.jetstream().publish(
                    "central.quake.earthquake.perm.9q5",
                    encode_data(event),
                    headers={
                        **to_nats_headers(event),
                        "content-type": "application/json",
                    },
                    stream="CENTRAL_QUAKE",
                )
                received = await asyncio.wait_for(_line(lines, "data:"), 10)
    finally:
        await nc.close()

    assert [s["error"] for s in streams.json()["streams"]] == [None] * 6
    assert adapters.status_code == 200, adapters.text
    assert [a["service"] for a in adapters.json()["adapters"]] == ["adapter-quake"]
    assert changed.status_code == 200, changed.text
    assert event.id in received
    assert secured.violations() == []

    for subject in (
        "central.quake.earthquake.usgs.9q5",
        "$JS.API.STREAM.DELETE.CENTRAL_QUAKE",
        "$JS.API.STREAM.CREATE.CENTRAL_QUAKE",
        "$JS.API.STREAM.PURGE.CENTRAL_QUAKE",
        "$JS.API.CONSUMER.CREATE.CENTRAL_QUAKE.x.>",
        f"$KV.{ADAPTER_BUCKET}.state.adapter-quake.usgs",
        # In CENTRAL_META only the status subjects may be read: not a rejected
        # record by direct get, nor anything by a get that names it in its body.
        "$JS.API.DIRECT.GET.CENTRAL_META.central.meta.rejected.adapter-quake",
        "$JS.API.DIRECT.GET.CENTRAL_META",
        "$JS.API.STREAM.MSG.GET.CENTRAL_META",
    ):
        refusal = await _refused(secured.url("dashboard"), subject)
        assert "permissions violation for publish" in refusal, subject


async def _line(lines: Any, prefix: str) -> str:
    async for line in lines:
        if line.startswith(prefix):
            return str(line)
    pytest.fail(f"the live stream ended before a line starting {prefix!r}")

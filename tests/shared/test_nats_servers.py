"""``CENTRAL_NATS_URL`` naming several servers, as a client of a cluster does."""

from __future__ import annotations

from pathlib import Path

from central.devservers import NatsServer, free_port
from central.service import make_broker
from central.settings import CentralSettings


async def test_broker_connects_through_the_live_member_of_a_server_list(
    tmp_path: Path,
) -> None:
    server = NatsServer(tmp_path).start()
    dead = f"nats://127.0.0.1:{free_port()}"
    settings = CentralSettings(nats_url=f"{dead}, {server.url}")
    broker = make_broker(settings, "test")
    try:
        await broker.connect()
        connected = broker.connection.connected_url.port
    finally:
        await broker.stop()
        server.stop()

    assert settings.nats_servers() == [dead, server.url]
    assert connected == server.port


def test_summary_masks_and_secrets_name_every_listed_servers_password() -> None:
    settings = CentralSettings(
        nats_url="nats://svc:pw-one@127.0.0.1:4222,nats://svc:pw-two@127.0.0.1:4223"
    )

    summary = settings.summary()["nats_url"]

    assert summary == "nats://svc:***@127.0.0.1:4222,nats://svc:***@127.0.0.1:4223"
    assert {"pw-one", "pw-two"} <= set(settings.secrets())

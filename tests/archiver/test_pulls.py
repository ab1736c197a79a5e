"""Pull credit: how many messages are asked for, and when credit comes back."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from nats.js.api import Header

from central.streams import BY_DOMAIN
from central_archiver.pulls import PullCredit, consumer_config
from central_archiver.settings import ArchiverSettings

SPEC = BY_DOMAIN["quake"]


class FakeConnection:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, str]] = []
        self.stats = {"reconnects": 0}

    def new_inbox(self) -> str:
        return "_INBOX.test"

    async def publish(self, subject: str, payload: bytes, reply: str = "") -> None:
        self.sent.append((subject, payload, reply))


@pytest.fixture
def conn() -> FakeConnection:
    return FakeConnection()


@pytest.fixture
def credit(conn: FakeConnection, quiet_log: Any) -> PullCredit:
    settings = ArchiverSettings(batch_size=100, prefetch_batches=3, pull_expires_s=5)
    return PullCredit(conn, SPEC, settings, quiet_log)


async def test_top_up_fills_the_window_in_whole_batches(
    credit: PullCredit, conn: FakeConnection
) -> None:
    await credit.top_up(in_hand=50)

    assert credit.pending == 200
    assert len(conn.sent) == 2
    subject, payload, reply = conn.sent[0]
    assert subject == "$JS.API.CONSUMER.MSG.NEXT.CENTRAL_QUAKE.archiver-quake"
    assert orjson.loads(payload) == {"batch": 100, "expires": 5_000_000_000}
    assert reply == "_INBOX.test"

    await credit.top_up(in_hand=50)
    assert len(conn.sent) == 2


async def test_ended_returns_the_undelivered_count_of_a_request(
    credit: PullCredit,
) -> None:
    await credit.top_up(in_hand=0)
    for _ in range(30):
        credit.delivered()

    needs_setup = credit.ended(
        {
            "Status": "408",
            Header.DESCRIPTION: "Request Timeout",
            "Nats-Pending-Messages": "70",
            "Nats-Pending-Bytes": "0",
        }
    )

    assert needs_setup is False
    assert credit.pending == 300 - 30 - 70


async def test_ended_assumes_a_whole_batch_when_the_count_is_missing(
    credit: PullCredit,
) -> None:
    await credit.top_up(in_hand=0)
    assert (
        credit.ended({"Status": "409", Header.DESCRIPTION: "Leadership Change"})
        is False
    )
    assert credit.pending == 200
    assert (
        credit.ended({"Status": "100", Header.DESCRIPTION: "Idle Heartbeat"}) is False
    )
    assert credit.pending == 200


@pytest.mark.parametrize(
    "headers",
    [{"Status": "503"}, {"Status": "409", Header.DESCRIPTION: "Consumer Deleted"}],
    ids=["no-responders", "consumer-deleted"],
)
async def test_ended_asks_for_a_new_setup_when_the_consumer_is_gone(
    credit: PullCredit, headers: dict[str, str]
) -> None:
    assert credit.ended(headers) is True


async def test_audit_writes_credit_off_after_a_reconnect(
    credit: PullCredit, conn: FakeConnection
) -> None:
    await credit.top_up(in_hand=0)
    credit.audit()
    assert credit.pending == 300

    conn.stats["reconnects"] = 1
    credit.audit()

    assert credit.pending == 0


def test_consumer_config_is_durable_explicit_and_filtered() -> None:
    settings = ArchiverSettings(ack_wait_s=12, max_ack_pending=9000)
    config = consumer_config(SPEC, settings)

    assert (config.name, config.durable_name) == ("archiver-quake", "archiver-quake")
    assert config.ack_policy is not None and config.ack_policy.value == "explicit"
    assert config.deliver_policy is not None and config.deliver_policy.value == "all"
    assert (config.ack_wait, config.max_ack_pending) == (12, 9000)
    assert config.filter_subject == "central.quake.>"

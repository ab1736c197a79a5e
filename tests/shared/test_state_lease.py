from __future__ import annotations

import nats
import orjson
import pytest
from nats.aio.client import Client

from central.ids import event_id
from central.lease import Lease
from central.provisioning import reconcile_bucket
from central.state import CHUNK_IDS, FeedState, StateStore, digest
from central.streams import ADAPTER_BUCKET
from central.upstream import Validators


@pytest.fixture
async def nc(nats_url: str) -> Client:
    client = await nats.connect(nats_url)
    await reconcile_bucket(client.jetstream())
    yield client
    await client.close()


async def test_state_round_trips_validators_and_a_large_seen_set(nc: Client) -> None:
    kv = await nc.jetstream().key_value(ADAPTER_BUCKET)
    store = StateStore(kv, "adapter-test")
    ids = {digest(event_id("p", str(i), "1")) for i in range(CHUNK_IDS * 2 + 5)}

    await store.save("feed", FeedState(Validators('"e1"', "Tue, 06 Feb 2024"), ids))
    loaded = await StateStore(kv, "adapter-test").load("feed")

    assert loaded.validators == Validators('"e1"', "Tue, 06 Feb 2024")
    assert loaded.seen == ids


async def test_state_shrinks_when_fewer_ids_are_saved(nc: Client) -> None:
    kv = await nc.jetstream().key_value(ADAPTER_BUCKET)
    store = StateStore(kv, "adapter-test")
    many = {digest(event_id("p", str(i), "1")) for i in range(CHUNK_IDS + 1)}
    await store.save("feed", FeedState(Validators(), many))

    await store.save("feed", FeedState(Validators(), {digest("ab" * 16)}))

    assert (await StateStore(kv, "adapter-test").load("feed")).seen == {
        digest("ab" * 16)
    }
    assert await store.load("other") == FeedState()


async def test_lease_is_held_by_one_holder_until_it_expires(nc: Client) -> None:
    kv = await nc.jetstream().key_value(ADAPTER_BUCKET)
    now = [1000.0]
    first = Lease(kv, "lease.x.feed", "a", ttl_s=30, clock=lambda: now[0])
    second = Lease(kv, "lease.x.feed", "b", ttl_s=30, clock=lambda: now[0])

    assert await first.acquire()
    assert not await second.acquire()
    assert await first.acquire(), "the holder renews its own lease"
    now[0] += 31
    assert await second.acquire(), "an expired lease is taken over"
    assert not await first.acquire()


async def test_lease_release_after_a_takeover_leaves_the_new_holder_in_place(
    nc: Client,
) -> None:
    kv = await nc.jetstream().key_value(ADAPTER_BUCKET)
    now = [1000.0]
    first = Lease(kv, "lease.x.feed", "a", ttl_s=30, clock=lambda: now[0])
    second = Lease(kv, "lease.x.feed", "b", ttl_s=30, clock=lambda: now[0])
    assert await first.acquire()
    now[0] += 31
    assert await second.acquire()

    await first.release()

    assert not first.held
    assert orjson.loads((await kv.get("lease.x.feed")).value)["holder"] == "b"
    assert await second.acquire(), "the new holder still renews"


async def test_lease_release_lets_another_holder_take_it_at_once(nc: Client) -> None:
    kv = await nc.jetstream().key_value(ADAPTER_BUCKET)
    first = Lease(kv, "lease.x.feed", "a", ttl_s=300)
    second = Lease(kv, "lease.x.feed", "b", ttl_s=300)
    assert await first.acquire()

    await first.release()

    assert await second.acquire()

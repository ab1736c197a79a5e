"""Per-feed adapter state in the JetStream key-value bucket.

The state of one feed is what its next poll needs: the conditional-GET validators
and the set of event ids already published.  It lives in the shared bucket
(:data:`central.streams.ADAPTER_BUCKET`) so adapter containers stay stateless and a
replica that takes over a feed's lease carries on where the last one stopped.

Layout, for feed ``F`` of service ``S``:

- ``state.S.F``: JSON with the validators, the number of seen-chunks and counts;
- ``seen.S.F.<n>``: chunks of sorted 8-byte id digests (16,384 ids, 128 KiB each),
  so a feed with 100,000 records per payload stays under any message size limit.

Chunks are written before the header that points at them.  A crash between the two
leaves a header with the old chunk count over chunks that each hold only ids that
were published, so the worst case is a re-publish that JetStream's duplicate window
and the archive's unique key absorb; never a skipped new record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from nats.js.errors import KeyDeletedError, KeyNotFoundError
from nats.js.kv import KeyValue

from central.upstream import Validators

DIGEST_BYTES = 8
CHUNK_IDS = 16_384


def digest(event_id: str) -> bytes:
    """The compact form of an event id kept in the seen set."""
    return bytes.fromhex(event_id[: DIGEST_BYTES * 2])


@dataclass
class FeedState:
    """What is known of one feed between polls."""

    validators: Validators = field(default_factory=Validators)
    seen: set[bytes] = field(default_factory=set)


class StateStore:
    """Reads and writes :class:`FeedState` for one service's feeds."""

    def __init__(self, kv: KeyValue, service: str) -> None:
        self._kv = kv
        self._service = service
        self._chunks: dict[str, int] = {}

    def _header_key(self, feed: str) -> str:
        return f"state.{self._service}.{feed}"

    def _chunk_key(self, feed: str, index: int) -> str:
        return f"seen.{self._service}.{feed}.{index}"

    async def load(self, feed: str) -> FeedState:
        """The stored state of ``feed``; an empty state when there is none yet."""
        header = await self._get(self._header_key(feed))
        if header is None:
            return FeedState()
        meta: dict[str, Any] = orjson.loads(header)
        seen: set[bytes] = set()
        chunks = int(meta.get("chunks", 0))
        for index in range(chunks):
            blob = await self._get(self._chunk_key(feed, index))
            if blob:
                seen.update(
                    blob[i : i + DIGEST_BYTES]
                    for i in range(0, len(blob), DIGEST_BYTES)
                )
        self._chunks[feed] = chunks
        return FeedState(Validators(meta.get("etag"), meta.get("last_modified")), seen)

    async def save(self, feed: str, state: FeedState) -> None:
        """Store ``state``: chunks first, then the header that names them."""
        ordered = sorted(state.seen)
        chunks = [
            b"".join(ordered[i : i + CHUNK_IDS])
            for i in range(0, len(ordered), CHUNK_IDS)
        ]
        for index, blob in enumerate(chunks):
            await self._kv.put(self._chunk_key(feed, index), blob)
        meta = {
            "etag": state.validators.etag,
            "last_modified": state.validators.last_modified,
            "chunks": len(chunks),
            "count": len(ordered),
        }
        await self._kv.put(self._header_key(feed), orjson.dumps(meta))
        for stale in range(len(chunks), self._chunks.get(feed, 0)):
            await self._kv.delete(self._chunk_key(feed, stale))
        self._chunks[feed] = len(chunks)

    async def _get(self, key: str) -> bytes | None:
        try:
            entry = await self._kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return entry.value

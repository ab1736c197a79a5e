"""A lease in the key-value bucket, so scaled replicas never poll one feed at once.

The lease value names its holder and an expiry (wall-clock seconds).  Taking and
renewing use the bucket's compare-and-set (``create`` for a new key, ``update`` with
the last revision otherwise), so of two replicas racing for one lease exactly one
wins.  A holder that dies stops renewing; another replica takes the lease once it
has expired.

Note: expiry compares wall clocks of the replicas; on one host (or NTP-synced hosts)
that is sound, and ``ttl_s`` should be well above any clock skew.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import orjson
from nats.js.errors import (
    BadRequestError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)
from nats.js.kv import KeyValue

#: JetStream's error code for a write whose expected last sequence is stale.
_WRONG_LAST_SEQUENCE = 10071


class Lease:
    """One named lease held (or wanted) by ``holder``."""

    def __init__(
        self,
        kv: KeyValue,
        key: str,
        holder: str,
        ttl_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._kv = kv
        self.key = key
        self.holder = holder
        self.ttl_s = ttl_s
        self._clock = clock
        self._revision: int | None = None

    @property
    def held(self) -> bool:
        """Whether the last :meth:`acquire` succeeded."""
        return self._revision is not None

    async def acquire(self) -> bool:
        """Take or renew the lease; False when another live holder has it."""
        value = orjson.dumps(
            {"holder": self.holder, "expires": self._clock() + self.ttl_s}
        )
        try:
            entry = await self._kv.get(self.key)
        except (KeyNotFoundError, KeyDeletedError):
            return await self._cas(value, None)
        current = orjson.loads(entry.value) if entry.value else {}
        mine = current.get("holder") == self.holder
        expired = float(current.get("expires", 0)) < self._clock()
        if not (mine or expired):
            self._revision = None
            return False
        return await self._cas(value, entry.revision)

    async def release(self) -> None:
        """Give the lease up if held, so another replica need not wait for expiry.

        A lease that another holder has taken meanwhile is left to it.
        """
        if self._revision is None:
            return
        try:
            with contextlib.suppress(
                KeyWrongLastSequenceError, KeyNotFoundError, KeyDeletedError
            ):
                await self._kv.delete(self.key, last=self._revision)
        except BadRequestError as exc:
            # nats-py reports a delete's failed revision check as a plain 400,
            # not as KeyWrongLastSequenceError as it does for update().
            if exc.err_code != _WRONG_LAST_SEQUENCE:
                raise
        finally:
            self._revision = None

    async def _cas(self, value: bytes, last: int | None) -> bool:
        try:
            if last is None:
                self._revision = await self._kv.create(self.key, value)
            else:
                self._revision = await self._kv.update(self.key, value, last=last)
        except KeyWrongLastSequenceError:
            self._revision = None
            return False
        return True

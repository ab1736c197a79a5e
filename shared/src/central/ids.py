"""Deterministic event ids.

An id depends only on the provider, the record's native id and its upstream revision,
so the same revision always yields the same id (and JetStream's duplicate window and
the archive's unique key both absorb a re-publish), while a revised record yields a
new id.
"""

from __future__ import annotations

import hashlib

_SEP = "\x1f"  # unit separator: cannot occur in the parts we join


def event_id(provider: str, native_id: str, revision: str) -> str:
    """A 32-character hex id from ``provider``, ``native_id`` and ``revision``.

    Raises ValueError when a part is empty, since an empty part would let two
    different records share an id.
    """
    for name, part in (
        ("provider", provider),
        ("native_id", native_id),
        ("revision", revision),
    ):
        if not part:
            raise ValueError(f"event id part {name} is empty")
    digest = hashlib.sha256(_SEP.join((provider, native_id, revision)).encode())
    return digest.hexdigest()[:32]


def content_revision(payload: bytes) -> str:
    """A revision token for feeds without an updated-time: a hash of the content."""
    return hashlib.sha256(payload).hexdigest()[:16]

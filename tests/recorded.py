"""What the adapter tests do with recorded payloads, in one place.

- :func:`only` picks the one record of a payload to change, as a deep copy;
- :func:`edit` changes members of a record, for parametrized "broken record" cases;
- :func:`normalize_digest` and :func:`digests_in_processes` digest every event a
  normalize run gives, here or in fresh interpreters, so a test can show that the
  output does not depend on the interpreter (hash seed, import order).

Run as a script, this module prints the digest of ``<feeds module> <feed> <path>...``;
that is what :func:`digests_in_processes` starts.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

from central.events import to_structured
from central.feeds import Feed

T = TypeVar("T")

#: A value for :func:`edit` that removes the member instead of setting it.
DELETE: Final = object()


def only(records: Iterable[T], key: Callable[[T], Any], wanted: Any, where: str) -> T:
    """A deep copy of the one record whose ``key`` is ``wanted``, free to change.

    Raises LookupError naming ``where`` (``the EMSC fixture``) when no record or
    more than one has it.
    """
    matches = [record for record in records if key(record) == wanted]
    if len(matches) != 1:
        raise LookupError(f"{wanted} is not once in {where}")
    return copy.deepcopy(matches[0])


def edit(*path: str | int, **changes: Any) -> Callable[[dict[str, Any]], None]:
    """A function that sets ``changes`` on the member of a record at ``path``.

    ``edit(mag="4.6")`` changes the record itself, ``edit("properties", time=DELETE)``
    its ``properties`` object; a value of :data:`DELETE` removes the member.
    """

    def apply(record: dict[str, Any]) -> None:
        target: Any = record
        for step in path:
            target = target[step]
        for name, value in changes.items():
            if value is DELETE:
                del target[name]
            else:
                target[name] = value

    return apply


def normalize_digest(feeds: Mapping[str, Feed], args: Sequence[str]) -> str:
    """SHA-256 hex of every event and NATS subject that ``args`` normalize into.

    ``args`` alternate a feed name and a payload path.  Each accepted record adds
    its structured-mode event and its subject; a rejected record fails the run.
    """
    digest = hashlib.sha256()
    for name, path in zip(args[::2], args[1::2], strict=True):
        feed = feeds[name]
        for record in feed.parse(Path(path).read_bytes()):
            result = feed.normalize(record)
            digest.update(to_structured(result.event) + result.nats_subject.encode())
    return digest.hexdigest()


def digests_in_processes(
    feeds_module: str, args: Sequence[str], seeds: Sequence[str]
) -> list[str]:
    """:func:`normalize_digest` from one fresh interpreter per hash seed.

    ``feeds_module`` names the module whose ``FEEDS`` to use.  The interpreters run
    side by side; a failed one raises AssertionError with its error output.
    """
    runs = [
        subprocess.Popen(
            [sys.executable, __file__, feeds_module, *args],
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in seeds
    ]
    digests = []
    for run in runs:
        out, err = run.communicate(timeout=60)
        if run.returncode != 0:
            raise AssertionError(f"normalize digest exited {run.returncode}: {err}")
        digests.append(out.strip())
    return digests


if __name__ == "__main__":
    module = importlib.import_module(sys.argv[1])
    print(normalize_digest(module.FEEDS, sys.argv[2:]))

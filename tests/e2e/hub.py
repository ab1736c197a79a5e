"""The hub under test: one compose project of the whole of Central, and its probes.

:class:`Hub` owns a compose project with a name of its own (so it never touches a
``central`` project a developer runs), its ``.env`` (fresh passwords, free loopback
ports for NATS and the database, the base images, tracing to the ``otlp-sink``
service) and two overrides: the replay one, and one that starts every traced
service after the sink. Compose is driven through testcontainers'
``DockerCompose``; kills, restarts and container inspection go through the docker
SDK. Everything a test waits for is a bounded poll (:func:`wait_until`) that names
what it waited for.

:data:`SUMMARY` collects the figures the run prints at its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import inspect
import os
import re
import shlex
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import docker
import nats
import orjson
import pytest
from docker.models.containers import Container
from nats.js import JetStreamContext
from testcontainers.compose import DockerCompose

from central.dev import ADAPTERS
from central.devservers import free_port
from central.errors import RecordError
from central.events import CloudEvent, encode_data, to_nats_headers
from central.ids import event_id

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
DEPLOY = ROOT / "deploy"
#: The third-party images, by the variable compose.yaml reads each from.
BASE_IMAGE_VARIABLES = (
    "CENTRAL_PYTHON_IMAGE",
    "CENTRAL_NATS_IMAGE",
    "CENTRAL_DB_IMAGE",
)
#: Services that run once and exit; every other one must be healthy.
ONE_SHOT = frozenset({"migrate", "stream-provisioner"})
#: The test profile's OTLP/HTTP receiver, which every traced service exports to.
SINK = "otlp-sink"
#: How the hub traces: to the sink, each span batch sent within 0.2 s (the SDK's
#: default waits 5 s), under an environment name the spans must carry.
TRACING = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{SINK}:4318",
    "OTEL_BSP_SCHEDULE_DELAY": "200",
    "CENTRAL_ENVIRONMENT": "e2e",
}

#: Figures for the closing summary: counts, seconds per phase, and once their tests
#: ran, the replay's ``metrics`` and the ``trace`` table of one archived row.
SUMMARY: dict[str, Any] = {"phases": {}, "counts": {}}


def count(name: str, value: int) -> None:
    """Add ``value`` to the summary counter ``name``."""
    SUMMARY["counts"][name] = SUMMARY["counts"].get(name, 0) + value


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Time the block as (part of) phase ``name`` of the summary."""
    started = time.monotonic()
    try:
        yield
    finally:
        spent = time.monotonic() - started
        SUMMARY["phases"][name] = round(SUMMARY["phases"].get(name, 0) + spent, 1)


async def wait_until(
    predicate: Callable[[], Any],
    what: str,
    *,
    timeout: float,
    interval: float = 0.5,
) -> Any:
    """Poll ``predicate`` (sync or async) until it returns something truthy.

    Returns that value; fails the test naming ``what`` and the last value seen when
    ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        last = predicate()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            pytest.fail(
                f"timed out after {timeout}s waiting for {what} (last: {last!r})"
            )
        await asyncio.sleep(interval)


def _load_deploy_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, DEPLOY / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compose_replay = _load_deploy_module("compose_replay")


def metric_families(exposition: str) -> set[str]:
    """The metric names a Prometheus text exposition declares (its TYPE lines).

    A labelled metric nothing has counted yet has no sample, only its TYPE line.
    """
    return {
        line.split()[2]
        for line in exposition.splitlines()
        if line.startswith("# TYPE ") and len(line.split()) == 4
    }


_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def sample_total(samples: dict[str, float], name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    total = 0.0
    for sample, value in samples.items():
        metric, _, rest = sample.partition("{")
        if metric == name and labels.items() <= dict(_LABEL.findall(rest)).items():
            total += value
    return total


def parse_env(text: str) -> dict[str, str]:
    """``KEY=value`` lines (``export`` and comments allowed) as a mapping."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip().removeprefix("export ").strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def offline_images() -> dict[str, str]:
    """Build (or find) the stand-in base images; the variables that name them."""
    done = subprocess.run(
        [str(DEPLOY / "offline-images.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode:
        pytest.fail(f"deploy/offline-images.sh failed:\n{done.stderr[-3000:]}")
    return parse_env(done.stdout)


@dataclass
class ReplayExpectation:
    """The accepted records of every replayed payload: event ids by adapter."""

    ids: dict[str, set[str]] = field(default_factory=dict)

    @property
    def all_ids(self) -> list[str]:
        return sorted(set().union(*self.ids.values())) if self.ids else []


def traced_services() -> list[str]:
    """The services that export spans: the archiver and every adapter."""
    return ["archiver", *compose_replay.adapter_feeds()]


def tracing_override() -> str:
    """A compose override that starts every traced service after a healthy sink.

    A service decides at start-up whether it traces (the endpoint's host must
    resolve), and a stop stops the sink last, so the final spans still reach it.
    """
    lines = ["services:"]
    for service in traced_services():
        lines += [
            f"  {service}:",
            "    depends_on:",
            f"      {SINK}: {{ condition: service_healthy }}",
        ]
    return "\n".join(lines) + "\n"


def replay_expectation() -> ReplayExpectation:
    """Normalize each recorded payload of ``central.dev.ADAPTERS`` as adapters do.

    Records the adapter would reject are left out; a record listed twice in a
    payload counts once, as the adapter publishes it once.
    """
    expected = ReplayExpectation()
    for service, feeds in compose_replay.adapter_feeds().items():
        ids: set[str] = set()
        for feed_name, path in ADAPTERS.get(service, {}).items():
            feed = feeds[feed_name]
            for raw in feed.parse((FIXTURES / path).read_bytes()):
                try:
                    ids.add(feed.normalize(raw).event.id)
                except RecordError:
                    continue
        if ids:
            expected.ids[service] = ids
    return expected


class Hub:
    """One compose project of the whole hub, with the test profile and replay."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.project = f"central-e2e-{uuid.uuid4().hex[:6]}"
        self.env_file = workdir / "e2e.env"
        self.override = workdir / "compose.replay.yaml"
        self.tracing = workdir / "compose.tracing.yaml"
        self.docker = docker.from_env()
        self.env: dict[str, str] = {}
        self.compose: DockerCompose | None = None

    # Setup

    def configure(self, base_images: dict[str, str]) -> None:
        """Write the project's .env and the replay override."""
        secrets = subprocess.run(
            [str(DEPLOY / "secrets.sh"), "env"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        self.env = {
            **parse_env(secrets),
            **base_images,
            **TRACING,
            "COMPOSE_PROJECT_NAME": self.project,
            "CENTRAL_NATS_PORT": str(free_port()),
            "CENTRAL_DB_PORT": str(free_port()),
            "CENTRAL_DASHBOARD_PORT": str(free_port()),
        }
        self.env_file.write_text(
            "".join(f"{key}={value}\n" for key, value in self.env.items())
        )
        self.override.write_text(compose_replay.override())
        self.tracing.write_text(tracing_override())
        self.compose = DockerCompose(
            context=ROOT,
            compose_file_name=["compose.yaml", str(self.override), str(self.tracing)],
            profiles=["test"],
            env_file=[str(self.env_file)],
            wait=True,
        )

    def run(self, *args: str, timeout: float = 600) -> str:
        """Run one ``docker compose`` command of this project; its stdout."""
        assert self.compose is not None
        command = [*self.compose.docker_compose_command(), *args]
        # The shell's variables would win over the project's env file.
        env = {k: v for k, v in os.environ.items() if k not in self.env}
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode:
            pytest.fail(
                f"{shlex.join(command[2:])} failed ({done.returncode}):\n"
                f"{done.stderr[-4000:]}\n{self.unhealthy_report()}"
            )
        return done.stdout

    def build(self) -> None:
        self.run("build", timeout=1200)

    def up(self, *args: str, timeout: int = 240) -> None:
        """``up -d --wait`` (plus ``args``): returns once everything is healthy."""
        self.run("up", "-d", "--wait", "--wait-timeout", str(timeout), *args)

    def down(self, *, volumes: bool) -> None:
        self.run("down", *(["--volumes"] if volumes else []), timeout=300)

    # Containers

    def containers(self, service: str | None = None) -> list[Container]:
        labels = [f"com.docker.compose.project={self.project}"]
        if service:
            labels.append(f"com.docker.compose.service={service}")
        return list(self.docker.containers.list(all=True, filters={"label": labels}))

    def container(self, service: str) -> Container:
        found = self.containers(service)
        assert len(found) == 1, f"{service}: {len(found)} containers"
        return found[0]

    def health(self) -> dict[str, str]:
        """Each long-running container's health, by container name."""
        states = {}
        for box in self.containers():
            box.reload()
            if box.labels.get("com.docker.compose.service") in ONE_SHOT:
                continue
            health = box.attrs["State"].get("Health", {}).get("Status", "none")
            states[box.name] = f"{box.status}/{health}"
        return states

    def all_healthy(self) -> bool:
        states = self.health()
        return bool(states) and all(s == "running/healthy" for s in states.values())

    def unhealthy_report(self) -> str:
        lines = []
        for box in self.containers():
            box.reload()
            health = box.attrs["State"].get("Health", {})
            lines.append(f"{box.name}: {box.status} {health.get('Status', '')}")
            if box.status != "running" or health.get("Status") == "unhealthy":
                tail = box.logs(tail=15).decode(errors="replace")
                lines.append("  " + tail.replace("\n", "\n  "))
        return "\n".join(lines)

    def get(self, box: Container, url: str) -> bytes:
        """The body of a GET of ``url``, made from inside the container."""
        script = (
            "import sys, urllib.request as u; sys.stdout.buffer.write("
            "u.urlopen(sys.argv[1], timeout=10).read())"
        )
        code, (out, err) = box.exec_run(["python3", "-c", script, url], demux=True)
        assert code == 0, f"GET {url} in {box.name}: {(err or b'').decode()[-2000:]}"
        return bytes(out or b"")

    def exposition(self, box: Container) -> str:
        """The Prometheus text a container serves on its /metrics."""
        return self.get(box, "http://127.0.0.1:8080/metrics").decode()

    def metrics(self, box: Container) -> dict[str, float]:
        """The Prometheus samples a container serves, read from inside it."""
        samples = {}
        for line in self.exposition(box).splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def spans(self, trace_id: str) -> list[dict[str, Any]]:
        """Every span of ``trace_id`` the sink holds so far."""
        url = f"http://127.0.0.1:4318/spans?trace_id={trace_id}"
        answer = orjson.loads(self.get(self.container(SINK), url))
        return list(answer["spans"])

    def network(self) -> str:
        return f"{self.project}_default"

    # Servers

    def nats_url(self, user: str) -> str:
        token = user.replace("-", "_").upper()
        password = self.env[f"CENTRAL_NATS_{token}_PASSWORD"]
        return f"nats://{user}:{password}@127.0.0.1:{self.env['CENTRAL_NATS_PORT']}"

    async def nats(self, user: str) -> Any:
        return await nats.connect(
            self.nats_url(user),
            name=f"e2e-{user}",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
        )

    async def db(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            host="127.0.0.1",
            port=int(self.env["CENTRAL_DB_PORT"]),
            user="central",
            password=self.env["CENTRAL_DB_PASSWORD"],
            database="central",
            timeout=5,
        )

    async def rows_of(self, source: str) -> tuple[int, int]:
        """(rows, distinct ids) in the archive for events of ``source``."""
        try:
            conn = await self.db()
        except (OSError, asyncpg.PostgresError):
            return (-1, -1)  # restarting: the caller polls again
        try:
            row = await conn.fetchrow(
                "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM events "
                "WHERE source = $1",
                source,
            )
        finally:
            await conn.close()
        return int(row["n"]), int(row["ids"])


@dataclass
class ProducerReport:
    sent: int = 0
    retries: int = 0
    duplicates_dropped: int = 0
    seconds: float = 0.0


class Producer:
    """Publishes ``total`` synthetic quake events of one phase, as an adapter does.

    Binary-mode CloudEvents with ``Nats-Msg-Id`` = event id, on
    ``central.quake.earthquake.e2e.<phase>``, paced at ``rate`` per second. A publish
    that is not acked (NATS restarting, say) is retried with the same id until it
    is, so JetStream's duplicate window drops any copy the server already stored.
    """

    def __init__(self, js: JetStreamContext, phase: str, total: int, rate: float):
        self.js = js
        self.phase = phase
        self.total = total
        self.rate = rate
        self.source = f"urn:central:e2e:{phase}"
        self.subject = f"central.quake.earthquake.e2e.{phase}"
        self.report = ProducerReport()

    def event(self, n: int) -> CloudEvent:
        return CloudEvent(
            id=event_id("e2e", f"{self.phase}-{n}", "1"),
            source=self.source,
            type="central.quake.earthquake",
            time=datetime.now(UTC),
            subject=f"{self.phase}-{n}",
            data={"phase": self.phase, "seq": n},
        )

    async def run(self, deadline_s: float = 300) -> ProducerReport:
        started = time.monotonic()
        for n in range(self.total):
            await self._publish(self.event(n), started + deadline_s)
            self.report.sent += 1
            pause = started + (n + 1) / self.rate - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
        self.report.seconds = round(time.monotonic() - started, 1)
        return self.report

    async def _publish(self, event: CloudEvent, deadline: float) -> None:
        headers = to_nats_headers(event)
        headers["content-type"] = event.datacontenttype
        body = encode_data(event)
        while True:
            try:
                ack = await self.js.publish(
                    self.subject,
                    body,
                    headers=headers,
                    stream="CENTRAL_QUAKE",
                    timeout=2,
                )
            except Exception:
                if time.monotonic() > deadline:
                    raise
                self.report.retries += 1
                await asyncio.sleep(0.25)
                continue
            if ack.duplicate:
                self.report.duplicates_dropped += 1
            return


async def stream_subject_count(hub: Hub, stream: str, subject: str) -> int:
    """Messages stored in ``stream`` under ``subject`` (read as the provisioner)."""
    nc = await hub.nats("stream-provisioner")
    try:
        info = await nc.jetstream().stream_info(stream, subjects_filter=subject)
    finally:
        await nc.close()
    return sum((info.state.subjects or {}).values())

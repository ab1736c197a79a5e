"""Write a compose override that points every adapter at the ``replay`` service.

Each feed that :data:`central.dev.ADAPTERS` maps to a recorded payload polls that
payload on the replay server; every other feed of an installed adapter polls a path
the replay server answers with 404, so with the override no adapter reaches a real
upstream. Each adapter also waits for ``replay`` to be healthy. Use it with the
``test`` profile::

    uv run python deploy/compose_replay.py -o .central/compose.replay.yaml
    docker compose -f compose.yaml -f .central/compose.replay.yaml --profile test up -d

The adapters are found by their console scripts (``central-adapter-*``) and their
feeds by the ``FEEDS`` mapping of each adapter's ``feeds`` module.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from central.dev import ADAPTERS
from central.feeds import Feed
from central.settings import feed_token

REPLAY_URL = "http://replay:8080"
#: Where feeds without a recorded payload point: the replay server answers 404.
UNRECORDED = "/unrecorded"


def adapter_feeds() -> dict[str, dict[str, Feed]]:
    """Every installed adapter service with its feeds, by feed name."""
    found: dict[str, dict[str, Feed]] = {}
    for script in entry_points(group="console_scripts"):
        if not script.name.startswith("central-adapter-"):
            continue
        service = script.name.removeprefix("central-")
        package = script.value.split(":", 1)[0].rsplit(".", 1)[0]
        found[service] = dict(importlib.import_module(f"{package}.feeds").FEEDS)
    return dict(sorted(found.items()))


def feed_urls(base_url: str = REPLAY_URL) -> dict[str, dict[str, str]]:
    """``CENTRAL_FEED_<FEED>_URL`` values per adapter service, all on ``base_url``."""
    urls: dict[str, dict[str, str]] = {}
    for service, feeds in adapter_feeds().items():
        recorded = ADAPTERS.get(service, {})
        urls[service] = {
            f"CENTRAL_FEED_{feed_token(feed).upper()}_URL": (
                f"{base_url}/{recorded[feed]}"
                if feed in recorded
                else f"{base_url}{UNRECORDED}/{service}/{feed}"
            )
            for feed in sorted(feeds)
        }
    return urls


def override(base_url: str = REPLAY_URL) -> str:
    """The override file's text (YAML; values are JSON-quoted strings)."""
    lines = [
        "# Written by deploy/compose_replay.py: the adapters poll the replay service.",
        "services:",
    ]
    for service, env in feed_urls(base_url).items():
        lines += [f"  {service}:", "    environment:"]
        lines += [f"      {key}: {json.dumps(url)}" for key, url in env.items()]
        lines += ["    depends_on:", "      replay: { condition: service_healthy }"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-o", "--output", type=Path, help="file (default: stdout)")
    parser.add_argument("--base-url", default=REPLAY_URL, help="replay server URL")
    args = parser.parse_args(argv)

    text = override(args.base_url)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"compose_replay: wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

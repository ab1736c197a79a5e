"""``central-adapter-fire``: ``normalize --feed FEED FILE...`` and ``run``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from central.adapter_cli import adapter_main
from central_adapter_fire import __version__
from central_adapter_fire.feeds import FEEDS

SERVICE = "adapter-fire"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    return adapter_main(SERVICE, __version__, FEEDS, argv)


if __name__ == "__main__":
    sys.exit(main())

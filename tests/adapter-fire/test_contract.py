"""The shared adapter contract on the FIRMS feed.

The VIIRS file is listed first, so the contract's re-poll test serves its 1,205
rows; the 36,555-row MODIS file goes through the runtime in ``test_runtime.py``.
"""

from __future__ import annotations

from adapter_contract import AdapterContract
from central_adapter_fire.feeds import FEEDS


class TestFireContract(AdapterContract):
    service = "adapter-fire"
    domain = "fire"
    feeds = FEEDS
    recorded = {
        "firms": [
            "nasa-firms/firms_viirs_snpp_c2_europe_24h_2022-09-05.csv",
            "nasa-firms/firms_modis_c6.1_global_24h_2023-08-02.csv",
        ],
    }

    def break_record(self, feed: str, body: bytes) -> bytes:
        header, first, rest = body.split(b"\n", 2)
        _latitude, cells = first.split(b",", 1)
        return b"\n".join((header, b"north," + cells, rest))

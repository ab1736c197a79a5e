"""The shared adapter contract on the space-weather feeds."""

from __future__ import annotations

import orjson

from adapter_contract import AdapterContract
from central_adapter_space.feeds import FEEDS


class TestSpaceContract(AdapterContract):
    service = "adapter-space"
    domain = "space"
    feeds = FEEDS
    recorded = {
        "swpc-alerts": ["noaa-swpc/swpc_alerts_2025-04-17_G4.json"],
        "swpc-kp": [
            "noaa-swpc/swpc_noaa-planetary-k-index-forecast_2025-04-11_arrays.json",
            "noaa-swpc/swpc_noaa-planetary-k-index_2026-08-01_objects.json",
            "noaa-swpc/swpc_planetary_k_index_1m_2026-07-09.json",
        ],
        "swpc-xray": ["noaa-swpc/swpc_goes_xrays-6-hour_2026-08-20.json"],
        "swpc-solarwind": ["noaa-swpc/swpc_solar_wind_plasma-7-day_2024-05-08.json"],
    }

    def break_record(self, feed: str, body: bytes) -> bytes:
        """Spoil the time of one record that no derived flare event depends on."""
        doc = orjson.loads(body)
        if isinstance(doc[0], list):
            doc[2][0] = "not a time"  # doc[0] is the header row
        elif feed == "swpc-alerts":
            doc[1]["issue_datetime"] = "not a time"
        else:
            # The short band never takes part in a flare crossing.
            index = next(
                i for i, row in enumerate(doc) if row.get("energy") != "0.1-0.8nm"
            )
            doc[index]["time_tag"] = "not a time"
        return orjson.dumps(doc)

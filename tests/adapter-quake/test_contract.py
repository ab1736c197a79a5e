"""The shared adapter contract on the earthquake feeds."""

from __future__ import annotations

import orjson

from adapter_contract import AdapterContract
from central_adapter_quake.feeds import FEEDS


class TestQuakeContract(AdapterContract):
    service = "adapter-quake"
    domain = "quake"
    feeds = FEEDS
    recorded = {
        "usgs": [
            "usgs-earthquake/usgs_all_day_2016-11-03_api1.5.2.geojson",
            "usgs-earthquake/usgs_4.5_day_2024-02-06_api1.10.3.geojson",
            "usgs-earthquake/usgs_significant_month_2013-07_api1.0.8.geojson",
        ],
        "emsc": ["emsc-seismicportal/emsc_fdsnws_event_json_2025-04-26.json"],
    }

    def break_record(self, feed: str, body: bytes) -> bytes:
        doc = orjson.loads(body)
        del doc["features"][1]["geometry"]
        return orjson.dumps(doc)

"""The shared adapter contract on the disaster feeds."""

from __future__ import annotations

import orjson

from adapter_contract import AdapterContract
from central_adapter_disaster.feeds import FEEDS


class TestDisasterContract(AdapterContract):
    service = "adapter-disaster"
    domain = "disaster"
    feeds = FEEDS
    recorded = {
        "gdacs": ["gdacs/gdacs_xml_gdacs.geojson_2026-05-27.geojson"],
        "eonet": ["nasa-eonet/eonet_v3_events_open_2025-11-09.json"],
        "fema": ["openfema/fema_DisasterDeclarationsSummaries_v2_2022-10-28.json"],
    }

    def break_record(self, feed: str, body: bytes) -> bytes:
        doc = orjson.loads(body)
        if feed == "gdacs":
            # The second event's centroid carries its dates; its circle does not
            # name the event, so the whole episode goes.
            doc["features"][2]["properties"]["fromdate"] = "sometime in May"
        elif feed == "eonet":
            del doc["events"][1]["geometry"]
        else:
            doc["DisasterDeclarationsSummaries"][1]["declarationDate"] = "yesterday"
        return orjson.dumps(doc)

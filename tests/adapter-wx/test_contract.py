"""The shared adapter contract on the weather feeds."""

from __future__ import annotations

import orjson

from adapter_contract import AdapterContract
from central_adapter_wx.feeds import FEEDS


class TestWxContract(AdapterContract):
    service = "adapter-wx"
    domain = "wx"
    feeds = FEEDS
    recorded = {
        "nws": ["nws-alerts/nws_alerts_active_point_AZ_2024-07-18.json"],
        "cap": ["nws-alerts/nws_cap_atom_us_feed_2014-11-05.xml"],
    }

    def break_record(self, feed: str, body: bytes) -> bytes:
        if feed == "nws":
            doc = orjson.loads(body)
            doc["features"][1]["properties"]["sent"] = "18 July 2024"
            return orjson.dumps(doc)
        # The second entry's effective time loses its zone, which CAP requires.
        second = body.index(b"<cap:effective>", body.index(b"<cap:effective>") + 1)
        end = body.index(b"</cap:effective>", second)
        return body[: end - len(b"-09:00")] + body[end:]

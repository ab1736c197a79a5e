"""The weather domain's feeds, by contract name.

``nws`` polls the NWS alerts API for every active alert once a minute: new alert
messages appear within minutes of issue, and the API's rate limits are not
published, so a minute keeps well clear of them.  ``cap`` polls an ATOM feed of CAP
alerts every two minutes (the pace the NWS CAP feeds were refreshed at); by default
the NWS API's own ATOM output, the successor of the retired CAP 1.1 feed at
``alerts.weather.gov``, and it can point at any other CAP publisher's ATOM feed.
Either URL may carry API query filters (``?area=AZ``, ``?severity=Extreme``); the
parsers stay the same.  The NWS API requires a ``User-Agent`` naming the client,
which the runtime sends from ``CENTRAL_USER_AGENT``.

``media_type`` names what each feed serves (``application/geo+json``,
``application/atom+xml``).

Note: the runtime sends no ``Accept`` header, so the ``cap`` default relies on the
``.atom`` path to choose ATOM.
"""

from __future__ import annotations

from typing import Final

from central.feeds import Feed
from central_adapter_wx import cap, nws
from central_adapter_wx.models import DOMAIN

FEEDS: Final[dict[str, Feed]] = {
    "nws": Feed(
        name="nws",
        domain=DOMAIN,
        default_url="https://api.weather.gov/alerts/active",
        default_interval_s=60.0,
        parse=nws.parse,
        normalize=nws.normalize,
        record_id=nws.record_id,
        media_type="application/geo+json",
    ),
    "cap": Feed(
        name="cap",
        domain=DOMAIN,
        default_url="https://api.weather.gov/alerts/active.atom",
        default_interval_s=120.0,
        parse=cap.parse,
        normalize=cap.normalize,
        record_id=cap.record_id,
        media_type="application/atom+xml",
    ),
}

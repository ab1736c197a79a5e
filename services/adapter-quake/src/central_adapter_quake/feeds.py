"""The earthquake domain's feeds, by contract name.

``usgs`` polls the USGS real-time summary feed of the past hour every minute (USGS
regenerates it about once a minute); ``emsc`` asks the EMSC seismicportal FDSN
service for its 500 most recent events every two minutes.  Either URL may point at
another query of the same service (a different summary feed, an FDSN query with a
region or a minimum magnitude); the parser and the event ``source`` stay the same.
"""

from __future__ import annotations

from typing import Final

from central.feeds import Feed
from central_adapter_quake import emsc, usgs
from central_adapter_quake.models import DOMAIN

FEEDS: Final[dict[str, Feed]] = {
    "usgs": Feed(
        name="usgs",
        domain=DOMAIN,
        default_url=(
            "https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/all_hour.geojson"
        ),
        default_interval_s=60.0,
        parse=usgs.parse,
        normalize=usgs.normalize,
        record_id=usgs.record_id,
    ),
    "emsc": Feed(
        name="emsc",
        domain=DOMAIN,
        default_url=(
            "https://www.seismicportal.eu/fdsnws/event/1/query"
            "?format=json&limit=500&orderby=time"
        ),
        default_interval_s=120.0,
        parse=emsc.parse,
        normalize=emsc.normalize,
        record_id=emsc.record_id,
    ),
}

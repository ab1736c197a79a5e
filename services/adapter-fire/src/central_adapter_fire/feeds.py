"""The fire domain's feeds, by contract name.

``firms`` polls the FIRMS MODIS Collection 6.1 global 24-hour file every 15
minutes.  FIRMS rewrites that file as batches of overpasses are processed (its
near-real-time data arrive about three hours after acquisition), so most polls find
it unchanged: the runtime's conditional GET then costs a 304 where FIRMS answers
one, and a full re-read publishes nothing, since an unchanged row keeps its id.

The URL may point at any other FIRMS active-fire CSV instead: a VIIRS global or
regional file (``suomi-npp-viirs-c2/csv/SUOMI_VIIRS_C2_Global_24h.csv``,
``noaa-20-viirs-c2/csv/J1_VIIRS_C2_Global_24h.csv``,
``noaa-21-viirs-c2/csv/J2_VIIRS_C2_Global_24h.csv``) or an area API query
(``api/area/csv/<MAP_KEY>/<source>/<area>/<days>``); the parser tells the column
set from the header, and the event ``source`` stays the same.
"""

from __future__ import annotations

from typing import Final

from central.feeds import Feed
from central_adapter_fire import firms
from central_adapter_fire.models import DOMAIN

FEEDS: Final[dict[str, Feed]] = {
    "firms": Feed(
        name="firms",
        domain=DOMAIN,
        default_url=(
            "https://firms.modaps.eosdis.nasa.gov/data/active_fire/"
            "modis-c6.1/csv/MODIS_C6_1_Global_24h.csv"
        ),
        default_interval_s=900.0,
        parse=firms.parse,
        normalize=firms.normalize,
        record_id=firms.record_id,
        media_type="text/csv",
    ),
}

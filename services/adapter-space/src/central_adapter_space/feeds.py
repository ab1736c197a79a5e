"""The space-weather domain's feeds, by contract name.

All four poll NOAA SWPC's public data service, services.swpc.noaa.gov:

- ``swpc-alerts``: the alerts, warnings and watches of the past month, every minute
  (SWPC adds a message as it issues one; the conditional GET keeps idle polls to a
  304);
- ``swpc-kp``: the 3-hourly planetary K-index forecast, which also carries the past
  week observed and the current interval estimated, every five minutes (the
  product is small, and the current interval stays an estimate until observed).
  The URL may point at the 3-hourly ``noaa-planetary-k-index.json`` or the
  1-minute ``planetary_k_index_1m.json`` instead; the parser reads all three;
- ``swpc-xray``: six hours of GOES primary X-ray flux, one sample a minute per band,
  every minute;
- ``swpc-solarwind``: the real-time solar-wind (RTSW) plasma product, one row a
  minute per spacecraft, every minute.  The older ``products/solar-wind/plasma-*``
  products, which SWPC announced for retirement in 2026, read as well.
"""

from __future__ import annotations

from typing import Final

from central.feeds import Feed
from central_adapter_space import alerts, kp, solarwind, xray
from central_adapter_space.models import DOMAIN

_BASE: Final = "https://services.swpc.noaa.gov"

FEEDS: Final[dict[str, Feed]] = {
    alerts.FEED: Feed(
        name=alerts.FEED,
        domain=DOMAIN,
        default_url=f"{_BASE}/products/alerts.json",
        default_interval_s=60.0,
        parse=alerts.parse,
        normalize=alerts.normalize,
        record_id=alerts.record_id,
    ),
    kp.FEED: Feed(
        name=kp.FEED,
        domain=DOMAIN,
        default_url=f"{_BASE}/products/noaa-planetary-k-index-forecast.json",
        default_interval_s=300.0,
        parse=kp.parse,
        normalize=kp.normalize,
        record_id=kp.record_id,
    ),
    xray.FEED: Feed(
        name=xray.FEED,
        domain=DOMAIN,
        default_url=f"{_BASE}/json/goes/primary/xrays-6-hour.json",
        default_interval_s=60.0,
        parse=xray.parse,
        normalize=xray.normalize,
        record_id=xray.record_id,
    ),
    solarwind.FEED: Feed(
        name=solarwind.FEED,
        domain=DOMAIN,
        default_url=f"{_BASE}/json/rtsw/rtsw_wind_1m.json",
        default_interval_s=60.0,
        parse=solarwind.parse,
        normalize=solarwind.normalize,
        record_id=solarwind.record_id,
    ),
}

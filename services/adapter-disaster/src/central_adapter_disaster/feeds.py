"""The disaster domain's feeds, by contract name.

``gdacs`` polls the GDACS events GeoJSON every five minutes (GDACS rewrites it as
alerts are issued, within minutes of an earthquake); ``eonet`` asks NASA EONET
every fifteen minutes for the events, open or closed, that changed in the past 30
days, so an event's closing is seen too; ``fema`` asks OpenFEMA every half hour for
the 1000 most recently refreshed designated-area rows.  Any URL may point at
another query of the same service (an EONET category or bounding box, the EONET
GeoJSON form, an OpenFEMA ``$filter``); the parser and the event ``source`` stay
the same.
"""

from __future__ import annotations

from typing import Final

from central.feeds import Feed
from central_adapter_disaster import eonet, fema, gdacs
from central_adapter_disaster.models import DOMAIN

FEEDS: Final[dict[str, Feed]] = {
    "gdacs": Feed(
        name="gdacs",
        domain=DOMAIN,
        default_url="https://www.gdacs.org/xml/gdacs.geojson",
        default_interval_s=300.0,
        parse=gdacs.parse,
        normalize=gdacs.normalize,
        record_id=gdacs.record_id,
    ),
    "eonet": Feed(
        name="eonet",
        domain=DOMAIN,
        default_url="https://eonet.gsfc.nasa.gov/api/v3/events?status=all&days=30",
        default_interval_s=900.0,
        parse=eonet.parse,
        normalize=eonet.normalize,
        record_id=eonet.record_id,
    ),
    "fema": Feed(
        name="fema",
        domain=DOMAIN,
        default_url=(
            "https://www.fema.gov/api/open/v2/DisasterDeclarationsSummaries"
            "?$orderby=lastRefresh%20desc&$top=1000"
        ),
        default_interval_s=1800.0,
        parse=fema.parse,
        normalize=fema.normalize,
        record_id=fema.record_id,
    ),
}

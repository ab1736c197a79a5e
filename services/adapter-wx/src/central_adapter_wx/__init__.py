"""Central's weather adapter: NWS alerts API and CAP ATOM feeds to ``CENTRAL_WX``."""

__version__ = "0.1.0"

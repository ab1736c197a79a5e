"""Central's disaster adapter: GDACS, EONET and OpenFEMA to ``CENTRAL_DISASTER``."""

__version__ = "0.1.0"

"""Central's earthquake adapter: USGS and EMSC feeds to ``CENTRAL_QUAKE``."""

__version__ = "0.1.0"

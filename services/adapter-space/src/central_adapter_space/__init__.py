"""Central's space-weather adapter: NOAA SWPC feeds to ``CENTRAL_SPACE``."""

__version__ = "0.1.0"

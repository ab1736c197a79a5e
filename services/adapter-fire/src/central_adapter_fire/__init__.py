"""Central's fire adapter: NASA FIRMS active-fire CSV to ``CENTRAL_FIRE``."""

__version__ = "0.1.0"

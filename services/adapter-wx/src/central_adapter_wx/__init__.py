"""Central wx adapter."""

__version__ = "0.1.0"

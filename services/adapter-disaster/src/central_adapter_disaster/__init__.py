"""Central disaster adapter."""

__version__ = "0.1.0"

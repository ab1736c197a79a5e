"""Central's dashboard: pages and a query API over the archive and the streams."""

__version__ = "0.1.0"

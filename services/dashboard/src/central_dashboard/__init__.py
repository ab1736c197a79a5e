"""Central's dashboard: pages and a query API over the archive and the streams."""

"""Central's stream-provisioner: the only writer of JetStream stream configs."""

__version__ = "0.1.0"

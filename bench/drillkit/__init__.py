"""The parts of ``bench/drills.py``: servers, producer, census and the drills.

Everything runs on loopback servers the drill run starts in a throwaway folder:
NATS (one server or a three-node cluster), one PostgreSQL with a fresh database per
drill, and the services as child processes.
"""

"""The root error of the ``central`` package and its direct subclasses."""

from __future__ import annotations


class CentralError(Exception):
    """Root of every error raised by the ``central`` package."""


class EventDecodeError(CentralError, ValueError):
    """A message is not a valid CloudEvent.

    ``reason`` names what is wrong, in words fit for a log line or a dead-letter row.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"not a valid CloudEvent: {reason}")
        self.reason = reason


class SettingsError(CentralError, ValueError):
    """A setting is missing or invalid; ``name`` is the environment variable."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"setting {name}: {reason}")
        self.name = name
        self.reason = reason


class FeedFormatError(CentralError, ValueError):
    """A payload is not a document of the feed it was fetched from at all."""


class RecordError(CentralError, ValueError):
    """One upstream record cannot be normalized; the rest of its payload may be fine.

    ``native_id`` is the record's upstream id where it could be read.
    """

    def __init__(self, reason: str, native_id: str | None = None) -> None:
        where = f" (record {native_id})" if native_id else ""
        super().__init__(f"{reason}{where}")
        self.reason = reason
        self.native_id = native_id

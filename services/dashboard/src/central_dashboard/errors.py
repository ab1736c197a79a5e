"""The dashboard's errors: one root, and one subclass per answer the API gives."""

from __future__ import annotations

from central.errors import CentralError


class DashboardError(CentralError):
    """Root of every error the dashboard raises on purpose."""


class ParameterError(DashboardError, ValueError):
    """A request parameter is invalid; the API answers 400 naming it.

    ``parameter`` is the name the client used (a query parameter, a body field or a
    header); ``reason`` says what is wrong with its value, in words fit for a client.
    """

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"parameter {parameter}: {reason}")
        self.parameter = parameter
        self.reason = reason


class NotFoundError(DashboardError, LookupError):
    """What the request names does not exist; the API answers 404."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what}: {reason}")
        self.what = what
        self.reason = reason


class ConflictError(DashboardError, RuntimeError):
    """A stream change was refused (by reconcile or by JetStream); nothing changed.

    The API answers 409 with ``reason``; ``stream`` names the stream.
    """

    def __init__(self, stream: str, reason: str) -> None:
        super().__init__(f"stream {stream}: {reason}")
        self.stream = stream
        self.reason = reason


class UnavailableError(DashboardError, ConnectionError):
    """A backing server (the database, NATS) did not answer; the API answers 503."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what} unavailable: {reason}")
        self.what = what
        self.reason = reason


class BudgetSpentError(UnavailableError):
    """The archive's query budget is spent; 503 with ``Retry-After``.

    ``retry_after`` is in whole seconds. Admission counts and logs these, so the
    places that log other unavailability leave them out.
    """

    def __init__(self, retry_after: str) -> None:
        super().__init__(
            "database",
            f"the archive's query budget is spent; retry in {retry_after} s",
        )
        self.retry_after = retry_after

"""The archiver's errors: one root, a subclass per way things go wrong."""

from __future__ import annotations

from pathlib import Path

from central.errors import CentralError


class ArchiverError(CentralError):
    """Root of every error raised by ``central_archiver``."""


class MigrationError(ArchiverError, RuntimeError):
    """A migration could not be found, read or applied; ``path`` names the file."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class MigrationsDirError(MigrationError):
    """No migrations directory was configured and none could be found."""


class MigrationChecksumError(MigrationError):
    """An applied migration's file changed since it was applied."""

    def __init__(self, path: Path, applied: str, current: str) -> None:
        super().__init__(
            f"migration {path.name} was changed after it was applied "
            f"(applied sha256 {applied[:12]}, file now {current[:12]}); "
            "restore the file and put the change in a new migration",
            path,
        )
        self.applied = applied
        self.current = current


class SchemaMissingError(ArchiverError, RuntimeError):
    """The archive tables are missing: ``central-archiver migrate`` has not run."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            f"archive tables missing: {', '.join(missing)}; "
            "run `central-archiver migrate` first"
        )
        self.missing = missing


class DatabaseUnavailableError(ArchiverError, ConnectionError):
    """The database could not take a batch: connection lost, server down, timeout.

    The batch was not committed (or its outcome is unknown); it must be redelivered.
    """

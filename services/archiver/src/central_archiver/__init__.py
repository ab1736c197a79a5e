"""Central's archiver: every event from JetStream into PostgreSQL + PostGIS.

The FastStream application factory lives in :mod:`central_archiver.app`
(``create_app``); it is not imported here so that ``central-archiver migrate``
starts without loading FastStream.
"""

from __future__ import annotations

__version__ = "0.1.0"

from central_archiver.errors import (
    ArchiverError,
    DatabaseUnavailableError,
    MigrationChecksumError,
    MigrationError,
    MigrationsDirError,
    SchemaMissingError,
)
from central_archiver.migrations import MigrationReport, default_dir, migrate
from central_archiver.service import Archiver
from central_archiver.settings import ArchiverSettings

__all__ = [
    "Archiver",
    "ArchiverError",
    "ArchiverSettings",
    "DatabaseUnavailableError",
    "MigrationChecksumError",
    "MigrationError",
    "MigrationReport",
    "MigrationsDirError",
    "SchemaMissingError",
    "__version__",
    "default_dir",
    "migrate",
]

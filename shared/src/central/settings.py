"""Settings: one pydantic-settings class per service, read once at start-up.

Every variable has the ``CENTRAL_`` prefix.  :func:`load` turns a validation failure
into a :class:`~central.errors.SettingsError` naming the environment variable, so a
service stops at start-up with a one-line reason instead of a traceback.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from central.errors import SettingsError

PREFIX = "CENTRAL_"


class CentralSettings(BaseSettings):
    """What every service reads: NATS, its HTTP port and its log level."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, extra="ignore", frozen=True, case_sensitive=False
    )

    nats_url: str = Field(default="nats://127.0.0.1:4222")
    http_port: int = Field(default=8080, ge=0, le=65535)
    http_host: str = Field(default="0.0.0.0")
    log_level: str = Field(default="INFO")

    def summary(self) -> dict[str, object]:
        """The settings fit for a start-up log line: credentials in URLs masked."""
        return {k: _mask(v) for k, v in self.model_dump().items()}


class DatabaseSettings(CentralSettings):
    """Settings of a service that uses the archive database."""

    database_url: str = Field(default="postgresql://postgres@127.0.0.1:5432/central")


S = TypeVar("S", bound=BaseSettings)


def load(cls: type[S]) -> S:
    """Read ``cls`` from the environment; raise SettingsError naming the variable."""
    try:
        return cls()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise SettingsError(PREFIX + field.upper(), first["msg"]) from exc


def _mask(value: object) -> object:
    if isinstance(value, str) and "://" in value and "@" in value:
        scheme, rest = value.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else value
    return value

"""Settings: one pydantic-settings class per service, read once at start-up.

Every variable has the ``CENTRAL_`` prefix.  :func:`load` turns a validation failure
into a :class:`~central.errors.SettingsError` naming the environment variable, so a
service stops at start-up with a one-line reason instead of a traceback.

A secret need not sit in the environment: where ``/run/secrets`` exists (compose and
podman secrets mount there), a file named after the variable, lower-cased (for
example ``/run/secrets/central_nats_url``), gives the value; the environment wins
when both are set.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, ValidationError, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from central.errors import SettingsError
from central.upstream import redact_url, url_secrets

PREFIX = "CENTRAL_"
#: Where container runtimes mount secrets as files.
SECRETS_DIR = Path("/run/secrets")


class CentralSettings(BaseSettings):
    """What every service reads: NATS, its HTTP port and its log level."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, extra="ignore", frozen=True, case_sensitive=False
    )

    #: One server URL, or a cluster's members separated by commas.
    nats_url: str = Field(default="nats://127.0.0.1:4222")
    #: CA bundle that signed the NATS server's certificate; setting it (or a
    #: ``tls://`` URL) turns TLS on.
    nats_tls_ca: str = ""
    #: Client certificate and key, for servers that verify clients.
    nats_tls_cert: str = ""
    nats_tls_key: str = ""
    http_port: int = Field(default=8080, ge=0, le=65535)
    http_host: str = Field(default="0.0.0.0")
    #: Reverse proxies (addresses or networks, comma-separated) whose
    #: ``X-Forwarded-For`` and ``X-Forwarded-Proto`` name the real client; with
    #: none, those headers are ignored and the peer is the client.
    http_trusted_proxies: str = ""
    #: Longest a client may take to send a request head (408 and closed after).
    http_head_timeout_s: float = Field(default=10.0, gt=0, le=600)
    log_level: str = Field(default="INFO")

    def nats_tls(self) -> ssl.SSLContext | None:
        """The TLS context for NATS connections, or None for plain TCP.

        Raises SettingsError naming the variable when a file cannot be read, or
        when only one of the client certificate and key is set.
        """
        wanted = bool(self.nats_tls_ca or self.nats_tls_cert) or any(
            url.startswith("tls://") for url in self.nats_servers()
        )
        if not wanted:
            return None
        if bool(self.nats_tls_cert) != bool(self.nats_tls_key):
            raise SettingsError(
                PREFIX + "NATS_TLS_KEY", "set both NATS_TLS_CERT and NATS_TLS_KEY"
            )
        try:
            context = ssl.create_default_context(cafile=self.nats_tls_ca or None)
        except (OSError, ssl.SSLError) as exc:
            raise SettingsError(PREFIX + "NATS_TLS_CA", f"unreadable: {exc}") from exc
        if self.nats_tls_cert:
            try:
                context.load_cert_chain(self.nats_tls_cert, self.nats_tls_key)
            except (OSError, ssl.SSLError) as exc:
                raise SettingsError(
                    PREFIX + "NATS_TLS_CERT", f"unreadable: {exc}"
                ) from exc
        return context

    def nats_servers(self) -> list[str]:
        """The NATS server URLs in ``nats_url``, split at commas, in order.

        A client given several tries them in turn, and reconnects to another
        member when its server goes away.
        """
        return [url.strip() for url in self.nats_url.split(",") if url.strip()]

    def trusted_proxies(self) -> list[str]:
        """The entries of ``http_trusted_proxies``, split at commas."""
        return [p.strip() for p in self.http_trusted_proxies.split(",") if p.strip()]

    def summary(self) -> dict[str, object]:
        """The settings fit for a start-up log line: secrets in URLs masked."""
        masked = {
            k: "***" if _is_password(k) and v else _mask(v)
            for k, v in self.model_dump().items()
        }
        masked["nats_url"] = ",".join(redact_url(url) for url in self.nats_servers())
        return masked

    def secrets(self) -> list[str]:
        """Every secret of the settings (password fields, and passwords and keys in
        URLs), for log masking."""
        found: list[str] = []
        for key, value in self.model_dump().items():
            if not isinstance(value, str) or not value:
                continue
            if _is_password(key):
                found.append(value)
            elif "://" in value:
                found.extend(url_secrets(value))
        # Each member of a server list may carry its own credentials.
        found += [s for url in self.nats_servers() for s in url_secrets(url)]
        return found


class DatabaseSettings(CentralSettings):
    """Settings of a service that uses the archive database."""

    database_url: str = Field(default="postgresql://postgres@127.0.0.1:5432/central")


class DevSettings(BaseSettings):
    """``central dev``: where the hub's servers are, when they already run."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True)

    nats_url: str | None = None
    database_url: str | None = None


S = TypeVar("S", bound=BaseSettings)


def load(cls: type[S]) -> S:
    """Read ``cls`` from the environment; raise SettingsError naming the variable."""
    try:
        if SECRETS_DIR.is_dir():
            return cls(_secrets_dir=SECRETS_DIR)
        return cls()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise SettingsError(PREFIX + field.upper(), first["msg"]) from exc


def _is_password(name: str) -> bool:
    return name.endswith(("password", "token"))


def _mask(value: object) -> object:
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    return value


class AdapterSettings(CentralSettings):
    """What every adapter reads; per-feed fields are added by :func:`adapter_settings`.

    ``feeds`` is a comma-separated list of the feeds to poll (empty: all of them).
    """

    feeds: str = ""
    user_agent: str = "Central hazard-data hub (https://github.com/central-hub)"
    http_timeout_s: float = Field(default=30.0, gt=0)
    #: The whole of one fetch (connect, redirects, headers, body); http_timeout_s
    #: bounds each wait alone, so a server sending a byte now and then slips past it.
    fetch_deadline_s: float = Field(default=180.0, gt=0)
    max_body_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    lease_ttl_s: float = Field(default=30.0, gt=0)
    status_interval_s: float = Field(default=30.0, gt=0)
    backoff_base_s: float = Field(default=5.0, gt=0)
    backoff_cap_s: float = Field(default=900.0, gt=0)

    def feed_enabled(self, name: str) -> bool:
        wanted = {f.strip() for f in self.feeds.split(",") if f.strip()}
        return not wanted or name in wanted

    def feed_url(self, name: str) -> str:
        return str(getattr(self, f"feed_{feed_token(name)}_url"))

    def feed_interval_s(self, name: str) -> float:
        return float(getattr(self, f"feed_{feed_token(name)}_interval_s"))


def feed_token(name: str) -> str:
    """A feed name as it appears in variable names: ``swpc-kp`` → ``swpc_kp``."""
    return name.replace("-", "_").lower()


def adapter_settings(
    service: str, feeds: dict[str, tuple[str, float]]
) -> type[AdapterSettings]:
    """An AdapterSettings subclass with ``CENTRAL_FEED_<FEED>_URL`` / ``_INTERVAL_S``.

    ``feeds`` maps each feed name to its default URL and interval in seconds.
    """
    fields: dict[str, Any] = {}
    for name, (url, interval) in feeds.items():
        token = feed_token(name)
        fields[f"feed_{token}_url"] = (str, Field(default=url, min_length=1))
        fields[f"feed_{token}_interval_s"] = (float, Field(default=interval, gt=0))
    model_name = "".join(p.capitalize() for p in service.split("-")) + "Settings"
    return create_model(model_name, __base__=AdapterSettings, **fields)

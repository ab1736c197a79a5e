"""Fetching one upstream payload: conditional GET, bounded size and time, errors.

:func:`fetch` returns a :class:`Fetched` for a 200 or a 304 and raises
:class:`UpstreamError` for everything else (HTTP errors, timeouts, oversized or
cut bodies), carrying the server's ``Retry-After`` when it sent one.
:func:`backoff_delay` turns consecutive failures into a jittered delay.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from central.errors import CentralError


class UpstreamError(CentralError, IOError):
    """A poll failed before a payload could be parsed.

    ``kind`` is a stable word for logs and metrics (``http_status``, ``timeout``,
    ``too_large``, ``transport``); ``retry_after_s`` is the server's Retry-After.
    """

    def __init__(
        self,
        kind: str,
        detail: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"upstream {kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.status = status
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Validators:
    """What a conditional GET sends back: the last ETag and Last-Modified."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Fetched:
    """One successful fetch; ``body`` is None when the server answered 304."""

    status: int
    body: bytes | None
    validators: Validators
    seconds: float

    @property
    def not_modified(self) -> bool:
        return self.status == 304


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    validators: Validators,
    *,
    max_bytes: int,
    accept: str | None = None,
) -> Fetched:
    """GET ``url`` conditionally; the body is read in full, up to ``max_bytes``.

    ``accept`` is sent as the Accept header (some upstreams choose the format by it).

    ``max_bytes`` bounds the decoded body, so a compressed bomb is cut off as soon as
    it inflates past the limit.  Redirects are followed as the client is configured.
    """
    headers: dict[str, str] = {"Accept": accept} if accept else {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    started = time.monotonic()
    shown = redact_url(url)
    try:
        async with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return Fetched(304, None, validators, time.monotonic() - started)
            if response.status_code != 200:
                raise UpstreamError(
                    "http_status",
                    f"{shown} answered {response.status_code}",
                    status=response.status_code,
                    retry_after_s=parse_retry_after(
                        response.headers.get("Retry-After")
                    ),
                )
            body = await _read_bounded(response, max_bytes, shown)
            new = Validators(
                response.headers.get("ETag"), response.headers.get("Last-Modified")
            )
    except httpx.TimeoutException as exc:
        raise UpstreamError("timeout", f"{shown}: {type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise UpstreamError("transport", f"{shown}: {type(exc).__name__}") from exc
    return Fetched(200, body, new, time.monotonic() - started)


async def _read_bounded(response: httpx.Response, max_bytes: int, url: str) -> bytes:
    declared = response.headers.get("Content-Length")
    plain = "Content-Encoding" not in response.headers
    if plain and declared and declared.isdigit() and int(declared) > max_bytes:
        raise UpstreamError("too_large", f"{url} declares {declared} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise UpstreamError("too_large", f"{url} body exceeds {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


_SECRET_PARAM = re.compile(r"key|token|secret|pass|auth|sig", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` fit for a log line: the password and secret-looking query values masked.

    A query parameter whose name contains key, token, secret, pass, auth or sig has
    its value replaced by ``***``.

    Note: a secret embedded in the path (FIRMS puts its MAP_KEY there) cannot be
    told from an ordinary path segment and is not masked; prefer a query parameter
    or a header where the upstream allows it.
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = "&".join(
        f"{name}=***"
        if _SECRET_PARAM.search(name)
        else f"{name}={value}"
        if value
        else name
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    return max(0.0, (when - current).total_seconds())


def backoff_delay(
    failures: int,
    *,
    base_s: float,
    cap_s: float,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """The wait after ``failures`` consecutive failures (1 or more).

    Exponential from ``base_s`` with "equal jitter" (half fixed, half random) so
    replicas and restarted adapters spread out, capped at ``cap_s``.  A server's
    Retry-After is honoured as a floor, itself capped at ``cap_s`` so a hostile or
    mistaken header cannot park a feed for a day.
    """
    rng = rng or random.Random()
    exp = min(cap_s, base_s * 2.0 ** max(0, failures - 1))
    delay = exp / 2 + rng.uniform(0, exp / 2)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, cap_s))
    return delay

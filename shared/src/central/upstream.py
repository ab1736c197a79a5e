"""Fetching one upstream payload: conditional GET, bounded size and time, errors.

:func:`fetch` returns a :class:`Fetched` for a 200 or a 304 and raises
:class:`UpstreamError` for everything else (HTTP errors, timeouts, oversized or
cut bodies), carrying the server's ``Retry-After`` when it sent one.
:func:`backoff_delay` turns consecutive failures into a jittered delay.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import re
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from central.errors import CentralError


class UpstreamError(CentralError, IOError):
    """A poll failed before a payload could be parsed.

    ``kind`` is a stable word for logs and metrics (``http_status``, ``timeout``,
    ``too_large``, ``too_many_redirects``, ``transport``); ``retry_after_s`` is the
    server's Retry-After.
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


#: The one content coding asked for.  The body is inflated here rather than by the
#: client, a piece at a time, so that ``max_bytes`` bounds memory and not only the
#: result (one network read of a bomb inflates a thousandfold at once).
ACCEPT_ENCODING = "gzip"
_WBITS = {
    "gzip": 16 + zlib.MAX_WBITS,
    "x-gzip": 16 + zlib.MAX_WBITS,
    "deflate": zlib.MAX_WBITS,
}


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    validators: Validators,
    *,
    max_bytes: int,
    accept: str | None = None,
    deadline_s: float | None = None,
) -> Fetched:
    """GET ``url`` conditionally; the body is read in full, up to ``max_bytes``.

    ``accept`` is sent as the Accept header (some upstreams choose the format by it).

    ``max_bytes`` bounds the body both as sent and as decoded: a gzip or deflate body
    is inflated a piece at a time, so a bomb is cut off as soon as it inflates past
    the limit, having cost about ``max_bytes`` of memory.  ``deadline_s`` bounds the
    whole fetch (connecting, redirects, headers, body), where the client's timeouts
    bound each wait alone and so never stop a server that trickles a byte at a
    time; None leaves only the client's.  Redirects are followed as the client is
    configured.

    Raises UpstreamError of kind ``http_status`` (any status but 200 and 304, with
    the server's Retry-After), ``timeout``, ``too_large``, ``too_many_redirects``
    (more than the client follows), or ``transport`` (the connection failed, the
    body was cut short, or its content coding is unknown or corrupt).
    """
    headers: dict[str, str] = {"Accept-Encoding": ACCEPT_ENCODING}
    if accept:
        headers["Accept"] = accept
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    started = time.monotonic()
    try:
        async with asyncio.timeout(deadline_s):
            return await _get(client, url, headers, validators, max_bytes, started)
    except TimeoutError as exc:
        raise UpstreamError(
            "timeout", f"{redact_url(url)}: no complete answer in {deadline_s} s"
        ) from exc


async def _get(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    validators: Validators,
    max_bytes: int,
    started: float,
) -> Fetched:
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
    except httpx.TooManyRedirects as exc:
        raise UpstreamError(
            "too_many_redirects",
            f"{shown}: more than {client.max_redirects} redirects",
        ) from exc
    except httpx.HTTPError as exc:
        raise UpstreamError("transport", f"{shown}: {type(exc).__name__}") from exc
    return Fetched(200, body, new, time.monotonic() - started)


async def _read_bounded(response: httpx.Response, max_bytes: int, url: str) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise UpstreamError("too_large", f"{url} declares {declared} bytes")
    inflater = _Inflater.of(response, url)
    body = bytearray()
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        body += inflater.feed(chunk, max_bytes - len(body)) if inflater else chunk
        if received > max_bytes or len(body) > max_bytes:
            raise UpstreamError("too_large", f"{url} body exceeds {max_bytes} bytes")
    if inflater:
        inflater.finish()
    return bytes(body)


class _Inflater:
    """Inflates one gzip or deflate body, never more than it is asked to at once."""

    def __init__(self, coding: str, url: str) -> None:
        self._coding = coding
        self._url = url
        self._zlib = zlib.decompressobj(_WBITS[coding])

    @classmethod
    def of(cls, response: httpx.Response, url: str) -> _Inflater | None:
        """The inflater of ``response``'s content coding; None for identity."""
        header = response.headers.get("Content-Encoding", "")
        codings = [c.strip().lower() for c in header.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if not codings:
            return None
        if len(codings) > 1 or codings[0] not in _WBITS:
            raise UpstreamError(
                "transport", f"{url} sent Content-Encoding {header!r}, not gzip"
            )
        return cls(codings[0], url)

    def feed(self, data: bytes, room: int) -> bytes:
        """``data`` inflated, stopping once more than ``room`` bytes came out.

        Bytes after the end of the compressed stream are ignored.
        """
        out = bytearray()
        while not self._zlib.eof and len(out) <= room:
            try:
                piece = self._zlib.decompress(data, room + 1 - len(out))
            except zlib.error as exc:
                raise UpstreamError(
                    "transport", f"{self._url} body is not valid {self._coding}"
                ) from exc
            out += piece
            data = self._zlib.unconsumed_tail
            # Input used up may still leave output of its last bytes, which the next
            # call gives; nothing out and nothing in means wait for the next read.
            if not piece and not data:
                break
        return bytes(out)

    def finish(self) -> None:
        """Raise UpstreamError if the compressed stream did not reach its end."""
        if not self._zlib.eof:
            raise UpstreamError(
                "transport", f"{self._url} {self._coding} body ends early"
            )


_SECRET_PARAM = re.compile(r"key|token|secret|pass|auth|sig", re.IGNORECASE)
# An API key carried in the path (FIRMS puts its 32-character MAP_KEY there): a long
# run of letters and digits holding both.
_PATH_KEY = re.compile(
    r"(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{24,}"
)


def redact_url(url: str) -> str:
    """``url`` fit for a log line: the password and secret-looking parts masked.

    Masked with ``***``: the password, the value of a query parameter whose name
    contains key, token, secret, pass, auth or sig, and a path segment that looks
    like a key (24 or more letters, digits, ``-`` or ``_``, with letters and digits
    both).

    Note: the path rule may also mask a long opaque identifier; that costs only
    readability of the log line.
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    path = "/".join(
        "***" if _PATH_KEY.fullmatch(segment) else segment
        for segment in parts.path.split("/")
    )
    query = "&".join(
        f"{name}=***"
        if _SECRET_PARAM.search(name)
        else f"{name}={value}"
        if value
        else name
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def url_secrets(url: str) -> list[str]:
    """The parts of ``url`` that :func:`redact_url` masks, as they appear in it."""
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [seg for seg in parts.path.split("/") if _PATH_KEY.fullmatch(seg)]
    found += [
        value
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if value and _SECRET_PARAM.search(name)
    ]
    return found


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

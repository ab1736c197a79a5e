"""Admission: how much of the machine one client, and all clients together, may use.

The archive shares its database, and the machine, with the archiver. Two budgets
keep the dashboard's clients from taking more than their part. Both are token
buckets counted in seconds, refilled at a *share* (seconds per second) up to a
*burst*:

- **Per client** (``CENTRAL_DASHBOARD_CLIENT_SHARE``,
  ``CENTRAL_DASHBOARD_CLIENT_BURST_S``): each request costs
  :data:`REQUEST_COST_S` when it is admitted, and later the time its archive
  queries held a database connection. A client whose bucket is empty is answered
  429 with ``Retry-After`` before any route runs. A client is its address, or
  for IPv6 its /64 network (one host usually holds a whole one); behind a reverse
  proxy listed in ``CENTRAL_HTTP_TRUSTED_PROXIES``, the address the proxy names.
- **All archive queries together** (``CENTRAL_DB_QUERY_SHARE``,
  ``CENTRAL_DB_QUERY_BURST_S``): each query costs the time it held its connection.
  While the bucket is empty, a request that needs the archive is answered 503
  with ``Retry-After`` without touching the database, so a flood of clients,
  each within its own share, still keeps the database at most about
  ``CENTRAL_DB_QUERY_SHARE`` busy on average.

A query's cost is known only once it ends, so a bucket may go into debt by the
queries already running (at most the query pool's size, each bounded by the
statement timeout), down to minus one burst; a bucket in debt refuses until it
has refilled past zero. A share of 0 turns that budget off.

Health, readiness, metrics and static files are never throttled. Refusals are
counted in ``central_dashboard_throttled_requests_total`` (``budget`` client or
database) and summed up in one ``requests_throttled`` log line at most every
:data:`LOG_EVERY_S` seconds, naming a few of the clients.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from central_dashboard.limits import send_error

#: What admitting one request costs its client, in seconds of its share.
REQUEST_COST_S = 0.01
#: Most clients whose buckets are kept; the least recently seen go first.
MAX_CLIENTS = 65_536
#: Shortest interval between two ``requests_throttled`` lines.
LOG_EVERY_S = 10.0
#: Paths no budget applies to: probes, metrics and static files.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/favicon.ico"})
EXEMPT_PREFIXES = ("/static/",)
#: Clients named in one ``requests_throttled`` line.
_SAMPLE = 5


@dataclass(slots=True)
class Bucket:
    """Seconds of service, refilled at ``rate`` per second up to ``capacity``."""

    rate: float
    capacity: float
    level: float
    stamp: float

    @classmethod
    def full(cls, rate: float, capacity: float, now: float) -> Bucket:
        return cls(rate, capacity, capacity, now)

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_s(self, now: float) -> float:
        """0 when the bucket admits; else the seconds until it will."""
        self.refill(now)
        # Above a nanosecond, not zero: a burst of whole requests must not admit
        # one more through rounding.
        return 0.0 if self.level > 1e-9 else -self.level / self.rate + 1e-3

    def charge(self, seconds: float, now: float) -> None:
        """Take ``seconds``; the debt stops at one burst, so that the wait after
        the worst flood is at most two bursts' worth."""
        self.refill(now)
        self.level = max(-self.capacity, self.level - seconds)


def client_key(scope: Scope) -> str:
    """Who is asking: the peer's address, an IPv6 one as its /64 network."""
    client = scope.get("client")
    if not client:
        return "local"
    host = str(client[0])
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return host


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))


#: The bucket of the client whose request is running, for charging its queries.
_current: ContextVar[Bucket | None] = ContextVar("central_client_bucket", default=None)


@contextmanager
def charging(bucket: Bucket | None) -> Iterator[None]:
    """Within the block, :meth:`Admission.charge_query` charges ``bucket`` too."""
    token = _current.set(bucket)
    try:
        yield
    finally:
        _current.reset(token)


class Admission:
    """The per-client buckets and the database budget of one dashboard.

    ``metrics`` and ``log`` are read through ``owner`` (the Hub) at each use, as
    tests replace the logger after the app is made.
    """

    def __init__(
        self,
        *,
        client_share: float,
        client_burst_s: float,
        query_share: float,
        query_burst_s: float,
        owner: Any,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.client_share = client_share
        self.client_burst_s = client_burst_s
        self.owner = owner
        self.clock = clock
        self.max_clients = max_clients
        self.clients: OrderedDict[str, Bucket] = OrderedDict()
        now = clock()
        self.database = (
            Bucket.full(query_share, query_burst_s, now) if query_share > 0 else None
        )
        self._refused: Counter[str] = Counter()
        self._sample: dict[str, int] = {}
        self._next_log = now

    # Per client

    def admit_client(self, key: str) -> tuple[float, Bucket | None]:
        """(0, its bucket, charged for the request), or (seconds to wait, None)."""
        if self.client_share <= 0:
            return 0.0, None
        now = self.clock()
        bucket = self.clients.get(key)
        if bucket is None:
            bucket = Bucket.full(self.client_share, self.client_burst_s, now)
            self.clients[key] = bucket
            if len(self.clients) > self.max_clients:
                self.clients.popitem(last=False)
        else:
            self.clients.move_to_end(key)
        wait = bucket.wait_s(now)
        if wait:
            self._note("client", key, now)
            return wait, None
        bucket.charge(REQUEST_COST_S, now)
        return 0.0, bucket

    # The database

    def query_wait_s(self) -> float:
        """0 when archive queries may run; else the seconds until they may."""
        if self.database is None:
            return 0.0
        now = self.clock()
        wait = self.database.wait_s(now)
        if wait:
            self._note("database", None, now)
        return wait

    def charge_query(self, seconds: float) -> None:
        """Charge a finished query to the database budget and its client."""
        now = self.clock()
        if self.database is not None:
            self.database.charge(seconds, now)
            self.owner.metrics.query_budget.set(self.database.level)
        bucket = _current.get()
        if bucket is not None:
            bucket.charge(seconds, now)

    # Accounting

    def _note(self, budget: str, key: str | None, now: float) -> None:
        self.owner.metrics.throttled.labels(budget).inc()
        self._refused[budget] += 1
        if key is not None and (key in self._sample or len(self._sample) < _SAMPLE):
            self._sample[key] = self._sample.get(key, 0) + 1
        if now >= self._next_log:
            self.owner.log.warning(
                "requests_throttled",
                refused=dict(self._refused),
                clients=self._sample,
                seconds=LOG_EVERY_S,
            )
            self._refused.clear()
            self._sample = {}
            self._next_log = now + LOG_EVERY_S


class ClientLimits:
    """ASGI middleware answering 429 to a client that has used up its share."""

    def __init__(self, app: ASGIApp, *, admission: Admission) -> None:
        self.app = app
        self.admission = admission

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _exempt(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        wait, bucket = self.admission.admit_client(client_key(scope))
        if not wait:
            with charging(bucket):
                await self.app(scope, receive, send)
            return
        seconds = retry_after(wait)
        await send_error(
            send,
            429,
            None,
            f"too many requests from this client; retry in {seconds} s",
            [(b"retry-after", seconds.encode())],
        )


def _exempt(path: str) -> bool:
    return path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES)

"""Budgets: a client over its share answers 429, a spent query budget 503.

The buckets are pure and run on a fake clock; the answers are checked on a real
dashboard over the filled archive, and the trust in ``X-Forwarded-For`` on
``central-dashboard run`` itself.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard.harness import Archive, serving, settings_for
from dashboard.hostile import dashboard_process

from central.devservers import loopback_client
from central_dashboard.admission import (
    REQUEST_COST_S,
    Admission,
    Bucket,
    ClientLimits,
    charging,
    client_key,
    retry_after,
)
from central_dashboard.metrics import Metrics


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Owner:
    """What Admission reads through its owner: metrics and a recording log."""

    def __init__(self) -> None:
        self.metrics = Metrics()
        self.lines: list[tuple[str, dict[str, Any]]] = []
        self.log = self

    def warning(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))


def _admission(clock: Clock, owner: Owner, **values: float) -> Admission:
    settings = {
        "client_share": 1.0,
        "client_burst_s": 0.05,
        "query_share": 0.5,
        "query_burst_s": 1.0,
        **values,
    }
    return Admission(owner=owner, clock=clock, **settings)  # type: ignore[arg-type]


# -- the buckets -------------------------------------------------------------------


def test_a_bucket_refills_at_its_rate_up_to_its_capacity() -> None:
    bucket = Bucket.full(rate=0.5, capacity=2.0, now=0.0)
    bucket.charge(3.0, now=0.0)

    assert bucket.level == -1.0
    assert bucket.wait_s(now=1.0) == pytest.approx(1.0, abs=0.01)
    assert bucket.wait_s(now=2.5) == 0.0
    bucket.refill(now=100.0)
    assert bucket.level == 2.0


def test_debt_stops_at_one_burst() -> None:
    bucket = Bucket.full(rate=0.5, capacity=2.0, now=0.0)
    bucket.charge(60.0, now=0.0)

    assert bucket.level == -2.0
    assert bucket.wait_s(now=0.0) == pytest.approx(4.0, abs=0.01)


def test_a_client_gets_its_burst_then_waits_for_its_share() -> None:
    clock, owner = Clock(), Owner()
    admission = _admission(clock, owner)
    burst = round(0.05 / REQUEST_COST_S)

    answers = [admission.admit_client("192.0.2.1")[0] for _ in range(burst + 2)]

    assert answers[:burst] == [0.0] * burst
    assert all(wait > 0 for wait in answers[burst:])
    assert admission.admit_client("192.0.2.2")[0] == 0.0, "another client is served"
    clock.now += answers[-1]
    assert admission.admit_client("192.0.2.1")[0] == 0.0
    assert owner.metrics.value(
        "central_dashboard_throttled_requests_total", budget="client"
    ) == pytest.approx(2)


def test_query_time_is_charged_to_the_database_and_to_the_client() -> None:
    clock, owner = Clock(), Owner()
    admission = _admission(clock, owner, client_burst_s=2.0, query_burst_s=2.0)
    _, heavy = admission.admit_client("192.0.2.1")
    assert heavy is not None

    with charging(heavy):
        admission.charge_query(2.5)

    assert admission.admit_client("192.0.2.1")[0] > 0, "the heavy client waits"
    assert admission.admit_client("192.0.2.2")[0] == 0.0, "a light one does not"
    wait = admission.query_wait_s()
    assert wait == pytest.approx(0.5 / 0.5, abs=0.01)
    assert owner.metrics.value("central_dashboard_query_budget_seconds") == -0.5
    clock.now += wait
    assert admission.query_wait_s() == 0.0


def test_a_share_of_zero_turns_a_budget_off() -> None:
    clock, owner = Clock(), Owner()
    admission = _admission(clock, owner, client_share=0, query_share=0)

    assert all(admission.admit_client("192.0.2.1") == (0.0, None) for _ in range(999))
    admission.charge_query(1e6)
    assert admission.query_wait_s() == 0.0


def test_the_clients_kept_are_bounded_and_the_oldest_go_first() -> None:
    clock, owner = Clock(), Owner()
    admission = Admission(
        client_share=1.0,
        client_burst_s=1.0,
        query_share=0,
        query_burst_s=1.0,
        owner=owner,
        clock=clock,
        max_clients=3,
    )
    for n in range(5):
        admission.admit_client(f"192.0.2.{n}")
    admission.admit_client("192.0.2.2")

    assert list(admission.clients) == ["192.0.2.3", "192.0.2.4", "192.0.2.2"]


def test_refusals_are_summed_up_in_one_line_per_interval() -> None:
    clock, owner = Clock(), Owner()
    admission = _admission(clock, owner, client_burst_s=REQUEST_COST_S / 2)
    for n in range(8):
        for _ in range(3):
            admission.admit_client(f"192.0.2.{n}")
    clock.now += 11
    admission.admit_client("192.0.2.0")  # refilled: admitted
    admission.admit_client("192.0.2.0")  # refused again, and the interval is over

    assert [event for event, _ in owner.lines] == ["requests_throttled"] * 2
    first, second = (fields for _, fields in owner.lines)
    assert first["refused"] == {"client": 1}
    # Each client was admitted once and refused twice: 16 refusals, the first
    # logged at once, the other 15 with the one after the interval.
    assert second["refused"] == {"client": 16}
    assert len(second["clients"]) == 5, "a few clients are named, not all"


@pytest.mark.parametrize(
    ("client", "key"),
    [
        (("192.0.2.7", 5000), "192.0.2.7"),
        (("2001:db8:1:2:3:4:5:6", 5000), "2001:db8:1:2::/64"),
        (("2001:db8:1:2:ffff::1", 5000), "2001:db8:1:2::/64"),
        (("::ffff:192.0.2.7", 5000), "192.0.2.7"),
        (("not-an-address", 5000), "not-an-address"),
        (None, "local"),
    ],
)
def test_a_client_is_its_address_or_its_ipv6_network(client: Any, key: str) -> None:
    assert client_key({"type": "http", "client": client}) == key


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert [retry_after(s) for s in (0.001, 1.0, 1.2, 59.9)] == ["1", "1", "2", "60"]


async def test_the_middleware_answers_429_with_retry_after_and_spares_probes() -> None:
    clock, owner = Clock(), Owner()
    admission = _admission(clock, owner, client_burst_s=REQUEST_COST_S * 2)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        admission.charge_query(0.0)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    limited = ClientLimits(app, admission=admission)
    transport = httpx.ASGITransport(app=limited, client=("192.0.2.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        statuses = [(await client.get("/api/events")).status_code for _ in range(3)]
        refused = await client.get("/api/events")
        probes = [
            (await client.get(path)).status_code
            for path in ("/healthz", "/readyz", "/metrics", "/static/app.css") * 5
        ]

    assert statuses == [200, 200, 429]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.json() == {
        "error": {
            "parameter": None,
            "reason": "too many requests from this client; retry in 1 s",
        }
    }
    assert set(probes) == {200}


# -- on a real dashboard -------------------------------------------------------------


async def test_a_client_over_its_share_waits_and_others_do_not(
    archive: Archive, shared_database: str
) -> None:
    settings = settings_for(
        archive.nats_url,
        shared_database,
        dashboard_client_share=0.1,
        dashboard_client_burst_s=0.1,
    )
    async with (
        serving(settings) as running,
        loopback_client(0, running.url, timeout=10) as greedy,
        loopback_client(1, running.url, timeout=10) as other,
    ):
        answers = [
            await greedy.get("/api/events", params={"limit": 5}) for _ in range(12)
        ]
        refused = [a for a in answers if a.status_code == 429]
        served = await other.get("/api/events", params={"limit": 5})
        health = [(await greedy.get("/healthz")).status_code for _ in range(5)]
        metrics = (await greedy.get("/metrics")).text
        await asyncio.sleep(int(refused[-1].headers["retry-after"]))
        again = await greedy.get("/api/events", params={"limit": 5})

    assert {a.status_code for a in answers} == {200, 429}
    assert answers[0].status_code == 200
    assert int(refused[0].headers["retry-after"]) >= 1
    assert served.status_code == 200
    assert health == [200] * 5
    assert 'central_dashboard_throttled_requests_total{budget="client"}' in metrics
    assert again.status_code == 200


async def test_a_spent_query_budget_answers_503_without_querying(
    archive: Archive, shared_database: str
) -> None:
    settings = settings_for(
        archive.nats_url,
        shared_database,
        db_query_share=0.001,
        db_query_burst_s=0.01,
    )
    async with serving(settings) as running:
        hub = running.hub
        first = await running.client.get("/api/events", params={"limit": 1000})
        ran = hub.metrics.registry.get_sample_value(
            "central_dashboard_query_seconds_count", {"query": "events"}
        )
        refused = [
            await running.client.get(path) for path in ("/api/events", "/explorer")
        ]
        ran_after = hub.metrics.registry.get_sample_value(
            "central_dashboard_query_seconds_count", {"query": "events"}
        )
        ready = await running.client.get("/readyz")
        throttled = hub.metrics.value(
            "central_dashboard_throttled_requests_total", budget="database"
        )

    assert first.status_code == 200
    api, page = refused
    assert api.status_code == 503
    assert 1 <= int(api.headers["retry-after"]) <= 2 * 0.01 / 0.001
    assert api.json()["error"]["reason"].startswith(
        "database unavailable: the archive's query budget is spent; retry in "
    )
    assert page.status_code == 200, "a page renders, its section says why"
    assert "query budget is spent" in page.text
    assert ran_after == ran, "no query ran while the budget was spent"
    assert ready.status_code == 200, "readiness is not the budget's to refuse"
    assert throttled == 2


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    archive: Archive, shared_database: str, tmp_path: Path
) -> None:
    """Unset, X-Forwarded-For cannot make one peer look like many; with the proxy
    trusted, each forwarded address is a client of its own."""
    budget = {
        "CENTRAL_DASHBOARD_CLIENT_SHARE": "0.0001",
        # Five requests, the fifth into debt.
        "CENTRAL_DASHBOARD_CLIENT_BURST_S": "0.045",
        "CENTRAL_LOG_LEVEL": "INFO",
    }
    results = {}
    for trusted in ("", "127.0.0.1"):
        async with dashboard_process(
            archive.nats_url,
            shared_database,
            tmp_path,
            CENTRAL_HTTP_TRUSTED_PROXIES=trusted,
            **budget,
        ) as process:
            async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
                statuses = [
                    (
                        await client.get(
                            "/api/adapters",
                            headers={"X-Forwarded-For": f"198.51.100.{n}"},
                        )
                    ).status_code
                    for n in range(20)
                ]
            lines = process.log_events()
        results[trusted] = statuses
        throttled = [e for e in lines if e.get("event") == "requests_throttled"]
        if trusted:
            assert not throttled
        else:
            assert throttled[0]["clients"] == {"127.0.0.1": 1}
            assert throttled[0]["service"] == "dashboard"
        started = next(e for e in lines if e.get("event") == "starting")
        assert started["http_trusted_proxies"] == trusted

    assert results[""][:5] == [200] * 5, results
    assert set(results[""][5:]) == {429}, results
    assert results["127.0.0.1"] == [200] * 20

"""Every adapter survives a hostile upstream, counts it, backs off and recovers.

For one feed of each adapter service a replay server misbehaves on purpose: a 200
with an HTML error page, a body cut off mid-transfer, 50 MB of random bytes, a gzip
bomb, a payload with invalid UTF-8, a redirect loop, a body trickled a byte at a
time, and a 503 asking to retry in a day.  A real adapter runtime polls it over
real HTTP and publishes to a real NATS.  Each case shows that the loop lives on,
that every failed poll is counted under the expected kind and logged once, that
the next poll waits out the backoff (a day's Retry-After capped at the backoff
cap), that the garbage and the bomb are never held whole, and that once the server
behaves the next poll publishes the recorded payload's events.

The faults x adapters tally of error kinds is printed when the module finishes.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pytest
import structlog
from prometheus_client import REGISTRY

from adapter_contract import FIXTURES, adapter, provision, stream_messages, wait_until
from central.errors import FeedFormatError, RecordError
from central.feeds import Feed
from central.logs import configure
from central.replay import Fault, ReplayApp, running
from central.upstream import redact_url
from central_adapter_disaster.feeds import FEEDS as DISASTER_FEEDS
from central_adapter_fire.feeds import FEEDS as FIRE_FEEDS
from central_adapter_quake.feeds import FEEDS as QUAKE_FEEDS
from central_adapter_space.feeds import FEEDS as SPACE_FEEDS
from central_adapter_wx.feeds import FEEDS as WX_FEEDS

MIB = 1024 * 1024
#: Small bounds, so that each case takes about a second.  The read timeout is
#: longer than the trickle's second between bytes, so only the fetch deadline can
#: stop it.
SETTINGS: dict[str, Any] = {
    "max_body_bytes": MIB,
    "http_timeout_s": 3.0,
    "fetch_deadline_s": 2.0,
    "backoff_base_s": 0.1,
    "backoff_cap_s": 0.5,
}
#: How much the process's peak memory may grow while the garbage or the bomb is
#: served: well under the 50 MB of garbage and the 64 MiB the bomb inflates to.
MAX_PEAK_GROWTH = 24 * MIB
HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    b"<body><h1>502 Bad Gateway</h1><p>The upstream server is busy.</p>"
    b"</body></html>\n"
)


@dataclass(frozen=True)
class Subject:
    """One adapter service and the feed of it that the hostile server stands in for."""

    service: str
    feeds: dict[str, Feed]
    feed: str
    payload: str
    content_type: str
    stream: str

    def body(self) -> bytes:
        return (FIXTURES / self.payload).read_bytes()


SUBJECTS = [
    Subject(
        "adapter-quake",
        QUAKE_FEEDS,
        "usgs",
        "usgs-earthquake/usgs_4.5_day_2024-02-06_api1.10.3.geojson",
        "application/geo+json",
        "CENTRAL_QUAKE",
    ),
    Subject(
        "adapter-wx",
        WX_FEEDS,
        "cap",
        "nws-alerts/nws_cap_atom_us_feed_2014-11-05.xml",
        "application/atom+xml",
        "CENTRAL_WX",
    ),
    Subject(
        "adapter-space",
        SPACE_FEEDS,
        "swpc-kp",
        "noaa-swpc/swpc_noaa-planetary-k-index_2026-08-01_objects.json",
        "application/json",
        "CENTRAL_SPACE",
    ),
    Subject(
        "adapter-fire",
        FIRE_FEEDS,
        "firms",
        "nasa-firms/firms_viirs_snpp_c2_europe_24h_2022-09-05.csv",
        "text/csv",
        "CENTRAL_FIRE",
    ),
    Subject(
        "adapter-disaster",
        DISASTER_FEEDS,
        "fema",
        "openfema/fema_DisasterDeclarationsSummaries_v2_2022-10-28.json",
        "application/json",
        "CENTRAL_DISASTER",
    ),
]


def _misencoded(body: bytes, content_type: str) -> Fault:
    """The payload with its first ``a`` written as Latin-1 ``á``: invalid UTF-8."""
    spoiled = body.replace(b"a", b"\xe1", 1)
    with pytest.raises(UnicodeDecodeError):
        spoiled.decode()
    return Fault(body=spoiled, content_type=content_type)


@dataclass(frozen=True)
class Hostile:
    """A way for the server to misbehave and the error kind it must be counted as."""

    name: str
    kind: str
    fault: Callable[[bytes, str], Fault]


HOSTILES = [
    Hostile("html-page", "format", lambda _b, _t: Fault(body=HTML_PAGE)),
    Hostile("cut-mid-body", "transport", lambda _b, _t: Fault(hang_up=True)),
    Hostile("garbage-50mb", "too_large", lambda _b, _t: Fault(garbage_bytes=50 * MIB)),
    Hostile("gzip-bomb", "too_large", lambda _b, _t: Fault(gzip_bomb=64 * MIB)),
    Hostile("invalid-utf8", "format", _misencoded),
    Hostile(
        "redirect-loop",
        "too_many_redirects",
        lambda _b, _t: Fault(redirect_loop=True),
    ),
    Hostile("trickle", "timeout", lambda _b, _t: Fault(trickle_s=1.0)),
    Hostile(
        "retry-after-a-day",
        "http_status",
        lambda _b, _t: Fault(status=503, retry_after="86400"),
    ),
]
#: The cases whose memory is measured: what they send must never be held whole.
MEASURED = {"garbage-50mb", "gzip-bomb"}


@functools.cache
def _events_in(service: str) -> int:
    """How many distinct events the service's recorded payload normalizes into."""
    subject = next(s for s in SUBJECTS if s.service == service)
    feed = subject.feeds[subject.feed]
    ids = set()
    for raw in feed.parse(subject.body()):
        try:
            ids.add(feed.normalize(raw).event.id)
        except RecordError:
            continue
    return len(ids)


def _counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _failures(feed: str, kind: str) -> dict[str, float]:
    return {
        "errors": _counter(
            "central_adapter_upstream_errors_total", feed=feed, kind=kind
        ),
        "internal": _counter(
            "central_adapter_upstream_errors_total", feed=feed, kind="internal"
        ),
        "failed_polls": _counter(
            "central_adapter_polls_total", feed=feed, result="error"
        ),
        "good_polls": _counter("central_adapter_polls_total", feed=feed, result="ok"),
    }


def _memory(field: str) -> int:
    """A ``/proc/self/status`` figure (``VmRSS``, ``VmHWM``) in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(field)


def _reset_peak_memory() -> int:
    """Start VmHWM afresh from the current RSS (Linux ``clear_refs`` 5); that RSS."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    return _memory("VmRSS")


@pytest.fixture(scope="module")
def tally(request: pytest.FixtureRequest) -> Iterator[dict[tuple[str, str], str]]:
    """Fault x adapter -> the result a faulted poll ended with, printed at the end.

    Also printed: the memory figures of the cases whose memory is measured.
    """
    seen: dict[tuple[str, str], str] = {}
    yield seen
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is None or capture is None or not seen:
        return
    services = [s.service for s in SUBJECTS if any(k[1] == s.service for k in seen)]
    width = max(len(h.name) for h in HOSTILES) + 2
    rows = [
        "".ljust(width)
        + "".join(s.removeprefix("adapter-").ljust(20) for s in services)
    ]
    for hostile in HOSTILES:
        cells = [seen.get((hostile.name, s), "-").ljust(20) for s in services]
        if any(c.strip() != "-" for c in cells):
            rows.append(hostile.name.ljust(width) + "".join(cells))
    figures = [
        f"{name.removesuffix(' memory')} x {service}: {value}"
        for (name, service), value in sorted(seen.items())
        if name.endswith(" memory")
    ]
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_sep("-", "hostile upstreams: fault x adapter -> result")
        for row in [*rows, "", *figures]:
            reporter.write_line(row.rstrip())


@pytest.fixture
def json_logs(
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Callable[[str], Callable[[], list[dict[str, Any]]]]]:
    """Starts the service's JSON logging into the captured stdout; returns a reader.

    The reader gives every JSON line written since; logging is undone afterwards,
    since the capture closes with the test.
    """

    def start(service: str) -> Callable[[], list[dict[str, Any]]]:
        configure(service)
        capsys.readouterr()

        def read() -> list[dict[str, Any]]:
            lines = capsys.readouterr().out.splitlines()
            return [orjson.loads(x) for x in lines if x.startswith("{")]

        return read

    yield start
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


@pytest.mark.parametrize("hostile", HOSTILES, ids=[h.name for h in HOSTILES])
@pytest.mark.parametrize("subject", SUBJECTS, ids=[s.service for s in SUBJECTS])
async def test_hostile_upstream_is_counted_backed_off_and_recovered_from(
    nats_url: str,
    subject: Subject,
    hostile: Hostile,
    json_logs: Callable[[str], Callable[[], list[dict[str, Any]]]],
    tally: dict[tuple[str, str], str],
) -> None:
    await provision(nats_url)
    payload = subject.body()
    app = ReplayApp()
    route = app.serve("/feed", payload, subject.content_type)
    route.fault = hostile.fault(payload, subject.content_type)
    before = _failures(subject.feed, hostile.kind)
    read_logs = json_logs(subject.service)

    def failed() -> float:
        now = _failures(subject.feed, hostile.kind)
        return now["failed_polls"] - before["failed_polls"]

    async with running(app) as base:
        url = f"{base}/feed"
        async with adapter(
            subject.service, subject.feeds, nats_url, {subject.feed: url}, **SETTINGS
        ) as rt:
            loop = rt.loops[0]
            baseline = _reset_peak_memory()
            await wait_until(lambda: failed() >= 1, 20, "a failed poll")
            peak_growth = _memory("VmHWM") - baseline
            during = loop.status.last_result
            sent_during_fault, polls_during_fault = route.bytes_sent, failed()
            published_during_fault = await stream_messages(nats_url, subject.stream)
            route.fault = Fault()
            await wait_until(
                lambda: loop.status.last_result == "ok",
                20,
                "a good poll, fault cleared",
            )
        published = await stream_messages(nats_url, subject.stream)
    tally[(hostile.name, subject.service)] = during.removeprefix("error:")
    if hostile.name in MEASURED:
        tally[(hostile.name + " memory", subject.service)] = (
            f"+{peak_growth / MIB:.1f} MiB peak, "
            f"{sent_during_fault / MIB:.1f} MiB sent, failed polls: "
            f"{polls_during_fault:.0f}"
        )

    after = _failures(subject.feed, hostile.kind)
    delta = {k: after[k] - before[k] for k in after}
    lines = read_logs()
    failures = [
        x for x in lines if x["event"] == "poll_failed" and x["feed"] == subject.feed
    ]
    assert during == f"error:{hostile.kind}"
    assert delta["errors"] == delta["failed_polls"] == len(failures) >= 1
    assert delta["internal"] == 0
    assert not [x for x in lines if x["event"] == "poll_crashed"]
    assert delta["good_polls"] >= 1
    assert published_during_fault == 0
    assert published == _events_in(subject.service)

    cap = SETTINGS["backoff_cap_s"]
    for line in failures:
        assert line["kind"] == hostile.kind
        assert line["url"] == redact_url(url)
        assert line["level"] == "warning"
        assert line["error"]
        failed_at = datetime.fromisoformat(line["ts"]).timestamp()
        next_hit = min(t for t in route.hit_times if t > failed_at)
        # The logged delay is rounded to hundredths.
        assert next_hit - failed_at >= line["next_poll_s"] - 0.006
        assert SETTINGS["backoff_base_s"] / 2 <= line["next_poll_s"] <= cap
        if hostile.name == "trickle":
            # The deadline, not the read timeout: each byte came within a second.
            assert "no complete answer in" in line["error"]
        if hostile.name == "retry-after-a-day":
            assert line["retry_after_s"] == 86_400
            assert line["next_poll_s"] == cap
            assert next_hit - failed_at < cap + 2.0

    if hostile.name in MEASURED:
        assert peak_growth < MAX_PEAK_GROWTH, f"peak memory grew {peak_growth} bytes"
    if hostile.name == "garbage-50mb":
        # What the server got to send before each poll hung up: about the limit
        # plus the socket buffers, far from the 50 MB it would have sent.
        assert sent_during_fault / polls_during_fault < 50 * MIB / 4


_ALL_FEEDS = [
    (service, name, feed)
    for service, feeds in (
        ("adapter-quake", QUAKE_FEEDS),
        ("adapter-wx", WX_FEEDS),
        ("adapter-space", SPACE_FEEDS),
        ("adapter-fire", FIRE_FEEDS),
        ("adapter-disaster", DISASTER_FEEDS),
    )
    for name, feed in feeds.items()
]
_NOT_A_FEED = {
    "html-page": HTML_PAGE,
    "invalid-utf8": b'{"type": "FeatureCollection", "features": [], "n": "caf\xe9"}',
    "latin1-text": b"Service indisponible \xe0 cette heure\n",
    "garbage": random.Random(7).randbytes(64 * 1024),
}


@pytest.mark.parametrize("body", _NOT_A_FEED.values(), ids=_NOT_A_FEED.keys())
@pytest.mark.parametrize(
    "feed", [f for _, _, f in _ALL_FEEDS], ids=[f"{s}-{n}" for s, n, _ in _ALL_FEEDS]
)
def test_parse_raises_feed_format_error_when_payload_is_not_the_feed(
    feed: Feed, body: bytes
) -> None:
    with pytest.raises(FeedFormatError):
        list(feed.parse(body))

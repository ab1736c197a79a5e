"""The adapter contract: one suite every adapter service runs on its recorded feeds.

A test module subclasses :class:`AdapterContract`, names the service, its feeds and
the recorded payloads of each, and says how to break one record of a payload.  The
suite then proves, on real payloads, real NATS and real HTTP:

- every record of the recorded payloads normalizes into a valid event that survives
  the NATS encoding, reads back identically through the ``cloudevents`` SDK (an
  independent reader) and routes to a registry stream of the adapter's domain;
- mangled records (missing fields, wrong types, huge strings, NaN, out-of-range
  numbers) are accepted or rejected with a RecordError, never anything else;
- ids are stable across runs and unique per payload;
- a broken record is rejected and the rest of the payload still publishes;
- a re-poll of the same payload publishes nothing new, with or without a 304.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import nats
import orjson
import pytest
from cloudevents.core.bindings import http as ce_http
from faststream.nats import NatsBroker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central.adapter import AdapterRuntime
from central.errors import RecordError
from central.events import (
    CloudEvent,
    attributes,
    encode_data,
    from_nats,
    to_nats_headers,
    to_structured,
)
from central.feeds import Feed
from central.provisioning import reconcile_all
from central.replay import Fault, ReplayApp, running
from central.settings import adapter_settings
from central.streams import stream_for_subject
from central.telemetry import Telemetry

FIXTURES = Path(__file__).parent / "fixtures"
#: Events per payload read back through the CloudEvents SDK (it is slow; our own
#: decoder still checks every event).
SDK_SAMPLE = 500


async def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> None:
    """Poll ``predicate`` (sync or async) until truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


async def provision(nats_url: str) -> None:
    """Create every registry stream and the bucket, as the provisioner would."""
    nc = await nats.connect(nats_url)
    await reconcile_all(nc.jetstream())
    await nc.close()


async def stream_messages(nats_url: str, stream: str) -> int:
    nc = await nats.connect(nats_url)
    info = await nc.jetstream().stream_info(stream)
    await nc.close()
    return int(info.state.messages)


@asynccontextmanager
async def adapter(
    service: str,
    feeds: dict[str, Feed],
    nats_url: str,
    urls: dict[str, str],
    telemetry: Telemetry | None = None,
    **overrides: Any,
):  # type: ignore[no-untyped-def]
    """An AdapterRuntime polling ``urls`` (feed → URL) on a connected broker.

    With ``telemetry``, the broker and the runtime trace as the service would.
    """
    settings_cls = adapter_settings(
        service, {n: (f.default_url, f.default_interval_s) for n, f in feeds.items()}
    )
    values: dict[str, Any] = {
        "nats_url": nats_url,
        "feeds": ",".join(urls),
        "status_interval_s": 0.5,
        "lease_ttl_s": 3.0,
        "backoff_base_s": 0.1,
        "backoff_cap_s": 0.5,
    }
    for name, url in urls.items():
        token = name.replace("-", "_")
        values[f"feed_{token}_url"] = url
        values[f"feed_{token}_interval_s"] = overrides.pop(f"{token}_interval_s", 0.2)
    values.update(overrides)
    settings = settings_cls(**values)
    middlewares = telemetry.broker_middlewares() if telemetry else ()
    broker = NatsBroker(nats_url, middlewares=middlewares)
    await broker.start()
    runtime = AdapterRuntime(service, "test", feeds, settings, broker, telemetry)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()
        await broker.stop()


def _check_with_sdk(event: CloudEvent) -> None:
    """Read ``event`` back with the CloudEvents SDK in both content modes."""
    headers = {**to_nats_headers(event), "content-type": event.datacontenttype}
    binary = ce_http.from_binary_event(ce_http.HTTPMessage(headers, encode_data(event)))
    structured = ce_http.from_structured_event(
        ce_http.HTTPMessage(
            {"content-type": "application/cloudevents+json"}, to_structured(event)
        )
    )
    expected = attributes(event)
    for read in (binary, structured):
        got = read.get_attributes()
        assert got["time"] == event.time
        assert {k: v for k, v in got.items() if k != "time"} == {
            k: v for k, v in expected.items() if k != "time"
        }
        assert orjson.loads(orjson.dumps(read.get_data())) == orjson.loads(
            encode_data(event)
        )


_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.just("x" * 100_000),
    st.just(""),
    st.just("NaN"),
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:3]):
            found += _paths(child, (*prefix, index))
    return found


def _mangle(record: Any, path: tuple[Any, ...], delete: bool, value: Any) -> Any:
    record = copy.deepcopy(record)
    parent = record
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return record


class AdapterContract:
    """Subclass with the service, its feeds and the recorded payloads of each."""

    service: ClassVar[str]
    domain: ClassVar[str]
    feeds: ClassVar[dict[str, Feed]]
    #: feed name → recorded payload files (relative to tests/fixtures)
    recorded: ClassVar[dict[str, list[str]]]
    #: seconds the re-poll test waits for three polls of every feed
    repoll_timeout_s: ClassVar[float] = 60.0

    def break_record(self, feed: str, body: bytes) -> bytes:
        """``body`` with exactly one record made invalid."""
        raise NotImplementedError("an adapter contract must say how to break a record")

    def _cases(self) -> list[tuple[Feed, bytes]]:
        return [
            (self.feeds[name], (FIXTURES / rel).read_bytes())
            for name, files in self.recorded.items()
            for rel in files
        ]

    def _normalize(self, feed: Feed, body: bytes) -> tuple[list[Any], int]:
        accepted, rejected = [], 0
        for raw in feed.parse(body):
            try:
                accepted.append(feed.normalize(raw))
            except RecordError:
                rejected += 1
        return accepted, rejected

    def test_contract_normalizes_recorded_payloads_into_valid_events(self) -> None:
        for feed, body in self._cases():
            accepted, _ = self._normalize(feed, body)
            assert accepted, f"{feed.name}: no record accepted"
            for index, item in enumerate(accepted):
                event = item.event
                assert event.type.startswith(f"central.{self.domain}.")
                assert stream_for_subject(item.nats_subject).domain == self.domain
                assert item.nats_subject.split(".")[2] == event.type.split(".")[2]
                assert item.body == encode_data(event)
                assert from_nats(to_nats_headers(event), item.body) == event
                if index < SDK_SAMPLE:
                    _check_with_sdk(event)

    def test_contract_ids_are_stable_across_runs_and_unique_per_payload(self) -> None:
        for feed, body in self._cases():
            first = [i.event.id for i in self._normalize(feed, body)[0]]
            second = [i.event.id for i in self._normalize(feed, body)[0]]
            assert first == second
            assert len(set(first)) == len(first), f"{feed.name}: ids collide"

    def test_contract_broken_record_is_rejected_and_the_rest_kept(self) -> None:
        for feed, body in self._cases():
            good, _ = self._normalize(feed, body)
            kept, rejected = self._normalize(feed, self.break_record(feed.name, body))
            assert rejected == 1
            assert len(kept) == len(good) - 1

    def test_contract_mangled_records_are_accepted_or_rejected_never_raise(
        self,
    ) -> None:
        samples = []
        for feed, body in self._cases():
            records = [r for r in feed.parse(body) if isinstance(r, dict)]
            samples += [(feed, r) for r in records[:2]]
        if not samples:
            pytest.skip("records are not JSON objects; the adapter tests mangle them")

        @settings(
            max_examples=150,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            feed, record = data.draw(st.sampled_from(samples))
            paths = _paths(record)
            for _ in range(data.draw(st.integers(1, 3))):
                if not paths:
                    break
                path = data.draw(st.sampled_from(paths))
                record = _mangle(
                    record, path, data.draw(st.booleans()), data.draw(_JSON_VALUES)
                )
                paths = _paths(record)
            try:
                item = feed.normalize(record)
            except RecordError:
                return
            _check_with_sdk(item.event)

        check()

    async def test_contract_repoll_publishes_nothing_new(self, nats_url: str) -> None:
        await provision(nats_url)
        app = ReplayApp()
        routes = {}
        for name, files in self.recorded.items():
            routes[name] = app.serve(f"/{name}", (FIXTURES / files[0]).read_bytes())
            routes[name].fault = Fault(ignore_validators=True)
        stream = f"CENTRAL_{self.domain.upper()}"
        async with running(app) as base:
            urls = {name: f"{base}/{name}" for name in routes}
            async with adapter(self.service, self.feeds, nats_url, urls) as rt:
                await wait_until(
                    lambda: all(r.hits >= 3 for r in routes.values()),
                    self.repoll_timeout_s,
                    "three polls of every feed",
                )
                counts = {lp.feed.name: dict(lp.status.counts) for lp in rt.loops}

        expected = sum(
            len(self._normalize(self.feeds[n], (FIXTURES / f[0]).read_bytes())[0])
            for n, f in self.recorded.items()
        )
        assert await stream_messages(nats_url, stream) == expected
        for name, last in counts.items():
            assert last["published"] == 0, f"{name}: a re-poll published again"
            assert last["duplicates"] == last["fetched"] - last["rejected"]

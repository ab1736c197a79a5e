"""The API keeps to its own OpenAPI document, whatever the input.

schemathesis reads ``/openapi.json`` from the app in process (ASGI) and sends
generated requests, valid and invalid, to every operation with the bearer token:
no answer may be a server error, and every answer must match the status codes,
content types and schemas the document declares. Schema-valid input may still be
refused with 400 (a box whose minimum exceeds its maximum is a string of the
right shape), so the check that valid input is always accepted is left out.

The app runs on the filled archive and a NATS server of this module's own (a PUT
may change its streams). Examples are bounded so the run stays well under a
minute.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from dashboard.harness import TOKEN, Archive, settings_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from schemathesis.python import asgi

from adapter_contract import provision
from central.devservers import NatsServer, throwaway_dir
from central_dashboard.app import create_app

AUTH = {"Authorization": f"Bearer {TOKEN}"}
OPERATIONS = [
    ("GET", "/api/events"),
    ("GET", "/api/events/{source}/{id}"),
    ("GET", "/api/subjects/{subject}/history"),
    ("GET", "/api/streams"),
    ("PUT", "/api/streams/{name}"),
    ("GET", "/api/adapters"),
]
#: An endless text/event-stream; test_api_live.py covers it.
NOT_FUZZED = {("GET", "/api/live")}


@pytest.fixture(scope="module")
def api_schema(archive: Archive) -> Iterator[Any]:
    """The app's OpenAPI document, loaded from the app in process."""
    with throwaway_dir("central-schema-") as folder:
        server = NatsServer(folder).start()
        try:
            asyncio.run(provision(server.url))
            database_url = asyncio.run(archive.clone())
            app = create_app(settings_for(server.url, database_url))
            yield schemathesis.openapi.from_asgi("/openapi.json", app)
        finally:
            asgi.shutdown_lifespans()
            server.stop()


def test_every_operation_is_fuzzed(api_schema: Any) -> None:
    found = {
        (op.method.upper(), op.path)
        for op in (result.ok() for result in api_schema.get_all_operations())
    }

    assert found == set(OPERATIONS) | NOT_FUZZED


@pytest.mark.parametrize(
    ("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS]
)
def test_operation_keeps_to_the_openapi_document(
    api_schema: Any, method: str, path: str
) -> None:
    operation = api_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance])

    run()

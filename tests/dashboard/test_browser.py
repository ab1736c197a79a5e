"""The pages in headless Chromium, against the real app, NATS and archive.

Each test saves a screenshot of what it checked under ``CENTRAL_SCREENSHOTS`` when
that is set, else under the test's tmp_path. A script error or a failed request on
a page fails the test that opened it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import nats
import orjson
import pytest
from dashboard.harness import TOKEN, Archive, Running
from dashboard.harness import wait_for as wait_until
from dashboard.test_pages import (
    QUAKE_TYPE,
    Site,
    delete_stream,
    markup_event,
    own_site,
    publish_events,
    stream_state,
)
from playwright.async_api import Browser, Page, async_playwright

from central.streams import DASHBOARD

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
#: What the map asks for when its box field is empty.
WORLD = "-180,-90,180,90"
# Playwright adds --headless and a fresh profile directory of its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
__all__ = ["own_site"]


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CENTRAL_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Tab:
    """One browser page and the script errors and failed requests it saw."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def check(self) -> None:
        assert not self.problems, self.problems


async def open_tab(browser: Browser, url: str) -> Tab:
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(15_000)
    tab = Tab(page)
    page.on("pageerror", lambda exc: tab.problems.append(f"script error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            tab.problems.append(f"console: {msg.text}") if msg.type == "error" else None
        ),
    )
    page.on(
        "requestfailed",
        lambda req: (
            None
            if "/api/live" in req.url
            else tab.problems.append(f"request failed: {req.url}")
        ),
    )
    await page.goto(url)
    return tab


async def text_of(page: Page, selector: str) -> str:
    return (await page.locator(selector).inner_text()).strip()


async def test_overview_shows_the_counts_jetstream_holds(
    browser: Browser, dashboard: Running, archive: Archive, shots: Path
) -> None:
    tab = await open_tab(browser, dashboard.url + "/")
    page = tab.page

    assert await page.locator(".card").count() == len(DASHBOARD)
    for spec in DASHBOARD:
        messages, pending = await stream_state(archive.nats_url, spec.name)
        selector = f'.card[data-stream="{spec.name}"]'
        assert await text_of(page, f'{selector} [data-field="messages"]') == (
            f"{messages:,}"
        )
        assert await text_of(page, f'{selector} [data-field="lag"]') == f"{pending:,}"
    assert await page.locator("tr.adapter-row").count() == 5
    assert await page.locator("table.events tr.event-row").count() == 10
    await page.screenshot(path=shots / "overview.png", full_page=True)
    tab.check()


async def test_overview_shows_an_error_card_for_a_deleted_stream_and_updates_the_rest(
    browser: Browser, own_site: Site, shots: Path
) -> None:
    await delete_stream(own_site.nats_url, "CENTRAL_FIRE")

    tab = await open_tab(browser, own_site.running.url + "/")
    page = tab.page

    assert await page.locator(".card").count() == len(DASHBOARD)
    assert await page.locator(".card.card-error").count() == 1
    assert await text_of(page, '.card-error [data-field="error"]') == (
        "stream does not exist in JetStream"
    )
    quake = '.card[data-stream="CENTRAL_QUAKE"]'
    assert await text_of(page, f'{quake} [data-field="messages"]') == (
        f"{own_site.quake_messages:,}"
    )
    assert await text_of(page, f'{quake} [data-field="lag"]') == (
        f"{own_site.quake_pending:,}"
    )
    assert await page.locator('tr.adapter-row[data-service="adapter-quake"]').count()
    await page.screenshot(path=shots / "overview-deleted-stream.png", full_page=True)

    extra = [
        markup_event().model_copy(update={"id": f"more-{n}", "subject": f"more{n}"})
        for n in range(5)
    ]
    await publish_events(own_site.nats_url, extra)
    expected = f"{own_site.quake_messages + len(extra):,}"

    async def refreshed() -> bool:
        return await text_of(page, f'{quake} [data-field="messages"]') == expected

    await wait_until(refreshed, 25, "the card to refresh its count")
    tab.check()


async def _drawn(page: Page) -> tuple[int, int]:
    points = await page.locator("#map svg .points > *").count()
    areas = await page.locator("#map svg .areas > *").count()
    return points, areas


def _expected_shapes(features: list[dict[str, Any]]) -> tuple[int, int]:
    kinds = [f["geometry"]["type"] for f in features if f["geometry"]]
    points = sum(k in ("Point", "MultiPoint") for k in kinds)
    return points, len(kinds) - points


async def _map_settled(page: Page) -> None:
    await page.wait_for_function(
        "document.getElementById('map-status').textContent.includes('on the map')"
    )


async def test_map_draws_each_archived_event_and_shows_its_json_on_click(
    browser: Browser, dashboard: Running, shots: Path
) -> None:
    params = {"format": "geojson", "limit": 500, "bbox": WORLD}
    first = (await dashboard.client.get("/api/events", params=params)).json()
    second = (
        await dashboard.client.get(
            "/api/events", params={**params, "cursor": first["next_cursor"]}
        )
    ).json()

    tab = await open_tab(browser, dashboard.url + "/map")
    page = tab.page
    await page.wait_for_selector("#map.ready")
    await _map_settled(page)

    assert await _drawn(page) == _expected_shapes(first["features"])
    assert await page.locator("#map svg .land").get_attribute("d")
    await page.click("#map-more")
    both = first["features"] + second["features"]
    await wait_until(
        lambda: _same(_drawn(page), _expected_shapes(both)), 15, "the second page"
    )

    point = page.locator("#map svg .points > circle").last
    wanted = await point.get_attribute("data-id")
    await point.click()
    shown = orjson.loads(await text_of(page, "#map-selected"))
    assert shown["id"] == wanted
    assert shown["data"]["geometry"]["type"] == "Point"
    await page.screenshot(path=shots / "map.png", full_page=True)

    fires = (
        await dashboard.client.get(
            "/api/events",
            params={**params, "type": "central.fire.hotspot"},
        )
    ).json()
    await page.fill("#map-filters input[name=type]", "central.fire.hotspot")
    await page.click("#map-filters button[type=submit]")
    await wait_until(
        lambda: _same(_drawn(page), _expected_shapes(fires["features"])),
        15,
        "only the fire hotspots",
    )
    await page.screenshot(path=shots / "map-fires.png", full_page=True)
    tab.check()


async def _same(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def test_map_appends_events_published_while_it_is_open(
    browser: Browser, own_site: Site, shots: Path
) -> None:
    tab = await open_tab(browser, own_site.running.url + "/map")
    page = tab.page
    await page.wait_for_selector("#map-filters.live-open")
    await _map_settled(page)
    before = await _drawn(page)

    fresh = markup_event().model_copy(
        update={
            "id": "live-1",
            "subject": "live1",
            "data": {"geometry": {"type": "Point", "coordinates": [-70.6, -33.4]}},
        }
    )
    await publish_events(own_site.nats_url, [fresh])

    live = page.locator('#map svg circle.live[data-id="live-1"]')
    await live.wait_for()
    assert await _drawn(page) == (before[0] + 1, before[1])
    await live.click()
    assert orjson.loads(await text_of(page, "#map-selected"))["id"] == "live-1"
    await page.screenshot(path=shots / "map-live.png", full_page=True)
    tab.check()


async def _answer(page: Page, form: str) -> str:
    answer = page.locator(f"{form} pre.answer")
    await page.click(f"{form} button[type=submit]")
    await page.wait_for_function(
        "f => !document.querySelector(f + ' button[type=submit]').disabled", arg=form
    )
    return (await answer.inner_text()).strip()


async def _max_age(nats_url: str, stream: str) -> float:
    nc = await nats.connect(nats_url)
    try:
        return float((await nc.jetstream().stream_info(stream)).config.max_age or 0)
    finally:
        await nc.close()


async def test_streams_page_change_reaches_jetstream_and_refusals_show(
    browser: Browser, own_site: Site, shots: Path
) -> None:
    form = 'form.stream-form[data-stream="CENTRAL_QUAKE"]'
    before = await _max_age(own_site.nats_url, "CENTRAL_QUAKE")
    tab = await open_tab(browser, own_site.running.url + "/streams")
    page = tab.page
    await page.fill(f"{form} input[name=max_age_s]", "259200")

    assert (await _answer(page, form)).startswith("401")
    await page.fill("#token", "not-the-token")
    assert (await _answer(page, form)).startswith("403")
    assert await _max_age(own_site.nats_url, "CENTRAL_QUAKE") == before

    await page.fill("#token", TOKEN)
    await page.fill("#actor", "operator-test")
    answer = await _answer(page, form)
    assert answer.startswith("200"), answer
    assert await _max_age(own_site.nats_url, "CENTRAL_QUAKE") == 259200.0
    conn = await asyncpg.connect(own_site.database_url)
    try:
        row = await conn.fetchrow(
            "SELECT max_age_s, updated_by FROM config.streams WHERE name = $1",
            "CENTRAL_QUAKE",
        )
    finally:
        await conn.close()
    assert (row["max_age_s"], row["updated_by"]) == (259200.0, "operator-test")
    assert "operator-test" in await text_of(page, f"{form} .changed")
    await page.screenshot(path=shots / "streams-saved.png", full_page=True)

    # A duplicate window longer than the max age is refused by JetStream.
    await page.fill(f"{form} input[name=max_age_s]", "60")
    refused = await _answer(page, form)
    assert refused.startswith("409"), refused
    assert await _max_age(own_site.nats_url, "CENTRAL_QUAKE") == 259200.0
    await page.screenshot(path=shots / "streams-refused.png", full_page=True)
    tab.problems = [p for p in tab.problems if "status of 4" not in p]
    tab.check()


async def test_explorer_filters_pages_and_maps_the_results(
    browser: Browser, dashboard: Running, shots: Path
) -> None:
    tab = await open_tab(browser, dashboard.url + "/explorer")
    page = tab.page
    await page.fill("#types input[name=type]", QUAKE_TYPE)
    await page.click("#add-type")
    await page.locator("#types input[name=type]").nth(1).fill("central.wx.alert")
    await page.fill("#explorer-filters input[name=limit]", "20")
    await page.click("#explorer-filters button[type=submit]")
    await page.wait_for_selector("#explorer-map.ready")

    rows = page.locator("tr.event-row")
    assert await rows.count() == 20
    first_ids = [await rows.nth(i).get_attribute("data-id") for i in range(20)]
    events = orjson.loads(await page.locator("#explorer-events").text_content() or "")
    assert {e["type"] for e in events} <= {QUAKE_TYPE, "central.wx.alert"}
    located = sum(1 for e in events if (e.get("data") or {}).get("geometry"))
    shapes = await page.locator("#explorer-map svg .ev").count()
    assert shapes == located

    await page.locator("#explorer-map svg .points > circle").last.click()
    assert await page.locator("tr.event-row.selected").count() == 1
    await rows.first.locator("summary").click()
    shown = orjson.loads(await rows.first.locator("pre.json").inner_text())
    assert shown["id"] == first_ids[0]
    await page.screenshot(path=shots / "explorer.png", full_page=True)

    await page.click("#next-page")
    await page.wait_for_selector("#explorer-map.ready")
    second_ids = [
        await page.locator("tr.event-row").nth(i).get_attribute("data-id")
        for i in range(await page.locator("tr.event-row").count())
    ]
    assert second_ids and not set(first_ids) & set(second_ids)
    assert await page.locator("#types input[name=type]").count() == 2
    tab.check()

"""Finding a service on a phone: search from the home page, narrow with a facet, read the guide.
And axe on every catalog page at 360 px: no serious or critical violation.

Set ``SCREENSHOT_DIR`` to keep full-page screenshots of the pages checked (for a human eye).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from playwright.sync_api import expect

from tests.catalog.test_pages import build_world, fill_catalog
from tests.e2e.test_accessibility import DANGLING_ID_REFERENCES, blocking_violations, describe
from tests.factories import ServiceLocationFactory
from zheliban.core.middleware import ELDER_COOKIE

pytestmark = pytest.mark.e2e

SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR", "")


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def screenshot(page, name: str) -> None:
    """The whole page, and screen-sized slices of it that stay legible at full size."""
    if not SCREENSHOT_DIR:
        return
    folder = Path(SCREENSHOT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    total = page.evaluate("document.documentElement.scrollHeight")
    for n, top in enumerate(range(0, total, height)):
        clip = {"x": 0, "y": top, "width": width, "height": min(height, total - top)}
        page.screenshot(path=str(folder / f"{name}.{n}.png"), full_page=True, clip=clip)


def test_search_from_home_narrow_with_a_facet_and_read_the_guide_on_a_phone(page):
    world = build_world()
    fill_catalog(world, 40)

    page.goto("/")
    assert scroll_width(page) <= 360
    search = page.get_by_role("search")
    search.get_by_role("searchbox").fill("出生")
    with page.expect_navigation():
        search.get_by_role("button").click()

    assert urlparse(page.url).path == "/services/"
    assert parse_qs(urlparse(page.url).query) == {"q": ["出生"]}
    results = page.locator("ol.results > li")
    total_before = results.count()
    assert total_before > 1
    expect(page.locator("h2#results-heading")).to_be_visible()
    assert scroll_width(page) <= 360
    screenshot(page, "search-360")

    # On a phone the filters wait behind their summary; open them and choose a type.
    facets = page.locator("details#filters")
    expect(facets).not_to_have_attribute("open", "")
    facet = facets.locator("a.facet-option[href*='type=xzqr']")
    expect(facet).to_be_hidden()
    facets.locator("summary").click()
    expect(facet).to_be_visible()
    count = int(facet.locator(".facet-count").inner_text())
    assert 0 < count < total_before
    screenshot(page, "search-filters-open-360")
    with page.expect_navigation():
        facet.click()

    assert parse_qs(urlparse(page.url).query) == {"q": ["出生"], "type": ["xzqr"]}
    expect(results).to_have_count(min(count, 20))
    # The chosen filter shows outside the folded panel and can be removed.
    chip = page.locator(".active-filters a.chip")
    expect(chip).to_have_count(1)
    expect(chip).to_be_visible()
    assert parse_qs(urlparse(chip.get_attribute("href")).query) == {"q": ["出生"]}
    assert scroll_width(page) <= 360

    with page.expect_navigation():
        results.get_by_role("link", name=world.guide.name).click()

    assert urlparse(page.url).path == world.guide.get_absolute_url()
    expect(page.locator("main h1")).to_have_text(world.guide.name)
    expect(page.locator(".time-limits")).to_contain_text("75%")
    expect(page.locator("table.materials")).to_be_visible()
    expect(page.locator("table.materials tr.is-shared")).to_be_visible()
    expect(page.locator("a[href^='tel:']").first).to_be_visible()
    apply = page.locator("a.primary-button")
    expect(apply).to_be_visible()
    assert scroll_width(page) <= 360
    screenshot(page, "guide-360")

    # The apply button opens the application form, after logging in.
    with page.expect_navigation():
        apply.click()
    assert urlparse(page.url).path == "/accounts/login/"
    assert f"next=/apply/item/{world.guide.code}/" in unquote(urlparse(page.url).query)


def test_filters_start_open_on_a_wide_screen(new_context):
    world = build_world()
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto("/services/?q=%E5%87%BA%E7%94%9F")
    expect(page.locator("details#filters")).to_have_attribute("open", "")
    expect(page.locator("a.facet-option").first).to_be_visible()
    screenshot(page, "search-1280")
    page.goto(world.guide.get_absolute_url())
    screenshot(page, "guide-1280")


# Each scenario opens a catalog page in the state a visitor sees it.


def search_results(page, world):
    page.goto("/services/?q=%E5%87%BA%E7%94%9F")
    page.locator("details#filters summary").click()
    expect(page.locator("a.facet-option").first).to_be_visible()


def search_narrowed_page_2(page, world):
    page.goto("/services/?q=%E4%BA%8B%E9%A1%B9&online=1&page=2")
    expect(page.locator("nav.pagination")).to_be_visible()


def search_empty(page, world):
    page.goto("/services/?q=%E6%B2%A1%E6%9C%89")
    expect(page.locator("a[href='tel:12345']")).to_be_visible()


def guide(page, world):
    page.goto(world.guide.get_absolute_url())
    page.locator("details.versions summary").click()


def guide_instant(page, world):
    page.goto(world.instant.get_absolute_url())


def guide_version(page, world):
    page.goto(f"/services/items/{world.guide.code}/versions/1/")


def bundle(page, world):
    page.goto(world.bundle.get_absolute_url())


def bundles(page, world):
    page.goto("/services/bundles/")


def theme(page, world):
    page.goto(world.theme.get_absolute_url())


def themes(page, world):
    page.goto("/services/themes/")


def life_event(page, world):
    page.goto(world.birth.get_absolute_url())


def shop(page, world):
    ServiceLocationFactory(department=world.police)
    page.goto(world.police.get_absolute_url())
    expect(page.locator(".shop-services ol.item-links li")).to_have_count(10)


def home(page, world):
    page.goto("/")
    expect(page.locator(".bundle-card")).to_have_count(1)


SCENARIOS = [
    search_results,
    search_narrowed_page_2,
    search_empty,
    guide,
    guide_instant,
    guide_version,
    bundle,
    bundles,
    theme,
    themes,
    life_event,
    shop,
    home,
]


@pytest.mark.parametrize("mode", ["zh", "en-elder"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_catalog_page_has_no_serious_accessibility_violations(
    scenario, mode, context, page, set_cookies
):
    world = build_world()
    fill_catalog(world, 60)
    if mode == "en-elder":
        set_cookies(context, zhb_lang="en", **{ELDER_COOKIE: "1"})

    scenario(page, world)

    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "scrolls sideways"
    assert page.evaluate(DANGLING_ID_REFERENCES) == []
    screenshot(page, f"axe-{scenario.__name__}-{mode}")
    violations = blocking_violations(page)
    if violations:
        pytest.fail(
            f"{page.url}: {len(violations)} serious/critical axe violation(s):\n"
            + describe(violations),
            pytrace=False,
        )

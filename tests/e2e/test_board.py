"""The sunning board read by a citizen on a phone (360 px): the ranked departments first and the
unranked in one line, a search for a department, the pages of a level, a figure's drill-down
with its counts by item and month — and not one case or ticket number anywhere — then the
department's own page; the whole board under 150 kB, and axe finds nothing serious."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from scoreboard.models import Score
from tests.e2e.test_newborn import fits_and_passes_axe
from tests.scoreboard.conftest import build_world

pytestmark = pytest.mark.e2e

CASE_OR_TICKET_NUMBER = re.compile(r"ZB\d{8}")
PAGE_LIMIT_BYTES = 150_000


def ranked_codes(page) -> list[str]:
    return page.locator("#board-ranked tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.code)"
    )


def assert_no_case_number(page) -> None:
    for text in (page.inner_text("body"), page.content()):
        found = CASE_OR_TICKET_NUMBER.findall(text)
        assert not found, f"{page.url} shows {found}"


def test_a_citizen_reads_the_board_on_a_phone_and_drills_into_a_figure(page, monkeypatch):
    import scoreboard.views as views

    world = build_world(1)
    snapshot = world.compute()
    gongan = world.departments["gongan"]
    monkeypatch.setattr(views, "BOARD_PAGE_SIZE", 2)

    # 1. The board, in Chinese, ranked departments first, on a phone, light.
    sizes: list[int] = []
    page.on("requestfinished", lambda request: sizes.append(request.sizes()["responseBodySize"]))
    assert page.goto("/board/").status == 200
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    assert sum(sizes) < PAGE_LIMIT_BYTES, sizes
    by_rank = [
        s.department.code
        for s in Score.objects.filter(snapshot=snapshot, level="city", ranked=True)
        .exclude(department=None)
        .order_by("rank")
    ]
    assert ranked_codes(page) == by_rank[:2]
    # The one unranked department is one line with its reason, its name behind it.
    expect(page.locator("#unranked-summary")).to_have_count(1)
    expect(page.locator("#unranked-summary")).to_contain_text("1")
    expect(page.locator("#unranked-list")).not_to_be_visible()
    page.locator("#unranked-summary").click()
    expect(page.locator("#unranked-list li[data-reason=below_min_volume]")).to_have_attribute(
        "data-code", "330100-shangwu"
    )
    expect(page.locator("#explain-interval")).to_contain_text("9–91%")
    assert_no_case_number(page)
    fits_and_passes_axe(page)

    # 2. The next page of the level, then the county level and back.
    with page.expect_navigation():
        page.locator("#board-pages a[rel=next]").click()
    assert parse_qs(urlparse(page.url).query)["page"] == ["2"]
    assert ranked_codes(page) == by_rank[2:]
    with page.expect_navigation():
        page.locator("#board-levels a[data-level=county]").click()
    expect(page.locator("#board-levels a[data-level=county]")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator("#board-ranked")).to_have_count(0)
    expect(page.locator("#no-ranked")).to_be_visible()
    with page.expect_navigation():
        page.locator("#board-levels a[data-level=city]").click()

    # 3. A search for a department, on the server.
    page.locator("#b-q").fill("公安")
    with page.expect_navigation():
        page.locator("#board-search").click()
    assert parse_qs(urlparse(page.url).query)["q"] == ["公安"]
    assert ranked_codes(page) == [gongan.code]
    fits_and_passes_axe(page)

    # 4. Sorted by the on-time rate, its figure links to the counts behind it.
    page.locator("#board-options > summary").click()
    page.locator("#b-sort").select_option("on_time")
    page.locator("#b-dir").select_option("desc")
    with page.expect_navigation():
        page.locator("#board-show").click()
    query = parse_qs(urlparse(page.url).query)
    assert (query["sort"], query["dir"]) == (["on_time"], ["desc"])
    link = page.locator(f"#board-ranked tr[data-code='{gongan.code}'] td[data-metric=on_time] a")
    expect(link).to_have_text("75%")
    with page.expect_navigation():
        link.click()
    assert urlparse(page.url).path == f"/board/department/{gongan.code}/on_time/"
    expect(page.locator("#board-figure")).to_have_text(page.locator("#list-figure").inner_text())
    expect(page.locator("#list-rows")).to_have_text("4")
    item_row = page.locator(f"#breakdown-item tr[data-key='{gongan.board_item.code}']")
    expect(item_row.locator("td").nth(0)).to_have_text("3")
    expect(item_row.locator("td").nth(1)).to_have_text("1")
    expect(page.locator("#breakdown-month tbody tr")).to_have_count(1)
    expect(page.locator("#staff-rows")).to_have_count(0)
    assert_no_case_number(page)
    fits_and_passes_axe(page)

    # 5. Its CSV holds the same counts, and no number either.
    with page.expect_download() as download_info:
        page.locator("a[download]").first.click()
    body = download_info.value.path().read_text(encoding="utf-8-sig")
    assert not CASE_OR_TICKET_NUMBER.search(body)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert sum(int(r["rows"]) for r in rows if r["dimension"] == "item") == 4

    # 6. The department's own page, by the breadcrumb.
    with page.expect_navigation():
        page.locator("nav.breadcrumb a").nth(1).click()
    assert urlparse(page.url).path == f"/board/department/{gongan.code}/"
    expect(page.locator("#dept-figures tr[data-metric=on_time]")).to_contain_text("75%")
    expect(page.locator("#worst-items li")).to_have_count(3)
    assert_no_case_number(page)
    fits_and_passes_axe(page)

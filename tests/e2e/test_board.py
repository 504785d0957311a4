"""The sunning board at phone width: sort it, drill down from a department's on-time rate to its
late cases, download the table as CSV, and axe finds nothing serious on the three pages."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from scoreboard.models import Score
from tests.e2e.test_newborn import fits_and_passes_axe
from tests.scoreboard.conftest import build_world
from workflows.models import Task

pytestmark = pytest.mark.e2e


def ranked_codes(page) -> list[str]:
    return page.locator("#board-ranked tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.code)"
    )


def test_board_sort_drill_down_to_late_cases_and_download(page):
    world = build_world(1)
    snapshot = world.compute()
    gongan = world.departments["gongan"]

    # 1. The board, in Chinese, ranked by rank.
    assert page.goto("/board/").status == 200
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    by_rank = [
        s.department.code
        for s in Score.objects.filter(snapshot=snapshot, level="city", ranked=True)
        .exclude(department=None)
        .order_by("rank")
    ]
    assert ranked_codes(page) == by_rank
    expect(page.locator("#board-unranked tbody tr")).to_have_count(1)
    fits_and_passes_axe(page)

    # 2. Sorted by the mobile rate, best first, on the server.
    page.locator("#b-sort").select_option("mobile")
    page.locator("#b-dir").select_option("desc")
    with page.expect_navigation():
        page.locator("#board-show").click()
    query = parse_qs(urlparse(page.url).query)
    assert (query["sort"], query["dir"]) == (["mobile"], ["desc"])
    assert ranked_codes(page) == ["330100-weijian", "330100-gongan", "330100-extra0"]
    expect(page.locator("#board-ranked th[data-sort=mobile]")).to_have_attribute(
        "aria-sort", "descending"
    )

    # 3. The CSV download is the table.
    with page.expect_download() as download_info:
        page.locator("#download-csv").click()
    body = download_info.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["code"] for r in rows[:3]] == ["330100-weijian", "330100-gongan", "330100-extra0"]
    assert {r["code"] for r in rows} == {
        s.department.code
        for s in Score.objects.filter(snapshot=snapshot, level="city").exclude(department=None)
    }
    row = next(r for r in rows if r["code"] == gongan.code)
    assert (row["on_time_num"], row["on_time_den"]) == ("3.0", "4.0")

    # 4. From 公安's on-time rate to the rows behind it, then to its late cases only.
    link = page.locator(f"#board-ranked tr[data-code='{gongan.code}'] td[data-metric=on_time] a")
    expect(link).to_have_text("75%")
    with page.expect_navigation():
        link.click()
    assert urlparse(page.url).path == f"/board/department/{gongan.code}/on_time/"
    expect(page.locator("#board-figure")).to_have_text(page.locator("#list-figure").inner_text())
    expect(page.locator("#drilldown-rows tbody tr")).to_have_count(4)
    fits_and_passes_axe(page)
    with page.expect_navigation():
        page.locator("#drilldown-filters a[data-show=not]").click()
    late = Task.objects.get(
        department=gongan, state=Task.State.COMPLETED, due_date__lt=timezone.localdate()
    )
    late_rows = page.locator("#drilldown-rows tbody tr")
    expect(late_rows).to_have_count(1)
    expect(late_rows.first).to_have_attribute("data-counted", "0")
    expect(late_rows.first.locator("th")).to_have_text(late.application.reference)
    expect(late_rows.first).to_contain_text(f"{late.due_date:%Y-%m-%d}")
    expect(page.locator("#list-rows")).to_have_text("4")
    fits_and_passes_axe(page)

    # 5. The department's own page, by the breadcrumb.
    with page.expect_navigation():
        page.locator("nav.breadcrumb a").nth(1).click()
    assert urlparse(page.url).path == f"/board/department/{gongan.code}/"
    expect(page.locator("#dept-figures tr[data-metric=on_time]")).to_contain_text("75%")
    expect(page.locator("#worst-items li")).to_have_count(3)
    fits_and_passes_axe(page)

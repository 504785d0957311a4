"""The board's pages: figures with intervals, sorting, downloads, drill-downs that give the figure
back, the staff view's scope and flags, refusals that change nothing, and the admin."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from scoreboard import services
from scoreboard.api.serializers import board_data
from scoreboard.metrics import METRIC_BY_KEY, METRICS
from scoreboard.models import Score, Snapshot, WeightSet
from scoreboard.selectors import board_scores
from scoreboard.views import flags_for
from tests.factories import DepartmentFactory, MembershipFactory, StaffFactory, UserFactory
from tests.scoreboard.conftest import add_items
from workflows.models import Task

BOARD = "/board/"


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def codes_in(html: str, table_id: str) -> list[str]:
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-code="([^"]+)"', table)


def state(world=None) -> tuple:
    return (
        list(Snapshot.objects.order_by("pk").values_list("pk", "period", "start", "weight_set")),
        list(Score.objects.order_by("pk").values_list("pk", "score", "rank", "metrics")),
        list(WeightSet.objects.order_by("pk").values_list("pk", "version", "weights")),
    )


@pytest.fixture
def world(board_world):
    world = board_world(1)
    world.snapshot = world.compute()
    return world


def score_of(world, key: str) -> Score:
    return Score.objects.get(snapshot=world.snapshot, department=world.departments[key])


# ---------------------------------------------------------------- the board


def ranked_by_rank(world, level: str = "city") -> list[str]:
    return [
        s.department.code
        for s in Score.objects.filter(snapshot=world.snapshot, level=level, ranked=True)
        .exclude(department=None)
        .order_by("rank")
    ]


def test_board_ranks_first_and_collapses_the_unranked_into_one_line(client, board_world):
    world = board_world(1)
    DepartmentFactory(code="330100-tiyu", name="杭州市体育局", kind="other", region=world.city)
    world.snapshot = world.compute()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(BOARD)
    assert response.status_code == 200
    html = text(response)
    assert codes_in(html, "board-ranked") == ranked_by_rank(world)
    assert codes_in(html, "board-ranked") == ["330100-weijian", "330100-gongan", "330100-extra0"]
    # The two unranked departments are one line with the reasons and their counts …
    summary = html.split('id="unranked-summary">', 1)[1].split("</summary>", 1)[0]
    assert summary == (
        "2 departments are not ranked "
        "(1: no activity in this period; 1: below the minimum volume of 5)."
    )
    assert html.count('id="unranked-summary"') == 1
    # … opening on the list, nearest to being ranked first, each with its reason.
    listed = html.split('id="unranked-list"', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r'<li data-code="([^"]+)" data-reason="([^"]+)"', listed) == [
        ("330100-shangwu", "below_min_volume"),
        ("330100-tiyu", "no_activity"),
    ]
    assert "no activity in this period" in listed
    assert "not ranked" not in html.split('id="board-ranked"', 1)[1].split("</table>", 1)[0]
    # No per-metric columns unless sorted by a metric: the figures are on each department's page.
    assert "data-metric=" not in html
    row = html.split('data-code="330100-gongan"', 1)[1].split("</tr>", 1)[0]
    gongan = score_of(world, "gongan")
    assert f'<td class="score">{gongan.score:.1f}</td>' in row
    assert f"volume {gongan.volume}" in row
    # The explanations: the interval of 1 case of 2 (computed as the board does), the minimum.
    low, high = services.wilson(1, 2)
    assert (round(low * 100), round(high * 100)) == (9, 91)
    explain = html.split('id="explain-interval">', 1)[1].split("</li>", 1)[0]
    assert "“50% (9–91%)”" in explain and "1 of 2" in explain
    volume = html.split('id="explain-volume">', 1)[1].split("</li>", 1)[0]
    assert "at least 5 things" in volume
    definitions = html.split('id="definitions"', 1)[1]
    for metric in METRICS:
        assert f'id="def-{metric.key}"' in definitions
    assert "<script" not in html and "style=" not in html


def test_a_department_without_activity_has_no_score_and_no_rank_on_every_surface(
    client, board_world
):
    world = board_world(1)
    idle = DepartmentFactory(
        code="330100-tiyu", name="杭州市体育局", kind="other", region=world.city
    )
    world.snapshot = world.compute()
    score = Score.objects.get(snapshot=world.snapshot, department=idle)
    assert (score.volume, score.score, score.ranked, score.rank) == (0, None, False, None)
    api = client.get("/api/v1/scoreboard/").json()
    row = next(r for r in api["rows"] if r["code"] == idle.code)
    assert (row["score"], row["rank"], row["unranked_reason"]) == (None, None, "no_activity")
    quiet = next(r for r in api["rows"] if r["code"] == "330100-shangwu")
    assert (quiet["score"], quiet["unranked_reason"]) == (None, "below_min_volume")
    assert all(r["unranked_reason"] is None for r in api["rows"] if r["ranked"])
    rows = list(
        csv.DictReader(io.StringIO(client.get(BOARD, {"format": "csv"}).content.decode()[1:]))
    )
    idle_row = next(r for r in rows if r["code"] == idle.code)
    assert (idle_row["score"], idle_row["rank"], idle_row["unranked_reason"]) == (
        "",
        "",
        "no_activity",
    )
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = text(client.get(reverse("scoreboard:department", args=[idle.code])))
    assert '<span class="stat-figure" id="dept-score">—</span>' in page
    assert 'id="unranked-reason">not ranked: no activity in this period<' in page


def test_board_sorts_on_the_server_by_a_metric_and_shows_its_figure(client, world):
    html = text(client.get(BOARD, {"sort": "on_time", "dir": "desc"}))
    gongan = score_of(world, "gongan")
    on_time = gongan.metrics["on_time"]
    assert (on_time["num"], on_time["den"]) == (3.0, 4.0)
    low, high = services.wilson(3, 4)
    row = html.split('data-code="330100-gongan"', 1)[1].split("</tr>", 1)[0]
    drill = reverse("scoreboard:drilldown", args=["330100-gongan", "on_time"])
    assert f'<a href="{drill}?period=month&amp;start={world.snapshot.start}">75%</a>' in row
    assert f'<span class="interval">({round(low * 100)}–{round(high * 100)}%)</span>' in row
    assert "3 / 4" in row
    html = text(client.get(BOARD, {"sort": "mobile", "dir": "desc"}))
    assert codes_in(html, "board-ranked") == ["330100-weijian", "330100-gongan", "330100-extra0"]
    header = re.search(r'<th scope="col" data-sort="mobile" aria-sort="([a-z]+)">', html)
    assert header.group(1) == "descending"
    assert html.count("aria-sort=") == 1
    html = text(client.get(BOARD, {"sort": "mobile", "dir": "asc"}))
    assert codes_in(html, "board-ranked") == ["330100-extra0", "330100-gongan", "330100-weijian"]
    assert 'data-sort="mobile" aria-sort="ascending"' in html
    # The header links toggle the direction of the sorted column.
    assert "sort=mobile&amp;dir=desc" in html
    # The page's chart draws the sorted figure with the province's target.
    assert '<svg role="img" aria-labelledby="chart-mobile-title"' in html


def test_board_search_is_server_side_over_names_and_codes(client, world):
    html = text(client.get(BOARD, {"q": "公安"}))
    assert codes_in(html, "board-ranked") == ["330100-gongan"]  # the county's is another level
    assert 'id="unranked-summary"' not in html
    html = text(client.get(BOARD, {"q": "weijian"}))
    assert codes_in(html, "board-ranked") == ["330100-weijian"]
    # An unranked match: no ranked row, the unranked line open on it with its reason.
    html = text(client.get(BOARD, {"q": "商务"}))
    assert 'id="board-ranked"' not in html and 'id="no-ranked"' in html
    assert '<details class="board-unranked" id="unranked" open>' in html
    assert 'data-code="330100-shangwu" data-reason="below_min_volume"' in html
    # The search keeps the period, level and order, and the other links drop it.
    form = html.split('role="search"', 1)[1].split("</form>", 1)[0]
    assert '<input type="hidden" name="level" value="city">' in form
    assert '<input type="hidden" name="period" value="month">' in form
    levels = html.split('id="board-levels"', 1)[1].split("</ul>", 1)[0]
    assert "q=" not in levels
    downloads = html.split('id="download-csv"', 1)[0].rsplit("<a", 1)[1]
    assert "q=" not in downloads
    assert text(client.get(BOARD, {"q": "nothing-like-this"})).count('<tr data-code="') == 0


def test_board_is_paginated_by_level(client, world, monkeypatch):
    import scoreboard.views as views

    monkeypatch.setattr(views, "BOARD_PAGE_SIZE", 2)
    first = text(client.get(BOARD))
    assert codes_in(first, "board-ranked") == ranked_by_rank(world)[:2]
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = text(client.get(BOARD, {"page": "2"}))
    assert codes_in(second, "board-ranked") == ranked_by_rank(world)[2:]
    assert 'rel="prev"' in second
    before = state()
    assert client.get(BOARD, {"page": "3"}).status_code == 404
    assert state() == before
    # One link per level, the current one marked, each with its ranked count.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    levels = text(client.get(BOARD)).split('id="board-levels"', 1)[1].split("</ul>", 1)[0]
    found = re.findall(
        r'<a href="\?level=([a-z]+)" data-level="\1"( aria-current="page")?>[^<]+'
        r'<span class="note">([^<]+)</span>',
        levels,
    )
    assert found == [
        ("province", "", "0 ranked of 0"),
        ("city", ' aria-current="page"', "3 ranked of 4"),
        ("county", "", "0 ranked of 1"),
    ]
    county = text(client.get(BOARD, {"level": "county"}))
    assert 'id="board-ranked"' not in county
    assert 'data-code="330106-gongan" data-reason="below_min_volume"' in county


def test_board_csv_download_is_exact(client, world):
    response = client.get(BOARD, {"format": "csv", "q": "公安", "page": "1"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body[1:])))
    scores = list(board_scores(world.snapshot, level="city"))
    # The download is the level's whole board (as the API gives it), whatever the search.
    assert [r["code"] for r in rows] == [s.department.code for s in scores]
    for row, score in zip(rows, scores, strict=True):
        assert row["rank"] == ("" if score.rank is None else str(score.rank))
        assert row["ranked"] == str(int(score.ranked))
        assert row["score"] == ("" if score.score is None else str(score.score))
        assert int(row["volume"]) == score.volume
        for metric in METRICS:
            figure = score.metrics[metric.key]
            for part in ("num", "den", "value", "low", "high"):
                cell = row[f"{metric.key}_{part}"]
                assert (None if cell == "" else float(cell)) == figure[part]


def test_board_json_download_is_the_api_payload(client, world):
    response = client.get(BOARD, {"format": "json", "level": "city"})
    assert response.status_code == 200
    scores = list(board_scores(world.snapshot, level="city"))
    expected = board_data(world.snapshot, scores, level="city", regions=False)
    assert response.json() == json.loads(json.dumps(expected))
    assert response.json() == client.get("/api/v1/scoreboard/", {"level": "city"}).json()
    regions = client.get(BOARD, {"format": "json", "regions": "1", "level": "city"}).json()
    assert [r["code"] for r in regions["rows"]] == ["330100"]
    assert regions["rows"][0]["kind"] == "region"


def test_board_of_regions(client, world):
    html = text(client.get(BOARD, {"regions": "1", "level": "city"}))
    assert codes_in(html, "board-ranked") == ["330100"]
    assert text(client.get(BOARD, {"regions": "1", "q": "杭州"})).count('<tr data-code="') == 1


def test_board_without_any_snapshot_says_so(client, db):
    response = client.get(BOARD)
    assert response.status_code == 200
    html = text(response)
    assert 'id="no-snapshot"' in html
    assert '<details class="board-options" id="board-options" open>' in html


@pytest.mark.parametrize(
    "query",
    [
        {"period": "week"},
        {"level": "town"},
        {"sort": "popularity"},
        {"dir": "up"},
        {"format": "xml"},
        {"regions": "yes"},
        {"start": "2026-13-01"},
        {"page": "0"},
        {"page": "x"},
        {"q": "公安\x00"},
        {"q": "公\x07安"},
        {"q": "局" * 61},
    ],
)
def test_bad_board_parameters_are_refused_with_a_message_and_change_nothing(client, world, query):
    before = state()
    response = client.get(BOARD, query)
    assert response.status_code == 400
    html = text(response)
    assert 'role="alert"' in html
    assert 'id="board-ranked"' not in html
    assert state() == before


def test_a_start_with_no_snapshot_is_not_found(client, world):
    before = state()
    response = client.get(BOARD, {"period": "month", "start": "2001-01-01"})
    assert response.status_code == 404
    assert state() == before
    other = client.get(BOARD, {"period": "month", "start": world.snapshot.start.isoformat()})
    assert other.status_code == 200


def test_rank_change_shows_arrows(client, world):
    Score.objects.filter(pk=score_of(world, "gongan").pk).update(rank_change=-1)
    Score.objects.filter(pk=score_of(world, "weijian").pk).update(rank_change=2)
    html = text(client.get(BOARD))
    gongan = html.split('data-code="330100-gongan"', 1)[1].split("</tr>", 1)[0]
    weijian = html.split('data-code="330100-weijian"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="change-down" aria-hidden="true">▼1</span>' in gongan
    assert '<span class="change-up" aria-hidden="true">▲2</span>' in weijian


# ---------------------------------------------------------------- a department's page


def test_department_page_shows_figures_trend_and_worst_items(client, world):
    response = client.get(reverse("scoreboard:department", args=["330100-gongan"]))
    assert response.status_code == 200
    html = text(response)
    figures = html.split('id="dept-figures"', 1)[1].split("</table>", 1)[0]
    mobile = figures.split('data-metric="mobile"', 1)[1].split("</tr>", 1)[0]
    low, high = services.wilson(2, 4)
    assert f"50% ({round(low * 100)}–{round(high * 100)}%)" in mobile
    assert "80%" in mobile and "misses-target" in figures
    assert 'id="unranked-reason"' not in html
    history = html.split('id="dept-history"', 1)[1].split("</table>", 1)[0]
    assert history.count("<tr") == 2  # header and the one snapshot
    assert 'id="chart-trend-title"' in html
    worst = html.split('id="worst-items"', 1)[1].split("</ol>", 1)[0]
    names = re.findall(r'<a href="[^"]+">([^<]+)</a>', worst)
    # The item missing three targets first, then those missing one (3 of the 4 miss something).
    gongan_items = world.departments["gongan"]
    from catalog.models import ServiceItem

    first = ServiceItem.objects.get(department=gongan_items, is_active=True, online=False)
    assert names[0] == first.name
    assert len(names) == 3


def test_department_page_unknown_code_is_not_found(client, world):
    assert client.get(reverse("scoreboard:department", args=["nobody"])).status_code == 404


def test_department_history_downloads(client, world):
    url = reverse("scoreboard:department", args=["330100-gongan"])
    body = client.get(url, {"format": "csv"}).content.decode("utf-8")[1:]
    rows = list(csv.DictReader(io.StringIO(body)))
    score = score_of(world, "gongan")
    assert len(rows) == 1
    assert float(rows[0]["score"]) == score.score
    assert float(rows[0]["on_time_num"]) == 3.0
    data = client.get(url, {"format": "json"}).json()
    assert [p["score"] for p in data["history"]] == [score.score]
    assert [p["unranked_reason"] for p in data["history"]] == [None]


# ---------------------------------------------------------------- the public drill-down


def drill(client, metric, code="330100-gongan", **query):
    return client.get(reverse("scoreboard:drilldown", args=[code, metric]), query)


DEPARTMENT_METRICS = [m.key for m in METRICS if not m.by_region]


@pytest.mark.parametrize("metric", DEPARTMENT_METRICS)
def test_public_breakdown_adds_up_to_the_board_figure(client, world, metric):
    figure = score_of(world, "gongan").metrics[metric]
    data = drill(client, metric, format="json").json()
    assert data["board"] == figure
    totals = data["totals"]
    assert totals["num"] == pytest.approx(figure["num"])
    assert totals["den"] == pytest.approx(figure["den"])
    kind = METRIC_BY_KEY[metric].kind
    dimensions = {d["dimension"]: d["groups"] for d in data["dimensions"]}
    expected = {
        "online": ["item"],
        "on_time": ["item", "month"],
        "returns": ["category", "month"],
        "bad_ratings": ["item", "month"],
        "handling_days_p90": ["item", "month", "days"],
    }
    if metric in expected:
        assert list(dimensions) == expected[metric]
    assert dimensions
    for dimension, groups in dimensions.items():
        assert sum(g["rows"] for g in groups) == totals["rows"], dimension
        if dimension == "days":
            continue
        if kind == "quantile":  # not additive: its groups give rows and days, as means do
            assert sum(g["den"] for g in groups) == totals["den"], dimension
            continue
        assert sum(g["num"] for g in groups) == pytest.approx(totals["num"]), dimension
        assert sum(g["den"] for g in groups) == pytest.approx(totals["den"]), dimension
        for group in groups:
            if kind == "rate":
                assert group["not_counted"] == group["rows"] - group["num"]
            else:
                assert group["not_counted"] is None
    if kind == "quantile":  # the ⌈0.9·n⌉-th step lies in the one band marked
        bands = dimensions["days"]
        holding = [b for b in bands if b["holds_figure"]]
        assert len(holding) == 1
        band = int(holding[0]["key"])
        assert band <= figure["num"] < band + 1
        assert [b["num"] for b in bands] == sorted(b["num"] for b in bands)
        position = math.ceil(0.9 * totals["rows"])
        assert holding[0]["num"] >= position > holding[0]["num"] - holding[0]["rows"]
    html = text(drill(client, metric))
    board = html.split('id="board-figure">', 1)[1].split("<", 1)[0]
    listed = html.split('id="list-figure">', 1)[1].split("<", 1)[0]
    assert board == listed
    api = client.get(f"/api/v1/scoreboard/departments/330100-gongan/{metric}/")
    assert api.status_code == 200
    assert api.json() == data


def test_public_breakdown_counts_by_item_month_and_category(client, world):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    item = world.departments["gongan"].board_item
    html = text(drill(client, "on_time"))
    by_item = html.split('id="breakdown-item"', 1)[1].split("</table>", 1)[0]
    row = by_item.split(f'data-key="{item.code}"', 1)[1].split("</tr>", 1)[0]
    # The item is not published: named, not linked. 3 of 4 on time; the late one is not counted.
    assert f'<th scope="row">{item.name}</th>' in row
    assert re.findall(r'<td data-label="([^"]+)">([^<]+)</td>', row) == [
        ("Counted", "3"),
        ("Not counted", "1"),
        ("Rate", "75%"),
    ]
    month = f"{timezone.localdate():%Y-%m}"
    by_month = html.split('id="breakdown-month"', 1)[1].split("</table>", 1)[0]
    assert f'data-key="{month}"' in by_month
    # Tickets by the dispatch model's categories; anything else is one "other" group.
    returns = drill(client, "returns", format="json").json()
    categories = {g["key"]: (g["rows"], g["num"]) for g in returns["dimensions"][0]["groups"]}
    assert categories == {"": (2, 1.0), "城乡建设": (1, 0.0)}
    returns_html = text(drill(client, "returns"))
    assert "Other or not classified" in returns_html
    # Published items link to the catalog.
    online = text(drill(client, "online"))
    from catalog.models import ServiceItem

    published = ServiceItem.objects.filter(department=world.departments["gongan"], is_active=True)
    for found in published:
        assert f'<a href="/services/items/{found.code}/">{found.name}</a>' in online
    # The worst items first: those not online (not counted) lead the table.
    first = online.split('id="breakdown-item"', 1)[1].split('<tr data-key="', 2)[1]
    assert first.startswith(published.get(online=False).code)


def test_public_breakdown_items_are_paginated(client, world, monkeypatch):
    import scoreboard.views as views

    monkeypatch.setattr(views, "BREAKDOWN_PAGE_SIZE", 3)
    first = text(drill(client, "online"))
    assert (
        first.split('id="breakdown-item"', 1)[1].split("</table>", 1)[0].count("<tr data-key") == 3
    )
    assert 'rel="next"' in first
    second = text(drill(client, "online", page=2))
    assert (
        second.split('id="breakdown-item"', 1)[1].split("</table>", 1)[0].count("<tr data-key") == 1
    )
    assert drill(client, "online", page=3).status_code == 404
    # The downloads hold every group.
    data = drill(client, "online", format="json").json()
    assert len(data["dimensions"][0]["groups"]) == 4


@pytest.mark.parametrize(
    ("metric", "query", "status"),
    [
        ("nonsense", {}, 404),
        ("assistant_answered", {}, 404),
        ("on_time", {"page": "0"}, 400),
        ("on_time", {"page": "x"}, 400),
        ("on_time", {"format": "xml"}, 400),
        ("on_time", {"start": "2001-01-01"}, 404),
    ],
)
def test_bad_drilldown_requests(client, world, metric, query, status):
    before = state()
    assert drill(client, metric, **query).status_code == status
    assert state() == before


# ---------------------------------------------------------------- the rows, for staff in scope


def staff_drill(client, metric, code="330100-gongan", **query):
    return client.get(reverse("scoreboard:staff-drilldown", args=[code, metric]), query)


def test_staff_of_the_department_see_the_rows_behind_a_figure(client, world):
    clerk = MembershipFactory(department=world.departments["gongan"]).user
    client.force_login(clerk)
    public = text(drill(client, "on_time"))
    link = reverse("scoreboard:staff-drilldown", args=["330100-gongan", "on_time"])
    assert f'<a href="{link}?period=month&amp;start={world.snapshot.start}" id="staff-rows">' in (
        public
    )
    html = text(staff_drill(client, "on_time", show="not"))
    rows = html.split('id="drilldown-rows"', 1)[1].split("</table>", 1)[0]
    assert rows.count('data-counted="0"') == 1
    assert 'data-counted="1"' not in rows
    late = Task.objects.get(
        department=world.departments["gongan"],
        state=Task.State.COMPLETED,
        due_date__lt=timezone.localdate(),
    )
    assert f'<th scope="row">{late.application.reference}</th>' in rows
    assert f"{late.due_date:%Y-%m-%d}" in rows
    assert html.split('id="list-rows">', 1)[1].split("<", 1)[0] == "4"
    # Tickets by number; a report's title is never shown, other titles are.
    satisfaction = text(staff_drill(client, "satisfaction"))
    report = world.tickets["330100-gongan"][1]
    assert report.kind == "report"
    assert report.number in satisfaction
    assert "举报王五收受红包" not in satisfaction and "路灯不亮" in satisfaction
    for secret in ("张小明", "张三", "13912345678", "路灯坏了"):
        assert secret not in satisfaction
    data = staff_drill(client, "on_time", format="json").json()
    assert sorted(r["c0"] for r in data["rows"]) == sorted(
        Task.objects.filter(department=world.departments["gongan"], state="completed").values_list(
            "application__reference", flat=True
        )
    )
    body = staff_drill(client, "returns", format="csv").content.decode()
    assert all(t.number in body for t in world.tickets["330100-gongan"])


def test_the_rows_are_refused_to_everyone_else(client, world):
    url = reverse("scoreboard:staff-drilldown", args=["330100-gongan", "on_time"])
    before = state()
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    client.force_login(UserFactory())  # a citizen
    assert client.get(url).status_code == 403
    other = MembershipFactory(department=world.departments["weijian"]).user
    client.force_login(other)  # staff of another department
    for query in ({}, {"format": "csv"}, {"format": "json"}, {"show": "not"}):
        response = client.get(url, query)
        assert response.status_code == 403, query
        assert world.tickets["330100-gongan"][0].number not in response.content.decode()
    assert 'id="staff-rows"' not in text(drill(client, "on_time"))
    assert state() == before
    # Its own department's rows, yes; the superuser's, every department's.
    assert client.get(url.replace("gongan", "weijian")).status_code == 200
    client.force_login(StaffFactory(is_superuser=True))
    assert client.get(url).status_code == 200


def test_the_staff_rows_are_paginated(client, world, monkeypatch):
    import scoreboard.views as views

    client.force_login(MembershipFactory(department=world.departments["gongan"]).user)
    monkeypatch.setattr(views, "DRILLDOWN_PAGE_SIZE", 2)
    first = text(staff_drill(client, "on_time"))
    assert first.count("<tr data-counted") == 2
    assert 'rel="next"' in first
    second = text(staff_drill(client, "on_time", page=2))
    assert second.count("<tr data-counted") == 2
    assert staff_drill(client, "on_time", page=9).status_code == 404
    assert staff_drill(client, "on_time", show="some").status_code == 400


# ---------------------------------------------------------------- fixed query counts


PAGES = {
    "board": lambda w: (BOARD, {}),
    "board-sorted": lambda w: (BOARD, {"sort": "on_time", "dir": "desc"}),
    "board-search": lambda w: (BOARD, {"q": "杭州"}),
    "board-regions": lambda w: (BOARD, {"regions": "1"}),
    "board-csv": lambda w: (BOARD, {"format": "csv"}),
    "department": lambda w: (reverse("scoreboard:department", args=["330100-gongan"]), {}),
    "drilldown-items": lambda w: (
        reverse("scoreboard:drilldown", args=["330100-gongan", "online"]),
        {},
    ),
    "drilldown-tasks": lambda w: (
        reverse("scoreboard:drilldown", args=["330100-gongan", "on_time"]),
        {},
    ),
    "drilldown-days": lambda w: (
        reverse("scoreboard:drilldown", args=["330100-gongan", "handling_days_p90"]),
        {},
    ),
    "drilldown-ratings": lambda w: (
        reverse("scoreboard:drilldown", args=["330100-gongan", "rectified_on_time"]),
        {},
    ),
    "drilldown-tickets": lambda w: (
        reverse("scoreboard:drilldown", args=["330100-gongan", "returns"]),
        {"format": "csv"},
    ),
}
QUERIES = {
    "board": 4,
    "board-sorted": 4,
    "board-search": 4,
    "board-regions": 4,
    "board-csv": 3,
    "department": 3,
    "drilldown-items": 5,
    "drilldown-tasks": 6,
    "drilldown-days": 8,
    "drilldown-ratings": 6,
    "drilldown-tickets": 6,
}


@pytest.mark.parametrize("scale", [1, 4])
@pytest.mark.parametrize("page", sorted(PAGES))
def test_pages_run_a_fixed_number_of_queries(
    client, board_world, scale, page, django_assert_num_queries
):
    world = board_world(scale)
    last_month = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    services.snapshot_compute(period="month", day=last_month)
    world.compute()
    url, query = PAGES[page](world)
    with django_assert_num_queries(QUERIES[page]):
        assert client.get(url, query).status_code == 200


@pytest.mark.parametrize("scale", [1, 4])
def test_staff_rows_run_a_fixed_number_of_queries(
    client, board_world, scale, django_assert_num_queries
):
    world = board_world(scale)
    world.compute()
    client.force_login(MembershipFactory(department=world.departments["gongan"]).user)
    url = reverse("scoreboard:staff-drilldown", args=["330100-gongan", "on_time"])
    with django_assert_num_queries(10):  # nine for the rows, one for the navigation's staff roles
        assert client.get(url).status_code == 200


def test_staff_view_runs_a_fixed_number_of_queries(client, board_world):
    counts = []
    world = board_world(1)
    client.force_login(StaffFactory(is_superuser=True))
    for size in (1, 3):
        if size > 1:
            for n in range(size):
                add_items(DepartmentFactory(code=f"330100-more{n}", region=world.city))
        world.compute()
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/staff/board/").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


# ---------------------------------------------------------------- staff view


def test_staff_view_shows_own_departments_with_flags(client, world):
    clerk = MembershipFactory(department=world.departments["gongan"]).user
    client.force_login(clerk)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the flags are read in English
    html = text(client.get("/staff/board/"))
    assert re.findall(r'<tr data-code="([^"]+)"', html) == ["330100-gongan"]
    row = html.split('data-code="330100-gongan"', 1)[1].split("</tr>", 1)[0]
    reds = re.findall(r'<li class="flag-red">([^<]+)</li>', row)
    # online 75% < 100% − 10, mobile 50% < 80% − 10, zero trips and ID-only 75% < 90% − 10.
    assert len([r for r in reds if "target" in r]) == 4
    assert 'data-red="' in row


def test_staff_view_superuser_sees_every_department(client, world):
    client.force_login(StaffFactory(is_superuser=True))
    html = text(client.get("/staff/board/"))
    assert sorted(re.findall(r'<tr data-code="([^"]+)"', html)) == sorted(
        d.code for d in world.departments.values()
    )


def test_staff_view_is_for_staff_only(client, world):
    assert client.get("/staff/board/").status_code == 302
    client.force_login(UserFactory())
    assert client.get("/staff/board/").status_code == 403


def test_flags_yellow_below_target_and_rank_fall():
    score = Score(
        level="city",
        rank_change=-3,
        metrics={
            "online": {"num": 19, "den": 20, "value": 0.95, "low": 0.76, "high": 0.99},
            "mobile": {"num": 1, "den": 2, "value": 0.5, "low": 0.09, "high": 0.91},
            "on_time": {"num": 5, "den": 20, "value": 0.25, "low": 0.11, "high": 0.47},
        },
    )
    red, yellow = flags_for(score, {"online": 0.9, "mobile": 0.6, "on_time": 0.8})
    assert len(yellow) == 2  # online below its target by 5 points; fell 3 places
    assert any("3" in y for y in yellow)
    assert len(red) == 2  # mobile 30 points below target; on-time surely below the average
    score.rank_change = -2
    assert len(flags_for(score, {"online": 0.9})[1]) == 1


# ---------------------------------------------------------------- admin


@pytest.fixture
def admin_client(client, db):
    client.force_login(StaffFactory(is_superuser=True))
    return client


def weight_post(**overrides):
    data = {"min_volume": "8", "note": "more weight on timeliness"}
    for metric in METRICS:
        data[f"weight_{metric.key}"] = str(metric.weight)
    data["weight_on_time"] = "3"
    data.update(overrides)
    return data


def test_admin_adds_a_weight_version_and_leaves_old_ones_and_snapshots(admin_client, world):
    v1 = WeightSet.objects.get()
    before_scores = list(Score.objects.order_by("pk").values_list("pk", "score", "metrics"))
    response = admin_client.post("/admin/scoreboard/weightset/add/", weight_post())
    assert response.status_code == 302
    v2 = WeightSet.objects.get(version=2)
    assert v2.weights["on_time"] == 3.0 and v2.min_volume == 8
    assert v2.created_by is not None
    assert WeightSet.objects.get(pk=v1.pk).weights == v1.weights
    world.snapshot.refresh_from_db()
    assert world.snapshot.weight_set_id == v1.pk
    assert list(Score.objects.order_by("pk").values_list("pk", "score", "metrics")) == before_scores
    # An existing version cannot be changed.
    change = admin_client.post(
        f"/admin/scoreboard/weightset/{v1.pk}/change/", weight_post(min_volume="1")
    )
    assert change.status_code == 403
    assert WeightSet.objects.get(pk=v1.pk).min_volume == v1.min_volume
    assert admin_client.get(f"/admin/scoreboard/weightset/{v1.pk}/change/").status_code == 200


def test_admin_refuses_weights_that_are_all_zero_or_negative(admin_client, world):
    zeros = {f"weight_{m.key}": "0" for m in METRICS}
    response = admin_client.post("/admin/scoreboard/weightset/add/", weight_post(**zeros))
    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    negative = admin_client.post(
        "/admin/scoreboard/weightset/add/", weight_post(weight_online="-1")
    )
    assert negative.status_code == 200
    assert WeightSet.objects.count() == 1
    assert admin_client.get("/admin/scoreboard/weightset/add/").status_code == 200


def test_admin_recompute_action_uses_the_service(admin_client, world):
    services.weights_save(actor=None, weights={"online": 1.0}, min_volume=1)
    response = admin_client.post(
        "/admin/scoreboard/snapshot/",
        {"action": "recompute", "_selected_action": [world.snapshot.pk]},
    )
    assert response.status_code == 302
    fresh = Snapshot.objects.get(period="month", start=world.snapshot.start)
    assert fresh.weight_set.version == 2
    assert admin_client.get("/admin/scoreboard/score/").status_code == 200
    assert admin_client.get(f"/admin/scoreboard/snapshot/{fresh.pk}/change/").status_code == 200


def test_the_kept_board_follows_a_recomputed_snapshot(client, world):
    """The rendered tables are kept per snapshot; recomputing the period shows the new figures."""
    department = world.departments["gongan"]
    url = f"/board/?period={world.snapshot.period}&level=city&sort=online&dir=desc"
    first = text(client.get(url))
    before = score_of(world, "gongan").metrics["online"]
    assert (
        f"{before['num']:g} / {before['den']:g}" in first.split(f'data-code="{department.code}"')[1]
    )
    add_items(department, times=2)
    world.snapshot = world.compute()
    after = score_of(world, "gongan").metrics["online"]
    assert after["den"] > before["den"]
    second = text(client.get(url))
    row = second.split(f'data-code="{department.code}"')[1].split("</tr>")[0]
    assert f"{after['num']:g} / {after['den']:g}" in row


def test_a_figure_measured_per_region_has_no_department_drilldown(client, world):
    code = world.departments["gongan"].code
    assert client.get(f"/board/department/{code}/assistant_answered/").status_code == 404
    page = text(client.get(f"/board/department/{code}/"))
    assert f"/board/department/{code}/assistant_answered/" not in page

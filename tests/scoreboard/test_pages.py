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


def test_board_shows_each_figure_with_its_interval_and_lists_the_unranked_after(client, world):
    response = client.get(BOARD)
    assert response.status_code == 200
    html = text(response)
    gongan = score_of(world, "gongan")
    on_time = gongan.metrics["on_time"]
    assert (on_time["num"], on_time["den"]) == (3.0, 4.0)
    low, high = services.wilson(3, 4)
    row = html.split('data-code="330100-gongan"', 1)[1].split("</tr>", 1)[0]
    drill = reverse("scoreboard:drilldown", args=["330100-gongan", "on_time"])
    expected_link = f'<a href="{drill}?period=month&amp;start={world.snapshot.start}">75%</a>'
    assert expected_link in row
    assert f'<span class="interval">({round(low * 100)}–{round(high * 100)}%)</span>' in row
    assert "3 / 4" in row
    # Ranked by rank; the quiet department (one item) is listed after, not ranked, with the note.
    assert codes_in(html, "board-ranked") == [
        s.department.code
        for s in Score.objects.filter(snapshot=world.snapshot, level="city", ranked=True)
        .exclude(department=None)
        .order_by("rank")
    ]
    assert codes_in(html, "board-unranked") == ["330100-shangwu"]
    assert 'id="unranked-note"' in html
    assert "5" in html.split('id="unranked-note"', 1)[1].split("</p>", 1)[0]
    # The explanation: the snapshot's weight version, each metric's definition and target.
    definitions = html.split('id="definitions"', 1)[1]
    for metric in METRICS:
        assert f'id="def-{metric.key}"' in definitions
    online = definitions.split('id="def-online"', 1)[1].split("</tr>", 1)[0]
    assert "100%" in online
    # The charts are inline SVG with titles, no script.
    assert '<svg role="img" aria-labelledby="chart-score-title"' in html
    assert 'id="chart-mobile-title"' in html
    assert "<script" not in html


def test_board_sorts_on_the_server_by_any_column(client, world):
    html = text(client.get(BOARD, {"sort": "mobile", "dir": "desc"}))
    assert codes_in(html, "board-ranked") == ["330100-weijian", "330100-gongan", "330100-extra0"]
    header = re.search(r'<th scope="col" data-sort="mobile" aria-sort="([a-z]+)">', html)
    assert header.group(1) == "descending"
    assert html.count("aria-sort=") == 2  # the sorted column, in both tables
    html = text(client.get(BOARD, {"sort": "mobile", "dir": "asc"}))
    assert codes_in(html, "board-ranked") == ["330100-extra0", "330100-gongan", "330100-weijian"]
    assert 'data-sort="mobile" aria-sort="ascending"' in html
    # The header links toggle the direction of the sorted column.
    assert "sort=mobile&amp;dir=desc" in html


def test_board_csv_download_is_exact(client, world):
    response = client.get(BOARD, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body[1:])))
    scores = list(board_scores(world.snapshot, level="city"))
    assert [r["code"] for r in rows] == [s.department.code for s in scores]
    for row, score in zip(rows, scores, strict=True):
        assert row["rank"] == ("" if score.rank is None else str(score.rank))
        assert row["ranked"] == str(int(score.ranked))
        assert float(row["score"]) == score.score
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
    regions = client.get(BOARD, {"format": "json", "regions": "1", "level": "city"}).json()
    assert [r["code"] for r in regions["rows"]] == ["330100"]
    assert regions["rows"][0]["kind"] == "region"


def test_board_without_any_snapshot_says_so(client, db):
    response = client.get(BOARD)
    assert response.status_code == 200
    assert 'id="no-snapshot"' in text(response)


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
    ],
)
def test_bad_board_parameters_are_refused_with_a_message_and_change_nothing(client, world, query):
    before = state()
    response = client.get(BOARD, query)
    assert response.status_code == 400
    assert 'role="alert"' in text(response)
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
    assert '<span aria-hidden="true">▼1</span>' in gongan
    assert '<span aria-hidden="true">▲2</span>' in weijian


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


# ---------------------------------------------------------------- drill-down


def drill(client, world, metric, **query):
    url = reverse("scoreboard:drilldown", args=["330100-gongan", metric])
    return client.get(url, query)


@pytest.mark.parametrize(
    "metric", ["on_time", "compression", "handling_days", "handling_days_p90", "bad_ratings"]
)
def test_drilldown_totals_give_the_board_figure_back(client, world, metric):
    figure = score_of(world, "gongan").metrics[metric]
    data = drill(client, world, metric, format="json").json()
    assert data["totals"]["num"] == pytest.approx(figure["num"])
    assert data["totals"]["den"] == pytest.approx(figure["den"])
    kind = METRIC_BY_KEY[metric].kind
    if kind == "rate":
        assert sum(1 for r in data["rows"] if r["counted"]) == figure["num"]
        assert len(data["rows"]) == figure["den"]
    elif kind == "mean":
        assert sum(r["amount"] for r in data["rows"]) == pytest.approx(figure["num"])
        assert len(data["rows"]) == figure["den"]
    elif kind == "quantile":  # listed shortest first: the figure is the ⌈0.9·n⌉-th
        amounts = [r["amount"] for r in data["rows"]]
        assert amounts == sorted(amounts)
        assert amounts[math.ceil(0.9 * len(amounts)) - 1] == pytest.approx(figure["num"], abs=1e-3)
    else:
        assert sum(r["amount"] for r in data["rows"]) == pytest.approx(figure["num"])
    html = text(drill(client, world, metric))
    board = html.split('id="board-figure">', 1)[1].split("<", 1)[0]
    listed = html.split('id="list-figure">', 1)[1].split("<", 1)[0]
    assert board == listed


def test_drilldown_lists_the_late_cases_with_their_references(client, world):
    html = text(drill(client, world, "on_time", show="not"))
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
    # Totals stay those of the whole figure.
    assert html.split('id="list-rows">', 1)[1].split("<", 1)[0] == "4"


def test_drilldown_shows_no_personal_data(client, world):
    for metric in ("on_time", "satisfaction", "returns", "bad_ratings", "rectified_on_time"):
        for query in ({}, {"format": "csv"}, {"format": "json"}):
            body = drill(client, world, metric, **query).content.decode("utf-8")
            for secret in ("张小明", "张三", "13912345678", "王五", "举报王五收受红包", "路灯坏了"):
                assert secret not in body, (metric, query, secret)
    html = text(drill(client, world, "satisfaction"))
    report = world.tickets["330100-gongan"][1]
    assert report.number in html


def test_drilldown_paginates(client, board_world, settings):
    world = board_world(1)
    world.compute()
    import scoreboard.views as views

    views.DRILLDOWN_PAGE_SIZE, old = 2, views.DRILLDOWN_PAGE_SIZE
    try:
        first = text(drill(client, world, "on_time"))
        assert first.count("<tr data-counted") == 2
        assert 'rel="next"' in first
        second = text(drill(client, world, "on_time", page=2))
        assert second.count("<tr data-counted") == 2
        assert drill(client, world, "on_time", page=9).status_code == 404
    finally:
        views.DRILLDOWN_PAGE_SIZE = old


@pytest.mark.parametrize(
    ("metric", "query", "status"),
    [
        ("nonsense", {}, 404),
        ("on_time", {"show": "some"}, 400),
        ("on_time", {"page": "0"}, 400),
        ("on_time", {"page": "x"}, 400),
        ("on_time", {"start": "2001-01-01"}, 404),
    ],
)
def test_bad_drilldown_requests(client, world, metric, query, status):
    before = state()
    assert drill(client, world, metric, **query).status_code == status
    assert state() == before


# ---------------------------------------------------------------- fixed query counts


PAGES = {
    "board": lambda w: (BOARD, {}),
    "board-regions": lambda w: (BOARD, {"regions": "1"}),
    "board-csv": lambda w: (BOARD, {"format": "csv"}),
    "department": lambda w: (reverse("scoreboard:department", args=["330100-gongan"]), {}),
    "drilldown-tasks": lambda w: (
        reverse("scoreboard:drilldown", args=["330100-gongan", "on_time"]),
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
    "board": 3,
    "board-regions": 3,
    "board-csv": 3,
    "department": 3,
    "drilldown-tasks": 6,
    "drilldown-ratings": 6,
    "drilldown-tickets": 5,
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

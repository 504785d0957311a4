"""Leaders' statistics of the complaints desk: exact figures, scope, filters, query counts.

The tickets are made with the ORM directly (states, timestamps and booleans set by hand), in March
2025; a ticket just before and one just after the month check the local-time boundaries.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints import stats
from complaints.models import Ticket
from departments.models import Department, Membership, Region
from tests.factories import DepartmentFactory, MembershipFactory, StaffFactory, UserFactory

PAGE = "/staff/tickets/stats/"
API = "/api/v1/tickets/stats/"
MARCH = {"date_from": "2025-03-01", "date_to": "2025-03-31"}


def local(day: str, time: str = "10:00") -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(f"{day}T{time}"))


@dataclass
class Desk:
    regions: dict[str, Region]
    departments: dict[str, Department]
    desk_clerk: object
    zj_clerk: object
    citizen: object
    tickets: dict[str, Ticket]


def make_ticket(**fields) -> Ticket:
    defaults = {
        "kind": Ticket.Kind.COMPLAINT,
        "channel": Ticket.Channel.WEB,
        "title": "示例诉求",
        "content": "示例内容",
        "state": Ticket.State.RECEIVED,
    }
    return Ticket.objects.create(**{**defaults, **fields})


@pytest.fixture
def desk(db) -> Desk:
    today = timezone.localdate()
    province = Region.objects.create(code="330000", name="浙江省", level="province")
    hz = Region.objects.create(code="330100", name="杭州市", level="city", parent=province)
    xh = Region.objects.create(code="330106", name="西湖区", level="county", parent=hz)
    nb = Region.objects.create(code="330200", name="宁波市", level="city", parent=province)
    bl = Region.objects.create(code="330206", name="北仑区", level="county", parent=nb)
    regions = {"province": province, "hz": hz, "xh": xh, "nb": nb, "bl": bl}
    departments = {
        "desk": DepartmentFactory(
            code="330000-rexian", name="浙江省12345热线", kind="rexian", region=province
        ),
        "zj": DepartmentFactory(
            code="330100-zhujian", name="杭州市住房和城乡建设局", kind="zhujian", region=hz
        ),
        "jt": DepartmentFactory(
            code="330106-jiaotong", name="西湖区交通运输局", kind="jiaotong", region=xh
        ),
        "st": DepartmentFactory(
            code="330200-shengtai", name="宁波市生态环境局", kind="shengtai", region=nb
        ),
    }
    desk_clerk = MembershipFactory(department=departments["desk"]).user
    zj_clerk = MembershipFactory(department=departments["zj"], role=Membership.Role.SUPERVISOR).user
    citizen = UserFactory()
    d, C, K, S = departments, Ticket.Channel, Ticket.Kind, Ticket.State
    t = {}
    t["t1"] = make_ticket(
        region=xh, department=d["zj"], category="城乡建设", state=S.CLOSED,
        created_at=local("2025-03-03"), closed_at=local("2025-03-05"),
        signed_on_time=True, answered_on_time=True, satisfaction=5,
        dispatched_automatically=True,
    )  # fmt: skip
    t["t2"] = make_ticket(
        channel=C.HOTLINE, region=xh, department=d["zj"], category="城乡建设", state=S.CLOSED,
        created_at=local("2025-03-04", "09:00"), closed_at=local("2025-03-12"),
        signed_on_time=True, answered_on_time=False, satisfaction=2, reopen_count=1,
        return_count=1,
    )  # fmt: skip
    t["t3"] = make_ticket(
        kind=K.CONSULTATION, channel=C.APP, region=hz, department=d["zj"], category="环境保护",
        state=S.HANDLING, created_at=local("2025-03-10"),
        node_due_date=today - dt.timedelta(days=1), signed_on_time=False,
        dispatched_automatically=True,
    )  # fmt: skip
    t["t4"] = make_ticket(
        kind=K.REPORT, region=xh, department=d["jt"], category="交通运输", state=S.ANSWERED,
        created_at=local("2025-03-11"), node_due_date=today + dt.timedelta(days=5),
        signed_on_time=True, answered_on_time=True, dispatched_automatically=True,
    )  # fmt: skip
    t["t5"] = make_ticket(
        kind=K.SUGGESTION, channel=C.HOTLINE, region=bl, department=d["st"],
        category="环境保护", state=S.CLOSED, created_at=local("2025-03-17"),
        closed_at=local("2025-03-20"), signed_on_time=True, answered_on_time=True,
        satisfaction=4,
    )  # fmt: skip
    t["t6"] = make_ticket(
        region=bl, state=S.QUEUED, created_at=local("2025-03-18"),
        node_due_date=today - dt.timedelta(days=2),
    )  # fmt: skip
    t["t7"] = make_ticket(
        kind=K.HELP, channel=C.HOTLINE, region=xh, category="城乡建设", state=S.LINKED,
        duplicate_of=t["t1"], created_at=local("2025-03-31", "23:59"),
    )  # fmt: skip
    t["t8"] = make_ticket(
        channel=C.OPEN311, region=nb, department=d["st"], category="环境保护",
        state=S.DISPATCHED, created_at=local("2025-03-25"),
        node_due_date=today + dt.timedelta(days=1), return_count=2,
        dispatched_automatically=True,
    )  # fmt: skip
    # Outside March in local time (inside it in UTC for the first one); t9 closed in March.
    # Neither is counted for March, not even t9's closing.
    t["t9"] = make_ticket(
        region=xh, department=d["zj"], category="城乡建设", state=S.CLOSED,
        created_at=local("2025-02-28", "23:30"), closed_at=local("2025-03-02"),
    )  # fmt: skip
    t["t10"] = make_ticket(
        region=xh, department=d["zj"], category="城乡建设",
        created_at=local("2025-04-01", "00:00"),
    )  # fmt: skip
    return Desk(regions, departments, desk_clerk, zj_clerk, citizen, t)


def api_get(client, user, **params):
    client.force_login(user)
    # figures and messages asserted in English, the msgids (Chinese is the default)
    return client.get(API, params, headers={"accept-language": "en"})


def by_key(rows):
    return {row["key"]: row for row in rows}


# ---------------------------------------------------------------- exact figures


def test_totals_timeliness_and_satisfaction_are_exact(client, desk):
    body = api_get(client, desk.desk_clerk, **MARCH).json()
    assert body["scope"] == "all"
    assert body["filters"] == {
        "date_from": "2025-03-01",
        "date_to": "2025-03-31",
        "period": "day",
        "department": None,
        "category": None,
        "region": None,
        "kind": None,
        "channel": None,
    }
    assert body["totals"] == {
        "received": 8,
        "senders": 8,
        "matters": 7,
        "open": 4,
        "closed": 3,
        "linked": 1,
        "overdue": 2,
        "dispatched": 6,
        "dispatched_automatically": 4,
        "auto_dispatch_share": 0.6667,
        "returned": 2,
        "returned_share": 0.25,
        "reopened": 1,
        "reopened_share": 0.125,
    }
    assert body["timeliness"] == {
        "signed": 5,
        "signed_on_time": 4,
        "signed_on_time_rate": 0.8,
        "answered": 4,
        "answered_on_time": 3,
        "answered_on_time_rate": 0.75,
    }
    assert body["satisfaction"] == {
        "rated": 3,
        "average": 3.67,
        "satisfied": 2,
        "satisfied_share": 0.6667,
        "unsatisfied": 1,
        "unsatisfied_share": 0.3333,
    }


def test_breakdowns_are_exact_and_ordered(client, desk):
    body = api_get(client, desk.desk_clerk, **MARCH).json()
    assert [(r["key"], r["count"]) for r in body["by_department"]] == [
        ("330100-zhujian", 3),
        ("330200-shengtai", 2),
        (None, 2),
        ("330106-jiaotong", 1),
    ]
    zj = body["by_department"][0]
    assert zj == {
        "key": "330100-zhujian",
        "label": "杭州市住房和城乡建设局",
        "count": 3,
        "senders": 3,
        "matters": 3,
        "open": 1,
        "closed": 2,
        "overdue": 1,
        "signed_on_time_rate": 0.6667,
        "answered_on_time_rate": 0.5,
        "rated": 2,
        "satisfaction_average": 3.5,
        "satisfied_share": 0.5,
        "unsatisfied_share": 0.5,
    }
    assert body["by_department"][2]["label"] == "Not dispatched yet"
    unrated = by_key(body["by_department"])[None]
    assert unrated["signed_on_time_rate"] is None and unrated["satisfaction_average"] is None
    assert [(r["key"], r["count"]) for r in body["by_category"]] == [
        ("城乡建设", 3),
        ("环境保护", 3),
        ("交通运输", 1),
        ("", 1),
    ]
    assert by_key(body["by_category"])[""]["label"] == "Uncategorised"
    assert [(r["key"], r["label"], r["count"]) for r in body["by_region"]] == [
        ("330106", "西湖区", 4),
        ("330206", "北仑区", 2),
        ("330100", "杭州市 (city-level)", 1),
        ("330200", "宁波市 (city-level)", 1),
    ]
    assert [(r["key"], r["label"], r["count"]) for r in body["by_city"]] == [
        ("330100", "杭州市", 5),
        ("330200", "宁波市", 3),
    ]
    assert by_key(body["by_city"])["330100"]["overdue"] == 1
    assert by_key(body["by_city"])["330200"]["overdue"] == 1
    assert [(r["key"], r["count"]) for r in body["by_kind"]] == [
        ("complaint", 4),
        ("consultation", 1),
        ("help", 1),
        ("report", 1),
        ("suggestion", 1),
    ]
    assert by_key(body["by_kind"])["complaint"]["label"] == "Complaint"
    assert [(r["key"], r["count"]) for r in body["by_channel"]] == [
        ("hotline", 3),
        ("web", 3),
        ("app", 1),
        ("open311", 1),
    ]
    assert by_key(body["by_channel"])["hotline"]["satisfaction_average"] == 3.0


def test_top_issues(client, desk):
    top = api_get(client, desk.desk_clerk, **MARCH).json()["top_issues"]
    assert top["categories"] == [
        {"category": "城乡建设", "count": 3, "share": 0.375},
        {"category": "环境保护", "count": 3, "share": 0.375},
        {"category": "交通运输", "count": 1, "share": 0.125},
    ]
    assert [
        (e["key"], e["count"], [(c["category"], c["count"]) for c in e["categories"]])
        for e in top["by_department"]
    ] == [
        ("330100-zhujian", 3, [("城乡建设", 2), ("环境保护", 1)]),
        ("330200-shengtai", 2, [("环境保护", 2)]),
        ("330106-jiaotong", 1, [("交通运输", 1)]),
        (None, 1, [("城乡建设", 1)]),
    ]


def test_top_issues_keep_three_categories_per_department(desk):
    zj = desk.departments["zj"]
    for category, n in (("交通运输", 3), ("教育文体", 2), ("商贸旅游", 4), ("卫生计生", 1)):
        for _ in range(n):
            make_ticket(department=zj, category=category, created_at=local("2025-03-07"))
    scope = stats.stats_scope_for(desk.desk_clerk)
    filters = stats.StatsFilters(
        date_from=dt.date(2025, 3, 1), date_to=dt.date(2025, 3, 31), period="month"
    )
    top = stats.ticket_stats(scope=scope, filters=filters).top_issues["by_department"]
    assert top[0]["key"] == "330100-zhujian"
    assert top[0]["categories"] == [
        {"category": "商贸旅游", "count": 4},
        {"category": "交通运输", "count": 3},
        {"category": "城乡建设", "count": 2},
    ]


# ---------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("params", "received"),
    [
        ({"region": "330000"}, 8),
        ({"region": "330100"}, 5),
        ({"region": "330106"}, 4),
        ({"region": "330200"}, 3),
        ({"region": "330206"}, 2),
        ({"department": "330200-shengtai"}, 2),
        ({"category": "环境保护"}, 3),
        ({"kind": "complaint"}, 4),
        ({"channel": "hotline"}, 3),
        ({"channel": "hotline", "region": "330100"}, 2),
        ({"date_from": "2025-03-01", "date_to": "2025-03-03"}, 1),
        ({"date_from": "2025-02-28", "date_to": "2025-02-28"}, 1),
        ({"date_from": "2025-04-01", "date_to": "2025-04-01"}, 1),
    ],
)
def test_filters(client, desk, params, received):
    body = api_get(client, desk.desk_clerk, **{**MARCH, **params}).json()
    assert body["totals"]["received"] == received


def test_default_range_is_the_last_thirty_days(client, desk):
    today = timezone.localdate()
    make_ticket(created_at=timezone.now())
    make_ticket(created_at=local((today - dt.timedelta(days=29)).isoformat(), "00:00"))
    make_ticket(created_at=local((today - dt.timedelta(days=30)).isoformat(), "23:59"))
    body = api_get(client, desk.desk_clerk).json()
    assert body["filters"]["date_to"] == today.isoformat()
    assert body["filters"]["date_from"] == (today - dt.timedelta(days=29)).isoformat()
    assert body["totals"]["received"] == 2
    assert len(body["series"]["points"]) == 30


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"date_from": "2025-13-01"}, "date_from", "date_invalid"),
        ({"date_from": "2025/03/01"}, "date_from", "date_invalid"),
        ({"date_to": "20250301"}, "date_to", "date_invalid"),
        ({"date_to": "1999-12-31"}, "date_to", "date_out_of_range"),
        ({"date_from": "2025-03-10", "date_to": "2025-03-01"}, "date_to", "date_range_reversed"),
        ({"date_from": "2010-01-01", "date_to": "2025-03-01"}, "date_from", "date_range_too_long"),
        (
            {"date_from": "2024-01-01", "date_to": "2025-03-01", "period": "day"},
            "period",
            "period_too_fine",
        ),
        ({"period": "hour"}, "period", "period_invalid"),
        ({"department": "no-such-department"}, "department", "department_unknown"),
        ({"department": "bad code!"}, "department", "department_unknown"),
        ({"region": "3301"}, "region", "region_unknown"),
        ({"region": "999999"}, "region", "region_unknown"),
        ({"category": "天气"}, "category", "category_unknown"),
        ({"kind": "rant"}, "kind", "kind_invalid"),
        ({"channel": "fax"}, "channel", "channel_invalid"),
    ],
)
def test_bad_filters_are_refused(client, desk, params, field, code):
    client.force_login(desk.desk_clerk)
    response = client.get(API, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert list(error["fields"]) == [field]
    page = client.get(PAGE, params)
    assert page.status_code == 400
    html = page.content.decode()
    assert 'id="filter-errors"' in html
    assert f'aria-describedby="e-{field}"' in html
    assert 'class="stat-figure"' not in html


def test_refusal_messages_are_clear(client, desk):
    body = api_get(client, desk.desk_clerk, date_from="2025-03-10", date_to="2025-03-01").json()
    assert body["error"]["message"] == "The end date is before the start date."
    body = api_get(client, desk.desk_clerk, date_from="yesterday").json()
    assert body["error"]["fields"] == {
        "date_from": ["Enter the date as YYYY-MM-DD, for example 2025-03-01."]
    }


# ---------------------------------------------------------------- periods


def test_weekly_series_starts_on_mondays_and_counts_closings_by_their_date(client, desk):
    # t9, received in February and closed on 2 March, is not among the tickets counted.
    series = api_get(client, desk.desk_clerk, **MARCH, period="week").json()["series"]
    assert series == {
        "period": "week",
        "points": [
            {"start": "2025-02-24", "received": 0, "closed": 0},
            {"start": "2025-03-03", "received": 2, "closed": 1},
            {"start": "2025-03-10", "received": 2, "closed": 1},
            {"start": "2025-03-17", "received": 2, "closed": 1},
            {"start": "2025-03-24", "received": 1, "closed": 0},
            {"start": "2025-03-31", "received": 1, "closed": 0},
        ],
    }


def test_daily_and_monthly_series(client, desk):
    daily = api_get(client, desk.desk_clerk, **MARCH, period="day").json()["series"]["points"]
    assert len(daily) == 31
    assert daily[0] == {"start": "2025-03-01", "received": 0, "closed": 0}
    assert daily[1] == {"start": "2025-03-02", "received": 0, "closed": 0}
    assert daily[4] == {"start": "2025-03-05", "received": 0, "closed": 1}
    assert daily[2] == {"start": "2025-03-03", "received": 1, "closed": 0}
    assert daily[30] == {"start": "2025-03-31", "received": 1, "closed": 0}
    assert sum(p["received"] for p in daily) == 8
    monthly = api_get(
        client, desk.desk_clerk, date_from="2025-02-15", date_to="2025-04-15", period="month"
    ).json()["series"]["points"]
    assert monthly == [
        {"start": "2025-02-01", "received": 1, "closed": 0},
        {"start": "2025-03-01", "received": 8, "closed": 4},
        {"start": "2025-04-01", "received": 1, "closed": 0},
    ]


def test_automatic_period_follows_the_range_length(client, desk):
    def period(**params):
        return api_get(client, desk.desk_clerk, **params).json()["series"]["period"]

    assert period(**MARCH) == "day"
    assert period(date_from="2025-01-01", date_to="2025-06-30") == "week"
    assert period(date_from="2024-01-01", date_to="2025-06-30") == "month"


# ---------------------------------------------------------------- who sees what


def test_department_member_sees_only_their_departments_tickets(client, desk):
    body = api_get(client, desk.zj_clerk, **MARCH).json()
    assert body["scope"] == "own_departments"
    assert body["totals"]["received"] == 3
    assert [r["key"] for r in body["by_department"]] == ["330100-zhujian"]
    assert [(r["key"], r["count"]) for r in body["by_city"]] == [("330100", 3)]
    assert body["timeliness"]["signed"] == 3
    assert body["satisfaction"]["rated"] == 2
    everything = str(body)
    for other in ("330200-shengtai", "330106-jiaotong", "宁波市", "交通运输"):
        assert other not in everything
    # The closings of other departments are not counted either.
    weekly = api_get(client, desk.zj_clerk, **MARCH, period="week").json()["series"]["points"]
    assert [p["closed"] for p in weekly] == [0, 1, 1, 0, 0, 0]


def test_department_member_cannot_ask_for_another_department(client, desk):
    response = api_get(client, desk.zj_clerk, department="330200-shengtai")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "department_unknown"
    page = client.get(PAGE, {"department": "330200-shengtai"})
    assert page.status_code == 400
    assert "宁波市生态环境局" not in page.content.decode()


def test_member_page_offers_only_their_departments(client, desk):
    client.force_login(desk.zj_clerk)
    html = client.get(PAGE, MARCH).content.decode()
    options = re.findall(r'<option value="([^"]*-[a-z]+)"', html)
    assert options == ["330100-zhujian"]
    assert "宁波市生态环境局" not in html


def test_desk_and_superuser_see_everything(client, desk):
    superuser = StaffFactory(is_superuser=True)
    for user in (desk.desk_clerk, superuser):
        body = api_get(client, user, **MARCH).json()
        assert body["scope"] == "all"
        assert body["totals"]["received"] == 8


def test_citizen_and_staff_without_department_are_refused(client, desk):
    for user in (desk.citizen, StaffFactory()):
        client.force_login(user)
        response = client.get(API, MARCH)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
        assert "received" not in response.content.decode()
        page = client.get(PAGE, MARCH)
        assert page.status_code == 403
        assert "stat-figure" not in page.content.decode()


def test_anonymous_is_sent_to_login_and_refused_by_the_api(client, desk):
    page = client.get(PAGE)
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("accounts:login"))
    response = client.get(API)
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_urls_are_named():
    assert reverse("complaints:stats") == PAGE
    assert reverse("api:ticket-stats") == API


# ---------------------------------------------------------------- the page


def test_page_shows_figures_charts_and_tables(client, desk):
    client.force_login(desk.desk_clerk)
    response = client.get(PAGE, {**MARCH, "period": "week"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script" not in html and "style=" not in html
    figures = re.findall(r'<span class="stat-figure">([^<]+)</span>', html)
    assert figures[:5] == ["8", "4", "3", "2", "1"]
    assert "80.0%" in figures and "75.0%" in figures and "3.67" in figures
    charts = re.findall(r'<svg role="img" aria-labelledby="([^"]+)"', html)
    assert charts == [
        "chart-series-title",
        "chart-department-title",
        "chart-category-title",
        "chart-city-title",
        "chart-region-title",
        "chart-kind-title",
        "chart-channel-title",
    ]
    for chart in charts:
        assert f'<title id="{chart}">' in html
    assert html.count('<table class="stack-table">') == 8  # series, top issues, 6 breakdowns
    assert html.count('<rect x="') == 6 + 4 + 4 + 2 + 4 + 5 + 4  # weeks + bars
    assert 'value="2025-03-01"' in html
    assert '<option value="week" selected>' in html


def test_page_csv_download(client, desk):
    client.force_login(desk.desk_clerk)
    response = client.get(PAGE, {**MARCH, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "ticket-stats-2025-03-01-2025-03-31.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["dimension", "key", "label", *stats.BREAKDOWN_COLUMNS]
    assert rows[1] == [
        "department",
        "330100-zhujian",
        "杭州市住房和城乡建设局",
        "3",
        "3",
        "1",
        "2",
        "1",
        "66.7",
        "50.0",
        "2",
        "3.5",
        "50.0",
        "50.0",
    ]
    assert len(rows) == 1 + 4 + 4 + 4 + 2 + 5 + 4


# ---------------------------------------------------------------- query counts


def add_tickets(desk: Desk, n: int) -> None:
    """More tickets spread over every department, region, category, kind and channel."""
    departments = [*desk.departments.values(), None]
    regions = list(desk.regions.values())
    categories = ["城乡建设", "环境保护", "交通运输", "教育文体", ""]
    states = list(Ticket.State.values)
    Ticket.objects.bulk_create(
        [
            Ticket(
                kind=Ticket.Kind.values[i % len(Ticket.Kind.values)],
                channel=Ticket.Channel.values[i % len(Ticket.Channel.values)],
                title=f"批量诉求{i}",
                content="内容",
                region=regions[i % len(regions)],
                department=departments[i % len(departments)],
                category=categories[i % len(categories)],
                state=states[i % len(states)],
                created_at=local(f"2025-03-{1 + i % 28:02d}"),
                closed_at=local(f"2025-03-{1 + i % 28:02d}", "18:00"),
                signed_on_time=[True, False, None][i % 3],
                answered_on_time=[None, True, False][i % 3],
                satisfaction=[None, 1, 2, 3, 4, 5][i % 6],
                node_due_date=dt.date(2025, 3, 1 + i % 28),
            )
            for i in range(n)
        ]
    )


@pytest.mark.parametrize("who", ["desk_clerk", "zj_clerk"])
def test_query_counts_do_not_grow_with_the_data(client, desk, django_assert_num_queries, who):
    user = getattr(desk, who)
    client.force_login(user)
    params = {**MARCH, "period": "week", "region": "330000", "department": "330100-zhujian"}
    # session, user, scope; the department and region looked up; on the page only, the
    # department and region choices and the staff roles its navigation asks; then which cells
    # may be read, and six for the figures (department × category, region, kind, channel, the
    # received and the closed series).
    page_queries, api_queries = 15, 12
    counts = []
    for extra in (0, 120):
        add_tickets(desk, extra)
        with django_assert_num_queries(page_queries):
            assert client.get(PAGE, params).status_code == 200
        with django_assert_num_queries(api_queries):
            assert client.get(API, params).status_code == 200
        with django_assert_num_queries(page_queries - 2):
            assert client.get(PAGE, MARCH).status_code == 200
        counts.append(client.get(API, MARCH).json()["totals"]["received"])
    assert counts[1] > counts[0]


def test_refused_filters_run_no_statistics(client, desk, django_assert_num_queries):
    client.force_login(desk.desk_clerk)
    # session, user, scope, department choices, regions, the navigation's staff roles
    with django_assert_num_queries(6):
        assert client.get(PAGE, {"kind": "rant"}).status_code == 400
    with django_assert_num_queries(3):
        assert client.get(API, {"kind": "rant"}).status_code == 400


def test_percentages_are_rounded_not_cut_off():
    from django.utils import translation

    from complaints.views.stats import average, percent

    with translation.override("en"):
        assert percent(round(4 / 11, 4)) == "36.4%"  # Django's number_format alone says 36.3
        assert percent(round(2 / 3, 4)) == "66.7%"
        assert percent(0.25) == "25.0%"
        assert percent(None) == "—"
        assert average(4.455) == "4.46"

"""The leaders' statistics read from the roll-ups give exactly what the tickets give.

Every comparison is ``ticket_stats(...)`` against ``ticket_stats(..., live=True)``, the same
definitions counted from the tickets alone: the public document, the totals' counts and every
breakdown row's counts. Tickets are made at random (states, timestamps, deadlines, ratings, every
dimension, local-midnight edges), rolled up with ``rebuild_ticket_stats``, then moved through the
services at random; the comparison holds while the moves' days are marked (counted live), once
they are counted again after the commit, and once the beat task has summed the weeks and months.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from complaints import rollups, stats, tasks
from complaints.models import (
    Ticket,
    TicketClosedCell,
    TicketStatsBucket,
    TicketStatsCell,
    TicketStatsChange,
)
from complaints.services import ticket_transition
from departments.models import Department, Region
from tests.factories import DepartmentFactory, MembershipFactory

PAGE = "/staff/tickets/stats/"
API = "/api/v1/tickets/stats/"
CATEGORIES = ["城乡建设", "环境保护", "交通运输", "教育文体", ""]
WEIRD_STATE = "archived"  # none of Ticket.State: never counted


@dataclass
class World:
    regions: dict[str, Region]
    departments: dict[str, Department]
    desk_clerk: object
    zj_clerk: object


@pytest.fixture
def world(db) -> World:
    province = Region.objects.create(code="330000", name="浙江省", level="province")
    hz = Region.objects.create(code="330100", name="杭州市", level="city", parent=province)
    xh = Region.objects.create(code="330106", name="西湖区", level="county", parent=hz)
    sc = Region.objects.create(code="330102", name="上城区", level="county", parent=hz)
    street = Region.objects.create(code="330106001", name="北山街道", level="street", parent=xh)
    nb = Region.objects.create(code="330200", name="宁波市", level="city", parent=province)
    bl = Region.objects.create(code="330206", name="北仑区", level="county", parent=nb)
    regions = {"province": province, "hz": hz, "xh": xh, "sc": sc, "street": street}
    regions |= {"nb": nb, "bl": bl}
    departments = {
        "desk": DepartmentFactory(code="330000-rexian", kind="rexian", region=province),
        "zj": DepartmentFactory(code="330100-zhujian", kind="zhujian", region=hz),
        "st": DepartmentFactory(code="330100-shengtai", kind="shengtai", region=hz),
        "jt": DepartmentFactory(code="330106-jiaotong", kind="jiaotong", region=xh),
        "nbzj": DepartmentFactory(code="330200-zhujian", kind="zhujian", region=nb),
    }
    desk_clerk = MembershipFactory(department=departments["desk"]).user
    zj_clerk = MembershipFactory(department=departments["zj"]).user
    return World(regions, departments, desk_clerk, zj_clerk)


def local(day: dt.date, seconds: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min)) + dt.timedelta(
        seconds=seconds
    )


def random_tickets(world: World, rng: random.Random, n: int, *, days: int = 80) -> None:
    """``n`` tickets received over the last ``days`` days (a few today, some on the stroke of
    local midnight), in every state, with every field the figures read set at random."""
    today = timezone.localdate()
    regions = [*world.regions.values(), None]
    departments = [d for k, d in world.departments.items() if k != "desk"] + [None]
    states = [*Ticket.State.values, WEIRD_STATE]
    tickets = []
    for i in range(n):
        day = today - dt.timedelta(days=0 if i % 9 == 0 else rng.randrange(days))
        seconds = rng.choice([0, 86399, rng.randrange(86400)])
        created = min(local(day, seconds), timezone.now())
        state = rng.choice(states)
        closed_at = None
        if state in (Ticket.State.CLOSED, Ticket.State.LINKED) or rng.random() < 0.05:
            closed_at = min(created + dt.timedelta(hours=rng.randrange(0, 24 * 25)), timezone.now())
        tickets.append(
            Ticket(
                kind=rng.choice(Ticket.Kind.values),
                channel=rng.choice(Ticket.Channel.values),
                title=f"随机诉求{i}",
                content="内容",
                region=rng.choice(regions),
                department=rng.choice(departments),
                category=rng.choice(CATEGORIES),
                state=state,
                created_at=created,
                closed_at=closed_at,
                node_due_date=rng.choice([None, today + dt.timedelta(days=rng.randint(-8, 8))]),
                signed_on_time=rng.choice([None, True, False]),
                answered_on_time=rng.choice([None, True, False]),
                satisfaction=rng.choice([None, 1, 2, 3, 4, 5]),
                dispatched_automatically=rng.random() < 0.5,
                return_count=rng.choice([0, 0, 1, 2]),
                reopen_count=rng.choice([0, 0, 0, 1]),
            )
        )
    Ticket.objects.bulk_create(tickets)


def filters_for(scope, **params) -> stats.StatsFilters:
    form = stats.TicketStatsFilterForm(params, scope=scope)
    assert form.is_valid(), form.errors
    return form.filters


def snapshot(result: stats.TicketStats) -> tuple:
    rows = {name: [row["_counts"] for row in getattr(result, name)] for name in result.BREAKDOWNS}
    return result.as_dict(), result.counts, rows


def views(world: World) -> list[tuple[object, dict]]:
    """(user, query) of every kind of view: ranges, periods, each filter, several at once."""
    today = timezone.localdate()
    long = {"date_from": (today - dt.timedelta(days=85)).isoformat(), "date_to": today.isoformat()}
    mid = {
        "date_from": (today - dt.timedelta(days=47)).isoformat(),
        "date_to": (today - dt.timedelta(days=9)).isoformat(),
    }
    ranges = [
        {},
        {**long, "period": "week"},
        {**long, "period": "month"},
        {**long, "period": "day"},
        {**mid, "period": "week"},
        {**mid, "period": "month"},
        {"date_from": (today - dt.timedelta(days=3)).isoformat(), "date_to": today.isoformat()},
        {
            "date_from": (today - dt.timedelta(days=20)).isoformat(),
            "date_to": (today + dt.timedelta(days=40)).isoformat(),
        },
    ]
    selections = [
        {},
        {"region": "330000"},
        {"region": "330100"},
        {"region": "330106"},
        {"department": "330100-zhujian"},
        {"category": "城乡建设"},
        {"kind": "complaint"},
        {"channel": "hotline"},
        {"region": "330100", "category": "环境保护"},
        {"kind": "report", "channel": "web", "region": "330100"},
        {
            "region": "330100",
            "department": "330100-zhujian",
            "category": "城乡建设",
            "kind": "complaint",
            "channel": "web",
        },
    ]
    chosen = [(world.desk_clerk, {**r, **s}) for r in ranges for s in selections]
    chosen += [(world.zj_clerk, {**r, **s}) for r in ranges for s in selections[:7]]
    return chosen


def assert_same_as_live(world: World, chosen=None) -> int:
    """Every view equal to its live count; the number of views compared."""
    compared = 0
    for user, params in chosen or views(world):
        scope = stats.stats_scope_for(user)
        form = stats.TicketStatsFilterForm(params, scope=scope)
        if not form.is_valid():  # a clerk's department filter outside their scope
            continue
        rolled = stats.ticket_stats(scope=scope, filters=form.filters)
        live = stats.ticket_stats(scope=scope, filters=form.filters, live=True)
        assert snapshot(rolled) == snapshot(live), (user, params)
        compared += 1
    return compared


def ticket_sql(queries) -> list[str]:
    return [q["sql"] for q in queries if '"complaints_ticket"' in q["sql"]]


# ---------------------------------------------------------------- equal to the live count


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rolled_up_figures_equal_the_live_count(world, seed):
    random_tickets(world, random.Random(seed), 260)
    call_command("rebuild_ticket_stats", stdout=io.StringIO())
    assert TicketStatsCell.objects.filter(dims=rollups.FULL).exists()
    assert not TicketStatsChange.objects.exists()
    assert assert_same_as_live(world) == 11 * 8 + 7 * 8


def test_past_views_read_only_cells(world, django_assert_max_num_queries):
    """Once rolled up, a range that ends before today touches no ticket; the weeks and months
    are read instead of their days."""
    random_tickets(world, random.Random(7), 200)
    call_command("rebuild_ticket_stats", stdout=io.StringIO())
    scope = stats.stats_scope_for(world.desk_clerk)
    today = timezone.localdate()
    filters = filters_for(
        scope,
        date_from=(today - dt.timedelta(days=80)).isoformat(),
        date_to=(today - dt.timedelta(days=1)).isoformat(),
        period="week",
    )
    with CaptureQueriesContext(connection) as ctx:
        stats.ticket_stats(scope=scope, filters=filters)
    assert ticket_sql(ctx.captured_queries) == []
    assert any("'week'" in q["sql"] or "'month'" in q["sql"] for q in ctx.captured_queries)


def test_cells_are_the_sums_of_the_full_day_cells(world):
    random_tickets(world, random.Random(11), 150)
    rollups.ticket_stats_rebuild()
    full = TicketStatsCell.objects.filter(level="day", dims=rollups.FULL)
    total = sum(full.values_list("received", flat=True))
    assert total == Ticket.objects.filter(state__in=Ticket.State.values).count()
    for dims in rollups.RECEIVED_CUBOIDS:
        day = TicketStatsCell.objects.filter(level="day", dims=dims)
        assert sum(day.values_list("received", flat=True)) == total, dims
    closed = TicketClosedCell.objects.filter(level="day", dims=rollups.FULL)
    assert (
        sum(closed.values_list("closed", flat=True))
        == Ticket.objects.filter(state=Ticket.State.CLOSED, closed_at__isnull=False).count()
    )


# ---------------------------------------------------------------- moves


def random_moves(desk, rng: random.Random, tickets: list[Ticket], n: int) -> int:
    """``n`` random moves through ``ticket_transition``, each as whoever may make it; refused
    ones are skipped. The number made."""
    departments = list(desk.departments.values())
    made = 0
    for _move in range(n):
        ticket = Ticket.objects.get(pk=rng.choice(tickets).pk)
        state = ticket.state
        lead = next((k for k, d in desk.departments.items() if d.pk == ticket.department_id), None)
        if state in (Ticket.State.RECEIVED, Ticket.State.QUEUED):
            if rng.random() < 0.2:
                others = [t for t in tickets if t.pk != ticket.pk]
                args = {"actor": desk.dispatcher, "action": "link", "target": rng.choice(others)}
            else:
                args = {
                    "actor": desk.dispatcher,
                    "action": "dispatch",
                    "department": rng.choice(departments),
                }
        elif state == Ticket.State.DISPATCHED and lead:
            if rng.random() < 0.3:
                args = {"actor": desk.clerks[lead], "action": "return", "note": "不归我们管"}
            else:
                args = {"actor": desk.clerks[lead], "action": "sign"}
        elif state == Ticket.State.HANDLING and lead:
            args = {"actor": desk.clerks[lead], "action": "answer", "note": "已处理"}
        elif state == Ticket.State.ANSWERED:
            args = {
                "actor": desk.operator,
                "action": "callback",
                "note": "已回访",
                "satisfaction": rng.choice([None, 1, 2, 4, 5]),
            }
        elif state == Ticket.State.CALLED_BACK:
            if rng.random() < 0.5:
                args = {"actor": desk.supervisor, "action": "close", "note": "联系不上"}
            else:
                args = {"actor": desk.citizen, "action": "rate", "satisfaction": rng.randint(1, 5)}
        else:
            continue
        try:
            ticket_transition(ticket=ticket, **args)
        except Exception as error:  # a refusal: nothing moved
            if type(error).__name__ not in ("Refused", "Conflict", "Forbidden"):
                raise
            continue
        made += 1
    return made


def desk_views(desk) -> list[tuple[object, dict]]:
    today = timezone.localdate()
    long = {"date_from": (today - dt.timedelta(days=60)).isoformat(), "date_to": today.isoformat()}
    return [
        (desk.supervisor, {}),
        (desk.supervisor, {**long, "period": "week"}),
        (desk.supervisor, {**long, "period": "month"}),
        (desk.supervisor, {**long, "category": "城乡建设"}),
        (desk.supervisor, {**long, "region": "330100", "kind": "complaint"}),
        (desk.supervisor, {**long, "department": "330100-shengtai"}),
        (desk.clerks["zhujian"], {**long, "period": "week"}),
    ]


def received_over_days(desk, n: int) -> list[Ticket]:
    """``n`` tickets through intake, then moved back in time (received over the last 40 days),
    as a bulk load would leave them: ``rebuild_ticket_stats`` rolls them up."""
    today = timezone.localdate()
    tickets = [
        desk.ticket(title=f"诉求{i}", content=f"第{i}号诉求的内容，路灯不亮。") for i in range(n)
    ]
    for i, ticket in enumerate(tickets):
        back = dt.timedelta(days=(i * 7) % 40, hours=i % 5)
        Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - back)
    TicketStatsChange.objects.all().delete()
    rollups.ticket_stats_rebuild(since=today - dt.timedelta(days=70))
    return list(Ticket.objects.filter(pk__in=[t.pk for t in tickets]))


def test_moves_keep_the_figures_equal_to_the_live_count(desk, django_capture_on_commit_callbacks):
    rng = random.Random(5)
    tickets = received_over_days(desk, 30)
    chosen = desk_views(desk)
    assert_same_as_live(desk, chosen)
    for _round in range(4):
        # the moves' days are marked, and counted live until they are counted again
        assert random_moves(desk, rng, tickets, 25)
        marked = set(TicketStatsChange.objects.values_list("day", flat=True))
        assert marked
        assert_same_as_live(desk, chosen)
        # after the commit: those days counted again, the marks gone
        with django_capture_on_commit_callbacks(execute=True):
            random_moves(desk, rng, tickets, 10)
        assert not TicketStatsChange.objects.exists()
        fresh = TicketStatsBucket.objects.filter(level="day", start__in=marked, fresh=True)
        assert fresh.count() == len(marked)
        assert_same_as_live(desk, chosen)
        # the beat task: the weeks and months summed again
        tasks.ticket_stats_refresh()
        assert_same_as_live(desk, chosen)


def test_a_move_today_changes_tomorrows_view_too(
    desk, monkeypatch, django_capture_on_commit_callbacks
):
    tickets = received_over_days(desk, 6)
    ticket = tickets[1]  # received a week ago
    received = timezone.localdate(ticket.created_at)
    assert received < timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_transition(
            actor=desk.dispatcher,
            ticket=ticket,
            action="dispatch",
            department=desk.departments["zhujian"],
        )
        ticket_transition(actor=desk.clerks["zhujian"], ticket=ticket, action="sign")
    # the day is counted again: read from its cells, no marks left
    assert not TicketStatsChange.objects.exists()
    moved = Ticket.objects.get(pk=ticket.pk)
    assert moved.state == Ticket.State.HANDLING and moved.node_due_date is not None

    real_now = timezone.now

    def tomorrow_after_due() -> dt.datetime:
        return real_now() + dt.timedelta(days=(moved.node_due_date - received).days + 2)

    monkeypatch.setattr(timezone, "now", tomorrow_after_due)
    later = timezone.localdate()
    scope = stats.stats_scope_for(desk.supervisor)
    filters = filters_for(
        scope,
        date_from=(later - dt.timedelta(days=60)).isoformat(),
        date_to=later.isoformat(),
        department="330100-zhujian",
    )
    # the ticket's day was counted before it fell due: counted live until the beat task ran
    assert received not in stats._plan(filters, later, live=False).days
    result = stats.ticket_stats(scope=scope, filters=filters)
    # received, dispatched and signed for: handling, and overdue by now, that later day
    assert result.totals["received"] == 1
    assert result.totals["open"] == 1
    assert result.totals["overdue"] == 1
    assert result.timeliness["signed"] == 1
    live = stats.ticket_stats(scope=scope, filters=filters, live=True)
    assert snapshot(result) == snapshot(live)
    # the beat task of that day moves the overdue figure to it: read from the cells again
    tasks.ticket_stats_refresh()
    assert set(TicketStatsBucket.objects.filter(level="day").values_list("as_of", flat=True)) == {
        later
    }
    assert received in stats._plan(filters, later, live=False).days
    day_cells = TicketStatsCell.objects.filter(level="day", start=received, dims=rollups.FULL)
    assert sum(day_cells.values_list("overdue", flat=True)) == 1
    assert snapshot(stats.ticket_stats(scope=scope, filters=filters)) == snapshot(live)


def test_a_day_never_rolled_up_is_counted_live(world):
    random_tickets(world, random.Random(3), 120)
    rollups.ticket_stats_rebuild()
    # written around the services after the rebuild, on a day with no cells yet
    today = timezone.localdate()
    TicketStatsBucket.objects.filter(level="day", start=today - dt.timedelta(days=2)).delete()
    assert_same_as_live(world, [(world.desk_clerk, {}), (world.zj_clerk, {"period": "week"})])


# ---------------------------------------------------------------- the command and the task


def test_rebuild_command_prints_what_it_counted(world):
    random_tickets(world, random.Random(9), 50)
    out = io.StringIO()
    call_command("rebuild_ticket_stats", "--since", "2024-01-15", stdout=out)
    text = out.getvalue()
    assert "2024-01-01" in text and "days" in text and "weeks" in text and "months" in text
    months = TicketStatsBucket.objects.filter(level="month", fresh=True)
    assert months.filter(start=dt.date(2024, 1, 1)).exists()


def test_rebuild_command_refuses_a_bad_date(world):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("rebuild_ticket_stats", "--since", "2024-13-01", stdout=io.StringIO())


def test_beat_task_counts_marked_days_yesterday_today_and_the_stale_weeks(world, settings):
    random_tickets(world, random.Random(4), 80)
    rollups.ticket_stats_rebuild()
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    TicketStatsChange.objects.create(day=yesterday - dt.timedelta(days=10))
    done = tasks.ticket_stats_refresh()
    assert done["days"] >= 3
    assert not TicketStatsChange.objects.exists()
    assert "ticket-stats" in settings.CELERY_BEAT_SCHEDULE
    entry = settings.CELERY_BEAT_SCHEDULE["ticket-stats"]
    assert entry["task"] == "complaints.ticket_stats_refresh"
    assert_same_as_live(world, [(world.desk_clerk, {"period": "week"})])


# ---------------------------------------------------------------- query counts


def page_and_api_counts(client, user, params) -> tuple[int, int]:
    client.force_login(user)
    counts = []
    for path in (PAGE, API):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path, params).status_code == 200
        counts.append(len(ctx.captured_queries))
    return counts[0], counts[1]


@pytest.mark.parametrize(
    ("who", "query", "page", "api"),
    [
        # session, user, scope; on the page the department and region choices and the
        # navigation's roles; which cells may be read; six for the figures.
        ("desk_clerk", {}, 13, 10),
        ("desk_clerk", {"period": "month", "date_from": "-365"}, 13, 10),
        ("desk_clerk", {"period": "week", "date_from": "-730"}, 13, 10),
        # and the region looked up
        ("desk_clerk", {"region": "330100", "category": "城乡建设"}, 14, 11),
        ("zj_clerk", {}, 13, 10),
        ("zj_clerk", {"period": "month", "date_from": "-365"}, 13, 10),
    ],
)
def test_query_counts_do_not_grow_with_the_tickets(
    client, world, django_assert_num_queries, who, query, page, api
):
    user = getattr(world, who)
    if "date_from" in query:
        days = int(query["date_from"])
        query = {**query, "date_from": (timezone.localdate() + dt.timedelta(days=days)).isoformat()}
    rng = random.Random(2)
    for size in (20, 300):
        random_tickets(world, rng, size, days=700)
        rollups.ticket_stats_rebuild()
        client.force_login(user)
        with django_assert_num_queries(page):
            assert client.get(PAGE, query).status_code == 200
        with django_assert_num_queries(api):
            assert client.get(API, query).status_code == 200
        # with days marked changed (counted live), still as many
        TicketStatsChange.objects.create(day=timezone.localdate())
        TicketStatsChange.objects.create(day=timezone.localdate() - dt.timedelta(days=3))
        with django_assert_num_queries(page):
            assert client.get(PAGE, query).status_code == 200
        TicketStatsChange.objects.all().delete()


# ---------------------------------------------------------------- downloads


def download(client, user, **params):
    client.force_login(user)
    return client.get(PAGE, params)


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("table", stats.TicketStats.TABLES)
def test_every_table_downloads_as_csv_and_json(client, world, table):
    random_tickets(world, random.Random(8), 120)
    rollups.ticket_stats_rebuild()
    client.force_login(world.desk_clerk)
    api = client.get(API, {"period": "week"}).json()
    as_json = download(client, world.desk_clerk, period="week", format="json", table=table)
    assert as_json.status_code == 200
    assert as_json["Content-Type"] == "application/json"
    assert f"ticket-stats-{table}-" in as_json["Content-Disposition"]
    body = json.loads(as_json.content)
    keys = ("totals", "timeliness", "satisfaction") if table == "totals" else (table,)
    assert body == {"filters": api["filters"], "scope": "all", **{k: api[k] for k in keys}}
    as_csv = download(client, world.desk_clerk, period="week", format="csv", table=table)
    assert as_csv.status_code == 200
    assert as_csv["Content-Type"] == "text/csv; charset=utf-8"
    assert f"ticket-stats-{table}-" in as_csv["Content-Disposition"]
    rows = csv_rows(as_csv)
    if table == "totals":
        figures = dict(rows[1:])
        assert rows[0] == ["figure", "value"]
        assert figures["senders"] == str(api["totals"]["senders"])
        assert figures["matters"] == str(api["totals"]["matters"])
        assert "signed_on_time_percent" in figures and "satisfaction_average" in figures
    elif table == "series":
        assert rows[0] == ["start", "received", "closed"]
        assert rows[1:] == [
            [p["start"], str(p["received"]), str(p["closed"])] for p in api["series"]["points"]
        ]
    elif table == "top_issues":
        assert rows[0][0] == "section"
        top = [r for r in rows[1:] if r[0] == "top"]
        assert [(r[3], int(r[4])) for r in top] == [
            (c["category"], c["count"]) for c in api["top_issues"]["categories"]
        ]
    else:
        assert rows[0] == ["key", "label", *stats.BREAKDOWN_COLUMNS]
        assert [(r[0], int(r[2]), int(r[3])) for r in rows[1:]] == [
            (row["key"] or "", row["senders"], row["matters"]) for row in api[table]
        ]


def test_json_without_a_table_is_the_apis_document(client, world):
    random_tickets(world, random.Random(12), 60)
    rollups.ticket_stats_rebuild()
    client.force_login(world.desk_clerk)
    api = client.get(API, {"period": "month"}).json()
    page = client.get(PAGE, {"period": "month", "format": "json"})
    assert page.status_code == 200
    assert json.loads(page.content) == api


def test_the_page_links_every_download(client, world):
    client.force_login(world.desk_clerk)
    html = client.get(PAGE, {"region": "330100"}).content.decode()
    for table in stats.TicketStats.TABLES:
        assert f"region=330100&amp;format=csv&amp;table={table}" in html
        assert f"region=330100&amp;format=json&amp;table={table}" in html


def refusal(english: str, params: dict) -> str:
    """The whole message, in the active language."""
    if english.startswith("Choose"):
        return _("Choose the format csv or json (format=csv or format=json).")
    if english.startswith("There"):
        return _("There is no table “%(table)s”. Choose one of: %(tables)s.") % {
            "table": params["table"],
            "tables": ", ".join(stats.TicketStats.TABLES),
        }
    return _("A table is downloaded as CSV or JSON: add format=csv or format=json.")


@pytest.mark.parametrize(
    ("params", "english"),
    [
        ({"format": "xml"}, "Choose the format csv or json"),
        ({"format": "csv", "table": "nope"}, "There is no table “nope”"),
        ({"format": "json", "table": ""}, "There is no table “”"),
        ({"table": "series"}, "A table is downloaded as CSV or JSON"),
    ],
)
def test_bad_downloads_are_refused_with_a_clear_message(client, world, params, english):
    client.force_login(world.desk_clerk)
    response = client.get(PAGE, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    # Chinese by default: the message as the Chinese catalog has it, and nothing else
    assert response["Content-Language"] == "zh-hans"
    with translation.override("zh-hans"):
        assert response.content.decode() == refusal(english, params)
    client.cookies["zhb_lang"] = "en"
    response = client.get(PAGE, params)
    assert response.status_code == 400
    assert response["Content-Language"] == "en"
    assert response.content.decode().startswith(english)
    with translation.override("en"):
        assert response.content.decode() == refusal(english, params)


def test_downloads_stay_in_the_clerks_scope(client, world):
    random_tickets(world, random.Random(6), 100)
    rollups.ticket_stats_rebuild()
    response = download(client, world.zj_clerk, format="csv", table="by_department")
    keys = {row[0] for row in csv_rows(response)[1:]}
    assert keys <= {"330100-zhujian"}
    body = download(client, world.zj_clerk, format="json", table="top_issues").json()
    assert body["scope"] == "own_departments"
    assert {e["key"] for e in body["top_issues"]["by_department"]} <= {"330100-zhujian"}


# ---------------------------------------------------------------- rounding and matters


def test_four_of_eleven_is_36_4_percent_everywhere(client, world):
    today = timezone.localdate()
    for i in range(11):
        Ticket.objects.create(
            kind="complaint",
            channel="web",
            title="诉求",
            content="内容",
            state=Ticket.State.HANDLING,
            department=world.departments["zj"],
            created_at=local(today, 3600 + i),
            signed_on_time=i < 4,
        )
    rollups.ticket_stats_rebuild()
    client.force_login(world.desk_clerk)
    client.cookies["zhb_lang"] = "en"
    html = client.get(PAGE).content.decode()
    assert "36.4%" in html and "36.3%" not in html
    totals = dict(csv_rows(client.get(PAGE, {"format": "csv", "table": "totals"}))[1:])
    assert totals["signed_on_time_percent"] == "36.4"
    rows = csv_rows(client.get(PAGE, {"format": "csv", "table": "by_department"}))
    assert rows[1][rows[0].index("signed_on_time_percent")] == "36.4"
    legacy = csv_rows(client.get(PAGE, {"format": "csv"}))
    assert legacy[1][legacy[0].index("signed_on_time_percent")] == "36.4"
    assert client.get(API).json()["timeliness"]["signed_on_time_rate"] == 0.3636


def test_percentages_round_from_the_counts_not_from_a_rounded_share():
    # 36.4497 %: the share rounded to four decimals first (0.3645) would read 36.5
    assert stats.percent(364497, 1_000_000) == stats.Decimal("36.4")
    assert stats.rate(364497, 1_000_000) == 0.3645
    assert stats.percent(4, 11) == stats.Decimal("36.4")
    assert stats.percent(1, 16) == stats.Decimal("6.3")  # 6.25: half up
    assert stats.rate(1, 32) == 0.0313  # 0.03125: half up
    assert stats.percent(1, 0) is None and stats.rate(0, 0) is None


def test_matters_count_a_linked_matter_once_and_senders_all(client, world):
    today = timezone.localdate()
    first = Ticket.objects.create(
        kind="complaint", channel="web", title="路灯不亮", content="内容",
        department=world.departments["zj"], state=Ticket.State.HANDLING,
        created_at=local(today, 3600),
    )  # fmt: skip
    for i in range(3):
        Ticket.objects.create(
            kind="complaint", channel="hotline", title="路灯不亮", content="内容",
            state=Ticket.State.LINKED, duplicate_of=first, created_at=local(today, 7200 + i),
        )  # fmt: skip
    rollups.ticket_stats_rebuild()
    client.force_login(world.desk_clerk)
    body = client.get(API).json()
    assert (body["totals"]["senders"], body["totals"]["matters"]) == (4, 1)
    channels = {row["key"]: (row["senders"], row["matters"]) for row in body["by_channel"]}
    assert channels == {"web": (1, 1), "hotline": (3, 0)}
    client.cookies["zhb_lang"] = "en"
    html = client.get(PAGE).content.decode()
    assert "Senders: all tickets received" in html
    assert "Matters: linked duplicates counted once" in html

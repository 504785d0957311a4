"""The worklist that flies: applicant column, exact search (logged, masked), overdue and due-today
marks, filters kept across moves, the next task after a move, batch claim and sign; and another
department's staff finding, opening or moving nothing through any of it."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import MembershipFactory, UserFactory, make_id_number
from workflows import selectors, services
from workflows.models import StaffSearch, Task
from zheliban.core.identity import mask_middle

from .conftest import OUTPUTS
from .fixtures import english_client, pages_in_english, task_snapshot  # noqa: F401

pytestmark = pytest.mark.django_db

WORKLIST = "/staff/tasks/"
BATCH = "/staff/tasks/batch/"
NO_SUCH_TASK = "No such task in your worklist."
CITIZENS = itertools.count()


def ready_tasks(scenario, n: int, *, prefix: str = "w") -> list[Task]:
    """``n`` cases filed by ``n`` citizens: each leaves a ready 卫健 task (birth_certificate)."""
    tasks = []
    for _ in range(n):
        i = next(CITIZENS)
        citizen = UserFactory(
            real_name=f"王{i}明", id_number=make_id_number(100 + i, "19850505"), phone=None
        )
        scenario.citizen, original = citizen, scenario.citizen
        try:
            app = scenario.submit(key=f"{prefix}-{i}")
        finally:
            scenario.citizen = original
        tasks.append(app.tasks.get(step="birth_certificate"))
    return tasks


def snapshot_all(tasks) -> list[dict]:
    return [task_snapshot(t) for t in tasks]


def rows_of(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-task="(\d+)"', page)]


# ---------------------------------------------------------------- search


@pytest.fixture
def case(scenario):
    scenario.citizen.phone = "13912345678"
    scenario.citizen.save()
    app = scenario.submit(key="search-1")
    return app, app.tasks.get(step="birth_certificate")


@pytest.mark.parametrize("kind", ["reference", "id_number", "mobile", "name"])
def test_search_finds_the_case_by_each_key_and_logs_it_masked(client, scenario, case, kind):
    app, task = case
    citizen = scenario.citizen
    other = ready_tasks(scenario, 2)  # other applicants' tasks, never found
    query = {
        "reference": app.reference.lower(),
        "id_number": citizen.id_number,
        "mobile": citizen.phone,
        "name": citizen.real_name,
    }[kind]
    client.force_login(scenario.clerks["weijian"])
    page = client.get(WORKLIST, {"q": query}).content.decode()
    assert rows_of(page) == [task.pk]
    assert all(f'data-task="{t.pk}"' not in page for t in other)
    (logged,) = StaffSearch.objects.all()
    assert (logged.user, logged.where, logged.kind, logged.found) == (
        scenario.clerks["weijian"],
        "worklist",
        kind,
        1,
    )
    assert (
        logged.query_masked
        == {
            "reference": app.reference,
            "id_number": mask_middle(citizen.id_number),
            "mobile": "139****5678",
            "name": "张**",
        }[kind]
    )
    assert citizen.id_number not in logged.query_masked and "12345678" not in logged.query_masked


def test_search_matches_exactly_and_finds_finished_tasks_unless_a_state_is_chosen(
    client, scenario, case
):
    app, task = case
    scenario.act(
        app,
        "birth_certificate",
        "claim",
        "accept",
        "complete",
        outputs=OUTPUTS["birth_certificate"],
    )
    client.force_login(scenario.clerks["weijian"])
    assert rows_of(client.get(WORKLIST, {"q": "张小"}).content.decode()) == []
    assert rows_of(client.get(WORKLIST, {"q": "张小明"}).content.decode()) == [task.pk]
    assert rows_of(client.get(WORKLIST, {"q": "张小明", "state": "ready"}).content.decode()) == []


def wrong_check_digit(id_number: str) -> str:
    return id_number[:17] + ("1" if id_number[17] != "1" else "2")


@pytest.mark.parametrize(
    "query, says",
    [
        (wrong_check_digit(make_id_number(901, "19920304")), "check digit"),
        ("33010619921304901X", "birth date"),
        ("12345", "is not a valid search"),
        ("23912345678", "is not a valid search"),
    ],
)
def test_a_number_that_is_no_key_is_refused_clearly_and_nothing_is_listed(
    client, scenario, case, query, says
):
    client.force_login(scenario.clerks["weijian"])
    response = client.get(WORKLIST, {"q": query})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="q-error"' in page and says in page
    assert rows_of(page) == []
    assert not StaffSearch.objects.exists()


def test_search_kinds_are_told_apart():
    id_number = make_id_number(7, "19900101")
    assert selectors.search_key_of(" zb20261208abcdef12 ") == ("reference", "ZB20261208ABCDEF12")
    assert selectors.search_key_of(id_number.lower()) == ("id_number", id_number.upper())
    assert selectors.search_key_of("139 1234 5678") == ("mobile", "13912345678")
    assert selectors.search_key_of("  欧阳  娜娜 ") == ("name", "欧阳 娜娜")
    assert selectors.search_key_of("") is None


# ---------------------------------------------------------------- rows


def test_rows_show_the_applicant_masked_and_mark_overdue_and_due_today(client, scenario, case):
    _app, task = case
    late, today = ready_tasks(scenario, 2)
    now = timezone.localdate()
    Task.objects.filter(pk=late.pk).update(due_date=now - dt.timedelta(days=2))
    Task.objects.filter(pk=today.pk).update(due_date=now)
    Task.objects.filter(pk=task.pk).update(due_date=now + dt.timedelta(days=3))
    client.force_login(scenario.clerks["weijian"])
    page = client.get(WORKLIST).content.decode()
    citizen = scenario.citizen
    assert f"张** · {mask_middle(citizen.id_number)}" in page
    assert citizen.id_number not in page and citizen.phone not in page
    assert rows_of(page) == [late.pk, today.pk, task.pk]
    row = {pk: page[page.index(f'data-task="{pk}"') :].split("</tr>")[0] for pk in rows_of(page)}
    assert 'class="overdue" data-mark="overdue"' in row[late.pk] and "Overdue" in row[late.pk]
    assert 'data-mark="due-today"' in row[today.pk] and "Due today" in row[today.pk]
    assert "data-mark" not in row[task.pk]
    # Each row's checkbox has a label naming the case.
    assert f'<label for="pick-{task.pk}" class="visually-hidden">Select {_app.reference}' in page


# ---------------------------------------------------------------- filters kept, next task


def test_filters_and_sort_are_kept_across_moves_and_the_next_task_opens(client, scenario):
    first, second, third = ready_tasks(scenario, 3)
    clerk = scenario.clerks["weijian"]
    client.force_login(clerk)
    list_query = {"state": "ready", "sort": "received"}
    back = urlencode(list_query)
    page = client.get(WORKLIST, list_query).content.decode()
    assert rows_of(page) == [first.pk, second.pk, third.pk]
    link = f"/staff/tasks/{first.pk}/?{urlencode({'back': back})}"
    assert f'href="{link.replace("&", "&amp;")}"' in page

    task_page = client.get(link).content.decode()
    assert f'name="back" value="{back.replace("&", "&amp;")}"' in task_page
    assert f'href="{WORKLIST}?{back.replace("&", "&amp;")}"' in task_page  # back to the list
    assert 'id="next-task"' in task_page and f"/staff/tasks/{second.pk}/" in task_page

    # Claiming and accepting stay on the task, the list still carried.
    for action in ("claim", "accept"):
        first.refresh_from_db()
        response = client.post(
            f"/staff/tasks/{first.pk}/act/",
            {"action": action, "version": first.version, "back": back},
        )
        assert response.status_code == 302 and response["Location"] == link
    # Completing opens the next task of the same list.
    first.refresh_from_db()
    response = client.post(
        f"/staff/tasks/{first.pk}/act/",
        {
            "action": "complete",
            "version": first.version,
            "back": back,
            **{f"out_{k}": v for k, v in OUTPUTS["birth_certificate"].items()},
        },
    )
    assert response["Location"] == f"/staff/tasks/{second.pk}/?{urlencode({'back': back})}"
    first.refresh_from_db()
    assert first.state == "completed"

    # A task someone else holds is skipped; with none left, the list opens, filters kept.
    other = scenario.supervisors["weijian"]
    services.task_transition(actor=other, task_id=third.pk, action="claim")
    services.task_transition(actor=clerk, task_id=second.pk, action="claim")
    second.refresh_from_db()
    response = client.post(
        f"/staff/tasks/{second.pk}/act/",
        {"action": "release", "version": second.version, "back": back},
    )
    assert response["Location"] == f"{WORKLIST}?{back}"


def test_without_a_list_the_moves_behave_as_before(client, scenario):
    first, _second = ready_tasks(scenario, 2)
    client.force_login(scenario.clerks["weijian"])
    page = client.get(WORKLIST).content.decode()
    assert f'href="/staff/tasks/{first.pk}/"' in page  # the plain list adds nothing to links
    for action in ("claim", "accept"):
        first.refresh_from_db()
        client.post(f"/staff/tasks/{first.pk}/act/", {"action": action, "version": first.version})
    first.refresh_from_db()
    response = client.post(
        f"/staff/tasks/{first.pk}/act/",
        {
            "action": "complete",
            "version": first.version,
            **{f"out_{k}": v for k, v in OUTPUTS["birth_certificate"].items()},
        },
    )
    assert response["Location"] == WORKLIST


def test_a_forged_back_query_is_rewritten_not_followed(client, scenario):
    (task,) = ready_tasks(scenario, 1)
    client.force_login(scenario.clerks["weijian"])
    response = client.post(
        f"/staff/tasks/{task.pk}/act/",
        {"action": "claim", "version": task.version, "back": "sort=x&next=//evil.example/&q="},
    )
    location = urlsplit(response["Location"])
    assert (location.netloc, location.path) == ("", f"/staff/tasks/{task.pk}/")
    assert parse_qs(location.query) == {"back": ["sort=due"]}


# ---------------------------------------------------------------- batch


def test_batch_sign_claims_and_accepts_each_and_opens_the_first(client, scenario):
    tasks = ready_tasks(scenario, 3)
    client.force_login(scenario.clerks["weijian"])
    back = "sort=due"
    response = client.post(
        BATCH, {"batch": "sign", "tasks": [t.pk for t in tasks], "back": back}, follow=False
    )
    assert response["Location"] == f"/staff/tasks/{tasks[0].pk}/?{urlencode({'back': back})}"
    for task in tasks:
        task.refresh_from_db()
        assert (task.state, task.claimed_by) == ("accepted", scenario.clerks["weijian"])
        assert list(task.events.values_list("action", flat=True))[-2:] == ["claim", "accept"]


def test_batch_reports_each_refusal_and_leaves_those_rows_unchanged(client, scenario):
    mine, taken = ready_tasks(scenario, 2)
    colleague = scenario.supervisors["weijian"]
    services.task_transition(actor=colleague, task_id=taken.pk, action="claim")
    foreign = scenario.submit(key="foreign").tasks.get(step="birth_certificate")
    # a task of 公安 (another department), ready for its own clerk
    Task.objects.filter(pk=foreign.pk).update(department=scenario.departments["gongan"])
    before = {t.pk: task_snapshot(t) for t in (taken, foreign)}
    client.force_login(scenario.clerks["weijian"])
    response = client.post(
        BATCH,
        {"batch": "claim", "tasks": [mine.pk, taken.pk, foreign.pk, 999999], "back": "state=ready"},
        follow=True,
    )
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == f"{WORKLIST}?state=ready&sort=due"
    assert "Claimed 1 task." in page
    taken_ref = taken.application.reference
    assert f"{taken_ref}: " in page and "is working on this task" in page
    assert f"#{foreign.pk}: {NO_SUCH_TASK}" in page and f"#999999: {NO_SUCH_TASK}" in page
    assert foreign.application.reference not in page
    mine.refresh_from_db()
    assert mine.claimed_by == scenario.clerks["weijian"] and mine.state == "ready"
    assert {pk: task_snapshot(Task.objects.get(pk=pk)) for pk in before} == before


def test_batch_without_a_selection_changes_nothing(client, scenario):
    tasks = ready_tasks(scenario, 1)
    before = snapshot_all(tasks)
    client.force_login(scenario.clerks["weijian"])
    response = client.post(BATCH, {"batch": "sign", "back": ""}, follow=True)
    assert "Tick the tasks" in response.content.decode()
    assert snapshot_all(tasks) == before


# ---------------------------------------------------------------- another department


def test_another_departments_staff_find_open_and_move_nothing(client, scenario, case):
    app, task = case
    citizen = scenario.citizen
    outsider = scenario.clerks["gongan"]
    before = task_snapshot(task)
    client.force_login(outsider)
    for query in (app.reference, citizen.id_number, citizen.phone, citizen.real_name):
        page = client.get(WORKLIST, {"q": query}).content.decode()
        assert rows_of(page) == [] and f"/staff/tasks/{task.pk}/" not in page
    assert list(StaffSearch.objects.values_list("found", flat=True)) == [0, 0, 0, 0]
    assert client.get(f"/staff/tasks/{task.pk}/").status_code == 404
    assert client.get(f"/staff/tasks/{task.pk}/?back=sort%3Ddue").status_code == 404
    for batch in ("claim", "sign"):
        page = client.post(
            BATCH, {"batch": batch, "tasks": [task.pk], "back": ""}, follow=True
        ).content.decode()
        assert f"#{task.pk}: {NO_SUCH_TASK}" in page and app.reference not in page
    assert (
        client.post(
            f"/staff/tasks/{task.pk}/act/",
            {"action": "claim", "version": task.version, "back": "sort=due"},
        ).status_code
        == 404
    )
    home = client.get("/staff/").content.decode()
    assert app.reference not in home and f'data-task="{task.pk}"' not in home
    # The API
    api = Client(HTTP_ACCEPT_LANGUAGE="en")
    api.force_login(outsider)
    for query in (app.reference, citizen.id_number, citizen.phone, citizen.real_name):
        body = api.get("/api/v1/tasks/", {"q": query}).json()
        assert (body["count"], body["results"]) == (0, [])
    assert task_snapshot(task) == before


def test_admin_search_finds_by_applicant_within_scope_only(client, scenario, case):
    app, task = case
    citizen = scenario.citizen
    # 公安 has a (waiting) step in the case, so its staff see the case in the admin by design; a
    # department with no part in it sees nothing.
    clerk, outsider = scenario.clerks["weijian"], MembershipFactory(role="clerk").user
    client.force_login(clerk)
    for query in (citizen.id_number, citizen.phone, citizen.real_name):
        tasks = client.get("/admin/workflows/task/", {"q": query}).content.decode()
        assert f"/admin/workflows/task/{task.pk}/change/" in tasks
        apps = client.get("/admin/workflows/application/", {"q": query}).content.decode()
        assert f"/admin/workflows/application/{app.pk}/change/" in apps
    logged = list(StaffSearch.objects.filter(where="admin").values_list("kind", "found"))
    assert sorted(logged) == sorted(
        [("id_number", 1), ("id_number", 1), ("mobile", 1), ("mobile", 1), ("name", 1), ("name", 1)]
    )
    assert all(citizen.id_number not in s.query_masked for s in StaffSearch.objects.all())
    client.force_login(outsider)
    for query in (citizen.id_number, citizen.phone, citizen.real_name):
        tasks = client.get("/admin/workflows/task/", {"q": query}).content.decode()
        assert f"/admin/workflows/task/{task.pk}/change/" not in tasks
        apps = client.get("/admin/workflows/application/", {"q": query}).content.decode()
        assert f"/admin/workflows/application/{app.pk}/change/" not in apps


def test_the_api_lists_the_applicant_masked_and_searches_exactly(scenario, case):
    _app, task = case
    api = Client(HTTP_ACCEPT_LANGUAGE="en")
    api.force_login(scenario.clerks["weijian"])
    body = api.get("/api/v1/tasks/", {"q": scenario.citizen.id_number}).json()
    assert [r["id"] for r in body["results"]] == [task.pk]
    row = body["results"][0]
    assert row["applicant"] == f"张** · {mask_middle(scenario.citizen.id_number)}"
    assert (row["overdue"], row["due_today"]) == (False, False)
    bad = api.get("/api/v1/tasks/", {"q": wrong_check_digit(scenario.citizen.id_number)})
    assert bad.status_code == 400
    assert StaffSearch.objects.get().where == "api"


# ---------------------------------------------------------------- queries


def count_queries(client, url, data=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, data or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_worklist_and_its_search_run_fixed_queries(client, scenario, case):
    _app, task = case
    client.force_login(scenario.clerks["weijian"])
    id_search = {"q": scenario.citizen.id_number, "sort": "received"}
    name_search = {"q": scenario.citizen.real_name, "state": "ready"}
    back = urlencode({"back": "sort=step&state=ready"})
    ready_tasks(scenario, 2, prefix="small")
    small = [
        count_queries(client, WORKLIST),
        count_queries(client, WORKLIST, id_search),
        count_queries(client, WORKLIST, name_search),
        count_queries(client, WORKLIST, {"overdue": "1"}),
        count_queries(client, f"/staff/tasks/{task.pk}/?{back}"),
    ]
    ready_tasks(scenario, 25, prefix="large")
    large = [
        count_queries(client, WORKLIST),
        count_queries(client, WORKLIST, id_search),
        count_queries(client, WORKLIST, name_search),
        count_queries(client, WORKLIST, {"overdue": "1"}),
        count_queries(client, f"/staff/tasks/{task.pk}/?{back}"),
    ]
    assert small == large
    assert small[1] <= 13  # the list's budget, plus logging the search

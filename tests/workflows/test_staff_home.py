"""The staff home (/staff/): what needs a member of staff now, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from departments.models import Membership
from scoreboard import services as board_services
from scoreboard.models import Score, Snapshot
from tests.factories import MembershipFactory
from workflows import services
from workflows.models import Supervision, Task
from zheliban.core.models import Notice

from .fixtures import english_client, pages_in_english  # noqa: F401
from .test_worklist import ready_tasks

pytestmark = pytest.mark.django_db

HOME = "/staff/"


def section(page: str, name: str) -> str:
    start = page.index(f'id="{name}"')
    return page[start : page.index("</section>", start)]


def supervision(task: Task, *, department, issued_by=None, recipients=(), days=2) -> Supervision:
    sup = Supervision.objects.create(
        task=task,
        department=department,
        issued_by=issued_by,
        reason="逾期未办",
        reply_due=timezone.localdate() + dt.timedelta(days=days),
    )
    sup.recipients.set(recipients)
    return sup


def board_snapshot(departments, rank_change=-4) -> Snapshot:
    today = timezone.localdate()
    snapshot = Snapshot.objects.create(
        period=Snapshot.Period.MONTH,
        start=today.replace(day=1) - dt.timedelta(days=31),
        end=today.replace(day=1),
        weight_set=board_services.weights_current(),
        computed_at=timezone.now(),
    )
    for department in departments:
        Score.objects.create(
            snapshot=snapshot,
            department=department,
            region=department.region,
            level=department.region.level,
            rank=5,
            peers=9,
            rank_change=rank_change,
        )
    return snapshot


def build(scenario, n: int):
    clerk = scenario.clerks["weijian"]
    tasks = ready_tasks(scenario, n)
    today = timezone.localdate()
    held = tasks[0]
    services.task_transition(actor=clerk, task_id=held.pk, action="claim")
    Task.objects.filter(pk=tasks[1].pk).update(due_date=today)
    Task.objects.filter(pk=tasks[2].pk).update(due_date=today - dt.timedelta(days=3))
    return tasks


def test_the_home_shows_what_needs_the_clerk_now(client, scenario):
    clerk, supervisor = scenario.clerks["weijian"], scenario.supervisors["weijian"]
    tasks = build(scenario, 4)
    supervision(tasks[2], department=scenario.departments["weijian"], recipients=[clerk])
    issued = supervision(tasks[3], department=scenario.departments["weijian"], issued_by=clerk)
    Notice.objects.create(recipient=clerk, subject="a", body="b")
    Notice.objects.create(recipient=clerk, subject="c", body="d", read_at=timezone.now())
    board_snapshot([scenario.departments["weijian"], scenario.departments["gongan"]])
    client.force_login(clerk)
    response = client.get(HOME)
    assert response.status_code == 200
    page = response.content.decode()
    claimed = section(page, "claimed")
    assert f'data-task="{tasks[0].pk}"' in claimed and "Tasks you hold (1)" in claimed
    ready = section(page, "ready")
    assert "(3)" in ready and f'data-task="{tasks[0].pk}"' not in ready
    assert f'data-task="{tasks[1].pk}" class="due-today"' in section(page, "due-today")
    overdue = section(page, "overdue")
    assert f'data-task="{tasks[2].pk}" class="overdue"' in overdue and "(1)" in overdue
    assert "王" in claimed and "*" in claimed  # the applicant, masked
    awaiting = section(page, "supervisions-open")
    assert tasks[2].application.reference in awaiting and "Reply by" in awaiting
    assert f'data-supervision="{issued.pk}"' in section(page, "supervisions-issued")
    assert 'id="unread-notices">1 unread notice<' in page
    flags = section(page, "board-flags")
    assert scenario.departments["weijian"].name in flags and "Fell 4 places" in flags
    assert scenario.departments["gongan"].name not in flags  # not one of the clerk's
    assert 'href="/staff/"' in page  # the navigation links the home
    # The supervisor of the department answers the 督办 addressed to the department.
    supervisor_view = Supervision.objects.get(task=tasks[3])
    client.force_login(supervisor)
    page = client.get(HOME).content.decode()
    assert f'data-supervision="{supervisor_view.pk}"' in section(page, "supervisions-open")


def test_the_home_is_for_staff_only(client, scenario):
    client.force_login(scenario.citizen)
    assert client.get(HOME).status_code == 403
    admin = MembershipFactory(
        department=scenario.departments["weijian"], role=Membership.Role.ADMIN
    ).user
    client.force_login(admin)
    page = client.get(HOME)
    assert page.status_code == 200
    assert 'id="claimed"' not in page.content.decode()  # works on no tasks
    client.logout()
    assert client.get(HOME).status_code == 302


def count(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(HOME).status_code == 200
    return len(ctx.captured_queries)


def test_the_home_runs_fixed_queries(client, scenario):
    clerk = scenario.clerks["weijian"]
    board_snapshot([scenario.departments["weijian"]])
    tasks = build(scenario, 3)
    supervision(tasks[2], department=scenario.departments["weijian"], recipients=[clerk])
    client.force_login(clerk)
    small = count(client)
    more = build(scenario, 12)
    for task in more[3:8]:
        services.task_transition(actor=clerk, task_id=task.pk, action="claim")
        supervision(task, department=scenario.departments["weijian"], recipients=[clerk])
        supervision(task, department=scenario.departments["weijian"], issued_by=clerk)
    assert count(client) == small
    assert small <= 17

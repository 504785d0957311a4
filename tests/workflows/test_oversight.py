"""Regional oversight: a supervisor of a government service centre sees every overdue task and
ticket of the departments in its region and below, in the overdue list, the API and the staff
home, reads their task pages, and moves none of them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from complaints.models import Ticket, TicketDepartment
from departments.models import Department, Membership
from tests.factories import CityFactory, DepartmentFactory, MembershipFactory
from workflows.models import Task

from .fixtures import english_client, pages_in_english, task_snapshot  # noqa: F401
from .test_worklist import BATCH, NO_SUCH_TASK, ready_tasks, rows_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def region(scenario):
    """A service centre in the scenario's region (the province), its supervisor and clerk, two
    overdue tasks and one on time; and a centre of another city."""
    province = scenario.departments["weijian"].region
    centre = DepartmentFactory(kind=Department.Kind.SERVICE_CENTRE, region=province)
    overseer = MembershipFactory(department=centre, role=Membership.Role.SUPERVISOR).user
    centre_clerk = MembershipFactory(department=centre, role=Membership.Role.CLERK).user
    elsewhere = DepartmentFactory(kind=Department.Kind.SERVICE_CENTRE, region=CityFactory())
    stranger = MembershipFactory(department=elsewhere, role=Membership.Role.SUPERVISOR).user
    late, later, on_time = ready_tasks(scenario, 3, prefix="late")
    today = timezone.localdate()
    Task.objects.filter(pk=late.pk).update(due_date=today - dt.timedelta(days=4))
    Task.objects.filter(pk=later.pk).update(due_date=today - dt.timedelta(days=1))
    Task.objects.filter(pk=on_time.pk).update(due_date=today + dt.timedelta(days=1))
    ticket = Ticket.objects.create(
        kind=Ticket.Kind.COMPLAINT,
        channel=Ticket.Channel.WEB,
        title="窗口办事慢",
        content="排队两小时",
        department=scenario.departments["gongan"],
        state=Ticket.State.HANDLING,
        node_due_date=today - dt.timedelta(days=2),
    )
    TicketDepartment.objects.create(ticket=ticket, department=scenario.departments["gongan"])
    return {
        "overseer": overseer,
        "centre_clerk": centre_clerk,
        "stranger": stranger,
        "late": late,
        "later": later,
        "on_time": on_time,
        "ticket": ticket,
    }


def test_the_overseer_sees_every_overdue_task_and_ticket_of_the_region(client, region):
    client.force_login(region["overseer"])
    page = client.get("/staff/tasks/", {"overdue": "1"}).content.decode()
    assert rows_of(page) == [region["late"].pk, region["later"].pk]
    assert page.count("Oversight: read only") == 2
    assert f'id="pick-{region["late"].pk}"' not in page  # no batch move offered
    assert f'data-ticket="{region["ticket"].pk}"' in page and region["ticket"].number in page
    assert region["ticket"].title not in page  # oversight watches time, not content
    # Only in the overdue view: their other tasks are not the overseer's worklist.
    assert rows_of(client.get("/staff/tasks/").content.decode()) == []
    api = Client(HTTP_ACCEPT_LANGUAGE="en")
    api.force_login(region["overseer"])
    body = api.get("/api/v1/tasks/", {"overdue": "1"}).json()
    assert [r["id"] for r in body["results"]] == [region["late"].pk, region["later"].pk]
    assert api.get("/api/v1/tasks/").json()["count"] == 0
    home = client.get("/staff/").content.decode()
    assert f'data-task="{region["late"].pk}" class="overdue"' in home
    assert f'data-ticket="{region["ticket"].pk}"' in home


def test_the_overseer_reads_an_overdue_task_and_moves_nothing(client, region, scenario):
    late = region["late"]
    before = task_snapshot(late)
    client.force_login(region["overseer"])
    response = client.get(f"/staff/tasks/{late.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="read-only"' in page and 'name="action"' not in page
    assert scenario.citizen.real_name not in page  # the case's answers are not shown
    assert client.get(f"/staff/tasks/{region['on_time'].pk}/").status_code == 404
    for action in ("claim", "accept", "complete", "reject", "release"):
        response = client.post(
            f"/staff/tasks/{late.pk}/act/", {"action": action, "version": late.version}
        )
        assert response.status_code == 404
    page = client.post(
        BATCH, {"batch": "sign", "tasks": [late.pk], "back": "overdue=1"}, follow=True
    ).content.decode()
    assert f"#{late.pk}: {NO_SUCH_TASK}" in page
    api = Client(HTTP_ACCEPT_LANGUAGE="en")
    api.force_login(region["overseer"])
    assert api.post(
        f"/api/v1/tasks/{late.pk}/claim/",
        {"version": late.version},
        content_type="application/json",
    ).status_code in (403, 404)
    assert task_snapshot(late) == before


@pytest.mark.parametrize("who", ["centre_clerk", "stranger"])
def test_clerks_and_other_regions_oversee_nothing(client, region, who):
    client.force_login(region[who])
    page = client.get("/staff/tasks/", {"overdue": "1"}).content.decode()
    assert rows_of(page) == []
    assert f'data-ticket="{region["ticket"].pk}"' not in page
    assert client.get(f"/staff/tasks/{region['late'].pk}/").status_code == 404
    api = Client(HTTP_ACCEPT_LANGUAGE="en")
    api.force_login(region[who])
    assert api.get("/api/v1/tasks/", {"overdue": "1"}).json()["count"] == 0


def test_the_departments_own_clerks_keep_their_scope(client, region, scenario):
    client.force_login(scenario.clerks["weijian"])
    page = client.get("/staff/tasks/", {"overdue": "1"}).content.decode()
    assert rows_of(page) == [region["late"].pk, region["later"].pk]
    assert "Oversight: read only" not in page
    assert f'data-ticket="{region["ticket"].pk}"' not in page
    client.force_login(scenario.clerks["gongan"])
    assert rows_of(client.get("/staff/tasks/", {"overdue": "1"}).content.decode()) == []

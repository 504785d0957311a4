"""督办 as an object: addressed to people who exist, answered in writing, escalated when ignored."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from departments.models import Department, Membership
from tests.factories import CityFactory, DepartmentFactory, MembershipFactory, UserFactory
from workflows import services
from workflows.models import Supervision, Task, TaskEvent
from zheliban.core.errors import Forbidden, Refused
from zheliban.core.models import Notice

from .test_fair_clock import MONDAY, clock, started  # noqa: F401

LATE = dt.date(2026, 9, 30)  # the birth certificate was due on the 29th


def overdue_task(scenario, clock):  # noqa: F811
    app, task = started(scenario, clock)
    clock.set(LATE)
    return app, task


def supervision_rows() -> list[tuple]:
    return list(
        Supervision.objects.order_by("id").values_list("department__code", "level", "status")
    )


def recipients(supervision: Supervision) -> set[str]:
    return set(supervision.recipients.values_list("username", flat=True))


def test_an_overdue_task_gets_a_supervision_addressed_to_its_supervisors(scenario, clock):  # noqa: F811
    _app, task = overdue_task(scenario, clock)
    supervisor = scenario.supervisors["weijian"]
    assert services.deadlines_sweep(today=LATE) == {"reminded": 0, "escalated": 1}
    (supervision,) = Supervision.objects.all()
    assert (supervision.task_id, supervision.department_id, supervision.level) == (
        task.pk,
        task.department_id,
        0,
    )
    assert recipients(supervision) == {supervisor.username}
    assert supervision.reply_due == dt.date(2026, 10, 9)  # 2 working days after the holiday
    assert supervision.issued_by is None and supervision.status == "open"
    (notice,) = Notice.objects.filter(recipient=supervisor)
    assert notice.link == f"/staff/supervisions/{supervision.pk}/"
    assert TaskEvent.objects.filter(task=task, action="escalate").count() == 1
    # Once per due date.
    assert services.deadlines_sweep(today=LATE) == {"reminded": 0, "escalated": 0}
    assert Supervision.objects.count() == 1


def test_a_department_without_supervisors_sends_it_to_the_service_centre(scenario, clock):  # noqa: F811
    _app, _task = overdue_task(scenario, clock)
    Membership.objects.filter(
        department=scenario.departments["weijian"], role=Membership.Role.SUPERVISOR
    ).delete()
    centre = DepartmentFactory(
        kind=Department.Kind.SERVICE_CENTRE, region=scenario.departments["weijian"].region
    )
    head = MembershipFactory(department=centre, role=Membership.Role.SUPERVISOR).user
    services.deadlines_sweep(today=LATE)
    (supervision,) = Supervision.objects.all()
    assert supervision.department_id == centre.pk
    assert recipients(supervision) == {head.username}
    assert Notice.objects.filter(recipient=head, link=supervision.get_absolute_url()).count() == 1


def test_with_no_supervisor_anywhere_it_reaches_the_superusers_never_nobody(scenario, clock):  # noqa: F811
    _app, _task = overdue_task(scenario, clock)
    Membership.objects.filter(role=Membership.Role.SUPERVISOR).delete()
    admin = UserFactory(is_superuser=True, is_staff=True)
    services.deadlines_sweep(today=LATE)
    (supervision,) = Supervision.objects.all()
    assert recipients(supervision) == {admin.username}


def test_the_next_level_is_the_same_kind_of_department_in_the_region_above(db):
    city = CityFactory()
    district_level = DepartmentFactory(kind=Department.Kind.HEALTH, region=city)
    above = DepartmentFactory(kind=Department.Kind.HEALTH, region=city.parent)
    boss = MembershipFactory(department=above, role=Membership.Role.SUPERVISOR).user
    department, people = services.supervision.supervision_addressee(district_level)
    assert (department, people) == (above, [boss])
    # A service centre of the city comes first.
    centre = DepartmentFactory(kind=Department.Kind.SERVICE_CENTRE, region=city)
    centre_head = MembershipFactory(department=centre, role=Membership.Role.SUPERVISOR).user
    assert services.supervision.supervision_addressee(district_level) == (centre, [centre_head])


def test_an_unanswered_supervision_escalates_once(scenario, clock):  # noqa: F811
    _app, _task = overdue_task(scenario, clock)
    centre = DepartmentFactory(
        kind=Department.Kind.SERVICE_CENTRE, region=scenario.departments["weijian"].region
    )
    head = MembershipFactory(department=centre, role=Membership.Role.SUPERVISOR).user
    services.deadlines_sweep(today=LATE)
    first = Supervision.objects.get()
    # Not yet late on its reply date.
    assert services.deadlines_sweep(today=first.reply_due) == {"reminded": 0, "escalated": 0}
    after = dt.date(2026, 10, 10)
    clock.set(after)
    assert services.deadlines_sweep(today=after) == {
        "reminded": 0,
        "escalated": 0,
        "supervisions_escalated": 1,
    }
    assert supervision_rows() == [
        (scenario.departments["weijian"].code, 0, "escalated"),
        (centre.code, 1, "open"),
    ]
    first.refresh_from_db()
    second = first.escalated_to
    assert recipients(second) == {head.username}
    assert "2026-10-09" in second.reason
    # Escalated once: the next sweeps leave the first alone.
    assert services.deadlines_sweep(today=after) == {"reminded": 0, "escalated": 0}
    assert Supervision.objects.count() == 2


def test_a_supervision_is_answered_in_writing_by_its_addressee(scenario, clock):  # noqa: F811
    app, _task = overdue_task(scenario, clock)
    services.deadlines_sweep(today=LATE)
    supervision = Supervision.objects.get()
    clerk, supervisor = scenario.clerks["weijian"], scenario.supervisors["weijian"]
    other = scenario.supervisors["gongan"]
    before = supervision_rows()
    with pytest.raises(Forbidden) as exc:
        services.supervision_reply(actor=clerk, supervision_id=supervision.pk, reply="在办")
    assert exc.value.code == "not_supervisor"
    with pytest.raises(Refused) as exc:
        services.supervision_reply(actor=other, supervision_id=supervision.pk, reply="在办")
    assert exc.value.code == "not_found"
    with pytest.raises(Refused) as exc:
        services.supervision_reply(actor=supervisor, supervision_id=supervision.pk, reply="  ")
    assert exc.value.code == "reason_missing"
    assert supervision_rows() == before
    services.supervision_reply(
        actor=supervisor, supervision_id=supervision.pk, reply="样本送检延误，明日办结。"
    )
    supervision.refresh_from_db()
    assert (supervision.status, supervision.reply, supervision.replied_by) == (
        "answered",
        "样本送检延误，明日办结。",
        supervisor,
    )
    # Answered: it never escalates.
    clock.set(dt.date(2026, 10, 12))
    services.deadlines_sweep(today=dt.date(2026, 10, 12))
    assert Supervision.objects.count() == 1
    # The reply is the department's internal answer: the citizen's timeline does not show it.
    page = Client()
    page.force_login(scenario.citizen)
    body = page.get(app.get_absolute_url()).content.decode()
    assert "样本送检延误" not in body


def test_a_supervisor_issues_one_and_it_appears_on_the_page(scenario, clock):  # noqa: F811
    _app, task = started(scenario, clock)
    supervisor, clerk = scenario.supervisors["weijian"], scenario.clerks["weijian"]
    with pytest.raises(Forbidden):
        services.supervision_issue(actor=clerk, task_id=task.pk, reason="请加快")
    with pytest.raises(Refused) as exc:
        services.supervision_issue(
            actor=scenario.supervisors["gongan"], task_id=task.pk, reason="请加快"
        )
    assert exc.value.code == "not_found"
    assert Supervision.objects.count() == 0
    client = Client()
    client.cookies["zhb_lang"] = "en"
    client.force_login(supervisor)
    response = client.post(f"/staff/tasks/{task.pk}/supervise/", {"reason": "请说明进度"})
    supervision = Supervision.objects.get()
    assert response.status_code == 302
    assert response["Location"] == supervision.get_absolute_url()
    assert supervision.issued_by == supervisor
    page = client.get(supervision.get_absolute_url())
    assert page.status_code == 200
    assert "请说明进度" in page.content.decode()
    # The addressee (the same supervisor here) answers on the page.
    answer = client.post(supervision.get_absolute_url(), {"reply": "已催办"})
    assert answer.status_code == 302
    assert Supervision.objects.get().status == "answered"
    # Another department's supervisor cannot open it.
    stranger = Client()
    stranger.force_login(scenario.supervisors["gongan"])
    assert stranger.get(supervision.get_absolute_url()).status_code == 404


def test_a_service_centre_supervisor_oversees_and_supervises_the_region(scenario, clock):  # noqa: F811
    _app, task = overdue_task(scenario, clock)
    centre = DepartmentFactory(
        kind=Department.Kind.SERVICE_CENTRE, region=scenario.departments["weijian"].region
    )
    head = MembershipFactory(department=centre, role=Membership.Role.SUPERVISOR).user
    supervision = services.supervision_issue(actor=head, task_id=task.pk, reason="超期未办")
    assert supervision.department == scenario.departments["weijian"]
    assert recipients(supervision) == {scenario.supervisors["weijian"].username}
    # Oversight never moves the task.
    with pytest.raises(Refused):
        services.task_transition(actor=head, task_id=task.pk, action="complete")
    assert Task.objects.get(pk=task.pk).state == "accepted"


def test_nobody_approves_their_own_extension_the_level_up_does(scenario, clock):  # noqa: F811
    """A supervisor holding a task asks for more time: they may not approve it themselves; with
    no other supervisor in the department, the service centre above is asked and decides."""
    app, task = started(scenario, clock)
    boss = scenario.supervisors["weijian"]
    clerk = scenario.clerks["weijian"]
    services.task_transition(actor=clerk, task_id=task.pk, action="release")
    services.task_transition(actor=boss, task_id=task.pk, action="claim")
    centre = DepartmentFactory(
        kind=Department.Kind.SERVICE_CENTRE, region=scenario.departments["weijian"].region
    )
    head = MembershipFactory(department=centre, role=Membership.Role.SUPERVISOR).user
    extension = services.extension_request(
        actor=boss, task_id=task.pk, workdays=3, reason="需专家会商"
    )
    assert Notice.objects.filter(recipient=head, subject__contains=app.reference).exists()
    due = Task.objects.get(pk=task.pk).due_date
    with pytest.raises(Forbidden) as exc:
        services.extension_decide(
            actor=boss, extension_id=extension.pk, approve=True, reason="同意"
        )
    assert exc.value.code == "own_request"
    extension.refresh_from_db()
    assert (extension.status, Task.objects.get(pk=task.pk).due_date) == ("requested", due)
    services.extension_decide(actor=head, extension_id=extension.pk, approve=True, reason="同意")
    extension.refresh_from_db()
    assert (extension.status, extension.decided_by) == ("approved", head)
    assert Task.objects.get(pk=task.pk).due_date > due


def test_the_api_works_the_clock_and_answers_a_supervision(scenario, clock):  # noqa: F811
    from .test_fair_clock import api

    app, task = started(scenario, clock)
    clerk, boss = api(scenario.clerks["weijian"]), api(scenario.supervisors["weijian"])
    url = f"/api/v1/tasks/{task.pk}/"
    bad = clerk.post(
        url + "procedure/", {"kind": "lunch", "reason": "x"}, content_type="application/json"
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"kind", "expected_end"}
    started_ = clerk.post(
        url + "procedure/",
        {"kind": "appraisal", "reason": "伤情鉴定", "expected_end": "2026-10-09"},
        content_type="application/json",
    )
    assert started_.status_code == 200
    assert Task.objects.get(pk=task.pk).paused_since == MONDAY
    assert clerk.post(url + "procedure-end/").status_code == 200
    assert Task.objects.get(pk=task.pk).paused_since is None

    issued = boss.post(url + "supervise/", {"reason": "请说明"}, content_type="application/json")
    assert issued.status_code == 201
    body = issued.json()
    assert (body["department"], body["status"], body["reference"]) == (
        task.department.code,
        "open",
        app.reference,
    )
    inbox = boss.get("/api/v1/supervisions/").json()
    assert [s["id"] for s in inbox["results"]] == [body["id"]]
    assert clerk.get("/api/v1/supervisions/").json()["results"] == []
    assert [s["id"] for s in boss.get("/api/v1/supervisions/?box=issued").json()["results"]] == [
        body["id"]
    ]
    refused = clerk.post(
        f"/api/v1/supervisions/{body['id']}/reply/",
        {"reply": "在办"},
        content_type="application/json",
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "not_supervisor")
    foreign = api(scenario.supervisors["gongan"]).get(f"/api/v1/supervisions/{body['id']}/")
    assert foreign.status_code == 404
    answered = boss.post(
        f"/api/v1/supervisions/{body['id']}/reply/",
        {"reply": "明日办结"},
        content_type="application/json",
    )
    assert (answered.status_code, answered.json()["status"]) == (200, "answered")
    again = boss.post(
        f"/api/v1/supervisions/{body['id']}/reply/",
        {"reply": "再答"},
        content_type="application/json",
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "decided")

    colleague = MembershipFactory(
        department=scenario.departments["weijian"], role=Membership.Role.CLERK
    ).user
    version = Task.objects.get(pk=task.pk).version
    moved = clerk.post(
        url + "hand-over/",
        {"colleague": colleague.pk, "version": version, "reason": "交接"},
        content_type="application/json",
    )
    assert moved.status_code == 200
    assert Task.objects.get(pk=task.pk).claimed_by == colleague

"""Special procedures pause the clock; a task is handed to a colleague or sent back a step."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import translation

from departments.models import Membership
from tests.factories import MembershipFactory
from workflows import selectors, services
from workflows.models import Application, SpecialProcedure, Task, TaskEvent
from zheliban.core.errors import Conflict, Refused
from zheliban.core.models import Notice

from .test_fair_clock import MONDAY, clock, row, started  # noqa: F401


def test_a_hearing_across_national_day_pauses_the_clock(scenario, clock):  # noqa: F811
    app, task = started(scenario, clock)
    clerk = scenario.clerks["weijian"]
    before = row(task)
    with translation.override("en"), pytest.raises(Refused) as exc:
        services.procedure_start(
            actor=clerk, task_id=task.pk, kind="lunch", reason="", expected_end=None
        )
    assert exc.value.code == "procedure_invalid"
    # Every problem named at once.
    assert exc.value.message == (
        "Choose the procedure. Give the reason for the procedure. Give the expected end date."
    )
    with pytest.raises(Conflict) as exc:
        services.procedure_start(
            actor=scenario.supervisors["weijian"],
            task_id=task.pk,
            kind="hearing",
            reason="申请人要求听证",
            expected_end=dt.date(2026, 10, 9),
        )
    assert exc.value.code == "not_holder"
    assert row(task) == before and SpecialProcedure.objects.count() == 0

    procedure = services.procedure_start(
        actor=clerk,
        task_id=task.pk,
        kind="hearing",
        reason="申请人要求听证",
        expected_end=dt.date(2026, 10, 9),
    )
    task.refresh_from_db()
    assert task.paused_since == MONDAY
    notice = Notice.objects.filter(recipient=scenario.citizen).latest("id")
    assert "2026-10-09" in notice.body
    # While it runs: never overdue, never supervised, and the decisions wait for its end.
    for day in (dt.date(2026, 9, 30), dt.date(2026, 10, 8)):
        clock.set(day)
        assert services.deadlines_sweep(today=day) == {"reminded": 0, "escalated": 0}
        assert list(selectors.worklist(user=clerk, overdue=True)) == []
    with pytest.raises(Conflict) as exc:
        services.task_transition(
            actor=clerk, task_id=task.pk, action="complete", outputs={"birth_certificate_no": "1"}
        )
    assert exc.value.code == "procedure_running"
    with pytest.raises(Conflict) as exc:
        services.procedure_start(
            actor=clerk,
            task_id=task.pk,
            kind="testing",
            reason="再检测",
            expected_end=dt.date(2026, 10, 9),
        )
    assert exc.value.code == "procedure_running"

    # Ended on Thursday 8 October: 29 and 30 September and 8 October, 3 working days.
    ended = services.procedure_end(actor=clerk, task_id=task.pk)
    task.refresh_from_db()
    assert (ended.pk, ended.workdays, ended.ended_on) == (procedure.pk, 3, dt.date(2026, 10, 8))
    assert (task.paused_since, task.due_date, task.paused_workdays) == (
        None,
        dt.date(2026, 10, 9),
        3,
    )
    assert Application.objects.get(pk=app.pk).promised_date >= task.due_date
    assert list(
        TaskEvent.objects.filter(task=task, action__startswith="procedure").values_list(
            "action", "note"
        )
    ) == [
        ("procedure_start", f"{procedure.get_kind_display()}: 申请人要求听证"),
        ("procedure_end", "3"),
    ]
    with pytest.raises(Conflict) as exc:
        services.procedure_end(actor=clerk, task_id=task.pk)
    assert exc.value.code == "procedure_not_running"


def test_the_task_page_starts_and_ends_a_procedure(scenario, clock):  # noqa: F811
    _app, task = started(scenario, clock)
    client = Client()
    client.cookies["zhb_lang"] = "en"
    client.force_login(scenario.clerks["weijian"])
    page = client.get(f"/staff/tasks/{task.pk}/").content.decode()
    assert 'id="procedures"' in page and "Start the procedure" in page
    bad = client.post(
        f"/staff/tasks/{task.pk}/procedure/",
        {"kind": "testing", "reason": "", "expected_end": "not a date"},
    )
    assert bad.status_code == 400
    assert "Give the reason for the procedure." in bad.content.decode()
    assert SpecialProcedure.objects.count() == 0
    ok = client.post(
        f"/staff/tasks/{task.pk}/procedure/",
        {"kind": "testing", "reason": "样品送检", "expected_end": "2026-10-09"},
    )
    assert ok.status_code == 302
    page = client.get(f"/staff/tasks/{task.pk}/").content.decode()
    assert "End the procedure" in page and 'data-kind="testing"' in page
    assert client.post(f"/staff/tasks/{task.pk}/procedure/", {"end": "1"}).status_code == 302
    assert SpecialProcedure.objects.get().ended_on == MONDAY


def test_a_clerk_hands_a_task_to_a_colleague(scenario, clock):  # noqa: F811
    app, task = started(scenario, clock)
    clerk = scenario.clerks["weijian"]
    colleague = MembershipFactory(
        department=scenario.departments["weijian"], role=Membership.Role.CLERK
    ).user
    outsider = scenario.clerks["gongan"]
    before = row(task)
    for who in (outsider, clerk):
        with pytest.raises(Refused) as exc:
            services.task_transition(
                actor=clerk, task_id=task.pk, action="hand_over", colleague_id=who.pk
            )
        assert exc.value.code == "not_a_colleague"
    with pytest.raises(Conflict) as exc:
        services.task_transition(
            actor=colleague, task_id=task.pk, action="hand_over", colleague_id=clerk.pk
        )
    assert exc.value.code == "claimed"
    assert row(task) == before

    services.task_transition(
        actor=clerk, task_id=task.pk, action="hand_over", colleague_id=colleague.pk, reason="休假"
    )
    task.refresh_from_db()
    assert (task.claimed_by, task.state) == (colleague, "accepted")
    event = TaskEvent.objects.filter(task=task).latest("id")
    assert (event.action, event.actor) == ("hand_over", clerk)
    assert "休假" in event.note
    assert Notice.objects.filter(recipient=colleague, link=task.get_absolute_url()).exists()
    # The colleague now works on it; the clerk no longer can.
    with pytest.raises(Conflict):
        services.task_transition(
            actor=clerk, task_id=task.pk, action="complete", outputs={"birth_certificate_no": "1"}
        )
    services.task_transition(
        actor=colleague,
        task_id=task.pk,
        action="complete",
        outputs={"birth_certificate_no": "Q1"},
    )
    # The citizen does not see a hand-over between colleagues.
    citizen = Client()
    citizen.force_login(scenario.citizen)
    assert "hand_over" not in citizen.get(app.get_absolute_url()).content.decode()


def test_a_step_sends_the_case_back_to_the_earlier_one(scenario, clock):  # noqa: F811
    app, first = started(scenario, clock)
    scenario.act(app, "birth_certificate", "complete", outputs={"birth_certificate_no": "Q7"})
    hukou = scenario.act(app, "hukou", "claim", "accept")
    police = scenario.clerks["gongan"]
    with pytest.raises(Refused) as exc:
        services.task_transition(actor=police, task_id=hukou.pk, action="send_back", reason=" ")
    assert exc.value.code == "reason_missing"
    with pytest.raises(Conflict) as exc:
        services.task_transition(
            actor=scenario.clerks["weijian"], task_id=first.pk, action="send_back", reason="x"
        )
    assert exc.value.code == "wrong_state"
    clock.set(dt.date(2026, 9, 30))
    services.task_transition(
        actor=police, task_id=hukou.pk, action="send_back", reason="出生证明编号与医院记录不符"
    )
    hukou.refresh_from_db()
    first.refresh_from_db()
    assert hukou.state == "waiting"
    assert (first.state, first.finished_at, first.claimed_by) == (
        "accepted",
        None,
        scenario.clerks["weijian"],
    )
    assert first.due_date == dt.date(2026, 10, 8)  # one working day after 30 September
    assert Application.objects.get(pk=app.pk).status == "in_progress"
    assert Notice.objects.filter(
        recipient=scenario.clerks["weijian"], link=first.get_absolute_url()
    ).exists()
    # The first step completes again: the hukou step is ready once more.
    scenario.act(app, "birth_certificate", "complete", outputs={"birth_certificate_no": "Q8"})
    hukou.refresh_from_db()
    assert hukou.state == "ready"
    assert hukou.inputs == {"birth_certificate_no": "Q8"}


def test_a_first_step_has_nothing_to_send_back_to(scenario, clock):  # noqa: F811
    _app, task = started(scenario, clock)
    Task.objects.filter(pk=task.pk).update(after=["nothing"])
    with pytest.raises(Conflict) as exc:
        services.task_transition(
            actor=scenario.clerks["weijian"], task_id=task.pk, action="send_back", reason="退回"
        )
    assert exc.value.code == "no_earlier_step"
    assert Task.objects.get(pk=task.pk).state == "accepted"

"""The workflows machines' tables are the only source of their moves.

For every state of a machine, every action of its table (and one no table lists), everyone the
table names and the targets a chokepoint may be told, the object is put in that state and the
chokepoint asked: it moves exactly when the table lists the move (to a target among the table's),
and otherwise refuses with ``wrong_state`` having written nothing (the row as it was, no history
row, no notice, no outbox message, looked at before the refusal is rolled back). Each move is
rolled back before the next is tried, so one small world serves.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from django.db import models
from django.utils import timezone

from tests import machine_moves as moves
from tests.factories import DepartmentFactory, MembershipFactory, ServiceItemFactory, UserFactory
from tests.machine_moves import UNKNOWN, attempt, row_and_counts, told
from workflows import services
from workflows.errors import WorkflowsErrorCode
from workflows.models import (
    APPLICATION_MACHINE,
    RECTIFICATION_MACHINE,
    TASK_MACHINE,
    Application,
    Rating,
    Rectification,
    Task,
    TaskEvent,
)
from workflows.services.moves import _application_move, _task_move
from zheliban.core.models import Notice, OutboxMessage

pytestmark = pytest.mark.django_db

WRONG_STATE = ("refused", WorkflowsErrorCode.WRONG_STATE)


def snapshot(model: type[models.Model], pk: Any) -> tuple:
    """The row, and what a move leaves besides it: tasks, history rows, notices, outbox messages."""
    return row_and_counts(model, pk, (Task, TaskEvent, Notice, OutboxMessage))


expected = partial(moves.expected, refused=WRONG_STATE)


def task_moved(pk: int, action: str, source: str) -> tuple:
    """The task's new state, once the move wrote its version and its one history row."""
    moved = Task.objects.get(pk=pk)
    history = list(
        TaskEvent.objects.filter(task_id=pk).values_list("action", "from_state", "to_state")
    )
    if moved.version != 8 or history != [(action, source, moved.state)]:
        return (moved.state, "history", history, moved.version)
    return (moved.state,)


def application_moved(pk: Any, action: str, source: str) -> tuple:
    """The application's new status, once the move wrote its one history row."""
    moved = Application.objects.get(pk=pk)
    history = list(
        TaskEvent.objects.filter(application_id=pk, task=None).values_list(
            "action", "from_state", "to_state"
        )
    )
    if history != [(action, source, moved.status)]:
        return (moved.status, "history", history)
    return (moved.status,)


def corrected(task: Task) -> tuple:
    """The task and the case after the correction, with their history rows."""
    app = Application.objects.get(pk=task.application_id)
    events = TaskEvent.objects.order_by("id")
    return (
        Task.objects.get(pk=task.pk).state,
        app.status,
        app.data,
        list(events.filter(task=task).values_list("action", "from_state", "to_state")),
        list(events.filter(task=None).values_list("action", "from_state", "to_state")),
    )


def rectification_moved(pk: int) -> tuple:
    """The rectification's new state and what the citizen was told of it."""
    return Rectification.objects.get(pk=pk).state, list(
        Notice.objects.values_list("body", flat=True)
    )


@dataclass
class World:
    applicant: Any
    clerk: Any
    application: Application
    task: Task


@pytest.fixture
def world(db) -> World:
    department = DepartmentFactory()
    item = ServiceItemFactory(department=department)
    applicant = UserFactory()
    app = Application.objects.create(
        applicant=applicant,
        item=item,
        idempotency_key="k-1",
        reference="ZB20261207TEST0001",
        status=Application.Status.IN_PROGRESS,
    )
    task = Task.objects.create(
        application=app,
        step="only",
        label="唯一一步",
        item=item,
        department=department,
        due_workdays=1,
    )
    clerk = MembershipFactory(department=department).user
    return World(applicant, clerk, app, task)


def test_the_task_chokepoint_makes_exactly_the_moves_of_the_table(world):
    pk = world.task.pk
    wrong, accepted = [], set()
    for state in TASK_MACHINE.states:
        Task.objects.filter(pk=pk).update(state=state, version=7)
        task, before = Task.objects.get(pk=pk), snapshot(Task, pk)
        for action in (*TASK_MACHINE.actions(), UNKNOWN):
            for who in TASK_MACHINE.who_labels:
                for to in told(TASK_MACHINE, state, action, who):
                    got = attempt(
                        partial(_task_move, copy.copy(task), action, who=who, to=to),
                        partial(task_moved, pk, action, state),
                        partial(snapshot, Task, pk),
                        before,
                    )
                    want = expected(TASK_MACHINE, state, action, who, to)
                    if got != want:
                        wrong.append((state, action, who, to, got, want))
                    if got[0] == "moved":
                        accepted.add((state, action))
    assert wrong == []
    assert accepted == {(s, r.action) for r in TASK_MACHINE.transitions for s in r.sources}
    assert accepted == TASK_MACHINE.pairs()


def test_the_application_chokepoint_makes_exactly_the_moves_of_the_table(world):
    pk = world.application.pk
    wrong, accepted = [], set()
    for state in APPLICATION_MACHINE.states:
        Application.objects.filter(pk=pk).update(status=state)
        app, before = Application.objects.get(pk=pk), snapshot(Application, pk)
        for action in (*APPLICATION_MACHINE.actions(), UNKNOWN):
            for who in APPLICATION_MACHINE.who_labels:
                for to in told(APPLICATION_MACHINE, state, action, who):
                    got = attempt(
                        partial(_application_move, copy.copy(app), action, who=who, to=to),
                        partial(application_moved, pk, action, state),
                        partial(snapshot, Application, pk),
                        before,
                    )
                    want = expected(APPLICATION_MACHINE, state, action, who, to)
                    if got != want:
                        wrong.append((state, action, who, to, got, want))
                    if got[0] == "moved":
                        accepted.add((state, action))
    assert wrong == []
    assert accepted == APPLICATION_MACHINE.pairs()


def test_the_citizen_s_correction_is_the_table_s_resubmit(world):
    """``correction_resubmit`` moves the task through the chokepoint: only from a state the
    table's ``resubmit`` starts from, back to the state the correction was asked from, and the
    case's status with it."""
    pk = world.task.pk
    TaskEvent.objects.create(
        application=world.application,
        task=world.task,
        action="correction",
        from_state=Task.State.READY,
        to_state=Task.State.CORRECTION,
    )
    Task.objects.filter(pk=pk).update(correction_fields=["contact_phone"])
    Application.objects.filter(pk=world.application.pk).update(status=Application.Status.CORRECTION)
    outcomes = {}
    for state in TASK_MACHINE.states:
        Task.objects.filter(pk=pk).update(state=state)
        before = snapshot(Task, pk), snapshot(Application, world.application.pk)
        outcomes[state] = attempt(
            partial(
                services.correction_resubmit,
                applicant=world.applicant,
                task_id=pk,
                answers={"contact_phone": "13800000009"},
            ),
            partial(corrected, world.task),
            lambda: (snapshot(Task, pk), snapshot(Application, world.application.pk)),
            before,
        )
    assert TASK_MACHINE.sources("resubmit") == (Task.State.CORRECTION,)
    assert outcomes == {
        state: (
            (
                "moved",
                "ready",
                "in_progress",
                {"contact_phone": "13800000009"},
                [("correction", "ready", "correction"), ("resubmit", "correction", "ready")],
                [("status", "correction", "in_progress")],
            )
            if state == Task.State.CORRECTION
            else WRONG_STATE
        )
        for state in TASK_MACHINE.states
    }


def test_the_rectification_chokepoint_makes_exactly_the_moves_of_the_table(world):
    Application.objects.filter(pk=world.application.pk).update(
        status=Application.Status.COMPLETED, finished_at=timezone.now()
    )
    rating = Rating.objects.create(application=world.application, score=1)
    today = dt.date(2026, 12, 7)
    pk = Rectification.objects.create(
        rating=rating, department=world.task.department, callback_due=today, fix_due=today
    ).pk
    (who,) = RECTIFICATION_MACHINE.who_labels
    wrong, accepted = [], set()
    for state in RECTIFICATION_MACHINE.states:
        Rectification.objects.filter(pk=pk).update(state=state)
        before = snapshot(Rectification, pk)
        for action in (*RECTIFICATION_MACHINE.actions(), UNKNOWN):
            got = attempt(
                partial(
                    services.rectification_transition,
                    actor=world.clerk,
                    rectification_id=pk,
                    action=action,
                    note="已回访",
                ),
                partial(rectification_moved, pk),
                partial(snapshot, Rectification, pk),
                before,
            )
            want = expected(RECTIFICATION_MACHINE, state, action, who, None)
            if want[0] == "moved":  # the citizen is told of the fix, not of the callback
                want = (*want, ["已回访"] if action == "fix" else [])
            if got != want:
                wrong.append((state, action, got, want))
            if got[0] == "moved":
                accepted.add((state, action))
    assert wrong == []
    assert accepted == RECTIFICATION_MACHINE.pairs()

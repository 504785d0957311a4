"""The workflows machines' tables are the only source of their moves.

For every state of a machine, every action of its table, everyone the table names and every target
a chokepoint may be told, the object is put in that state and the chokepoint asked: it moves
exactly when the table lists the move (to a target among the table's), and otherwise refuses with
``wrong_state`` and changes nothing (the row as it was, no history row, no notice, no outbox
message). Each accepted move is rolled back before the next is tried, so one small world serves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from django.db import models, transaction
from django.utils import timezone

from tests.factories import DepartmentFactory, MembershipFactory, ServiceItemFactory, UserFactory
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
from zheliban.core.errors import Conflict
from zheliban.core.machines import Machine
from zheliban.core.models import Notice, OutboxMessage

pytestmark = pytest.mark.django_db

WRONG_STATE = ("refused", WorkflowsErrorCode.WRONG_STATE)
# An action no table lists: refused like any move the table does not list.
UNKNOWN = "fly"
# What a chokepoint does when the table gives several targets and it was not told which.
UNSAID = ("unsaid",)


def listed(machine: Machine, state: str, action: str, who: str | None = None) -> set[str]:
    """The targets the table's rows give ``action`` from ``state``, read from the rows
    themselves (a row without targets leaves the state as it is)."""
    return {
        target
        for row in machine.transitions
        if row.action == action and state in row.sources and who in (None, row.who)
        for target in (row.targets or (state,))
    }


def expected(machine: Machine, state: str, action: str, who: str, to: str | None) -> tuple:
    targets = listed(machine, state, action, who)
    if not targets:
        return WRONG_STATE
    if to is None:
        return ("moved", *targets) if len(targets) == 1 else UNSAID
    return ("moved", to) if to in targets else WRONG_STATE


class _Undo(Exception):
    pass


def attempt(move: Callable[[], Any], observe: Callable[[], tuple]) -> tuple:
    """Run ``move`` in a savepoint that is always rolled back: ("moved", what ``observe`` saw
    after it), ("refused", code) or ``UNSAID``."""
    try:
        with transaction.atomic():
            move()
            raise _Undo(observe())
    except _Undo as undo:
        return ("moved", *undo.args[0])
    except Conflict as refusal:
        return ("refused", refusal.code)
    except ValueError:
        return UNSAID


def row(model: type[models.Model], pk: Any) -> dict[str, Any]:
    return model.objects.filter(pk=pk).values().get()


def traces() -> tuple[int, int, int]:
    """What a move leaves besides its row: history rows, notices, outbox messages."""
    return TaskEvent.objects.count(), Notice.objects.count(), OutboxMessage.objects.count()


def task_moved(pk: int, action: str, source: str) -> tuple:
    """The task's new state, once the move wrote its version and its one history row."""
    moved = Task.objects.get(pk=pk)
    event = TaskEvent.objects.get(task_id=pk)
    history = (event.action, event.from_state, event.to_state)
    if moved.version != 8 or history != (action, source, moved.state):
        return (moved.state, "history", history, moved.version)
    return (moved.state,)


def application_moved(pk: Any, action: str, source: str) -> tuple:
    """The application's new status, once the move wrote its one history row."""
    moved = Application.objects.get(pk=pk)
    event = TaskEvent.objects.get(application_id=pk, task=None)
    history = (event.action, event.from_state, event.to_state)
    if history != (action, source, moved.status):
        return (moved.status, "history", history)
    return (moved.status,)


def corrected(task: Task, events_before: int) -> tuple:
    app = Application.objects.get(pk=task.application_id)
    events = TaskEvent.objects.count() - events_before
    return Task.objects.get(pk=task.pk).state, app.status, app.data, events


def rectification_moved(rect: Rectification, notices_before: int) -> tuple:
    notices = Notice.objects.count() - notices_before
    return Rectification.objects.get(pk=rect.pk).state, notices


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
    left = traces()
    wrong, accepted = [], set()
    for state in TASK_MACHINE.states:
        for action in (*TASK_MACHINE.actions(), UNKNOWN):
            for who in TASK_MACHINE.who_labels:
                for to in (None, *TASK_MACHINE.states):
                    Task.objects.filter(pk=pk).update(state=state, version=7)
                    before = row(Task, pk)
                    task = Task.objects.get(pk=pk)
                    got = attempt(
                        partial(_task_move, task, action, who=who, to=to),
                        partial(task_moved, pk, action, state),
                    )
                    want = expected(TASK_MACHINE, state, action, who, to)
                    if got != want:
                        wrong.append((state, action, who, to, got, want))
                    if got[0] == "moved":
                        accepted.add((state, action))
                    elif row(Task, pk) != before or traces() != left:
                        wrong.append((state, action, who, to, "changed something"))
    assert wrong == []
    assert accepted == {(s, r.action) for r in TASK_MACHINE.transitions for s in r.sources}
    assert accepted == TASK_MACHINE.pairs()


def test_the_application_chokepoint_makes_exactly_the_moves_of_the_table(world):
    pk = world.application.pk
    left = traces()
    wrong, accepted = [], set()
    for state in APPLICATION_MACHINE.states:
        for action in (*APPLICATION_MACHINE.actions(), UNKNOWN):
            for who in APPLICATION_MACHINE.who_labels:
                for to in (None, *APPLICATION_MACHINE.states):
                    Application.objects.filter(pk=pk).update(status=state)
                    before = row(Application, pk)
                    app = Application.objects.get(pk=pk)
                    got = attempt(
                        partial(_application_move, app, action, who=who, to=to),
                        partial(application_moved, pk, action, state),
                    )
                    want = expected(APPLICATION_MACHINE, state, action, who, to)
                    if got != want:
                        wrong.append((state, action, who, to, got, want))
                    if got[0] == "moved":
                        accepted.add((state, action))
                    elif row(Application, pk) != before or traces() != left:
                        wrong.append((state, action, who, to, "changed something"))
    assert wrong == []
    assert accepted == APPLICATION_MACHINE.pairs()


def test_the_citizen_s_correction_is_the_table_s_resubmit(world):
    """``correction_resubmit`` moves the task through the chokepoint: only from a state the
    table's ``resubmit`` starts from, back to the state the correction was asked from."""
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
    left = traces()
    outcomes = {}
    for state in TASK_MACHINE.states:
        Task.objects.filter(pk=pk).update(state=state)
        before = row(Task, pk), row(Application, world.application.pk)
        outcomes[state] = attempt(
            partial(
                services.correction_resubmit,
                applicant=world.applicant,
                task_id=pk,
                answers={"contact_phone": "13800000009"},
            ),
            partial(corrected, world.task, left[0]),
        )
        if outcomes[state][0] != "moved":
            assert (row(Task, pk), row(Application, world.application.pk)) == before
            assert traces() == left
    assert TASK_MACHINE.sources("resubmit") == (Task.State.CORRECTION,)
    assert outcomes == {
        state: (
            # the task's resubmit and the case's status, each with its history row
            ("moved", "ready", "in_progress", {"contact_phone": "13800000009"}, 2)
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
    rect = Rectification.objects.create(
        rating=rating, department=world.task.department, callback_due=today, fix_due=today
    )
    left = traces()
    wrong, accepted = [], set()
    for state in RECTIFICATION_MACHINE.states:
        for action in (*RECTIFICATION_MACHINE.actions(), UNKNOWN):
            (who,) = RECTIFICATION_MACHINE.who_labels
            Rectification.objects.filter(pk=rect.pk).update(state=state)
            before = row(Rectification, rect.pk)
            got = attempt(
                partial(
                    services.rectification_transition,
                    actor=world.clerk,
                    rectification_id=rect.pk,
                    action=action,
                    note="已回访",
                ),
                partial(rectification_moved, rect, left[1]),
            )
            want = expected(RECTIFICATION_MACHINE, state, action, who, None)
            if want[0] == "moved":  # the citizen is told of the fix, not of the callback
                want = (*want, 1 if action == "fix" else 0)
            if got != want:
                wrong.append((state, action, got, want))
            if got[0] == "moved":
                accepted.add((state, action))
            elif row(Rectification, rect.pk) != before or traces() != left:
                wrong.append((state, action, "changed something"))
    assert wrong == []
    assert accepted == RECTIFICATION_MACHINE.pairs()

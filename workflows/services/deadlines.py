"""Deadlines: reminders before a task falls due and supervision (督办) once it is overdue."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from departments.models import Membership
from departments.selectors import staff_of
from zheliban.core.deadlines import Alert, DeadlineSweep, deadline_sweep

from ..models import (
    Task,
    TaskEvent,
)

# ---------------------------------------------------------------- deadlines


def _holders(task: Task) -> list:
    """Whoever holds the task: its claimant, else its department's clerks."""
    if task.claimed_by:
        return [task.claimed_by]
    return staff_of(task.department_id, Membership.Role.CLERK)


def _due_soon(task: Task) -> tuple[str, str]:
    ref = task.application.reference
    return (
        _("Due soon: %(ref)s") % {"ref": ref},
        _("“%(step)s” of case %(ref)s is due on %(date)s.")
        % {"step": task.label, "ref": ref, "date": task.due_date},
    )


def _overdue(task: Task) -> tuple[str, str]:
    ref = task.application.reference
    return (
        _("Overdue (督办): %(ref)s") % {"ref": ref},
        _("“%(step)s” of case %(ref)s was due on %(date)s and is not finished.")
        % {"step": task.label, "ref": ref, "date": task.due_date},
    )


def _escalated(task: Task) -> None:
    TaskEvent.objects.create(
        application_id=task.application_id,
        task=task,
        action="escalate",
        from_state=task.state,
        to_state=task.state,
    )


def _task_deadlines() -> DeadlineSweep:
    return DeadlineSweep(
        # A task waiting for a correction has its clock stopped: never reminded nor supervised.
        rows=Task.objects.filter(state__in=Task.CLOCK_STATES),
        due="due_date",
        remind=Alert(marker="reminded_at", recipients=_holders, message=_due_soon),
        supervise=Alert(
            marker="escalated_at",
            recipients=lambda task: staff_of(task.department_id, Membership.Role.SUPERVISOR),
            message=_overdue,
            then=_escalated,
        ),
        select_related=("department", "application", "claimed_by"),
        # Not if a correction stopped the clock, or the due date moved, since the row was read.
        unchanged=lambda task: {"state__in": Task.CLOCK_STATES, "due_date": task.due_date},
    )


def deadlines_sweep(*, today: dt.date | None = None) -> dict[str, int]:
    """Remind a department the working day before a promise falls due; escalate to its
    supervisors (督办) once it is overdue. Each task is reminded and escalated at most once for a
    due date (a pause or an extension that moves it arms both again). Tasks waiting for a
    correction are skipped: their clock is paused."""
    counts = deadline_sweep(_task_deadlines(), today=today)
    return {"reminded": counts.reminded, "escalated": counts.supervised}

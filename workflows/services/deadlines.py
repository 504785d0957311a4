"""Deadlines: reminders before a task falls due and supervision (督办) once it is overdue."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from departments.models import Membership
from departments.selectors import staff_of
from zheliban.core.deadlines import Alert, DeadlineSweep, deadline_sweep

from ..models import Task
from .supervision import supervision_for_overdue, supervisions_escalate

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


def _supervised(task: Task) -> None:
    supervision_for_overdue(task, today=timezone.localdate())


def _task_deadlines() -> DeadlineSweep:
    return DeadlineSweep(
        # A task waiting for a correction has its clock stopped: never reminded nor supervised.
        # So is one in a special procedure (检测, 鉴定, 听证 …).
        rows=Task.objects.filter(state__in=Task.CLOCK_STATES, paused_since__isnull=True),
        due="due_date",
        remind=Alert(marker="reminded_at", recipients=_holders, message=_due_soon),
        # The 督办 itself says who is told (the department's supervisors, or the next level up).
        supervise=Alert(
            marker="escalated_at", recipients=lambda task: [], message=_overdue, then=_supervised
        ),
        select_related=("department__region", "application", "claimed_by"),
        # Not if a correction or a procedure stopped the clock, or the due date moved, since the
        # row was read.
        unchanged=lambda task: {
            "state__in": Task.CLOCK_STATES,
            "paused_since__isnull": True,
            "due_date": task.due_date,
        },
    )


def deadlines_sweep(*, today: dt.date | None = None) -> dict[str, int]:
    """Remind a department the working day before a promise falls due; issue a 督办 to its
    supervisors (or the next level up) once it is overdue; escalate each 督办 left unanswered
    past its reply date one level up. Each task is reminded and supervised at most once for a
    due date (a pause or an extension that moves it arms both again). Tasks waiting for a
    correction or in a special procedure are skipped: their clock is paused."""
    counts = deadline_sweep(_task_deadlines(), today=today)
    escalated = supervisions_escalate(today=today)
    result = {"reminded": counts.reminded, "escalated": counts.supervised}
    if escalated:
        result["supervisions_escalated"] = escalated
    return result

"""Supervision (督办) as an object: issued on an overdue task, addressed to people who exist,
answered in writing by a deadline, escalated one level when ignored.

The addressee is the task's department's supervisors; where it has none, the next level up
(``_next_levels``): the government service centre of the department's region, then the same
kind of department and the service centre of each region above, and at the very top the
portal's superusers. A 督办 therefore never reaches nobody.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from departments.models import Department, Membership, Region
from departments.scoping import member_department_ids, overseen_department_ids
from departments.selectors import can_work_on, staff_name, staff_of, staff_roles
from workflows.errors import WorkflowsErrorCode
from zheliban.core.errors import Conflict, Forbidden, Refused
from zheliban.core.notices import notify
from zheliban.core.workdays import add_workdays

from ..models import Supervision, Task
from .moves import _task_note

# Working days the addressee has to answer in writing.
REPLY_WORKDAYS = 2
SUPERVISE = "supervise"  # issued by a supervisor
ESCALATE = "escalate"  # issued by the deadline sweep, or escalated one level up
SUPERVISE_REPLY = "supervise_reply"


def _next_levels(department: Department) -> list[Department]:
    """The departments above ``department`` a 督办 may go to, nearest first: its region's
    service centre, then for each region above, the department of the same kind and the
    service centre there."""
    regions = []
    region: Region | None = department.region
    while region is not None:
        regions.append(region)
        region = region.parent
    kinds = [department.kind, Department.Kind.SERVICE_CENTRE]
    found = {
        (d.region_id, d.kind): d
        for d in Department.objects.filter(
            region__in=regions, kind__in=kinds, is_active=True
        ).order_by("pk")
    }
    chain: list[Department] = []
    centre = found.get((department.region_id, Department.Kind.SERVICE_CENTRE))
    if centre is not None and centre.pk != department.pk:
        chain.append(centre)
    for above in regions[1:]:
        for kind in kinds:
            candidate = found.get((above.pk, kind))
            if candidate is not None and candidate.pk != department.pk:
                chain.append(candidate)
    return chain


def supervision_addressee(department: Department, *, above: bool = False) -> tuple:
    """The department a 督办 about ``department``'s work goes to and its supervisors: its own,
    else (or, with ``above``, always) the nearest level up that has some; at the top, the
    superusers. Never nobody."""
    candidates = ([] if above else [department]) + _next_levels(department)
    for candidate in candidates:
        people = staff_of(candidate.pk, Membership.Role.SUPERVISOR)
        if people:
            return candidate, people
    top = candidates[-1] if candidates else department
    return top, list(get_user_model().objects.filter(is_superuser=True, is_active=True))


def _tell(supervision: Supervision, people, *, subject: str, body: str) -> None:
    for person in people:
        notify(
            person,
            subject=subject,
            body=body,
            link=supervision.get_absolute_url(),
            link_label=supervision.task.application.reference or "",
        )


def _create(
    task: Task,
    *,
    department: Department,
    people,
    reason: str,
    level: int,
    issued_by=None,
    today: dt.date,
    action: str = SUPERVISE,
) -> Supervision:
    supervision = Supervision.objects.create(
        task=task,
        department=department,
        level=level,
        issued_by=issued_by,
        reason=reason[:2000],
        reply_due=add_workdays(today, REPLY_WORKDAYS).date,
    )
    supervision.recipients.set(people)
    _task_note(task, action, actor=issued_by, note=supervision.reason)
    ref = task.application.reference
    _tell(
        supervision,
        people,
        subject=_("Supervision (督办): %(ref)s") % {"ref": ref},
        body=_(
            "“%(step)s” of case %(ref)s (%(department)s) was due on %(date)s. %(reason)s "
            "Reply in writing by %(reply_due)s."
        )
        % {
            "step": task.label,
            "ref": ref,
            "department": task.department.name,
            "date": task.due_date,
            "reason": supervision.reason,
            "reply_due": supervision.reply_due,
        },
    )
    return supervision


def supervision_for_overdue(task: Task, *, today: dt.date) -> Supervision:
    """The 督办 the deadline sweep issues on a task that fell overdue (in its transaction)."""
    department, people = supervision_addressee(task.department)
    reason = _("The step is overdue and not finished.")
    return _create(
        task,
        department=department,
        people=people,
        reason=reason,
        level=0,
        today=today,
        action=ESCALATE,
    )


def supervises(user, department_id: int) -> bool:
    """Whether ``user`` is a supervisor of the department or of a government service centre
    overseeing it (one query; none for someone who supervises nothing)."""
    if user.is_superuser:
        return True
    if Membership.Role.SUPERVISOR not in staff_roles(user=user):
        return False
    return (
        Department.objects.filter(pk=department_id)
        .filter(
            Q(pk__in=member_department_ids(user, roles=[Membership.Role.SUPERVISOR]))
            | Q(pk__in=overseen_department_ids(user))
        )
        .exists()
    )


def may_issue_supervision(*, user, task: Task) -> bool:
    """A supervisor of the task's department, or of a service centre overseeing it."""
    return supervises(user, task.department_id)


def supervision_issue(*, actor, task_id: int, reason: str) -> Supervision:
    """A supervisor (of the department, or of a service centre overseeing it) issues a 督办 on
    an open task; the addressee must answer in writing."""
    task = (
        Task.objects.select_related("department__region", "application").filter(pk=task_id).first()
    )
    if task is None or not (
        can_work_on(actor, task.department_id) or may_issue_supervision(user=actor, task=task)
    ):
        raise Refused(_("No such task in your worklist."), code=WorkflowsErrorCode.NOT_FOUND)
    if not may_issue_supervision(user=actor, task=task):
        raise Forbidden(
            _(
                "Only a supervisor of the department or of a service centre overseeing it "
                "issues a 督办."
            ),
            code=WorkflowsErrorCode.NOT_SUPERVISOR,
        )
    reason = reason.strip()
    if not reason:
        raise Refused(_("Say what the 督办 is about."), code=WorkflowsErrorCode.REASON_MISSING)
    if task.state not in Task.OPEN_STATES:
        raise Conflict(
            _("This task is “%(state)s”: there is nothing left to supervise.")
            % {"state": task.get_state_display()},
            code=WorkflowsErrorCode.WRONG_STATE,
        )
    with transaction.atomic():
        task = (
            Task.objects.select_for_update(of=("self",))
            .select_related("department__region", "application")
            .get(pk=task_id)
        )
        department, people = supervision_addressee(task.department)
        return _create(
            task,
            department=department,
            people=people,
            reason=reason,
            level=0,
            issued_by=actor,
            today=timezone.localdate(),
        )


def may_reply(*, user, supervision: Supervision) -> bool:
    """A recipient, or a supervisor of the department it is addressed to."""
    return (
        supervision.recipients.filter(pk=user.pk).exists()
        or Membership.objects.filter(
            user_id=user.pk,
            department_id=supervision.department_id,
            role=Membership.Role.SUPERVISOR,
        ).exists()
    )


def supervision_visible(*, user, supervision: Supervision) -> bool:
    """Who may open a 督办: its addressees, its issuer, staff of the task's department, and
    the service centres overseeing it."""
    if user.is_superuser or supervision.issued_by_id == user.pk:
        return True
    return (
        may_reply(user=user, supervision=supervision)
        or can_work_on(user, supervision.task.department_id)
        or overseen_department_ids(user).filter(pk=supervision.task.department_id).exists()
    )


def supervision_reply(*, actor, supervision_id: int, reply: str) -> Supervision:
    """The addressee answers a 督办 in writing; the issuer (or the task's department, for one
    the sweep issued) is told. The one way a 督办 is answered."""
    supervision = (
        Supervision.objects.select_related("task__application", "task__department")
        .filter(pk=supervision_id)
        .first()
    )
    if supervision is None or not supervision_visible(user=actor, supervision=supervision):
        raise Refused(_("No such 督办."), code=WorkflowsErrorCode.NOT_FOUND)
    if not may_reply(user=actor, supervision=supervision):
        raise Forbidden(
            _("Only the supervisors it is addressed to answer a 督办."),
            code=WorkflowsErrorCode.NOT_SUPERVISOR,
        )
    reply = reply.strip()
    if not reply:
        raise Refused(_("Write the reply."), code=WorkflowsErrorCode.REASON_MISSING)
    with transaction.atomic():
        supervision = (
            Supervision.objects.select_for_update(of=("self",))
            .select_related("task__application", "task__department", "issued_by")
            .get(pk=supervision_id)
        )
        if supervision.status != Supervision.Status.OPEN:
            raise Conflict(
                _("This 督办 is already “%(status)s”.")
                % {"status": supervision.get_status_display()},
                code=WorkflowsErrorCode.DECIDED,
            )
        supervision.status = Supervision.Status.ANSWERED
        supervision.reply = reply[:4000]
        supervision.replied_by = actor
        supervision.replied_at = timezone.now()
        supervision.save(update_fields=["status", "reply", "replied_by", "replied_at"])
        task = supervision.task
        _task_note(task, SUPERVISE_REPLY, actor=actor, note=supervision.reply)
        told = (
            [supervision.issued_by]
            if supervision.issued_by is not None
            else staff_of(task.department_id, Membership.Role.SUPERVISOR)
        )
        _tell(
            supervision,
            [person for person in told if person.pk != actor.pk],
            subject=_("督办 answered: %(ref)s") % {"ref": task.application.reference},
            body=_("%(who)s answered: %(reply)s")
            % {"who": staff_name(actor), "reply": supervision.reply},
        )
        return supervision


def supervisions_escalate(*, today: dt.date | None = None) -> int:
    """Escalate, once each, the 督办 left unanswered past their reply date to the next level up
    (a new 督办 there, one level higher); the ignored one is marked escalated. Returns how many
    were escalated."""
    today = today or timezone.localdate()
    escalated = 0
    ignored = Supervision.objects.filter(
        status=Supervision.Status.OPEN, reply_due__lt=today
    ).values_list("pk", flat=True)
    for pk in list(ignored[:500]):
        with transaction.atomic():
            supervision = (
                Supervision.objects.select_for_update(of=("self",))
                .select_related("task__application", "task__department", "department__region")
                .get(pk=pk)
            )
            if supervision.status != Supervision.Status.OPEN or (
                supervision.level > 0 and not _next_levels(supervision.department)
            ):
                continue  # answered meanwhile, or already at the top: nobody above to tell
            department, people = supervision_addressee(supervision.department, above=True)
            reason = _(
                "Escalated: the 督办 of %(issued)s to %(department)s was not answered by %(due)s."
            ) % {
                "issued": timezone.localdate(supervision.issued_at),
                "department": supervision.department.name,
                "due": supervision.reply_due,
            }
            higher = _create(
                supervision.task,
                department=department,
                people=people,
                reason=reason,
                level=supervision.level + 1,
                issued_by=None,
                today=today,
                action=ESCALATE,
            )
            supervision.status = Supervision.Status.ESCALATED
            supervision.escalated_to = higher
            supervision.save(update_fields=["status", "escalated_to"])
            escalated += 1
    return escalated

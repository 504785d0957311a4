"""Tasks of joint handling: the one chokepoint that moves a task, and the case moved with it.

Every move is checked against ``TASK_MACHINE`` (and the case's against ``APPLICATION_MACHINE``)
before anything changes: staff's moves, the applicant's correction (``resubmit``) and the moves
the services make on their own (``ready``, ``cancel``, the case's ``status``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from departments.models import Membership
from departments.scoping import overseen_department_ids
from departments.selectors import can_work_on, staff_name, staff_of
from workflows.errors import WorkflowsErrorCode
from zheliban.core.errors import Conflict, Forbidden, Refused
from zheliban.core.machines import SYSTEM
from zheliban.core.notices import notify
from zheliban.core.workdays import add_workdays, workdays_between

from .. import selectors
from ..forms import FieldSpec
from ..models import (
    APPLICANT,
    STAFF,
    TASK_MACHINE,
    Application,
    ELicence,
    Extension,
    SpecialProcedure,
    Task,
    TaskEvent,
)
from ..selectors import REVEAL
from .applications import _make_ready, _store_attachments
from .common import OUTPUT_NAMES, A, S, _notify_citizen
from .moves import _application_move, _task_move, _task_note
from .supervision import supervises, supervision_addressee

# ---------------------------------------------------------------- tasks


# The moves people make: staff's, then the applicant's correction.
ACTIONS = TASK_MACHINE.actions(exclude=(SYSTEM,))


def task_transition(
    *,
    actor,
    task_id: int,
    action: str,
    expected_version: int | None = None,
    outputs: dict[str, str] | None = None,
    reason: str = "",
    fields: Iterable[str] = (),
    answers: dict[str, Any] | None = None,
    uploads: dict[str, Any] | None = None,
    colleague_id: int | None = None,
) -> Task:
    """The one way a task moves. Refusals raise and change nothing.

    Staff of the task's department make the moves of ``TASK_MACHINE`` marked ``STAFF``
    (``hand_over`` names the ``colleague_id`` taking the task; ``send_back`` returns the case to
    the earlier steps with a ``reason``); the applicant makes ``resubmit`` (the correction asked
    for: ``answers`` and ``uploads``)."""
    if action not in ACTIONS:
        raise Refused(
            _("Unknown action “%(action)s”.") % {"action": action},
            code=WorkflowsErrorCode.UNKNOWN_ACTION,
        )
    (who,) = TASK_MACHINE.who(action)
    base = (
        Task.objects.filter(pk=task_id)
        .values("application_id", "department_id", "application__applicant_id")
        .first()
    )
    if who == APPLICANT:
        if base is None or actor is None or base["application__applicant_id"] != actor.pk:
            raise Refused(_("No such task."), code=WorkflowsErrorCode.NOT_FOUND)
    elif base is None or not can_work_on(actor, base["department_id"]):
        # Another department's task is answered exactly like a task that does not exist.
        raise Refused(_("No such task in your worklist."), code=WorkflowsErrorCode.NOT_FOUND)
    with transaction.atomic():
        app = Application.objects.select_for_update().get(pk=base["application_id"])
        task = (
            Task.objects.select_for_update(of=("self",))
            .select_related("claimed_by")
            .get(pk=task_id)
        )
        if expected_version is not None and task.version != expected_version:
            last = task.events.select_related("actor").order_by("-at", "-id").first()
            who_moved = staff_name(last.actor) if last and last.actor else _("someone else")
            raise Conflict(
                _(
                    "This task changed since you opened it: %(who)s moved it to “%(state)s”. Reload to see it."  # noqa: E501
                )
                % {"who": who_moved, "state": task.get_state_display()},
                code=WorkflowsErrorCode.STALE,
                holder=who_moved,
            )
        if who == APPLICANT:
            return _resubmit(app, task, actor, answers or {}, uploads or {})
        holder = task.claimed_by
        if action == "claim":
            return _claim(task, actor, holder)
        if action == "release":
            return _release(task, actor, holder)
        TASK_MACHINE.require(task.state, action, who=STAFF, refuse=lambda: _wrong_state(task))
        if holder is None:
            raise Conflict(
                _("Claim the task before working on it."), code=WorkflowsErrorCode.NOT_CLAIMED
            )
        if holder.pk != actor.pk:
            raise Conflict(
                _("%(who)s is working on this task.") % {"who": staff_name(holder)},
                code=WorkflowsErrorCode.CLAIMED,
                holder=staff_name(holder),
            )
        now = timezone.now()
        note = ""
        if task.paused_since is not None and action in (
            "correction",
            "complete",
            "reject",
            "send_back",
        ):
            raise Conflict(
                _("A special procedure is running on this task: end it first."),
                code=WorkflowsErrorCode.PROCEDURE_RUNNING,
            )
        if action == "hand_over":
            return _hand_over(app, task, actor, colleague_id, reason)
        if action == "send_back":
            return _send_back(app, task, actor, reason, now=now)
        if action == "complete":
            outputs = {k: str(v).strip() for k, v in (outputs or {}).items() if str(v).strip()}
            missing = [g for g in task.gives if not outputs.get(g)]
            if missing:
                raise Refused(
                    _("Fill in what this step gives: %(fields)s.") % {"fields": ", ".join(missing)},
                    code=WorkflowsErrorCode.OUTPUTS_MISSING,
                )
            task.outputs = {g: outputs[g][:200] for g in task.gives}
            task.finished_at = now
            note = reason.strip()
        elif action == "reject":
            reason = reason.strip()
            if not reason:
                raise Refused(
                    _("Give the reason for the rejection."), code=WorkflowsErrorCode.REASON_MISSING
                )
            task.reason = reason[:2000]
            task.finished_at = now
            note = reason
        elif action == "correction":
            reason = reason.strip()
            fields = [f for f in fields if f]
            if not reason or not fields:
                raise Refused(
                    _("Say what must be corrected and tick the fields the citizen must fix."),
                    code=WorkflowsErrorCode.CORRECTION_INCOMPLETE,
                )
            # Only what the department's own steps use may be asked again (need to know).
            spec = selectors.application_form_spec(app)
            need = selectors.task_need(task=task, spec=spec)
            allowed = set(need.fields) | {
                name
                for m in spec.asked_materials
                if m.name in need.materials
                for name in (m.key, m.name)
            }
            registered = [f for f in fields if (spec.field(f) or _NOT_A_FIELD).confirmed]
            if registered:
                raise Refused(
                    _(
                        "%(names)s came from a department's register, not from the citizen: ask "
                        "the department keeping the record to correct it."
                    )
                    % {"names": ", ".join(registered)},
                    code=WorkflowsErrorCode.FROM_REGISTER,
                )
            outside = [f for f in fields if f not in allowed]
            if outside:
                raise Refused(
                    _("Not an answer or material your department uses: %(names)s.")
                    % {"names": ", ".join(outside)},
                    code=WorkflowsErrorCode.UNKNOWN_FIELD,
                )
            task.reason = reason[:2000]
            task.correction_fields = list(dict.fromkeys(fields))
            # The clock stops until the citizen resubmits (补正期间不计入办理时限).
            task.paused_since = timezone.localdate(now)
            note = reason
        elif action == "accept":
            task.acknowledged_at = task.acknowledged_at or now
        event = _task_move(task, action, who=STAFF, actor=actor, note=note)
        if action == "complete":
            _issue_licences(app, task)
            _advance(app, now=now)
        elif action == "reject":
            _cancel_dependents(app, task, now=now)
        _application_refresh(app, now=now)
        _notify_citizen(app, event, **_task_message(app, task, action))
        return task


def _wrong_state(task: Task) -> Conflict:
    last = task.events.select_related("actor").order_by("-at", "-id").first()
    who = staff_name(last.actor) if last and last.actor else ""
    return Conflict(
        _("This task is already “%(state)s”%(by)s; it cannot be moved that way.")
        % {
            "state": task.get_state_display(),
            "by": (_(" (by %(who)s)") % {"who": who}) if who else "",
        },
        code=WorkflowsErrorCode.WRONG_STATE,
        holder=who,
    )


def _claim(task: Task, actor, holder) -> Task:
    if holder is not None and holder.pk != actor.pk:
        raise Conflict(
            _("%(who)s is working on this task.") % {"who": staff_name(holder)},
            code=WorkflowsErrorCode.CLAIMED,
            holder=staff_name(holder),
        )
    TASK_MACHINE.require(
        task.state,
        "claim",
        who=STAFF,
        refuse=lambda: Conflict(
            _("This task is “%(state)s” and cannot be claimed.")
            % {"state": task.get_state_display()},
            code=WorkflowsErrorCode.WRONG_STATE,
        ),
    )
    if holder is not None:
        return task
    now = timezone.now()
    task.claimed_by, task.claimed_at = actor, now
    task.acknowledged_at = task.acknowledged_at or now
    _task_move(
        task,
        "claim",
        who=STAFF,
        actor=actor,
        update_fields=["claimed_by", "claimed_at", "acknowledged_at", "updated_at"],
    )
    return task


def _release(task: Task, actor, holder) -> Task:
    if holder is None or holder.pk != actor.pk:
        raise Conflict(_("You do not hold this task."), code=WorkflowsErrorCode.NOT_HOLDER)
    TASK_MACHINE.require(task.state, "release", who=STAFF)
    task.claimed_by, task.claimed_at = None, None
    _task_move(
        task,
        "release",
        who=STAFF,
        actor=actor,
        update_fields=["claimed_by", "claimed_at", "updated_at"],
    )
    return task


def _hand_over(app: Application, task: Task, actor, colleague_id: int | None, reason: str) -> Task:
    """The holder hands the task to a colleague who works on the department's cases."""
    colleague = (
        get_user_model().objects.filter(pk=colleague_id, is_active=True).first()
        if colleague_id
        else None
    )
    if (
        colleague is None
        or colleague.pk == actor.pk
        or not Membership.objects.filter(
            user_id=colleague.pk,
            department_id=task.department_id,
            role__in=[Membership.Role.CLERK, Membership.Role.SUPERVISOR],
        ).exists()
    ):
        raise Refused(
            _("Choose a colleague who works on this department's cases."),
            code=WorkflowsErrorCode.NOT_A_COLLEAGUE,
        )
    note = _("Handed to %(who)s") % {"who": staff_name(colleague)}
    if reason.strip():
        note = f"{note}: {reason.strip()[:1000]}"
    task.claimed_by, task.claimed_at = colleague, timezone.now()
    _task_move(
        task,
        "hand_over",
        who=STAFF,
        actor=actor,
        note=note,
        update_fields=["claimed_by", "claimed_at", "updated_at"],
    )
    notify(
        colleague,
        subject=_("Handed to you: %(ref)s") % {"ref": app.reference},
        body=_("%(who)s handed you “%(step)s” of case %(ref)s. %(note)s")
        % {"who": staff_name(actor), "step": task.label, "ref": app.reference, "note": note},
        link=task.get_absolute_url(),
        link_label=app.reference or "",
    )
    return task


def _send_back(app: Application, task: Task, actor, reason: str, *, now) -> Task:
    """The holder sends the case back to the steps before this one: they reopen (accepted, with
    their holders, due again in their own working days) and this step waits for them again."""
    reason = reason.strip()
    if not reason:
        raise Refused(
            _("Say why the case goes back to the earlier step."),
            code=WorkflowsErrorCode.REASON_MISSING,
        )
    earlier = list(
        Task.objects.select_for_update(of=("self",))
        .filter(application=app, step__in=task.after, state=S.COMPLETED)
        .select_related("claimed_by")
    )
    if not earlier:
        raise Conflict(
            _("This is the case's first step: there is no earlier step to send it back to."),
            code=WorkflowsErrorCode.NO_EARLIER_STEP,
        )
    today = timezone.localdate(now)
    _task_move(task, "send_back", who=STAFF, actor=actor, note=reason[:2000])
    for previous in earlier:
        deadline = add_workdays(today, previous.due_workdays)
        previous.due_date, previous.due_provisional = deadline.date, deadline.provisional
        previous.finished_at = None
        previous.reason = reason[:2000]
        previous.reminded_at = previous.escalated_at = None
        _task_move(previous, "reopen", who=SYSTEM, note=reason[:2000])
        Application.objects.filter(pk=app.pk, promised_date__lt=previous.due_date).update(
            promised_date=previous.due_date
        )
        for person in (
            [previous.claimed_by]
            if previous.claimed_by
            else staff_of(previous.department_id, Membership.Role.CLERK)
        ):
            notify(
                person,
                subject=_("Sent back to you: %(ref)s") % {"ref": app.reference},
                body=_("“%(later)s” sent case %(ref)s back to “%(step)s”: %(reason)s")
                % {
                    "later": task.label,
                    "ref": app.reference,
                    "step": previous.label,
                    "reason": reason,
                },
                link=previous.get_absolute_url(),
                link_label=app.reference or "",
            )
    _application_refresh(app, now=now)
    return task


def _issue_licences(app: Application, task: Task) -> None:
    for field, value in task.outputs.items():
        ELicence.objects.get_or_create(
            holder=app.applicant,
            field=field,
            issuer=task.department,
            application=app,
            defaults={"value": value, "name": OUTPUT_NAMES.get(field, field)},
        )


def _advance(app: Application, *, now) -> None:
    tasks = list(Task.objects.filter(application=app).select_for_update())
    done = {t.step for t in tasks if t.state == S.COMPLETED}
    for t in tasks:
        if t.state == S.WAITING and set(t.after) <= done:
            _make_ready(t, now=now)


def _cancel_dependents(app: Application, rejected: Task, *, now) -> None:
    tasks = list(Task.objects.filter(application=app).select_for_update())
    blocked = {rejected.step}
    changed = True
    while changed:
        changed = False
        for t in tasks:
            if t.step not in blocked and blocked & set(t.after):
                blocked.add(t.step)
                changed = True
    for t in tasks:
        if t.step in blocked and TASK_MACHINE.allowed(t.state, "cancel", who=SYSTEM):
            t.reason = _("Not carried out because “%(step)s” was rejected.") % {
                "step": rejected.label
            }
            t.finished_at = now
            _task_move(t, "cancel", who=SYSTEM, note=t.reason)


def _application_refresh(app: Application, *, now) -> None:
    """The case's status follows from its tasks; only the chokepoints call this, and a status
    ``APPLICATION_MACHINE`` does not list as a move from the present one is refused."""
    states = list(Task.objects.filter(application=app).values_list("state", flat=True))
    if any(s == S.CORRECTION for s in states):
        status = A.CORRECTION
    elif all(s in Task.FINAL_STATES for s in states):
        completed = sum(s == S.COMPLETED for s in states)
        status = A.COMPLETED if completed == len(states) else A.PARTIAL if completed else A.REJECTED
    else:
        status = A.IN_PROGRESS
    if status != app.status:
        app.finished_at = now if status in Application.FINISHED_STATUSES else None
        _application_move(
            app, "status", who=SYSTEM, to=status, update_fields=["finished_at", "updated_at"]
        )


def _task_message(app: Application, task: Task, action: str) -> dict[str, str]:
    dept = task.department.name
    ref = app.reference
    finished = ""
    if app.status == A.COMPLETED:
        finished = _(" Your whole application is complete.")
    elif app.status == A.PARTIAL:
        finished = _(
            " Your application is finished: some parts were completed, others not; see the case page for what to do next."  # noqa: E501
        )
    elif app.status == A.REJECTED:
        finished = _(" No part of your application could be completed.")
    if action == "accept":
        return {
            "subject": _("%(ref)s: accepted by %(dept)s") % {"ref": ref, "dept": dept},
            "body": _("%(dept)s accepted “%(step)s”. Due by %(date)s.")
            % {"dept": dept, "step": task.label, "date": task.due_date},
        }
    if action == "correction":
        return {
            "subject": _("%(ref)s: %(dept)s asks you to correct something")
            % {"ref": ref, "dept": dept},
            "body": _(
                "%(dept)s needs a correction for “%(step)s”: %(reason)s Open the case page to fix only what is asked."  # noqa: E501
            )
            % {"dept": dept, "step": task.label, "reason": task.reason},
        }
    if action == "complete":
        return {
            "subject": _("%(ref)s: %(dept)s finished its part") % {"ref": ref, "dept": dept},
            "body": _("%(dept)s completed “%(step)s”.") % {"dept": dept, "step": task.label}
            + finished,
        }
    return {
        "subject": _("%(ref)s: %(dept)s rejected its part") % {"ref": ref, "dept": dept},
        "body": _("%(dept)s rejected “%(step)s”: %(reason)s")
        % {"dept": dept, "step": task.label, "reason": task.reason}
        + finished,
    }


def correction_resubmit(
    *, applicant, task_id: int, answers: dict[str, Any], uploads: dict[str, Any] | None = None
) -> Task:
    """The citizen fixes only what was asked: ``task_transition``'s ``resubmit``."""
    return task_transition(
        actor=applicant, task_id=task_id, action="resubmit", answers=answers, uploads=uploads
    )


def _resubmit(
    app: Application, task: Task, applicant, answers: dict[str, Any], uploads: dict[str, Any]
) -> Task:
    """The task goes back to the state the correction was asked from."""
    TASK_MACHINE.require(
        task.state,
        "resubmit",
        who=APPLICANT,
        refuse=lambda: Conflict(
            _("Nothing to correct here any more."), code=WorkflowsErrorCode.WRONG_STATE
        ),
    )
    extra = set(answers) - set(task.correction_fields)
    if extra:
        raise Refused(
            _("Only the fields asked for can be changed."), code=WorkflowsErrorCode.NOT_ASKED
        )
    last = task.events.filter(action="correction").order_by("-at", "-id").first()
    back = last.from_state if last else S.ACCEPTED
    app.data = {**app.data, **answers}
    app.save(update_fields=["data", "updated_at"])
    _store_attachments(app, uploads)
    task.correction_fields = []
    today = timezone.localdate()
    paused = _clock_resume(task, since=last.at if last else None, today=today)
    event = _task_move(task, "resubmit", who=APPLICANT, to=back, actor=applicant)
    if paused:
        _task_note(task, PAUSE, note=str(paused))
    _application_refresh(app, now=timezone.now())
    body = _("Your correction for “%(step)s” went to %(dept)s.") % {
        "step": task.label,
        "dept": task.department.name,
    }
    if paused:
        body += " " + ngettext(
            "The clock was paused %(days)d working day for your correction; the step is now due by %(date)s.",  # noqa: E501
            "The clock was paused %(days)d working days for your correction; the step is now due by %(date)s.",  # noqa: E501
            paused,
        ) % {"days": paused, "date": task.due_date}
    _notify_citizen(
        app,
        event,
        subject=_("%(ref)s: correction sent") % {"ref": app.reference},
        body=body,
    )
    return task


# ---------------------------------------------------------------- the fair clock

# History actions of the clock: the pause a correction made (its note: the working days), and
# an extension (延期) asked for, approved or refused (their note: the reason).
PAUSE = "pause"
EXTEND_REQUEST = "extend_request"
EXTEND_APPROVE = "extend_approve"
EXTEND_REFUSE = "extend_refuse"


def _due_moved(task: Task, workdays: int, *, today) -> None:
    """Move the task's due date later by ``workdays`` working days (the caller saves it). A task
    that is no longer overdue is reminded and supervised afresh for its new date."""
    if task.due_date is None or workdays <= 0:
        return
    deadline = add_workdays(task.due_date, workdays)
    task.due_date = deadline.date
    task.due_provisional = task.due_provisional or deadline.provisional
    # The case's promise is never earlier than a step's due date: the clock stopped for the
    # whole case, not only for the step.
    Application.objects.filter(pk=task.application_id, promised_date__lt=task.due_date).update(
        promised_date=task.due_date, promised_provisional=task.due_provisional
    )
    if task.due_date >= today:
        task.reminded_at = None
        task.escalated_at = None


def _clock_resume(task: Task, *, since, today) -> int:
    """End the pause a correction started; return the whole working days it lasted (the days
    after the correction was asked, up to and including the resubmission), by which the due
    date moves. The caller saves the task."""
    start = task.paused_since or (timezone.localdate(since) if since is not None else today)
    paused, _provisional = workdays_between(start, today)
    paused = max(paused, 0)
    _due_moved(task, paused, today=today)
    task.paused_workdays += paused
    task.paused_since = None
    return paused


def extension_may_decide(*, user, task: Task) -> bool:
    """Whether ``user`` decides extensions of ``task``: a supervisor of its department, or of a
    government service centre overseeing it (where the department has no other supervisor).
    Nobody decides their own request (``extension_decide`` refuses it)."""
    return user.is_authenticated and supervises(user, task.department_id)


def _extension_deciders(task: Task, requester) -> list:
    """Who is asked to decide: the department's supervisors other than the requester, else the
    next level up (as for a 督办); never nobody."""
    people = [
        person
        for person in staff_of(task.department_id, Membership.Role.SUPERVISOR)
        if person.pk != requester.pk
    ]
    if people:
        return people
    return supervision_addressee(task.department, above=True)[1]


def _is_supervisor(user, department_id: int) -> bool:
    if user.is_superuser:
        return True
    return Membership.objects.filter(
        user_id=user.pk, department_id=department_id, role=Membership.Role.SUPERVISOR
    ).exists()


def extension_request(*, actor, task_id: int, workdays: int, reason: str) -> Extension:
    """The clerk holding a task asks for ``workdays`` more working days (延期), with a reason.
    Nothing moves until a supervisor of the department approves (``extension_decide``)."""
    base = Task.objects.filter(pk=task_id).values("department_id").first()
    if base is None or not can_work_on(actor, base["department_id"]):
        raise Refused(_("No such task in your worklist."), code=WorkflowsErrorCode.NOT_FOUND)
    reason = reason.strip()
    if not reason:
        raise Refused(
            _("Give the reason for the extension."), code=WorkflowsErrorCode.REASON_MISSING
        )
    if not 1 <= workdays <= Extension.MAX_WORKDAYS:
        raise Refused(
            _("An extension is from 1 to %(max)d working days.") % {"max": Extension.MAX_WORKDAYS},
            code=WorkflowsErrorCode.EXTENSION_DAYS,
        )
    with transaction.atomic():
        task = (
            Task.objects.select_for_update(of=("self",))
            .select_related("application")
            .get(pk=task_id)
        )
        if task.state not in Task.CLOCK_STATES:
            raise _wrong_state(task)
        if task.claimed_by_id != actor.pk:
            raise Conflict(
                _("Claim the task before asking for more time."),
                code=WorkflowsErrorCode.NOT_HOLDER,
            )
        if task.extensions.filter(status=Extension.Status.REQUESTED).exists():
            raise Conflict(
                _("An extension for this task already waits for a decision."),
                code=WorkflowsErrorCode.EXTENSION_PENDING,
            )
        extension = Extension.objects.create(
            task=task,
            workdays=workdays,
            reason=reason[:2000],
            requested_by=actor,
            due_before=task.due_date,
        )
        _task_note(task, EXTEND_REQUEST, actor=actor, note=extension.reason)
        ref = task.application.reference
        for supervisor in _extension_deciders(task, actor):
            notify(
                supervisor,
                subject=_("Extension (延期) asked: %(ref)s") % {"ref": ref},
                body=_("%(who)s asks %(days)d more working days for “%(step)s”: %(reason)s")
                % {
                    "who": staff_name(actor),
                    "days": workdays,
                    "step": task.label,
                    "reason": extension.reason,
                },
                link=task.get_absolute_url(),
                link_label=ref or "",
            )
        return extension


def extension_decide(*, actor, extension_id: int, approve: bool, reason: str) -> Extension:
    """A supervisor of the task's department approves an extension (the due date moves by its
    working days) or refuses it (nothing changes), with a reason either way; the citizen is
    told. The one way an extension is decided."""
    base = (
        Extension.objects.filter(pk=extension_id)
        .values("task_id", "task__department_id", "requested_by_id")
        .first()
    )
    overseer = (
        base is not None
        and overseen_department_ids(actor).filter(pk=base["task__department_id"]).exists()
    )
    if base is None or not (can_work_on(actor, base["task__department_id"]) or overseer):
        # Another department's request is answered exactly like one that does not exist.
        raise Refused(
            _("No such extension request in your departments."),
            code=WorkflowsErrorCode.NOT_FOUND,
        )
    if not (overseer or _is_supervisor(actor, base["task__department_id"])):
        raise Forbidden(
            _("Only a supervisor of the department decides an extension."),
            code=WorkflowsErrorCode.NOT_SUPERVISOR,
        )
    if base["requested_by_id"] == actor.pk and not actor.is_superuser:
        raise Forbidden(
            _("Nobody decides their own request for more time: another supervisor decides it."),
            code=WorkflowsErrorCode.OWN_REQUEST,
        )
    reason = reason.strip()
    if not reason:
        raise Refused(
            _("Give the reason for the decision."), code=WorkflowsErrorCode.REASON_MISSING
        )
    with transaction.atomic():
        task = (
            Task.objects.select_for_update(of=("self",))
            .select_related("application", "department")
            .get(pk=base["task_id"])
        )
        extension = Extension.objects.select_for_update().get(pk=extension_id)
        if extension.status != Extension.Status.REQUESTED:
            raise Conflict(
                _("This extension was already decided."), code=WorkflowsErrorCode.DECIDED
            )
        if approve and task.state not in Task.OPEN_STATES:
            raise _wrong_state(task)
        now = timezone.now()
        extension.decided_by, extension.decided_at = actor, now
        extension.decision_reason = reason[:2000]
        if approve:
            extension.status = Extension.Status.APPROVED
            extension.due_before = task.due_date
            _due_moved(task, extension.workdays, today=timezone.localdate(now))
            extension.due_after = task.due_date
            task.save(
                update_fields=[
                    "due_date",
                    "due_provisional",
                    "reminded_at",
                    "escalated_at",
                    "updated_at",
                ]
            )
        else:
            extension.status = Extension.Status.REFUSED
        extension.save()
        event = _task_note(
            task,
            EXTEND_APPROVE if approve else EXTEND_REFUSE,
            actor=actor,
            note=extension.decision_reason,
        )
        app = task.application
        values = {
            "ref": app.reference,
            "dept": task.department.name,
            "step": task.label,
            "days": extension.workdays,
            "date": task.due_date,
            "reason": extension.decision_reason,
        }
        if approve:
            subject = _("%(ref)s: more time for %(dept)s (延期)") % values
            body = (
                ngettext(
                    "%(dept)s was given %(days)d more working day for “%(step)s”, now due by %(date)s: %(reason)s",  # noqa: E501
                    "%(dept)s was given %(days)d more working days for “%(step)s”, now due by %(date)s: %(reason)s",  # noqa: E501
                    extension.workdays,
                )
                % values
            )
        else:
            subject = _("%(ref)s: extension refused") % values
            body = (
                _(
                    "%(dept)s asked for more time for “%(step)s”; it was refused, the step is still due by %(date)s: %(reason)s"  # noqa: E501
                )
                % values
            )
        _notify_citizen(app, event, subject=subject, body=body)
        return extension


def task_mark_delivered(*, task_id: int) -> bool:
    """The department's worklist received the task (the delivery task's only write)."""
    return bool(
        Task.objects.filter(pk=task_id, delivered_at__isnull=True).update(
            delivered_at=timezone.now()
        )
    )


def task_reveal_record(*, task: Task, actor) -> TaskEvent | None:
    """Log that ``actor``, holding the claim on ``task``, was shown its case's ID numbers or
    phones unmasked: once per claim (a reveal already logged since the claim is not logged
    again). Returns the new history row, or None when nothing was logged."""
    with transaction.atomic():
        locked = (
            Task.objects.select_for_update()
            .only("id", "application_id", "state", "claimed_by_id", "claimed_at")
            .filter(pk=task.pk)
            .first()
        )
        if (
            locked is None
            or actor is None
            or locked.claimed_by_id != actor.pk
            or locked.claimed_at is None
        ):
            return None
        if locked.events.filter(
            action=REVEAL, actor_id=actor.pk, at__gte=locked.claimed_at
        ).exists():
            return None
        return _task_note(locked, REVEAL, actor=actor)


_NOT_A_FIELD = FieldSpec(name="", label="")


# ---------------------------------------------------------------- special procedures

PROCEDURE_START = "procedure_start"
PROCEDURE_END = "procedure_end"
# The longest a special procedure may be expected to run (a hearing, a long expert review).
PROCEDURE_MAX_DAYS = 366


def _held_for_clock(actor, task_id: int) -> Task:
    """The task, locked, when ``actor`` holds it (the caller's transaction)."""
    base = Task.objects.filter(pk=task_id).values("department_id").first()
    if base is None or not can_work_on(actor, base["department_id"]):
        raise Refused(_("No such task in your worklist."), code=WorkflowsErrorCode.NOT_FOUND)
    task = (
        Task.objects.select_for_update(of=("self",))
        .select_related("application", "department")
        .get(pk=task_id)
    )
    if task.claimed_by_id != actor.pk:
        raise Conflict(_("Claim the task first."), code=WorkflowsErrorCode.NOT_HOLDER)
    return task


def procedure_start(
    *, actor, task_id: int, kind: str, reason: str, expected_end
) -> SpecialProcedure:
    """The holder starts a special procedure (检测, 检验, 鉴定, 专家评审, 公示, 听证) that the law
    keeps out of the time limit: the task's clock pauses until ``procedure_end``; the citizen is
    told what, why and until when."""
    reason = reason.strip()
    today = timezone.localdate()
    problems = []
    if kind not in SpecialProcedure.Kind.values:
        problems.append(_("Choose the procedure."))
    if not reason:
        problems.append(_("Give the reason for the procedure."))
    if not isinstance(expected_end, dt.date):
        problems.append(_("Give the expected end date."))
    elif not today <= expected_end <= today + dt.timedelta(days=PROCEDURE_MAX_DAYS):
        problems.append(_("The expected end is a date from today to a year ahead."))
    if problems:
        raise Refused(" ".join(problems), code=WorkflowsErrorCode.PROCEDURE_INVALID)
    with transaction.atomic():
        task = _held_for_clock(actor, task_id)
        if task.state not in Task.CLOCK_STATES:
            raise _wrong_state(task)
        if task.paused_since is not None:
            raise Conflict(
                _("A special procedure is already running on this task."),
                code=WorkflowsErrorCode.PROCEDURE_RUNNING,
            )
        procedure = SpecialProcedure.objects.create(
            task=task,
            kind=kind,
            reason=reason[:2000],
            expected_end=expected_end,
            started_on=today,
            started_by=actor,
        )
        task.paused_since = today
        task.save(update_fields=["paused_since", "updated_at"])
        event = _task_note(
            task,
            PROCEDURE_START,
            actor=actor,
            note=f"{procedure.get_kind_display()}: {procedure.reason}",
        )
        app = task.application
        values = {
            "ref": app.reference,
            "dept": task.department.name,
            "step": task.label,
            "kind": procedure.get_kind_display(),
            "end": expected_end,
            "reason": procedure.reason,
        }
        _notify_citizen(
            app,
            event,
            subject=_("%(ref)s: %(kind)s, the time limit is paused") % values,
            body=_(
                "%(dept)s started %(kind)s for “%(step)s” (%(reason)s), expected to end by "
                "%(end)s. By law this time does not count towards the time limit; the due date "
                "moves by the working days it takes."
            )
            % values,
        )
        return procedure


def procedure_end(*, actor, task_id: int) -> SpecialProcedure:
    """The holder ends the running special procedure: the clock resumes and the due date (and
    the case's promise) moves by the working days it took; the citizen is told the new date."""
    with transaction.atomic():
        task = _held_for_clock(actor, task_id)
        procedure = (
            SpecialProcedure.objects.select_for_update()
            .filter(task=task, ended_on__isnull=True)
            .first()
        )
        if procedure is None:
            raise Conflict(
                _("No special procedure is running on this task."),
                code=WorkflowsErrorCode.PROCEDURE_NOT_RUNNING,
            )
        today = timezone.localdate()
        procedure.workdays = _clock_resume(task, since=None, today=today)
        procedure.ended_on, procedure.ended_by = today, actor
        procedure.save(update_fields=["workdays", "ended_on", "ended_by"])
        task.save(
            update_fields=[
                "paused_since",
                "paused_workdays",
                "due_date",
                "due_provisional",
                "reminded_at",
                "escalated_at",
                "updated_at",
            ]
        )
        event = _task_note(task, PROCEDURE_END, actor=actor, note=str(procedure.workdays))
        app = task.application
        values = {
            "ref": app.reference,
            "kind": procedure.get_kind_display(),
            "step": task.label,
            "days": procedure.workdays,
            "date": task.due_date,
        }
        _notify_citizen(
            app,
            event,
            subject=_("%(ref)s: %(kind)s finished") % values,
            body=ngettext(
                "%(kind)s for “%(step)s” took %(days)d working day; the step is now due by %(date)s.",  # noqa: E501
                "%(kind)s for “%(step)s” took %(days)d working days; the step is now due by %(date)s.",  # noqa: E501
                procedure.workdays,
            )
            % values,
        )
        return procedure

"""Tasks of joint handling: the one chokepoint that moves a task, and the case moved with it.

Every move is checked against ``TASK_MACHINE`` (and the case's against ``APPLICATION_MACHINE``)
before anything changes: staff's moves, the applicant's correction (``resubmit``) and the moves
the services make on their own (``ready``, ``cancel``, the case's ``status``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from departments.models import Membership
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
    Task,
    TaskEvent,
)
from ..selectors import REVEAL
from .applications import _make_ready, _store_attachments
from .common import OUTPUT_NAMES, A, S, _notify_citizen
from .moves import _application_move, _task_move

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
) -> Task:
    """The one way a task moves. Refusals raise and change nothing.

    Staff of the task's department make the moves of ``TASK_MACHINE`` marked ``STAFF``; the
    applicant makes ``resubmit`` (the correction asked for: ``answers`` and ``uploads``)."""
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
        TaskEvent.objects.create(
            application_id=task.application_id,
            task=task,
            action=PAUSE,
            from_state=task.state,
            to_state=task.state,
            note=str(paused),
        )
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
    """Whether ``user`` decides extensions of ``task``: a supervisor of its department."""
    return user.is_authenticated and _is_supervisor(user, task.department_id)


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
        TaskEvent.objects.create(
            application_id=task.application_id,
            task=task,
            action=EXTEND_REQUEST,
            from_state=task.state,
            to_state=task.state,
            actor=actor,
            note=extension.reason,
        )
        ref = task.application.reference
        for supervisor in staff_of(task.department_id, Membership.Role.SUPERVISOR):
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
    if base is None or not can_work_on(actor, base["task__department_id"]):
        # Another department's request is answered exactly like one that does not exist.
        raise Refused(
            _("No such extension request in your departments."),
            code=WorkflowsErrorCode.NOT_FOUND,
        )
    if not _is_supervisor(actor, base["task__department_id"]):
        raise Forbidden(
            _("Only a supervisor of the department decides an extension."),
            code=WorkflowsErrorCode.NOT_SUPERVISOR,
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
        event = TaskEvent.objects.create(
            application_id=task.application_id,
            task=task,
            action=EXTEND_APPROVE if approve else EXTEND_REFUSE,
            from_state=task.state,
            to_state=task.state,
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
        return TaskEvent.objects.create(
            application_id=locked.application_id,
            task=locked,
            action=REVEAL,
            from_state=locked.state,
            to_state=locked.state,
            actor=actor,
        )


_NOT_A_FIELD = FieldSpec(name="", label="")

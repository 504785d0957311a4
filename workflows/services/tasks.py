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

from departments.selectors import can_work_on, staff_name
from workflows.errors import WorkflowsErrorCode
from zheliban.core.errors import Conflict, Refused
from zheliban.core.machines import SYSTEM

from .. import selectors
from ..models import (
    APPLICANT,
    STAFF,
    TASK_MACHINE,
    Application,
    ELicence,
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
            outside = [f for f in fields if f not in allowed]
            if outside:
                raise Refused(
                    _("Not an answer or material your department uses: %(names)s.")
                    % {"names": ", ".join(outside)},
                    code=WorkflowsErrorCode.UNKNOWN_FIELD,
                )
            task.reason = reason[:2000]
            task.correction_fields = list(dict.fromkeys(fields))
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
    event = _task_move(task, "resubmit", who=APPLICANT, to=back, actor=applicant)
    _application_refresh(app, now=timezone.now())
    _notify_citizen(
        app,
        event,
        subject=_("%(ref)s: correction sent") % {"ref": app.reference},
        body=_("Your correction for “%(step)s” went to %(dept)s.")
        % {"step": task.label, "dept": task.department.name},
    )
    return task


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

"""How history rows read to people: "卫健委 accepted 出生医学证明", not "accept ready→accepted"."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from workflows.models import Application, Task

register = template.Library()

ACTIONS = {
    "submit": _("Application submitted"),
    "ready": _("Sent to the department"),
    "claim": _("Picked up by a member of staff"),
    "release": _("Put back in the worklist"),
    "accept": _("Accepted (受理)"),
    "correction": _("Correction requested (补正)"),
    "resubmit": _("Correction sent"),
    "complete": _("Completed"),
    "reject": _("Rejected"),
    "cancel": _("Not carried out"),
    "escalate": _("Overdue: escalated to the supervisor (督办)"),
    "supervise": _("Supervision (督办) issued"),
    "supervise_reply": _("Supervision (督办) answered"),
    "hand_over": _("Handed to a colleague"),
    "send_back": _("Sent back to the earlier step"),
    "reopen": _("Reopened: a later step sent the case back"),
    "procedure_start": _("Special procedure started: the time limit is paused"),
    "procedure_end": _("Special procedure finished: the time limit runs again"),
    "status": _("Case status changed"),
    "rate": _("Rated"),
}
STATES = {**dict(Task.State.choices), **dict(Application.Status.choices)}


@register.filter
def action_text(action: str) -> str:
    return str(ACTIONS.get(action, action))


@register.filter
def state_text(state: str) -> str:
    return str(STATES.get(state, state))


@register.filter
def field_label(name: str) -> str:
    """A data field's name as staff read it (出生医学证明编号 for birth_certificate_no)."""
    from workflows.services import OUTPUT_NAMES

    return OUTPUT_NAMES.get(name, name)


@register.inclusion_tag("workflows/item_ratings.html")
def item_ratings(item) -> dict:
    """好差评 of the cases that included this item: average and count (one query)."""
    from django.db.models import Avg, Count

    from workflows.models import Rating

    cases = Task.objects.filter(item_id=item.pk).values("application_id")
    summary = Rating.objects.filter(application_id__in=cases).aggregate(
        average=Avg("score"), count=Count("id")
    )
    return {"average": summary["average"], "count": summary["count"]}


@register.inclusion_tag("workflows/task_clock.html", takes_context=True)
def task_clock(context, task) -> dict:
    """The task page's clock and supervision panel: special procedures (start, end), hand-over
    to a colleague or back a step, and the task's 督办 (a few queries, whatever the history)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from departments.models import Membership
    from workflows.models import SpecialProcedure
    from workflows.services import may_issue_supervision

    user = context["request"].user
    mine = task.claimed_by_id == user.pk
    # The history (read with the task) says whether there is anything to list.
    done = {event.action for event in task.events.all()}
    procedures = list(task.procedures.all()) if "procedure_start" in done else []
    colleagues = []
    if mine and task.state in Task.OPEN_STATES:
        colleagues = list(
            get_user_model()
            .objects.filter(
                memberships__department_id=task.department_id,
                memberships__role__in=[Membership.Role.CLERK, Membership.Role.SUPERVISOR],
                is_active=True,
            )
            .exclude(pk=user.pk)
            .distinct()
            .order_by("username")
        )
    return {
        "csrf_token": context.get("csrf_token"),
        "task": task,
        "mine": mine,
        "procedures": procedures,
        "running": next((p for p in procedures if p.ended_on is None), None),
        "kinds": SpecialProcedure.Kind.choices,
        "today": timezone.localdate(),
        "colleagues": colleagues,
        "may_send_back": mine
        and task.state in (Task.State.READY, Task.State.ACCEPTED)
        and bool(task.after),
        "supervisions": list(task.supervisions.select_related("department").order_by("issued_at"))
        if done & {"supervise", "escalate"}
        else [],
        "may_supervise": task.state in Task.OPEN_STATES
        and may_issue_supervision(user=user, task=task),
    }

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

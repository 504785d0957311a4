from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

ACTIONS = {
    "receive": _("Received (受理)"),
    "queue": _("Waiting for a dispatcher"),
    "dispatch": _("Dispatched (派单)"),
    "sign": _("Signed for (签收)"),
    "return": _("Returned (退单)"),
    "opinion": _("Opinion given"),
    "answer": _("Answered (答复)"),
    "callback": _("Called back (回访)"),
    "rate": _("Rated (满意度)"),
    "reopen": _("Reopened"),
    "close": _("Closed (办结)"),
    "link": _("Linked to an earlier ticket"),
    "linked": _("Another ticket linked to this one"),
    "supervise": _("Overdue, supervised (督办)"),
    "resolve": _("Answered by the desk from the knowledge base"),
    "subdispatch": _("Sub-dispatched to a street (下派)"),
    "delay": _("Asked for an extension or suspension"),
    "decide": _("Extension or suspension decided"),
    "resume": _("Resumed after a suspension"),
}


@register.filter
def ticket_action(action: str) -> str:
    return str(ACTIONS.get(action, action))

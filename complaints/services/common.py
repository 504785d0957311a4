"""What the desk's services share: limits, the steps' deadlines in working days, bad input, the
citizen's notices."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.errors import ComplaintsErrorCode
from zheliban.core.errors import Refused
from zheliban.core.notices import notify
from zheliban.core.workdays import add_workdays

from ..models import (
    Ticket,
    TicketDepartment,
)

CONTENT_MAX_CHARS = 5000
TITLE_MAX_CHARS = 100
MAX_ATTACHMENTS = 5
TICKET_UPLOAD_TYPES = ("jpg", "png", "pdf")
PHOTO_TYPES = ("jpg", "png")
SATISFIED_FROM = 3  # 3 (基本满意) and above close the ticket; 1–2 reopen it

# Working days per step; the answer's depends on the kind of ticket (settings TICKET_DEADLINES).
DEFAULT_DEADLINES: dict[str, Any] = {
    "dispatch": 1,
    "sign": 1,
    "answer": {
        "consultation": 2,
        "help": 5,
        "complaint": 10,
        "report": 15,
        "suggestion": 10,
        "praise": 5,
    },
    "callback": 3,
    "rating": 5,
}

S = Ticket.State
P = TicketDepartment.State


class TicketInvalid(Refused):
    """Bad input for a new ticket: ``fields`` maps each field to its messages."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        first = next(iter(fields.values()))[0]
        super().__init__(first, code=ComplaintsErrorCode.INVALID)
        self.fields = fields


# ---------------------------------------------------------------- deadlines


def _deadlines() -> dict[str, Any]:
    return {**DEFAULT_DEADLINES, **getattr(settings, "TICKET_DEADLINES", {})}


def step_workdays(step: str, kind: str) -> int:
    value = _deadlines()[step]
    return int(value.get(kind, max(value.values())) if isinstance(value, dict) else value)


def _start_step(ticket: Ticket, step: str | None, *, now) -> None:
    ticket.node_started_at = now
    ticket.reminded_at = None
    ticket.supervised_at = None
    if step is None:
        ticket.node_due_date = None
        ticket.node_due_provisional = False
        return
    deadline = add_workdays(timezone.localdate(now), step_workdays(step, ticket.kind))
    ticket.node_due_date = deadline.date
    ticket.node_due_provisional = deadline.provisional


def _on_time(ticket: Ticket, *, now) -> bool | None:
    if ticket.node_due_date is None:
        return None
    return timezone.localdate(now) <= ticket.node_due_date


def _require_note(note: str, message: str, code: str) -> None:
    if not note:
        raise Refused(message, code=code)
    if len(note) > CONTENT_MAX_CHARS:
        raise Refused(
            _("Write at most %(max)d characters.") % {"max": CONTENT_MAX_CHARS},
            code=ComplaintsErrorCode.TOO_LONG,
        )


def _tell_citizen(ticket: Ticket, subject: str, body: str) -> None:
    if ticket.citizen is not None and ticket.citizen.is_active:
        notify(ticket.citizen, subject=subject, body=body)


def _tell_senders(ticket: Ticket, subject: str, body: str, *, to_sender: str = "") -> None:
    """Tell the ticket's sender, and the sender of every ticket linked to it as the same matter
    (they were promised to hear about it with this one), each under their own number.
    ``to_sender`` is added for the ticket's own sender only (the link to rate the answer)."""
    _tell_citizen(
        ticket, subject % {"number": ticket.number}, f"{body}\n\n{to_sender}" if to_sender else body
    )
    linked = Ticket.objects.filter(duplicate_of=ticket, citizen__is_active=True).select_related(
        "citizen"
    )
    for other in linked:
        notify(
            other.citizen,
            subject=subject % {"number": other.number},
            body=_("Handled together with ticket %(lead)s: %(outcome)s")
            % {"lead": ticket.number, "outcome": body},
        )

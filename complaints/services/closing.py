"""The end of the loop: the callback, the citizen's rating (closing the ticket or sending it back
to the lead department) and closing without one."""

from __future__ import annotations

from django.utils.translation import gettext as _

from complaints.errors import ComplaintsErrorCode
from departments.models import Membership
from departments.selectors import staff_of
from zheliban.core.errors import Refused
from zheliban.core.machines import SYSTEM
from zheliban.core.notices import notify

from ..models import TICKET_MACHINE, Ticket
from .common import SATISFIED_FROM, P, S, _require_note, _tell_citizen
from .moves import _kept, _move, _part_move


def _h_callback(ticket: Ticket, *, actor, who, now, note, satisfaction, **_kw) -> None:
    _require_note(
        note, _("Write what the citizen said on the callback."), ComplaintsErrorCode.NOTE_MISSING
    )
    kept = _kept(ticket, now=now)
    ticket.callback_note = note
    ticket.called_back_at = now
    _move(
        ticket,
        "callback",
        who=who,
        step="rating",
        now=now,
        actor=actor,
        note=note,
        kept=kept,
    )
    if satisfaction is not None:
        # the citizen rated on the phone: the desk's rating, the next move of the same table
        TICKET_MACHINE.require(ticket.state, "rate", who=who)
        _rate(ticket, actor=actor, who=who, now=now, satisfaction=satisfaction, note="")


def _h_rate(ticket: Ticket, *, actor, who, now, note, satisfaction, **_kw) -> None:
    _rate(ticket, actor=actor, who=who, now=now, satisfaction=satisfaction, note=note)


def _rate(ticket: Ticket, *, actor, who: str, now, satisfaction, note: str) -> None:
    if (
        not isinstance(satisfaction, int)
        or isinstance(satisfaction, bool)
        or not (1 <= satisfaction <= 5)
    ):
        raise Refused(
            _("Give a rating from 1 to 5."), code=ComplaintsErrorCode.SATISFACTION_INVALID
        )
    if len(note) > 1000:
        raise Refused(
            _("Write at most %(max)d characters.") % {"max": 1000},
            code=ComplaintsErrorCode.TOO_LONG,
        )
    ticket.satisfaction = satisfaction
    ticket.satisfaction_comment = note
    if satisfaction >= SATISFIED_FROM:
        ticket.closed_at = now
        _move(
            ticket,
            "rate",
            who=who,
            to=S.CLOSED,
            step=None,
            now=now,
            actor=actor,
            note=note,
            data={"satisfaction": satisfaction},
        )
        _tell_citizen(
            ticket,
            _("Ticket %(number)s closed") % {"number": ticket.number},
            _("Thank you for your rating. The ticket is closed."),
        )
        return
    # unsatisfied: back to the lead department, which answers again
    ticket.reopen_count += 1
    lead = ticket.parts.select_for_update().filter(is_lead=True).exclude(state=P.RETURNED).first()
    if lead is None:
        raise TICKET_MACHINE.refusal(ticket.state)
    _part_move(lead, "reopen", who=SYSTEM, refuse=lambda: TICKET_MACHINE.refusal(ticket.state))
    _move(
        ticket,
        "rate",
        who=who,
        to=S.HANDLING,
        event="reopen",
        step="answer",
        now=now,
        actor=actor,
        note=note,
        department=ticket.department,
        data={"satisfaction": satisfaction},
    )
    for user in staff_of(ticket.department_id, Membership.Role.SUPERVISOR):
        notify(
            user,
            subject=_("Ticket %(number)s reopened") % {"number": ticket.number},
            body=_(
                "The citizen was not satisfied (%(score)d/5) and the ticket is back with "
                "your department, due %(date)s."
            )
            % {"score": satisfaction, "date": ticket.node_due_date},
        )
    _tell_citizen(
        ticket,
        _("Ticket %(number)s reopened") % {"number": ticket.number},
        _("%(department)s will look at it again and answer by %(date)s.")
        % {"department": ticket.department_name, "date": ticket.node_due_date},
    )


def _h_close(ticket: Ticket, *, actor, who, now, note, **_kw) -> None:
    _require_note(
        note, _("Say why the ticket is closed without a rating."), ComplaintsErrorCode.NOTE_MISSING
    )
    ticket.closed_at = now
    _move(ticket, "close", who=who, step=None, now=now, actor=actor, note=note)

"""The work-order loop: the one chokepoint ``ticket_transition`` and its steps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.errors import ComplaintsErrorCode
from departments.models import Department, Membership
from departments.selectors import staff_name
from zheliban.core.errors import Conflict, Forbidden, Refused
from zheliban.core.machines import SYSTEM

from ..dispatch.categories import CATEGORIES
from ..models import (
    ASSISTING,
    DESK,
    LEAD,
    PART_MACHINE,
    SENDER,
    TICKET_MACHINE,
    Article,
    ReporterAccess,
    Ticket,
    TicketDepartment,
)
from ..selectors import (
    is_desk,
    may_see_reporter,
    part_for,
    suspensions_due,
)
from .callback import RATING_LINK_DAYS, rating_url
from .closing import _h_callback, _h_close, _h_rate
from .common import P, _require_note, _tell_citizen, _tell_senders
from .desk import _h_decide, _h_delay, _h_resolve, _h_resume, _h_subdispatch, delays_withdraw
from .moves import _do_dispatch, _kept, _link, _link_target_lock, _move, _part_move, _stay

# ---------------------------------------------------------------- who may do what


def reporter_reveal(*, user, ticket: Ticket, reason: str) -> dict[str, str]:
    """The reporter of a ticket, for a desk supervisor; every look is logged."""
    if not may_see_reporter(user):
        raise Forbidden(_("Only the desk's supervisors may see who made a report."))
    reason = (reason or "").strip()
    if not reason:
        raise Refused(
            _("Say why you need to see the reporter."), code=ComplaintsErrorCode.REASON_MISSING
        )
    ReporterAccess.objects.create(ticket=ticket, user=user, reason=reason[:200])
    citizen = ticket.citizen
    return {
        "name": ticket.contact_name or (getattr(citizen, "real_name", "") if citizen else ""),
        "phone": ticket.contact_phone or (getattr(citizen, "phone", "") if citizen else ""),
        "email": ticket.contact_email,
        "username": citizen.get_username() if citizen else "",
    }


# ---------------------------------------------------------------- the work-order loop

# The moves people make through ``ticket_transition``; the system's own are made at intake.
ACTIONS = TICKET_MACHINE.actions(exclude=(SYSTEM,))
# The moves a department makes on its own part of the ticket, and those the part's table lists.
DEPARTMENT_ACTIONS = ("sign", "return", "opinion", "answer", "subdispatch", "delay", "resume")
PART_ACTIONS = frozenset(PART_MACHINE.actions())
CATEGORY_NAMES = frozenset(CATEGORIES)


MOVE_DATA_KEYS = ("kind", "until", "approve", "category")


def move_data(values: dict) -> dict:
    """From a page's or a request's cleaned values, what a move takes as ``data``."""
    return {k: values[k] for k in MOVE_DATA_KEYS if values.get(k) not in ("", None)}


def ticket_transition(
    *,
    actor,
    ticket: Ticket | int,
    action: str,
    version: int | None = None,
    note: str = "",
    department: Department | None = None,
    assisting: Sequence[Department] = (),
    target: Ticket | None = None,
    satisfaction: int | None = None,
    article: Article | None = None,
    data: dict | None = None,
) -> Ticket:
    """Move a ticket one step of the loop, or refuse and change nothing.

    ``data`` carries what a move needs beyond these: a 延期/挂起's ``kind`` and ``until``, the
    desk's ``approve`` on it, the dispatcher's ``category``."""
    if action not in ACTIONS:
        raise Refused(_("Unknown action."), code=ComplaintsErrorCode.UNKNOWN_ACTION)
    pk = ticket.pk if isinstance(ticket, Ticket) else ticket
    with transaction.atomic():
        try:
            locked = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related("department", "citizen", "region")
                .get(pk=pk)
            )
        except Ticket.DoesNotExist as error:
            raise Refused(_("No such ticket."), code=ComplaintsErrorCode.NOT_FOUND) from error
        if version is not None and version != locked.version:
            last = locked.events.exclude(actor=None).select_related("actor").last()
            who = staff_name(last.actor) if last else _("someone else")
            raise Conflict(
                _("This ticket was changed by %(name)s since you opened it; reload the page.")
                % {"name": who},
                code=ComplaintsErrorCode.STALE,
                holder=who,
            )
        _step(
            locked,
            action,
            actor=actor,
            note=(note or "").strip(),
            department=department,
            assisting=assisting,
            target=target,
            satisfaction=satisfaction,
            article=article,
            data=data,
        )
        return locked


def _step(
    ticket: Ticket,
    action: str,
    *,
    actor,
    who: str | None = None,
    now=None,
    note: str = "",
    department: Department | None = None,
    assisting: Sequence[Department] = (),
    target: Ticket | None = None,
    satisfaction: int | None = None,
    article: Article | None = None,
    data: dict | None = None,
) -> None:
    """Every move of a ticket passes here, on its locked row: who may make it, then the tables
    (the department's part in ``PART_MACHINE``, the ticket in ``TICKET_MACHINE``), then the
    move. ``who`` is given only by intake, for the moves made as a ticket arrives (``SYSTEM``,
    or ``SENDER`` joining it to an open ticket)."""
    now = now or timezone.now()
    part = None
    if who is None:
        who, part = _authorize(ticket, actor, action)
    if part is not None and action in PART_ACTIONS:
        PART_MACHINE.require(
            part.state, action, who=who, refuse=lambda: _part_refusal(ticket, action)
        )
    TICKET_MACHINE.require(ticket.state, action, who=who)
    _HANDLERS[action](
        ticket,
        actor=actor,
        who=who,
        part=part,
        now=now,
        note=note,
        department=department,
        assisting=assisting,
        target=target,
        satisfaction=satisfaction,
        article=article,
        data=data,
    )


def _authorize(ticket: Ticket, actor, action: str) -> tuple[str, TicketDepartment | None]:
    """Who the actor is to this move (the desk, the lead or an assisting department with its
    part, the sender), refusing anyone the table does not give the move to."""
    if action in DEPARTMENT_ACTIONS:
        part = part_for(ticket, actor)
        if part is None:
            raise Forbidden(
                _("This ticket is not with your department."),
                code=ComplaintsErrorCode.NOT_YOUR_DEPARTMENT,
            )
        who = LEAD if part.is_lead else ASSISTING
        if who not in TICKET_MACHINE.who(action):
            if action == "opinion":
                raise Refused(
                    _("The lead department answers the ticket itself."),
                    code=ComplaintsErrorCode.LEAD_ANSWERS,
                )
            raise Forbidden(
                _("Only the lead department answers the citizen.")
                if action == "answer"
                else _("Only the lead department can do this."),
                code=ComplaintsErrorCode.NOT_LEAD,
            )
        return who, part
    if action == "rate":
        owner = (
            ticket.citizen_id is not None and actor is not None and actor.pk == ticket.citizen_id
        )
        if owner:
            return SENDER, None
        if not is_desk(actor):
            raise Forbidden(
                _("Only the citizen who sent the ticket can rate it."),
                code=ComplaintsErrorCode.NOT_OWNER,
            )
        return DESK, None
    _require_desk(actor, *_DESK_ROLES[action])
    return DESK, None


_DESK_ROLES: dict[str, tuple[str, ...]] = {
    "dispatch": (Membership.Role.DISPATCHER, Membership.Role.SUPERVISOR),
    "link": (Membership.Role.DISPATCHER, Membership.Role.SUPERVISOR),
    "callback": (),  # anyone at the desk
    "close": (Membership.Role.SUPERVISOR, Membership.Role.DISPATCHER),
    "resolve": (Membership.Role.DISPATCHER, Membership.Role.SUPERVISOR),
    "decide": (Membership.Role.SUPERVISOR, Membership.Role.DISPATCHER),
}


def _part_refusal(ticket: Ticket, action: str) -> Refused:
    """Why a department's part cannot make the move, in the words each move has always used."""
    if action == "sign":
        return Conflict(
            _("Your department has already signed for this ticket."),
            code=ComplaintsErrorCode.SIGNED,
        )
    if action == "return":
        return Conflict(
            _("Only a ticket not yet signed for can be returned."),
            code=ComplaintsErrorCode.RETURN_AFTER_SIGN,
        )
    if action == "opinion":
        return Conflict(
            _("Sign for the ticket before giving your opinion."),
            code=ComplaintsErrorCode.NOT_SIGNED,
        )
    # the lead's part moves with the ticket: the ticket's state says why
    return TICKET_MACHINE.refusal(ticket.state)


def _require_desk(actor, *roles: str) -> None:
    if not is_desk(actor, roles=roles or None):
        raise Forbidden(
            _("Only the complaints desk can do this."), code=ComplaintsErrorCode.NOT_DESK
        )


def _h_dispatch(
    ticket: Ticket, *, actor, who, now, note, department, assisting, data, **_kw
) -> None:
    if who == SYSTEM:  # on arrival, to the department the suggestion found
        _do_dispatch(ticket, department, (), actor=None, who=who, note="", now=now)
        return
    if department is None:
        raise Refused(
            _("Choose the department that leads."), code=ComplaintsErrorCode.DEPARTMENT_MISSING
        )
    declined = set(ticket.parts.filter(state=P.RETURNED).values_list("department_id", flat=True))
    assisting = list({d.pk: d for d in assisting if d.pk != department.pk}.values())
    for candidate in (department, *assisting):
        if not candidate.is_active or candidate.kind == Department.Kind.HOTLINE:
            raise Refused(
                _("%(department)s cannot handle tickets; choose an active handling department.")
                % {"department": candidate.name},
                code=ComplaintsErrorCode.DEPARTMENT_INVALID,
            )
        if candidate.pk in declined:
            raise Refused(
                _("%(department)s has already returned this ticket; choose another department.")
                % {"department": candidate.name},
                code=ComplaintsErrorCode.DEPARTMENT_DECLINED,
            )
    category = (data or {}).get("category") or ""
    if category and category not in CATEGORY_NAMES:
        raise Refused(
            _("Unknown category “%(category)s”.") % {"category": category},
            code=ComplaintsErrorCode.CATEGORY_UNKNOWN,
        )
    previous = ticket.return_count
    _do_dispatch(
        ticket, department, assisting, actor=actor, who=who, note=note, now=now, category=category
    )
    if previous:
        _tell_citizen(
            ticket,
            _("Ticket %(number)s sent on") % {"number": ticket.number},
            _("Your ticket is now with %(department)s.") % {"department": department.name},
        )


def _h_queue(ticket: Ticket, *, who, now, data, **_kw) -> None:
    _move(ticket, "queue", who=who, step="dispatch", now=now, new_version=False, data=data)


def _h_link(ticket: Ticket, *, actor, who, now, target, **_kw) -> None:
    if who == SENDER:  # on arrival: intake chose and locked the target among link_candidates
        _link(ticket, target, actor=actor, who=who, now=now)
        return
    if target is not None and target.hides_reporter:
        raise Refused(
            _(
                "A report cannot be linked to: its sender and its subject stay with the desk, "
                "and the other ticket's sender would be told its number."
            ),
            code=ComplaintsErrorCode.TARGET_REPORT,
        )
    # judged as it is now, not as the dispatcher's page saw it
    target = _link_target_lock(target.pk if target is not None else None)
    if target is None or target.pk == ticket.pk or not target.is_open:
        raise Refused(
            _("Choose an open ticket to link to."), code=ComplaintsErrorCode.TARGET_INVALID
        )
    if ticket.region_id is not None and target.region_id not in (None, ticket.region_id):
        raise Refused(
            _(
                "Ticket %(number)s is about %(region)s and %(target)s about %(other)s: only "
                "tickets of the same region are one matter."
            )
            % {
                "number": ticket.number,
                "region": ticket.region.name if ticket.region else "",
                "target": target.number,
                "other": target.region.name if target.region else "",
            },
            code=ComplaintsErrorCode.REGION_MISMATCH,
        )
    _link(ticket, target, actor=actor, who=who, now=now)
    _tell_citizen(
        ticket,
        _("Ticket %(number)s linked") % {"number": ticket.number},
        _(
            "The same matter is already being handled as ticket %(target)s; you will hear "
            "about it with that ticket."
        )
        % {"target": target.number},
    )


def _h_sign(ticket: Ticket, *, actor, who, part, now, note, **_kw) -> None:
    part.signed_at = now
    part.signed_by = actor
    _part_move(part, "sign", who=who)
    if who == ASSISTING:
        _stay(ticket, "sign", who=who, actor=actor, department=part.department)
        return
    kept = _kept(ticket, now=now)
    ticket.signed_on_time = kept[1]
    _move(
        ticket,
        "sign",
        who=who,
        step="answer",
        now=now,
        actor=actor,
        department=part.department,
        note=note,
        kept=kept,
    )
    _tell_citizen(
        ticket,
        _("Ticket %(number)s is being handled") % {"number": ticket.number},
        _("%(department)s signed for your ticket and will answer by %(date)s.")
        % {"department": part.department.name, "date": ticket.node_due_date},
    )


def _h_return(ticket: Ticket, *, actor, who, part, now, note, department, **_kw) -> None:
    _require_note(
        note,
        _("Say why the ticket is not for your department."),
        ComplaintsErrorCode.REASON_MISSING,
    )
    part.return_reason = note
    part.returned_at = now
    _part_move(part, "return", who=who)
    data = {"suggested": department.code if department else ""}
    if who == ASSISTING:
        _stay(
            ticket,
            "return",
            who=who,
            actor=actor,
            department=part.department,
            note=note,
            data=data,
        )
        return
    # the assisting parts go back with the ticket: the new lead decides whom to ask
    ticket.parts.exclude(pk=part.pk).exclude(state=P.RETURNED).delete()
    kept = _kept(ticket, now=now)
    ticket.return_count += 1
    ticket.department = None
    ticket.dispatched_automatically = False
    _move(
        ticket,
        "return",
        who=who,
        step="dispatch",
        now=now,
        actor=actor,
        department=part.department,
        note=note,
        data={**data, "category": ticket.category},
        kept=kept,
    )
    _tell_citizen(
        ticket,
        _("Ticket %(number)s returned by %(department)s")
        % {"number": ticket.number, "department": part.department.name},
        _(
            "%(department)s said the ticket is not theirs (“%(reason)s”). The desk is sending it "
            "to the right department."
        )
        % {"department": part.department.name, "reason": note},
    )


def _h_opinion(ticket: Ticket, *, actor, who, part, now, note, **_kw) -> None:
    _require_note(note, _("Write your department's opinion."), ComplaintsErrorCode.OPINION_MISSING)
    part.opinion = note
    part.replied_at = now
    _part_move(part, "opinion", who=who)
    _stay(ticket, "opinion", who=who, actor=actor, department=part.department, note=note)


def _h_answer(ticket: Ticket, *, actor, who, part, now, note, **_kw) -> None:
    _require_note(note, _("Write the answer to the citizen."), ComplaintsErrorCode.ANSWER_MISSING)
    waiting = [
        p.department.name
        for p in ticket.parts.filter(
            is_lead=False, state__in=[P.DISPATCHED, P.SIGNED]
        ).select_related("department")
    ]
    if waiting:
        raise Conflict(
            _("Waiting for the opinion of %(departments)s.") % {"departments": "、".join(waiting)},
            code=ComplaintsErrorCode.OPINIONS_MISSING,
        )
    kept = _kept(ticket, now=now)
    delays_withdraw(ticket, now=now)
    part.replied_at = now
    _part_move(part, "answer", who=who)
    ticket.reply = note
    ticket.replied_at = now
    if ticket.answered_on_time is None or ticket.reopen_count:
        ticket.answered_on_time = kept[1]
    _move(
        ticket,
        "answer",
        who=who,
        step="callback",
        now=now,
        actor=actor,
        department=part.department,
        note=note,
        kept=kept,
    )
    _tell_senders(
        ticket,
        _("Ticket %(number)s answered"),
        _("%(department)s answered: %(reply)s")
        % {"department": part.department.name, "reply": note},
        to_sender=_("Rate the answer with one tap, no login needed (valid %(days)d days): %(url)s")
        % {"days": RATING_LINK_DAYS, "url": rating_url(ticket)},
    )


# One handler per action of ``TICKET_MACHINE``; each runs once ``_step`` has checked the move.
_HANDLERS: dict[str, Callable[..., None]] = {
    "dispatch": _h_dispatch,
    "queue": _h_queue,
    "link": _h_link,
    "sign": _h_sign,
    "return": _h_return,
    "opinion": _h_opinion,
    "answer": _h_answer,
    "callback": _h_callback,
    "rate": _h_rate,
    "close": _h_close,
    "resolve": _h_resolve,
    "subdispatch": _h_subdispatch,
    "delay": _h_delay,
    "decide": _h_decide,
    "resume": _h_resume,
}


def tickets_merge(*, actor, into: Ticket, tickets: Sequence[Ticket | int]) -> list[Ticket]:
    """Merge (合并) tickets about the same matter into ``into``: each is linked to it through
    the chokepoint, follows it, and its sender is told the outcome with it. All or nothing: a
    ticket that may not be merged refuses the lot, and nothing changes."""
    if not tickets:
        raise Refused(
            _("Select the tickets to merge into this one."),
            code=ComplaintsErrorCode.TARGET_INVALID,
        )
    merged = []
    with transaction.atomic():
        for ticket in tickets:
            pk = ticket.pk if isinstance(ticket, Ticket) else ticket
            if pk == into.pk:
                raise Refused(
                    _("A ticket cannot be merged into itself."),
                    code=ComplaintsErrorCode.TARGET_INVALID,
                )
            merged.append(ticket_transition(actor=actor, ticket=pk, action="link", target=into))
    return merged


def suspensions_end(*, today=None) -> int:
    """Resume every suspended ticket whose 挂起 ends on or before today; how many resumed."""
    now = timezone.now()
    if today is not None and today != timezone.localdate(now):  # a sweep run for another day
        now = timezone.make_aware(dt.datetime.combine(today, timezone.localtime(now).time()))
    today = timezone.localdate(now)
    resumed = 0
    for pk in suspensions_due(today=today):
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related("department", "citizen", "region")
                .filter(pk=pk, state=Ticket.State.SUSPENDED)
                .first()
            )
            if ticket is None:  # resumed by its department since
                continue
            _step(ticket, "resume", actor=None, who=SYSTEM, now=now)
            resumed += 1
    return resumed

"""The desk's and the departments' moves beyond the plain loop: the desk answering a
consultation from the knowledge base, 下派 to a street, 延期 and 挂起 with the desk's decision,
and the end of a 挂起. Each is a handler ``_step`` runs once the tables allowed the move."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.errors import ComplaintsErrorCode
from departments.models import Region
from zheliban.core.errors import Conflict, Refused
from zheliban.core.machines import SYSTEM
from zheliban.core.notices import notify
from zheliban.core.workdays import add_workdays, workdays_between

from ..dispatch.categories import CATEGORY_BY_KIND
from ..models import DELAY_MACHINE, Article, Ticket, TicketDelay, TicketDepartment
from .common import CONTENT_MAX_CHARS, P, S, _require_note, _tell_citizen, _tell_senders
from .moves import _event, _kept, _move

# The longest a 延期 may add to a step and a 挂起 may last, in calendar days from today.
EXTENSION_MAX_DAYS = 60
SUSPENSION_MAX_DAYS = 180


def article_source(article: Article) -> str:
    """How an answer names the article it came from: its question and its address."""
    return _("Source: the knowledge base, “%(question)s” (%(url)s)") % {
        "question": article.question,
        "url": article.get_absolute_url(),
    }


def _h_resolve(ticket: Ticket, *, actor, who, now, note, article, **_kw) -> None:
    if ticket.kind != Ticket.Kind.CONSULTATION:
        raise Refused(
            _("Only a consultation can be answered from the knowledge base."),
            code=ComplaintsErrorCode.NOT_CONSULTATION,
        )
    if not isinstance(article, Article) or not article.is_active:
        raise Refused(
            _("Choose the knowledge-base article that answers the question."),
            code=ComplaintsErrorCode.ARTICLE_MISSING,
        )
    if len(note) > CONTENT_MAX_CHARS:
        raise Refused(
            _("Write at most %(max)d characters.") % {"max": CONTENT_MAX_CHARS},
            code=ComplaintsErrorCode.TOO_LONG,
        )
    kept = _kept(ticket, now=now) if ticket.state == S.QUEUED else (None, None)
    source = article_source(article)
    reply = "\n\n".join(part for part in (note, article.answer, source) if part)
    ticket.article = article
    ticket.reply = reply
    ticket.replied_at = now
    ticket.closed_at = now
    ticket.answered_on_time = kept[1]
    if article.department is not None:
        matter = CATEGORY_BY_KIND.get(article.department.kind)
        if matter is not None:
            ticket.category = matter.name
    _move(
        ticket,
        "resolve",
        who=who,
        step=None,
        now=now,
        actor=actor,
        note=note,
        kept=kept,
        data={"article": article.code},
    )
    _tell_senders(ticket, _("Ticket %(number)s answered"), reply)


# ---------------------------------------------------------------- 下派: down to the street


def _h_subdispatch(ticket: Ticket, *, actor, who, part, now, note, department, **_kw) -> None:
    _require_note(
        note,
        _("Say what the street or township office is to do."),
        ComplaintsErrorCode.NOTE_MISSING,
    )
    street = department
    if street is None:
        raise Refused(
            _("Choose the street or township office."),
            code=ComplaintsErrorCode.DEPARTMENT_MISSING,
        )
    district = part.department.region
    if (
        not street.is_active
        or street.region.level != Region.Level.STREET
        or street.region.parent_id != district.pk
    ):
        raise Refused(
            _("%(department)s is not a street or township office of %(district)s.")
            % {"department": street.name, "district": district.name},
            code=ComplaintsErrorCode.STREET_INVALID,
        )
    if ticket.parts.filter(department=street).exclude(state=P.RETURNED).exists():
        raise Conflict(
            _("%(department)s already has a part of this ticket.") % {"department": street.name},
            code=ComplaintsErrorCode.STREET_INVALID,
        )
    TicketDepartment.objects.create(
        ticket=ticket, department=street, is_lead=False, parent=part, opinion=""
    )
    _event(
        ticket,
        "subdispatch",
        ticket.state,
        ticket.state,
        actor=actor,
        department=part.department,
        note=note,
        data={"street": street.code},
    )
    ticket.version += 1
    ticket.save(update_fields=["version", "updated_at"])


# ---------------------------------------------------------------- 延期 and 挂起


def _delay_until(kind: str, until, *, ticket: Ticket, today: dt.date) -> dt.date:
    if not isinstance(until, dt.date):
        raise Refused(
            _("Give the date until which it is needed."), code=ComplaintsErrorCode.DATE_INVALID
        )
    if kind == TicketDelay.Kind.EXTENSION:
        due = ticket.node_due_date or today
        if until <= due:
            raise Refused(
                _("The new due date must be after the present one, %(date)s.") % {"date": due},
                code=ComplaintsErrorCode.DATE_OUT_OF_RANGE,
            )
        if until > today + dt.timedelta(days=EXTENSION_MAX_DAYS):
            raise Refused(
                _("An extension can reach at most %(days)d days from today.")
                % {"days": EXTENSION_MAX_DAYS},
                code=ComplaintsErrorCode.DATE_OUT_OF_RANGE,
            )
    else:
        if until <= today:
            raise Refused(
                _("A suspension ends after today."), code=ComplaintsErrorCode.DATE_OUT_OF_RANGE
            )
        if until > today + dt.timedelta(days=SUSPENSION_MAX_DAYS):
            raise Refused(
                _("A suspension can last at most %(days)d days.") % {"days": SUSPENSION_MAX_DAYS},
                code=ComplaintsErrorCode.DATE_OUT_OF_RANGE,
            )
    return until


def _h_delay(ticket: Ticket, *, actor, who, part, now, note, data, **_kw) -> None:
    data = data or {}
    kind = data.get("kind")
    if kind not in TicketDelay.Kind.values:
        raise Refused(
            _("Choose an extension (延期) or a suspension (挂起)."),
            code=ComplaintsErrorCode.DELAY_KIND_INVALID,
        )
    _require_note(note, _("Say why more time is needed."), ComplaintsErrorCode.REASON_MISSING)
    until = _delay_until(kind, data.get("until"), ticket=ticket, today=timezone.localdate(now))
    if ticket.delays.filter(state=TicketDelay.State.PENDING).exists():
        raise Conflict(
            _("A request for this ticket is already waiting for the desk."),
            code=ComplaintsErrorCode.DELAY_PENDING,
        )
    delay = TicketDelay.objects.create(
        ticket=ticket,
        department=part.department,
        kind=kind,
        reason=note,
        until=until,
        requested_by=actor,
        due_before=ticket.node_due_date,
    )
    _event(
        ticket,
        "delay",
        ticket.state,
        ticket.state,
        actor=actor,
        department=part.department,
        note=note,
        data={"kind": kind, "until": until.isoformat(), "delay": delay.pk},
    )
    ticket.version += 1
    ticket.save(update_fields=["version", "updated_at"])


def _h_decide(ticket: Ticket, *, actor, who, now, note, data, **_kw) -> None:
    data = data or {}
    approve = data.get("approve")
    if not isinstance(approve, bool):
        raise Refused(
            _("Approve or refuse the request."), code=ComplaintsErrorCode.DECISION_MISSING
        )
    delay = (
        ticket.delays.select_for_update()
        .select_related("department")
        .filter(state=TicketDelay.State.PENDING)
        .first()
    )
    if delay is None:
        raise Conflict(
            _("No request for this ticket is waiting for the desk."),
            code=ComplaintsErrorCode.DELAY_NONE,
        )
    if not approve:
        _require_note(
            note, _("Say why the request is refused."), ComplaintsErrorCode.REASON_MISSING
        )
    today = timezone.localdate(now)
    delay.state = DELAY_MACHINE.target(delay.state, "approve" if approve else "refuse", who=who)
    delay.decided_by = actor
    delay.decided_at = now
    delay.decision_note = note
    label = delay.get_kind_display()
    event = {"kind": delay.kind, "until": delay.until.isoformat(), "approve": approve}

    def decided(to: str, data: dict, *, keep_step: bool = True) -> None:
        delay.save()
        _move(
            ticket,
            "decide",
            who=who,
            to=to,
            step=None,
            now=now,
            actor=actor,
            note=note,
            data=data,
            keep_step=keep_step,
        )

    if not approve:
        decided(S.HANDLING, event)
        _tell_department(
            ticket,
            delay,
            _("%(kind)s for ticket %(number)s refused") % {"kind": label, "number": ticket.number},
            _("The desk refused: %(note)s") % {"note": note},
        )
        return
    ticket.delay_count += 1
    if delay.kind == TicketDelay.Kind.EXTENSION:
        ticket.node_due_date = delay.until
        ticket.node_due_provisional = False
        ticket.reminded_at = None
        decided(S.HANDLING, event)
        body = _(
            "%(department)s needs more time (“%(reason)s”); the desk agreed. The answer is now "
            "due by %(date)s."
        ) % {"department": delay.department.name, "reason": delay.reason, "date": delay.until}
    else:
        left, _provisional = (
            workdays_between(today, ticket.node_due_date)
            if ticket.node_due_date is not None
            else (0, False)
        )
        delay.remaining_workdays = max(left, 0)
        # the clock stops: no due date while suspended
        decided(S.SUSPENDED, {**event, "remaining": delay.remaining_workdays}, keep_step=False)
        body = _(
            "%(department)s is waiting (“%(reason)s”); the desk agreed to suspend the ticket "
            "until %(date)s. The time to answer stands still until then."
        ) % {"department": delay.department.name, "reason": delay.reason, "date": delay.until}
    _tell_citizen(
        ticket,
        _("Ticket %(number)s: %(kind)s") % {"number": ticket.number, "kind": label},
        body,
    )
    _tell_department(
        ticket,
        delay,
        _("%(kind)s for ticket %(number)s approved") % {"kind": label, "number": ticket.number},
        body,
    )


def _h_resume(ticket: Ticket, *, actor, who, now, note, **_kw) -> None:
    delay = (
        ticket.delays.select_for_update()
        .filter(state=TicketDelay.State.APPROVED, kind=TicketDelay.Kind.SUSPENSION)
        .first()
    )
    today = timezone.localdate(now)
    remaining = delay.remaining_workdays if delay is not None else 0
    if delay is not None:
        delay.state = DELAY_MACHINE.target(delay.state, "end", who=who)
        delay.ended_at = now
        delay.save()
    deadline = add_workdays(today, remaining or 0)
    ticket.node_due_date = deadline.date
    ticket.node_due_provisional = deadline.provisional
    ticket.node_started_at = now
    ticket.reminded_at = None
    ticket.supervised_at = None
    _move(
        ticket,
        "resume",
        who=who,
        step=None,
        now=now,
        actor=actor if who != SYSTEM else None,
        note=note,
        data={"remaining": remaining},
        keep_step=True,
    )
    _tell_citizen(
        ticket,
        _("Ticket %(number)s resumed") % {"number": ticket.number},
        _("Work on your ticket has resumed; the answer is due by %(date)s.")
        % {"date": ticket.node_due_date},
    )


def delays_withdraw(ticket: Ticket, *, now) -> int:
    """Withdraw the request for more time still waiting when the lead answers: nothing is left
    for the desk to decide. How many were withdrawn (0 or 1)."""
    withdrawn = 0
    for delay in ticket.delays.select_for_update().filter(state=TicketDelay.State.PENDING):
        delay.state = DELAY_MACHINE.target(delay.state, "withdraw", who=SYSTEM)
        delay.decided_at = now
        delay.save()
        withdrawn += 1
    return withdrawn


def _tell_department(ticket: Ticket, delay: TicketDelay, subject: str, body: str) -> None:
    if delay.requested_by is not None and delay.requested_by.is_active:
        notify(delay.requested_by, subject=subject, body=body, link=ticket.get_absolute_url())

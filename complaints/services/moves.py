"""How a ticket moves: the state change checked against ``TICKET_MACHINE``, its history row,
its deadlines, links between tickets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from departments.models import Department
from zheliban.core.errors import Refused

from ..dispatch.categories import CATEGORY_BY_KIND
from ..models import (
    PART_MACHINE,
    TICKET_MACHINE,
    Ticket,
    TicketDepartment,
    TicketEvent,
)
from ..rollups import ticket_stats_mark
from ..selectors import link_target_for
from .common import S, _on_time, _start_step


def _kept(ticket: Ticket, *, now) -> tuple[dt.date | None, bool | None]:
    """The due date of the ticket's current step and whether it is being kept."""
    return ticket.node_due_date, _on_time(ticket, now=now)


def _move(
    ticket: Ticket,
    action: str,
    *,
    who: str,
    step: str | None,
    now,
    to: str | None = None,
    event: str | None = None,
    new_version: bool = True,
    actor=None,
    department: Department | None = None,
    note: str = "",
    data: dict | None = None,
    kept: tuple[dt.date | None, bool | None] = (None, None),
    keep_step: bool = False,
) -> None:
    """Move the ticket by ``action`` to ``to`` (by default the one target the table gives), start
    its next ``step``'s deadline (``None``: none) and write its history row (named ``event``
    when the history calls it otherwise, as a reopening). A move the table does not list raises
    ``Conflict``. ``kept`` is what ``_kept`` said of the step this move ends, when it had a
    deadline; ``new_version`` is False for the queueing on arrival, which no page has seen;
    ``keep_step`` leaves the step's clock as the caller set it (a 延期, the end of a 挂起)."""
    from_state = ticket.state
    to_state = TICKET_MACHINE.target(from_state, action, who=who, to=to)
    ticket.state = to_state
    if not keep_step:
        _start_step(ticket, step, now=now)
    if new_version:
        ticket.version += 1
    ticket.save()
    _event(
        ticket,
        event or action,
        from_state,
        to_state,
        actor=actor,
        department=department,
        note=note,
        data=data,
        due_date=kept[0],
        on_time=kept[1],
    )
    ticket_stats_mark(ticket=ticket)  # the leaders' statistics count its day again


def _stay(ticket: Ticket, action: str, *, who: str, **event) -> None:
    """A move the table lists as leaving the ticket's state as it is (an assisting department's
    sign, return or opinion): its history row only."""
    TICKET_MACHINE.require_target(ticket.state, action, ticket.state, who=who)
    _event(ticket, action, ticket.state, ticket.state, **event)


def _part_move(
    part: TicketDepartment,
    action: str,
    *,
    who: str,
    refuse: Callable[[], Refused] | None = None,
) -> None:
    """Move the department's part where ``PART_MACHINE`` leads it by ``action`` and save it with
    the fields the caller set. A move the table does not list raises what ``refuse`` makes, else
    the machine's ``Conflict``, before anything is written."""
    part.state = PART_MACHINE.target(part.state, action, who=who, refuse=refuse)
    part.save()


def _link_target_lock(pk: int | None) -> Ticket | None:
    """The link target with this id among ``link_candidates``, locked, or None."""
    return link_target_for(pk, lock=True)


def _do_dispatch(
    ticket: Ticket,
    lead: Department,
    assisting: Sequence[Department],
    *,
    actor,
    who: str,
    note: str,
    now,
    category: str = "",
) -> None:
    # the dispatchers' queue has a deadline; a ticket dispatched on arrival had none to keep
    kept = _kept(ticket, now=now) if ticket.state == S.QUEUED else (None, None)
    ticket.department = lead
    # The category follows the truth: the lead department's matter, whatever was guessed (the
    # guess stays in ``category_guessed``); a department outside the categories leaves none.
    # The dispatcher may name the category instead (a department of several matters).
    matter = CATEGORY_BY_KIND.get(lead.kind)
    ticket.category = category or (matter.name if matter else "")
    TicketDepartment.objects.create(ticket=ticket, department=lead, is_lead=True)
    for department in assisting:
        if department.pk != lead.pk:
            TicketDepartment.objects.create(ticket=ticket, department=department, is_lead=False)
    _move(
        ticket,
        "dispatch",
        who=who,
        step="sign",
        now=now,
        actor=actor,
        department=lead,
        note=note,
        kept=kept,
        data={
            "automatic": actor is None,
            "confidence": ticket.dispatch_confidence,
            "reasons": ticket.dispatch_reasons,
            "assisting": [d.code for d in assisting if d.pk != lead.pk],
            "category": ticket.category,
        },
    )


def _link(ticket: Ticket, target: Ticket, *, actor, who: str, now) -> None:
    while (handled := target.duplicate_of) is not None:  # link to the ticket being handled
        target = handled
    ticket.duplicate_of = target
    ticket.closed_at = now
    _move(
        ticket,
        "link",
        who=who,
        step=None,
        now=now,
        actor=actor,
        note=target.number,
        data={"target": target.pk},
    )
    # the other ticket's department must not learn who sent this one
    _event(
        target,
        "linked",
        target.state,
        target.state,
        note=ticket.number,
        actor=None if actor is not None and actor.pk == ticket.citizen_id else actor,
        data={"by": "citizen"} if actor is not None and actor.pk == ticket.citizen_id else None,
    )


def _event(
    ticket: Ticket,
    action: str,
    from_state: str,
    to_state: str,
    *,
    actor=None,
    department: Department | None = None,
    note: str = "",
    data: dict | None = None,
    due_date=None,
    on_time: bool | None = None,
) -> TicketEvent:
    data = dict(data or {})
    if actor is not None and ticket.citizen_id is not None and actor.pk == ticket.citizen_id:
        # the sender is never named in the history staff read: "the citizen" is enough
        actor = None
        data["by"] = "citizen"
    return TicketEvent.objects.create(
        ticket=ticket,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor=actor if actor is not None and actor.is_authenticated else None,
        department=department,
        note=note,
        data=data,
        due_date=due_date,
        on_time=on_time,
    )

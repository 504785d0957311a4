"""Supervision (督办): the sweep that reminds and escalates, and what the dispatcher learns."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from departments.models import Department, Membership, Region
from departments.selectors import staff_of
from zheliban.core.deadlines import Alert, DeadlineSweep, deadline_sweep

from ..models import (
    Ticket,
)
from .common import S
from .moves import _event

# ---------------------------------------------------------------- supervision (督办)


def _due_soon(ticket: Ticket) -> tuple[str, str]:
    return (
        _("Due soon: ticket %(number)s") % {"number": ticket.number},
        _("“%(title)s” (%(state)s) is due on %(date)s.")
        % {
            "title": ticket.title,
            "state": ticket.get_state_display(),
            "date": ticket.node_due_date,
        },
    )


def _overdue(ticket: Ticket) -> tuple[str, str]:
    return (
        _("Overdue (督办): ticket %(number)s") % {"number": ticket.number},
        _("“%(title)s” (%(state)s) was due on %(date)s and is not done.")
        % {
            "title": ticket.title,
            "state": ticket.get_state_display(),
            "date": ticket.node_due_date,
        },
    )


def _supervised(ticket: Ticket) -> None:
    _event(
        ticket,
        "supervise",
        ticket.state,
        ticket.state,
        department=ticket.department,
        due_date=ticket.node_due_date,
        on_time=False,
    )


def _ticket_deadlines() -> DeadlineSweep:
    return DeadlineSweep(
        rows=Ticket.objects.filter(state__in=Ticket.OPEN_STATES),
        due="node_due_date",
        remind=Alert(
            marker="reminded_at",
            recipients=lambda ticket: _holders(ticket, Membership.Role.CLERK),
            message=_due_soon,
        ),
        supervise=Alert(
            marker="supervised_at",
            recipients=lambda ticket: _holders(ticket, Membership.Role.SUPERVISOR),
            message=_overdue,
            then=_supervised,
            also_set=lambda ticket: {"supervision_count": ticket.supervision_count + 1},
        ),
        select_related=("department", "region"),
        # a ticket that moved on since it was read has a new step, with a deadline of its own
        unchanged=lambda ticket: {"state": ticket.state},
    )


def tickets_sweep(*, today: dt.date | None = None, limit: int = 500) -> dict[str, int]:
    """Remind whoever holds a step the working day before it falls due; once it is overdue,
    supervise it (督办): the holder's supervisors are told and the history shows it. Each step
    is reminded and supervised at most once; the notices go out through the outbox."""
    from .loop import suspensions_end

    resumed = suspensions_end(today=today)
    counts = deadline_sweep(_ticket_deadlines(), today=today, limit=limit)
    result = {"reminded": counts.reminded, "supervised": counts.supervised}
    if resumed:
        result["resumed"] = resumed
    return result


def _holders(ticket: Ticket, role: str) -> list:
    """Who holds the ticket's current step: the lead department for signing and answering,
    the desk for dispatching and the callback."""
    if ticket.state in (S.DISPATCHED, S.HANDLING, S.SUSPENDED) and ticket.department_id:
        return staff_of(ticket.department_id, role)
    return _desk_staff(
        ticket.region,
        role if role == Membership.Role.SUPERVISOR else Membership.Role.DISPATCHER,
    )


def _desk_staff(region: Region | None, role: str) -> list:
    """Staff of the 12345 desks answering for the region (its own, its city's, the province's)."""
    from ..dispatch.departments import region_chain

    desks = Department.objects.filter(kind=Department.Kind.HOTLINE, is_active=True)
    if region is not None:
        desks = desks.filter(region__code__in=region_chain(region.code))
    return staff_of(desks.values("pk"), role)


# ---------------------------------------------------------------- what the dispatcher learns


def returned_examples() -> list[tuple[str, str]]:
    """(text, category) of tickets a department returned and another then signed for: the
    returns teach the dispatch model where such tickets really belong."""
    from ..dispatch.categories import CATEGORY_BY_KIND
    from ..dispatch.text import ticket_text

    rows = (
        Ticket.objects.filter(return_count__gt=0, signed_on_time__isnull=False)
        .exclude(department=None)
        .values_list("title", "content", "department__kind")
    )
    return [
        (ticket_text(title, content), CATEGORY_BY_KIND[kind].name)
        for title, content, kind in rows
        if kind in CATEGORY_BY_KIND
    ]

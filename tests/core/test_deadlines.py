"""The shared deadline sweep: the window in working days, once per row, limits, all or nothing.

The apps' own sweeps (tests/workflows/test_services.py, tests/complaints/test_tickets.py) show
what they tell whom; here a sweep of tickets of our own making shows the routine they share.
"""

from __future__ import annotations

import datetime as dt

import pytest

from complaints.models import Ticket
from tests.complaints.desk import desk  # noqa: F401  (the complaints-desk scenario)
from zheliban.core.deadlines import Alert, DeadlineSweep, deadline_sweep
from zheliban.core.models import Notice

FRIDAY = dt.date(2026, 11, 6)  # the next working day is Monday 9 November


class Broken(Exception):
    pass


def notices(user) -> list[str]:
    return list(Notice.objects.filter(recipient=user).order_by("id").values_list("body", flat=True))


def due_on(ticket: Ticket, day: dt.date) -> Ticket:
    Ticket.objects.filter(pk=ticket.pk).update(node_due_date=day)
    return Ticket.objects.get(pk=ticket.pk)


def sweep_of(desk, *, then=None, also_set=None, message=None, unchanged=None):  # noqa: F811
    remind = Alert(
        marker="reminded_at",
        recipients=lambda ticket: [desk.dispatcher],
        message=message or (lambda ticket: ("soon", f"soon {ticket.pk}")),
    )
    supervise = Alert(
        marker="supervised_at",
        recipients=lambda ticket: [desk.supervisor],
        message=lambda ticket: ("late", f"late {ticket.pk}"),
        then=then,
        also_set=also_set,
    )
    return DeadlineSweep(
        rows=Ticket.objects.filter(state__in=Ticket.OPEN_STATES),
        due="node_due_date",
        remind=remind,
        supervise=supervise,
        unchanged=unchanged or (lambda ticket: {}),
    )


def test_the_window_is_today_and_the_next_working_day(desk):  # noqa: F811
    friday, saturday, monday, tuesday, thursday = (desk.ticket() for _ in range(5))
    due_on(friday, FRIDAY)
    due_on(saturday, FRIDAY + dt.timedelta(days=1))
    due_on(monday, FRIDAY + dt.timedelta(days=3))
    due_on(tuesday, FRIDAY + dt.timedelta(days=4))
    due_on(thursday, FRIDAY - dt.timedelta(days=1))
    counts = deadline_sweep(sweep_of(desk), today=FRIDAY)
    assert (counts.reminded, counts.supervised) == (3, 1)
    assert sorted(notices(desk.dispatcher)) == sorted(
        f"soon {t.pk}" for t in (friday, saturday, monday)
    )
    assert notices(desk.supervisor) == [f"late {thursday.pk}"]
    again = deadline_sweep(sweep_of(desk), today=FRIDAY)
    assert (again.reminded, again.supervised) == (0, 0)
    assert len(notices(desk.dispatcher)) == 3


def test_a_row_another_sweep_claimed_first_is_not_told_twice(desk):  # noqa: F811
    first, second = desk.ticket(), desk.ticket()
    due_on(first, FRIDAY)
    due_on(second, FRIDAY)

    def message(ticket):
        # while this run works on one row, another run claims the other
        other = second if ticket.pk == first.pk else first
        Ticket.objects.filter(pk=other.pk).update(
            reminded_at=dt.datetime(2026, 11, 6, 9, 0, tzinfo=dt.UTC)
        )
        return ("soon", f"soon {ticket.pk}")

    counts = deadline_sweep(sweep_of(desk, message=message), today=FRIDAY)
    assert counts.reminded == 1
    assert len(notices(desk.dispatcher)) == 1


def test_a_row_that_changed_since_it_was_read_is_left_alone(desk):  # noqa: F811
    first, second = desk.ticket(), desk.ticket()
    due_on(first, FRIDAY)
    due_on(second, FRIDAY)

    def message(ticket):
        other = second if ticket.pk == first.pk else first
        Ticket.objects.filter(pk=other.pk).update(version=other.version + 7)
        return ("soon", f"soon {ticket.pk}")

    sweep = sweep_of(desk, message=message, unchanged=lambda t: {"version": t.version})
    assert deadline_sweep(sweep, today=FRIDAY).reminded == 1
    assert Ticket.objects.filter(reminded_at__isnull=True).count() == 1


def test_at_most_limit_rows_a_run_and_the_next_run_takes_the_rest(desk):  # noqa: F811
    tickets = [desk.ticket() for _ in range(3)]
    for ticket in tickets:
        due_on(ticket, FRIDAY - dt.timedelta(days=2))
    assert deadline_sweep(sweep_of(desk), today=FRIDAY, limit=2).supervised == 2
    assert deadline_sweep(sweep_of(desk), today=FRIDAY, limit=2).supervised == 1
    assert deadline_sweep(sweep_of(desk), today=FRIDAY, limit=2).supervised == 0
    assert len(notices(desk.supervisor)) == 3


def test_what_else_is_set_and_recorded_goes_with_the_marker(desk):  # noqa: F811
    ticket = due_on(desk.ticket(), FRIDAY - dt.timedelta(days=1))
    recorded = []
    sweep = sweep_of(
        desk,
        then=lambda t: recorded.append(t.pk),
        also_set=lambda t: {"supervision_count": t.supervision_count + 1},
    )
    assert deadline_sweep(sweep, today=FRIDAY).supervised == 1
    ticket.refresh_from_db()
    assert (ticket.supervision_count, recorded) == (1, [ticket.pk])
    assert ticket.supervised_at is not None


def test_a_failure_while_telling_leaves_the_row_unmarked_and_nobody_told(desk):  # noqa: F811
    ticket = due_on(desk.ticket(), FRIDAY - dt.timedelta(days=1))

    def broken(t):
        raise Broken

    with pytest.raises(Broken):
        deadline_sweep(sweep_of(desk, then=broken), today=FRIDAY)
    ticket.refresh_from_db()
    assert (ticket.supervised_at, ticket.supervision_count) == (None, 0)
    assert notices(desk.supervisor) == []
    # the next run tells them
    assert deadline_sweep(sweep_of(desk), today=FRIDAY).supervised == 1

"""The complaints machines' tables are the only source of their moves.

For every state of the ticket (and of a department's part in it), every action of the table
(and one no table lists), everyone the table names and the targets the chokepoint may be told,
the row is put in that state and the chokepoint asked: it moves exactly when the table lists the
move, to a target among the table's, and otherwise refuses with ``wrong_state`` having written
nothing (the row as it was, no part, history row, notice or outbox message more, looked at before
the refusal is rolled back). Each move is rolled back before the next is tried, so one small
world serves.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from django.db import models
from django.utils import timezone

from complaints.errors import ComplaintsErrorCode
from complaints.models import PART_MACHINE, TICKET_MACHINE, Ticket, TicketDepartment, TicketEvent
from complaints.services.intake import _dispatch_new
from complaints.services.moves import _move, _part_move, _stay
from departments.models import Department
from tests import machine_moves as moves
from tests.factories import DepartmentFactory, RegionFactory
from tests.machine_moves import UNKNOWN, attempt, listed, row_and_counts, told
from zheliban.core.models import Notice, OutboxMessage

pytestmark = pytest.mark.django_db

WRONG_STATE = ("refused", ComplaintsErrorCode.WRONG_STATE)


def snapshot(model: type[models.Model], pk: Any) -> tuple:
    """The row, and what a move leaves besides it: parts, history rows, notices, outbox messages."""
    return row_and_counts(model, pk, (TicketDepartment, TicketEvent, Notice, OutboxMessage))


expected = partial(moves.expected, refused=WRONG_STATE)


def ticket_moved(pk: int, action: str, source: str, *, version: int) -> tuple:
    """The ticket's new state, once the move wrote its version and its one history row."""
    moved = Ticket.objects.get(pk=pk)
    history = list(TicketEvent.objects.filter(ticket_id=pk).values_list("action", "from_state"))
    if moved.version != version or history != [(action, source)]:
        return (moved.state, "history", history, moved.version)
    return (moved.state,)


def part_moved(pk: int) -> tuple:
    return (TicketDepartment.objects.get(pk=pk).state,)


def dispatched(pk: int) -> tuple:
    ticket = Ticket.objects.get(pk=pk)
    parts = list(ticket.parts.values_list("department__code", "is_lead", "state"))
    history = list(ticket.events.values_list("action", "from_state", "to_state"))
    return ticket.state, ticket.department.code, parts, history


@dataclass
class World:
    department: Department
    ticket: Ticket
    part: TicketDepartment


@pytest.fixture
def world(db) -> World:
    region = RegionFactory()
    department = DepartmentFactory(code="330000-zhujian", kind="zhujian", region=region)
    ticket = Ticket.objects.create(
        kind=Ticket.Kind.COMPLAINT,
        channel=Ticket.Channel.WEB,
        title="夜间施工噪音扰民",
        content="小区门口道路施工噪音很大，晚上十一点还在施工。",
        region=region,
        version=3,
    )
    part = TicketDepartment.objects.create(ticket=ticket, department=department)
    return World(department, ticket, part)


def test_the_ticket_chokepoint_makes_exactly_the_moves_of_the_table(world):
    pk = world.ticket.pk
    wrong, accepted = [], set()
    for state in TICKET_MACHINE.states:
        Ticket.objects.filter(pk=pk).update(state=state)
        ticket, before = Ticket.objects.get(pk=pk), snapshot(Ticket, pk)
        for action in (*TICKET_MACHINE.actions(), UNKNOWN):
            for who in TICKET_MACHINE.who_labels:
                for to in told(TICKET_MACHINE, state, action, who):
                    got = attempt(
                        partial(
                            _move,
                            copy.copy(ticket),
                            action,
                            who=who,
                            to=to,
                            step=None,
                            now=timezone.now(),
                        ),
                        partial(ticket_moved, pk, action, state, version=4),
                        partial(snapshot, Ticket, pk),
                        before,
                    )
                    want = expected(TICKET_MACHINE, state, action, who, to)
                    if got != want:
                        wrong.append((state, action, who, to, got, want))
                    if got[0] == "moved":
                        accepted.add((state, action))
    assert wrong == []
    assert accepted == {(s, r.action) for r in TICKET_MACHINE.transitions for s in r.sources}
    assert accepted == TICKET_MACHINE.pairs()


def test_a_move_that_leaves_the_ticket_as_it_is_is_one_the_table_says_so(world):
    """``_stay`` (an assisting department's sign, return or opinion) writes the history row
    only, and only for a move the table lists as leaving the state as it is."""
    pk = world.ticket.pk
    wrong, stays = [], set()
    for state in TICKET_MACHINE.states:
        Ticket.objects.filter(pk=pk).update(state=state)
        ticket, before = Ticket.objects.get(pk=pk), snapshot(Ticket, pk)
        for action in (*TICKET_MACHINE.actions(), UNKNOWN):
            for who in TICKET_MACHINE.who_labels:
                got = attempt(
                    partial(_stay, copy.copy(ticket), action, who=who),
                    partial(ticket_moved, pk, action, state, version=3),
                    partial(snapshot, Ticket, pk),
                    before,
                )
                stays_listed = state in listed(TICKET_MACHINE, state, action, who)
                want = ("moved", state) if stays_listed else WRONG_STATE
                if got != want:
                    wrong.append((state, action, who, got, want))
                if got[0] == "moved":
                    stays.add((state, action, who))
    assert wrong == []
    assert stays == {
        (s, r.action, r.who)
        for r in TICKET_MACHINE.transitions
        for s in r.sources
        if not r.targets or s in r.targets
    }


def test_the_part_chokepoint_makes_exactly_the_moves_of_the_table(world):
    pk = world.part.pk
    wrong, accepted = [], set()
    for state in PART_MACHINE.states:
        TicketDepartment.objects.filter(pk=pk).update(state=state)
        part, before = TicketDepartment.objects.get(pk=pk), snapshot(TicketDepartment, pk)
        for action in (*PART_MACHINE.actions(), UNKNOWN):
            for who in PART_MACHINE.who_labels:
                got = attempt(
                    partial(_part_move, copy.copy(part), action, who=who),
                    partial(part_moved, pk),
                    partial(snapshot, TicketDepartment, pk),
                    before,
                )
                want = expected(PART_MACHINE, state, action, who, None)
                if got != want:
                    wrong.append((state, action, who, got, want))
                if got[0] == "moved":
                    accepted.add((state, action))
    assert wrong == []
    assert accepted == PART_MACHINE.pairs()


def test_the_first_dispatch_goes_through_the_table(world):
    """``_dispatch_new``, the system's move as a ticket arrives, is the table's ``dispatch`` by
    the system: from a ticket just received, and from no other state."""
    pk = world.ticket.pk
    TicketDepartment.objects.filter(pk=world.part.pk).delete()
    outcomes = {}
    for state in TICKET_MACHINE.states:
        Ticket.objects.filter(pk=pk).update(state=state)
        outcomes[state] = attempt(
            partial(
                _dispatch_new,
                Ticket.objects.get(pk=pk),
                department_kind="zhujian",
                now=timezone.now(),
            ),
            partial(dispatched, pk),
            partial(snapshot, Ticket, pk),
            snapshot(Ticket, pk),
        )
    assert TICKET_MACHINE.sources("dispatch", who="system") == (Ticket.State.RECEIVED,)
    assert outcomes == {
        state: (
            (
                "moved",
                "dispatched",
                "330000-zhujian",
                [("330000-zhujian", True, "dispatched")],
                [("dispatch", "received", "dispatched")],
            )
            if state == Ticket.State.RECEIVED
            else WRONG_STATE
        )
        for state in TICKET_MACHINE.states
    }

"""Trying every move of a state machine on its chokepoint (tests/*/test_transitions.py).

``listed`` reads what the table allows straight from its rows; ``attempt`` makes a move in a
savepoint that is always rolled back and tells what happened, including a refusal that had
already written something.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection, models, transaction

from zheliban.core.errors import Conflict
from zheliban.core.machines import Machine

# An action no table lists: refused like any move the table does not list.
UNKNOWN = "fly"
# What a chokepoint does when the table gives several targets and it was not told which.
UNSAID = ("unsaid",)


def listed(machine: Machine, state: str, action: str, who: str) -> set[str]:
    """The targets the table's rows give ``action`` by ``who`` from ``state``, read from the
    rows themselves (a row without targets leaves the state as it is)."""
    return {
        target
        for row in machine.transitions
        if row.action == action and row.who == who and state in row.sources
        for target in (row.targets or (state,))
    }


def told(machine: Machine, state: str, action: str, who: str) -> tuple[str | None, ...]:
    """The targets to tell the chokepoint besides none: every state, where the table lists the
    move; else the states ``action`` leads to anywhere in the table (what a caller might say)."""
    if listed(machine, state, action, who):
        return (None, *machine.states)
    anywhere = {t for row in machine.transitions if row.action == action for t in row.targets}
    return (None, *sorted(anywhere))


def expected(
    machine: Machine, state: str, action: str, who: str, to: str | None, *, refused: tuple
) -> tuple:
    """What ``attempt`` should see: the move, ``UNSAID`` or ``refused`` (the app's refusal)."""
    targets = listed(machine, state, action, who)
    if not targets:
        return refused
    if to is None:
        return ("moved", *targets) if len(targets) == 1 else UNSAID
    return ("moved", to) if to in targets else refused


class _Undo(Exception):
    pass


def attempt(
    move: Callable[[], Any], observe: Callable[[], tuple], snapshot: Callable[[], Any], before: Any
) -> tuple:
    """Run ``move`` in a savepoint that is always rolled back: ("moved", what ``observe`` saw
    after it), ("refused", code) or ``UNSAID``, each of the last two with "and changed" when the
    database no longer matched ``before`` once the chokepoint had refused (a write made before
    the check, which only the rollback would have undone)."""
    try:
        with transaction.atomic():
            try:
                move()
            except Conflict as refusal:
                outcome: tuple = ("refused", refusal.code)
            except ValueError:
                outcome = UNSAID
            else:
                raise _Undo(("moved", *observe()))
            raise _Undo(outcome if snapshot() == before else (*outcome, "and changed"))
    except _Undo as undo:
        return undo.args[0]


def row_and_counts(
    model: type[models.Model], pk: Any, tables: Iterable[type[models.Model]]
) -> tuple:
    """The row, and how many rows each of ``tables`` holds (counted in one query)."""
    names = (connection.ops.quote_name(m._meta.db_table) for m in tables)
    counts = ", ".join(f"(SELECT COUNT(*) FROM {name})" for name in names)  # noqa: S608 - model tables
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        return model.objects.filter(pk=pk).values().get(), cursor.fetchone()

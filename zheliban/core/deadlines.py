"""The deadline sweep every state machine with due dates shares: remind, then supervise (督办).

Celery beat runs each app's sweep; each describes its rows and this routine does the rest. The
working day before a row falls due, whoever holds it is reminded; once it is overdue, its
supervisors are told (督办) and the app records it. Each is sent once: the row's marker field
(a timestamp) is set by an ``UPDATE`` that only one sweep can win, in the same transaction as
the notices (which go out through the outbox after the commit). Overdue itself is derived from
the due date wherever it is shown; the markers only say what was already sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from .notices import notify
from .workdays import add_workdays

Row = Any  # a model instance of the swept queryset


@dataclass(frozen=True)
class Alert:
    """One notice a sweep sends once per row: a reminder or a supervision."""

    marker: str  # the row's timestamp field, set when the notice is sent
    recipients: Callable[[Row], Iterable]  # who is told
    message: Callable[[Row], tuple[str, str]]  # (subject, body)
    then: Callable[[Row], None] | None = None  # more to record, in the same transaction
    also_set: Callable[[Row], dict[str, Any]] | None = None  # other fields set with the marker


@dataclass(frozen=True)
class DeadlineSweep:
    """The rows a sweep watches and what it tells about them."""

    rows: models.QuerySet  # the open rows
    due: str  # their due-date field
    remind: Alert  # the working day before the due date (or on it)
    supervise: Alert  # after the due date
    select_related: Sequence[str] = ()
    # Conditions the row must still meet when its marker is set (e.g. the same state).
    unchanged: Callable[[Row], dict[str, Any]] = field(default=lambda row: {})


@dataclass(frozen=True)
class SweepCounts:
    reminded: int
    supervised: int


def _send(sweep: DeadlineSweep, row: Row, alert: Alert, now: dt.datetime) -> bool:
    """Set the row's marker and tell its recipients, once; False when another sweep (or a move
    of the row) came first."""
    model = sweep.rows.model
    with transaction.atomic():
        claimed = model._default_manager.filter(
            pk=row.pk, **{f"{alert.marker}__isnull": True}, **sweep.unchanged(row)
        ).update(**{alert.marker: now}, **(alert.also_set(row) if alert.also_set else {}))
        if not claimed:
            return False
        subject, body = alert.message(row)
        for user in alert.recipients(row):
            notify(user, subject=subject, body=body)
        if alert.then is not None:
            alert.then(row)
    return True


def deadline_sweep(
    sweep: DeadlineSweep, *, today: dt.date | None = None, limit: int = 500
) -> SweepCounts:
    """Remind the rows due today or the next working day, and supervise the overdue ones; at
    most ``limit`` of each per run (the next run takes the rest)."""
    today = today or timezone.localdate()
    tomorrow = add_workdays(today, 1).date
    rows = sweep.rows.select_related(*sweep.select_related)
    due_soon = rows.filter(
        **{
            f"{sweep.due}__gte": today,
            f"{sweep.due}__lte": tomorrow,
            f"{sweep.remind.marker}__isnull": True,
        }
    )
    overdue = rows.filter(**{f"{sweep.due}__lt": today, f"{sweep.supervise.marker}__isnull": True})
    reminded = sum(_send(sweep, row, sweep.remind, timezone.now()) for row in due_soon[:limit])
    supervised = sum(_send(sweep, row, sweep.supervise, timezone.now()) for row in overdue[:limit])
    return SweepCounts(reminded=reminded, supervised=supervised)

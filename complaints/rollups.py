"""Keeping the roll-ups of the leaders' statistics true (``complaints.rollup_models``).

What a cell counts is defined once, in ``ticket_counts``: the cells are those counts summed by
the database (``INSERT … SELECT … GROUP BY``), and ``complaints.stats`` uses the same definitions
to count live the days it cannot read from the cells.

How they stay true:

- every move of a ticket (``services.moves._move``) and every ticket taken in calls
  ``ticket_stats_mark``: in the move's transaction, it writes a ``TicketStatsChange`` for the day
  the ticket was received (its figures depend on its current state, and it is counted under the
  day it was received); after the commit, a task (``complaints.ticket_stats_count``) counts that
  day's cells again and removes the marks it saw. Until then the statistics count that day live
  from the tickets, so they are never behind a move;
- counting a day again makes its week and month stale; the beat task sums them again from their
  days' cells (``ticket_stats_refresh(full=True)``), and until then the statistics read the days;
- *overdue* depends on the date: a day's cells count the open tickets due before the day they
  were counted on (``as_of``). The beat task counts again the days holding an open ticket that
  fell due since, and moves ``as_of`` of the others to today; until it has, the statistics count
  those days live;
- tickets written around the services (bulk loads, imports, fixtures) are counted by
  ``ticket_stats_rebuild`` (the ``rebuild_ticket_stats`` command); a day never counted is counted
  live meanwhile.

Every write to the cells holds one lock (a PostgreSQL advisory lock, taken for the transaction),
so two writers never count the same day at once; a refresh after a commit does not wait for it
(the marks stay and the next refresh or the beat task counts them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Count,
    DateField,
    F,
    IntegerField,
    Min,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Cast, Coalesce, TruncDate, TruncMonth, TruncWeek
from django.utils import timezone

from .models import Ticket
from .rollup_models import (
    RollupLevel,
    TicketClosedCell,
    TicketStatsBucket,
    TicketStatsCell,
    TicketStatsChange,
)

DAY, WEEK, MONTH = RollupLevel.DAY.value, RollupLevel.WEEK.value, RollupLevel.MONTH.value
COARSE_LEVELS = (WEEK, MONTH)

# The dimensions, a bit each in a cell's ``dims``, and the column that holds each.
REGION, DEPARTMENT, CATEGORY, KIND, CHANNEL = 1, 2, 4, 8, 16
FULL = REGION | DEPARTMENT | CATEGORY | KIND | CHANNEL
DIMENSION_COLUMNS = {
    REGION: "region_id",
    DEPARTMENT: "department_id",
    CATEGORY: "category",
    KIND: "kind",
    CHANNEL: "channel",
}
EMPTY = {"region_id": None, "department_id": None, "category": "", "kind": "", "channel": ""}

# The cuboids kept, in the order the statistics try them (the smallest first): a view reads the
# first that keeps every dimension it filters or groups by. The five-dimension one is the base
# every other is summed from. Which ones are worth keeping follows the page: the breakdowns
# (department with category, region, kind, channel) with no filter or with one.
RECEIVED_CUBOIDS = (
    0,
    CHANNEL,
    KIND,
    CATEGORY,
    REGION,
    KIND | CHANNEL,
    CATEGORY | CHANNEL,
    CATEGORY | KIND,
    REGION | CHANNEL,
    REGION | KIND,
    REGION | CATEGORY,
    DEPARTMENT | CATEGORY,
    REGION | DEPARTMENT | CATEGORY,
    FULL,
)
# The closings are counted per day closed as well, so only the small cuboids shrink by the week
# or the month; the full one is kept by day.
CLOSED_CUBOIDS = (0, CHANNEL, KIND, CATEGORY, REGION, FULL)

# A constant key of the advisory lock every writer of the cells holds ("zhb-stat").
LOCK_KEY = 0x7A68622D73746174

OPEN = Q(state__in=list(Ticket.OPEN_STATES))
LINKED = Q(state=Ticket.State.LINKED)


def ticket_counts(as_of: dt.date) -> dict[str, Any]:
    """What a cell counts of its tickets, by the name of its column; ``as_of``: the day before
    which an open ticket's current step is overdue (today, when counted live)."""
    return {
        "received": Count("id"),
        "open": Count("id", filter=OPEN),
        "closed": Count("id", filter=Q(state=Ticket.State.CLOSED)),
        "linked": Count("id", filter=LINKED),
        "overdue": Count("id", filter=OPEN & Q(node_due_date__lt=as_of)),
        "signed": Count("id", filter=Q(signed_on_time__isnull=False)),
        "signed_on_time": Count("id", filter=Q(signed_on_time=True)),
        "answered": Count("id", filter=Q(answered_on_time__isnull=False)),
        "answered_on_time": Count("id", filter=Q(answered_on_time=True)),
        "rated": Count("id", filter=Q(satisfaction__isnull=False)),
        "satisfied": Count("id", filter=Q(satisfaction__gte=4)),
        "unsatisfied": Count("id", filter=Q(satisfaction__lte=2)),
        "satisfaction_sum": Coalesce(Sum("satisfaction"), 0, output_field=IntegerField()),
        "dispatched": Count("id", filter=Q(department__isnull=False) & ~LINKED),
        "dispatched_automatically": Count(
            "id", filter=Q(dispatched_automatically=True, department__isnull=False) & ~LINKED
        ),
        "returned": Count("id", filter=Q(return_count__gt=0)),
        "reopened": Count("id", filter=Q(reopen_count__gt=0)),
    }


MEASURES = tuple(ticket_counts(dt.date.min))


def kept_columns(dims: int) -> list[str]:
    return [column for bit, column in DIMENSION_COLUMNS.items() if dims & bit]


def levels_of(closed: bool, dims: int) -> tuple[str, ...]:
    """The buckets a cuboid is kept by."""
    return (DAY,) if closed and dims == FULL else (DAY, WEEK, MONTH)


def bucket_end(level: str, start: dt.date) -> dt.date:
    if level == DAY:
        return start
    if level == WEEK:
        return start + dt.timedelta(days=6)
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def bucket_start(level: str, day: dt.date) -> dt.date:
    if level == WEEK:
        return day - dt.timedelta(days=day.weekday())
    if level == MONTH:
        return day.replace(day=1)
    return day


def overdue_shifted(as_of: dt.date, due: dt.date, today: dt.date) -> bool:
    """Whether an open ticket due on ``due`` is overdue today but was not on ``as_of`` (or the
    other way round): a day counted on ``as_of`` holding it must be counted again."""
    return min(as_of, today) <= due < max(as_of, today)


def day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def day_runs(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as (first, last) pairs."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] + dt.timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


# ---------------------------------------------------------------- writing the cells


def _insert(
    model, queryset: QuerySet, *, columns: dict[str, str], constants: dict[str, Any]
) -> None:
    """``INSERT INTO`` the model's table what ``queryset`` selects: ``columns`` maps a column of
    the table to a name the queryset selects, ``constants`` a column to a value. The queryset is
    compiled by the ORM, so the dates are cut in local time the same way on every database."""
    inner, params = queryset.query.sql_with_params()
    quote = connection.ops.quote_name
    targets = [*constants, *columns]
    selected = ["%s"] * len(constants) + [f"counted.{quote(name)}" for name in columns.values()]
    # Only quoted names and the ORM's own SQL are put together here; every value is a parameter.
    table, names = quote(model._meta.db_table), ", ".join(map(quote, targets))
    sql = f"INSERT INTO {table} ({names}) SELECT {', '.join(selected)} FROM ({inner}) counted"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*constants.values(), *params])


def _empty_columns(dims: int) -> dict[str, Any]:
    kept = kept_columns(dims)
    return {column: value for column, value in EMPTY.items() if column not in kept}


def _source(cuboids: tuple[int, ...], dims: int) -> int:
    """The smallest other kept cuboid that holds every dimension of ``dims``."""
    holders = [c for c in cuboids if c != dims and c & dims == dims]
    return min(holders, key=lambda c: (bin(c).count("1"), cuboids.index(c)))


def _by_size(cuboids: tuple[int, ...]) -> list[int]:
    """The cuboids but the full one, each after every cuboid it is summed from."""
    return sorted((c for c in cuboids if c != FULL), key=lambda c: -bin(c).count("1"))


def _count_days(first: dt.date, last: dt.date, *, as_of: dt.date) -> None:
    """The day cells of ``first``..``last``: the full cuboids from the tickets, the others from
    the smallest kept cuboid holding them."""
    tickets = Ticket.objects.filter(
        state__in=Ticket.State.values,
        created_at__gte=day_start(first),
        created_at__lt=day_start(last + dt.timedelta(days=1)),
    ).order_by()
    dimensions = list(DIMENSION_COLUMNS.values())
    counts = ticket_counts(as_of)
    full = (
        tickets.annotate(bucket=TruncDate("created_at"))
        .values("bucket", *dimensions)
        .annotate(**{f"n_{name}": count for name, count in counts.items()})
    )
    _insert(
        TicketStatsCell,
        full,
        constants={"level": DAY, "dims": FULL},
        columns={
            "start": "bucket",
            **{column: column for column in dimensions},
            **{name: f"n_{name}" for name in counts},
        },
    )
    closed = (
        tickets.filter(state=Ticket.State.CLOSED, closed_at__isnull=False)
        .annotate(bucket=TruncDate("created_at"), closed_on=TruncDate("closed_at"))
        .values("bucket", *dimensions, "closed_on")
        .annotate(n_closed=Count("id"))
    )
    _insert(
        TicketClosedCell,
        closed,
        constants={"level": DAY, "dims": FULL},
        columns={
            "start": "bucket",
            **{column: column for column in dimensions},
            "closed_day": "closed_on",
            "closed": "n_closed",
        },
    )
    for dims in _by_size(RECEIVED_CUBOIDS):
        _sum_cells(TicketStatsCell, DAY, dims, _source(RECEIVED_CUBOIDS, dims), first, last)
    for dims in _by_size(CLOSED_CUBOIDS):
        _sum_cells(TicketClosedCell, DAY, dims, _source(CLOSED_CUBOIDS, dims), first, last)


def _sum_cells(
    model, level: str, dims: int, source: int, first: dt.date, last: dt.date, *, of: str = DAY
) -> None:
    """The ``level`` cells of cuboid ``dims`` whose buckets start in ``first``..``last``, summed
    from the ``of`` cells of cuboid ``source``."""
    closed = model is TicketClosedCell
    cells = model.objects.filter(level=of, dims=source)
    if level == DAY:
        cells = cells.filter(start__gte=first, start__lte=last).annotate(bucket=F("start"))
    else:
        trunc = TruncWeek if level == WEEK else TruncMonth
        cells = cells.filter(start__gte=first, start__lte=bucket_end(level, last)).annotate(
            bucket=Cast(trunc("start"), DateField())
        )
    kept = kept_columns(dims)
    group = ["bucket", *kept, *(["closed_day"] if closed else [])]
    measures = ["closed"] if closed else list(MEASURES)
    summed = (
        cells.order_by().values(*group).annotate(**{f"n_{name}": Sum(name) for name in measures})
    )
    _insert(
        model,
        summed,
        constants={"level": level, "dims": dims, **_empty_columns(dims)},
        columns={
            "start": "bucket",
            **{column: column for column in group[1:]},
            **{name: f"n_{name}" for name in measures},
        },
    )


def _recount_days(first: dt.date, last: dt.date, *, today: dt.date, now: dt.datetime) -> None:
    """Count ``first``..``last`` again: their day cells, the days marked fresh (overdue as of
    ``today``), their weeks and months stale."""
    for model, cuboids in ((TicketStatsCell, RECEIVED_CUBOIDS), (TicketClosedCell, CLOSED_CUBOIDS)):
        # ``dims`` spelt out: the cells' indexes lead with it
        model.objects.filter(
            dims__in=cuboids, level=DAY, start__gte=first, start__lte=last
        ).delete()
    _count_days(first, last, as_of=today)
    days = list(_days(first, last))
    TicketStatsBucket.objects.bulk_create(
        [
            TicketStatsBucket(level=DAY, start=day, fresh=True, as_of=today, computed_at=now)
            for day in days
        ],
        update_conflicts=True,
        unique_fields=["level", "start"],
        update_fields=["fresh", "as_of", "computed_at"],
        batch_size=1000,
    )
    coarse = {(level, bucket_start(level, day)) for level in COARSE_LEVELS for day in days}
    TicketStatsBucket.objects.bulk_create(
        [TicketStatsBucket(level=level, start=start, fresh=False) for level, start in coarse],
        update_conflicts=True,
        unique_fields=["level", "start"],
        update_fields=["fresh"],
        batch_size=1000,
    )


def _sum_coarse(level: str, starts: list[dt.date], *, now: dt.datetime) -> None:
    """The cells of these weeks or months, summed from their days' cells; then fresh."""
    for first, last in _bucket_runs(level, starts):
        for model, cuboids in (
            (TicketStatsCell, RECEIVED_CUBOIDS),
            (TicketClosedCell, CLOSED_CUBOIDS),
        ):
            model.objects.filter(
                dims__in=cuboids, level=level, start__gte=first, start__lte=last
            ).delete()
        for dims in RECEIVED_CUBOIDS:
            _sum_cells(TicketStatsCell, level, dims, dims, first, last)
        for dims in CLOSED_CUBOIDS:
            if level in levels_of(True, dims):
                _sum_cells(TicketClosedCell, level, dims, dims, first, last)
    TicketStatsBucket.objects.bulk_create(
        [
            TicketStatsBucket(level=level, start=start, fresh=True, computed_at=now)
            for start in starts
        ],
        update_conflicts=True,
        unique_fields=["level", "start"],
        update_fields=["fresh", "computed_at"],
        batch_size=1000,
    )


def _bucket_runs(level: str, starts: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive buckets as (first start, last start) pairs."""
    runs: list[tuple[dt.date, dt.date]] = []
    for start in sorted(set(starts)):
        if runs and bucket_end(level, runs[-1][1]) + dt.timedelta(days=1) == start:
            runs[-1] = (runs[-1][0], start)
        else:
            runs.append((start, start))
    return runs


@contextmanager
def _writing(*, wait: bool) -> Iterator[bool]:
    """A transaction holding the writers' lock; ``False`` when ``wait`` is off and another
    writer holds it (nothing is to be written then)."""
    with transaction.atomic():
        got = True
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                if wait:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
                else:
                    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
                    got = bool(cursor.fetchone()[0])
        yield got


def _recount_marked(*, today: dt.date, now: dt.datetime) -> int:
    """Count again the days marked changed, and remove the marks seen (the ones written since
    stay, for the next refresh). The number of days counted."""
    marks = list(TicketStatsChange.objects.values_list("id", "day"))
    if not marks:
        return 0
    days = {day for _, day in marks}
    for first, last in day_runs(days):
        _recount_days(first, last, today=today, now=now)
    TicketStatsChange.objects.filter(id__in=[pk for pk, _ in marks]).delete()
    return len(days)


def _recount_overdue(*, today: dt.date, now: dt.datetime) -> int:
    """Count again the days whose overdue figure the date changed (an open ticket fell due since
    they were counted); move the others' ``as_of`` to today. The number of days counted."""
    behind: dict[dt.date, dt.date] = {}
    changed: set[dt.date] = set()
    for start, as_of in (
        TicketStatsBucket.objects.filter(level=DAY, fresh=True)
        .exclude(as_of=today)
        .values_list("start", "as_of")
    ):
        if as_of is None:
            changed.add(start)  # never said: count it again
        else:
            behind[start] = as_of
    if not behind and not changed:
        return 0
    dates = [*behind.values(), today]
    due_days = (
        Ticket.objects.filter(OPEN, node_due_date__gte=min(dates), node_due_date__lt=max(dates))
        .annotate(day=TruncDate("created_at"))
        .values_list("day", "node_due_date")
        .order_by()
    )
    for day, due in due_days:
        if due is not None and day in behind and overdue_shifted(behind[day], due, today):
            changed.add(day)
    for first, last in day_runs(changed):
        _recount_days(first, last, today=today, now=now)
    TicketStatsBucket.objects.filter(level=DAY, start__in=set(behind) - changed).update(as_of=today)
    return len(changed)


def _sum_stale_coarse(*, now: dt.datetime) -> int:
    """Sum again the stale weeks and months whose days are all counted and unchanged."""
    stale = list(
        TicketStatsBucket.objects.filter(level__in=COARSE_LEVELS, fresh=False).values_list(
            "level", "start"
        )
    )
    if not stale:
        return 0
    first = min(start for _, start in stale)
    last = max(bucket_end(level, start) for level, start in stale)
    counted = set(
        TicketStatsBucket.objects.filter(
            level=DAY, fresh=True, start__gte=first, start__lte=last
        ).values_list("start", flat=True)
    )
    counted -= set(TicketStatsChange.objects.values_list("day", flat=True))
    ready: dict[str, list[dt.date]] = {level: [] for level in COARSE_LEVELS}
    for level, start in stale:
        if all(day in counted for day in _days(start, bucket_end(level, start))):
            ready[level].append(start)
    for level, starts in ready.items():
        if starts:
            _sum_coarse(level, starts, now=now)
    return sum(len(starts) for starts in ready.values())


# ---------------------------------------------------------------- the services


def ticket_stats_mark(*, ticket: Ticket) -> None:
    """A ticket changed: mark the day it was received, in the change's transaction, and have
    that day counted again once the change is committed (a task: a day's count takes tens of
    milliseconds, which the move's request need not wait for; until it is done the statistics
    count the day live, and if the task is lost the beat task counts it)."""
    TicketStatsChange.objects.create(day=timezone.localdate(ticket.created_at))
    transaction.on_commit(_count_after_commit, robust=True)


def _count_after_commit() -> None:
    from .tasks import ticket_stats_count

    ticket_stats_count.delay()


def ticket_stats_refresh(*, full: bool = False, wait: bool = True) -> dict[str, int]:
    """Count again the days marked changed. ``full`` (the beat task): also yesterday and today,
    the days an open ticket fell due on since they were counted, and the stale weeks and months.
    ``wait=False``: do nothing if another writer is at it (it, or the next one, will do it)."""
    today = timezone.localdate()
    now = timezone.now()
    done = {"days": 0, "overdue_days": 0, "weeks_and_months": 0}
    with _writing(wait=wait) as got:
        if not got:
            return done
        done["days"] = _recount_marked(today=today, now=now)
    if not full:
        return done
    with _writing(wait=True):
        _recount_days(today - dt.timedelta(days=1), today, today=today, now=now)
        done["days"] += 2
        done["overdue_days"] = _recount_overdue(today=today, now=now)
    with _writing(wait=True):
        done["weeks_and_months"] = _sum_stale_coarse(now=now)
    return done


def ticket_stats_rebuild(*, since: dt.date | None = None) -> dict[str, Any]:
    """Count every day again from ``since`` (by default the month of the first ticket) to today,
    and sum every week and month in between: after tickets were written around the services."""
    today = timezone.localdate()
    now = timezone.now()
    if since is None:
        earliest = Ticket.objects.aggregate(first=Min("created_at"))["first"]
        since = timezone.localdate(earliest) if earliest is not None else today
    first = since.replace(day=1) if since <= today else today
    with _writing(wait=True):
        marks = list(TicketStatsChange.objects.filter(day__gte=first).values_list("id", flat=True))
        _recount_days(first, today, today=today, now=now)
        TicketStatsChange.objects.filter(id__in=marks).delete()
        buckets = {}
        for level in COARSE_LEVELS:
            start = bucket_start(level, first)
            if start < first:
                start = bucket_end(level, start) + dt.timedelta(days=1)
            starts = []
            while bucket_end(level, start) <= today:
                starts.append(start)
                start = bucket_end(level, start) + dt.timedelta(days=1)
            if starts:
                _sum_coarse(level, starts, now=now)
            buckets[level] = len(starts)
    return {
        "first": first,
        "last": today,
        "days": (today - first).days + 1,
        "weeks": buckets[WEEK],
        "months": buckets[MONTH],
    }

"""The working-day calendar (工作日) that statutory deadlines are counted in.

Each year is counted from the first source that knows it:

1. a published ``CalendarYear`` entered by staff: its days replace every other source for that
   year;
2. the ``chinesecalendar`` package, which carries the State Council schedules up to its release;
3. otherwise plain Monday to Friday, and every answer that depends on such a day is marked
   provisional, so that nobody mistakes a guess for a statutory date.

A year's rule costs one query the first time it is needed and is then kept in process memory.
Saving or deleting a ``CalendarYear`` or ``CalendarDay`` clears this process's memory (connected
in ``CoreConfig.ready``); other processes pick the change up within ``CACHE_SECONDS``. Code that
changes calendar rows without model signals (``QuerySet.update``, ``bulk_create``) must call
``clear_cache()``.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import chinese_calendar
from django.db import transaction

from .models import CalendarDay, CalendarYear

CACHE_SECONDS = 300

_ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Deadline:
    """A counted date; ``provisional`` when a day that decided it lies in a year nobody knows."""

    date: datetime.date
    provisional: bool


@dataclass(frozen=True)
class _YearRule:
    holidays: frozenset[datetime.date]
    workdays: frozenset[datetime.date]
    provisional: bool

    def is_workday(self, day: datetime.date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


_lock = threading.Lock()
_rules: dict[int, tuple[float, _YearRule]] = {}
_generation = 0


def clear_cache() -> None:
    """Forget every year's rule, so the next count reads the calendar again."""
    global _generation
    with _lock:
        _generation += 1
        _rules.clear()


def calendar_changed(*, using: str = "default", **kwargs: object) -> None:
    """Signal receiver for saved or deleted calendar rows."""
    clear_cache()
    # A count made in another thread between the save and the commit would cache the old rows.
    transaction.on_commit(clear_cache, using=using)


def _load_rule(year: int) -> _YearRule:
    # One query: a published year with no days still returns a single (None, None) row.
    rows = list(
        CalendarYear.objects.filter(year=year, published=True).values_list(
            "days__date", "days__kind"
        )
    )
    if rows:
        return _YearRule(
            holidays=frozenset(d for d, kind in rows if kind == CalendarDay.Kind.HOLIDAY),
            workdays=frozenset(d for d, kind in rows if kind == CalendarDay.Kind.WORKDAY),
            provisional=False,
        )
    try:
        chinese_calendar.is_workday(datetime.date(year, 1, 1))
    except NotImplementedError:
        return _YearRule(holidays=frozenset(), workdays=frozenset(), provisional=True)
    return _YearRule(
        holidays=frozenset(d for d in chinese_calendar.holidays if d.year == year),
        workdays=frozenset(d for d in chinese_calendar.workdays if d.year == year),
        provisional=False,
    )


def _rule_for(year: int) -> _YearRule:
    now = time.monotonic()
    cached = _rules.get(year)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    generation = _generation
    rule = _load_rule(year)
    with _lock:
        # A change saved while we were reading must not be overwritten by what we read.
        if generation == _generation:
            _rules[year] = (now, rule)
    return rule


def _check_date(day: datetime.date) -> None:
    # A datetime would compare unequal to every calendar date; which local date it means is the
    # caller's decision (timezone.localdate).
    if isinstance(day, datetime.datetime) or not isinstance(day, datetime.date):
        raise TypeError(f"expected a date, got {type(day).__name__}")


def _days(
    first: datetime.date, last: datetime.date | None = None
) -> Iterator[tuple[datetime.date, bool, bool]]:
    """Yield (day, is working day, provisional) from ``first`` up to ``last`` or without end."""
    if last is not None and last < first:
        return
    day = first
    year, rule = day.year, _rule_for(day.year)
    while last is None or day <= last:
        if day.year != year:
            year, rule = day.year, _rule_for(day.year)
        yield day, rule.is_workday(day), rule.provisional
        day += _ONE_DAY


def is_workday(day: datetime.date) -> tuple[bool, bool]:
    """Return (whether ``day`` is a working day, whether that answer is provisional)."""
    _check_date(day)
    rule = _rule_for(day.year)
    return rule.is_workday(day), rule.provisional


def add_workdays(start: datetime.date, n: int) -> Deadline:
    """Return the n-th working day after ``start``.

    ``start`` itself is never counted, whether or not it is a working day: with n=1 the result is
    the first working day after ``start``. With n=0 the result is ``start`` if it is a working day,
    else the first working day after it. ``provisional`` is true when any day examined (the days
    after ``start`` up to the result, and ``start`` itself when n=0) lies in an unknown year.
    A negative n is refused with ValueError.
    """
    _check_date(start)
    if n < 0:
        raise ValueError("n must not be negative")
    # n=0 asks for the first working day on or after start.
    first = start if n == 0 else start + _ONE_DAY
    remaining = max(n, 1)
    provisional = False
    days = _days(first)
    while remaining:
        day, working, day_provisional = next(days)
        provisional = provisional or day_provisional
        if working:
            remaining -= 1
    return Deadline(date=day, provisional=provisional)


def workdays_between(a: datetime.date, b: datetime.date) -> tuple[int, bool]:
    """Count the working days after ``a`` up to and including ``b``; and whether provisional.

    For b < a the result is the negated count of working days after ``b`` up to and including
    ``a`` (a deadline ``b`` passed by that many working days on ``a``); for b == a it is 0. For
    n >= 1, ``workdays_between(start, add_workdays(start, n).date)`` is n.
    """
    _check_date(a)
    _check_date(b)
    if b < a:
        count, provisional = workdays_between(b, a)
        return -count, provisional
    count = 0
    provisional = False
    for _day, working, day_provisional in _days(a + _ONE_DAY, b):
        provisional = provisional or day_provisional
        if working:
            count += 1
    return count, provisional

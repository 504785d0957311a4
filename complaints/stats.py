"""Leaders' statistics of the complaints desk: selectors, their filters and who may see what.

The figures are read from the roll-ups (``complaints.rollup_models``, kept by
``complaints.rollups``): for each query, the smallest cuboid that keeps every dimension it filters
and groups by, over the fewest buckets (months, weeks, days) covering the range. A day whose
cells may not be read (never counted, changed since, or its overdue figure of another date) is
counted live from the tickets, in the same query (``UNION ALL``), with the same definitions
(``rollups.ticket_counts``); ``ticket_stats(..., live=True)`` counts everything that way, the
reference the cells are tested against. One call runs seven queries whatever the number of
tickets: which cells may be read, then department × category (the totals, the departments, the
categories and the top issues), region (and city), kind, channel, and the two series. Nothing
here loops over tickets; the Python loops run over aggregated rows.

Definitions (the page's "How the figures are counted" says the same in words):

- the filters select the tickets *received* (``created_at``) in the date range, in the viewer's
  scope, matching department (lead), category, region (with its child regions), kind and channel;
- *open* is a ticket in one of ``Ticket.OPEN_STATES``; *overdue* an open one whose current step was
  due before today; *linked* a duplicate linked to an earlier ticket;
- *dispatched* is a ticket with a lead department that is not a linked duplicate; the auto-dispatch
  share is over those; the returned and reopened shares are over all the tickets received;
- an on-time rate is the share of ``True`` among the tickets whose step happened (non-null);
- satisfaction is over rated tickets: the average (1–5), the share rating 4–5 and the share 1–2;
- *senders* are all the tickets received, *matters* the same less the linked duplicates (a matter
  sent by many is counted once);
- shares are rounded half up from the counts: to four decimals (0 to 1) in the API, to a tenth of
  a percent on the page and in the CSV (4 of 11 is 36.4 %); the average to two decimals;
- the time series counts, per day, week or month, the tickets received in that period and, of the
  tickets received in the range, those closed in that period (by ``closed_at``); a ticket received
  before the range is not counted, so every figure on the page is about the same tickets;
- a ticket whose state is none of ``Ticket.State`` (which only the work-order service sets) is
  not counted.
"""

from __future__ import annotations

import bisect
import datetime as dt
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from complaints.errors import ComplaintsErrorCode
from departments.models import Department, Region
from departments.scoping import member_department_ids, scope_queryset

from . import rollups
from .dispatch.categories import CATEGORIES
from .models import Ticket, TicketClosedCell, TicketStatsBucket, TicketStatsCell, TicketStatsChange

PERIODS = ("day", "week", "month")
DEFAULT_DAYS = 30
MAX_DAYS = 3660  # ten years
MAX_DAYS_BY_DAY = 366
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2099, 12, 31)
TOP_CATEGORIES = 5
TOP_CATEGORIES_PER_DEPARTMENT = 3

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DEPARTMENT_CODE_RE = re.compile(r"^[-a-zA-Z0-9_]{1,40}$")
REGION_CODE_RE = re.compile(r"^\d{6}$")

OPEN = rollups.OPEN
UNKNOWN = "—"


# ---------------------------------------------------------------- who sees what


@dataclass(frozen=True)
class StatsScope:
    """Whose tickets a viewer's statistics count: every ticket, or their departments' ones.

    ``department_ids``: the departments the viewer works in (as ``member_department_ids`` says),
    read with the desk check; a list the planner can size, where a subquery of memberships would
    make it read every cell of the range."""

    user: Any
    sees_all: bool
    department_ids: tuple[int, ...] = ()

    def restrict(self, rows: QuerySet) -> QuerySet:
        """Tickets, or cells, of the viewer's scope (by their lead department)."""
        return rows if self.sees_all else rows.filter(department_id__in=self.department_ids)

    def tickets(self) -> QuerySet[Ticket]:
        return self.restrict(Ticket.objects.all())

    def departments(self) -> QuerySet[Department]:
        departments = Department.objects.all()
        if self.sees_all:
            return departments
        return scope_queryset(departments, self.user, department_field="pk")


def stats_scope_for(user) -> StatsScope:
    """The viewer's scope (one query), or ``PermissionDenied`` for anyone but staff.

    Superusers and the members of a 12345 hotline desk (a department of kind ``rexian``) see every
    ticket; any other member of staff sees the tickets led by the departments they work in. A
    citizen, or staff in no department, sees nothing.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        raise PermissionDenied(_("Log in as staff to see the statistics."))
    if user.is_superuser:
        return StatsScope(user=user, sees_all=True)
    if not user.is_staff:
        raise PermissionDenied(_("Only staff may see the complaints statistics."))
    memberships = list(
        member_department_ids(user).values_list(
            "department_id", "department__kind", "department__is_active"
        )
    )
    if any(kind == Department.Kind.HOTLINE and active for _id, kind, active in memberships):
        return StatsScope(user=user, sees_all=True)
    if memberships:
        ids = tuple(sorted({department_id for department_id, _kind, _active in memberships}))
        return StatsScope(user=user, sees_all=False, department_ids=ids)
    raise PermissionDenied(_("Only staff of a department may see the complaints statistics."))


def department_choices(scope: StatsScope) -> list[tuple[str, str]]:
    """(code, name) of the departments the filter offers: the active ones in the viewer's scope
    (one query)."""
    return list(
        scope.departments()
        .filter(is_active=True)
        .order_by("region__code", "kind", "name")
        .values_list("code", "name")
    )


def region_choices() -> list[tuple[str, str, str]]:
    """(code, name, level) of every region, in code order (a province, then its cities and their
    counties)."""
    return list(Region.objects.order_by("code").values_list("code", "name", "level"))


# ---------------------------------------------------------------- filters


@dataclass(frozen=True)
class StatsFilters:
    date_from: dt.date
    date_to: dt.date
    period: str
    department: Department | None = None
    category: str = ""
    region: Region | None = None
    kind: str = ""
    channel: str = ""

    @property
    def region_prefix(self) -> str:
        """The code prefix that covers the region and its children (440000 → 44, 440100 → 4401)."""
        if self.region is None:
            return ""
        if self.region.level == Region.Level.PROVINCE:
            return self.region.code[:2]
        if self.region.level == Region.Level.CITY:
            return self.region.code[:4]
        return self.region.code

    def as_dict(self) -> dict:
        return {
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "period": self.period,
            "department": self.department.code if self.department else None,
            "category": self.category or None,
            "region": self.region.code if self.region else None,
            "kind": self.kind or None,
            "channel": self.channel or None,
        }


def default_period(date_from: dt.date, date_to: dt.date) -> str:
    days = (date_to - date_from).days + 1
    if days <= 62:
        return "day"
    if days <= 366:
        return "week"
    return "month"


class TicketStatsFilterForm(forms.Form):
    """The query of the statistics page and API; every field optional, empty means absent.

    Each refusal has its own code (``date_invalid``, ``date_range_reversed``...), which the API
    answers in the shared error shape.
    """

    date_from = forms.CharField(required=False, max_length=10, label=gettext_lazy("From"))
    date_to = forms.CharField(required=False, max_length=10, label=gettext_lazy("To"))
    period = forms.CharField(required=False, max_length=10, label=gettext_lazy("Group by"))
    department = forms.CharField(required=False, max_length=40, label=gettext_lazy("Department"))
    category = forms.CharField(required=False, max_length=20, label=gettext_lazy("Category"))
    region = forms.CharField(required=False, max_length=6, label=gettext_lazy("Region"))
    kind = forms.CharField(required=False, max_length=12, label=gettext_lazy("Kind"))
    channel = forms.CharField(required=False, max_length=8, label=gettext_lazy("Channel"))

    def __init__(self, *args, scope: StatsScope, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope

    @staticmethod
    def _date(value: str) -> dt.date | None:
        if not value:
            return None
        message = _("Enter the date as YYYY-MM-DD, for example 2025-03-01.")
        if not DATE_RE.match(value):
            raise ValidationError(message, code=ComplaintsErrorCode.DATE_INVALID)
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError(message, code=ComplaintsErrorCode.DATE_INVALID) from None
        if not EARLIEST <= day <= LATEST:
            raise ValidationError(
                _("Choose a date from %(earliest)s to %(latest)s."),
                code=ComplaintsErrorCode.DATE_OUT_OF_RANGE,
                params={"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
            )
        return day

    def clean_date_from(self) -> dt.date | None:
        return self._date(self.cleaned_data["date_from"])

    def clean_date_to(self) -> dt.date | None:
        return self._date(self.cleaned_data["date_to"])

    def clean_period(self) -> str:
        value = self.cleaned_data["period"]
        if value and value not in PERIODS:
            raise ValidationError(
                _("Group by day, week or month."), code=ComplaintsErrorCode.PERIOD_INVALID
            )
        return value

    def clean_department(self) -> Department | None:
        value = self.cleaned_data["department"]
        if not value:
            return None
        department = None
        if DEPARTMENT_CODE_RE.match(value):
            department = self.scope.departments().filter(code=value).first()
        if department is None:
            raise ValidationError(
                _("There is no department with this code among those you may see."),
                code=ComplaintsErrorCode.DEPARTMENT_UNKNOWN,
            )
        return department

    def clean_category(self) -> str:
        value = self.cleaned_data["category"]
        if value and value not in CATEGORIES:
            raise ValidationError(
                _("Choose one of the categories: %(categories)s."),
                code=ComplaintsErrorCode.CATEGORY_UNKNOWN,
                params={"categories": "、".join(CATEGORIES)},
            )
        return value

    def clean_region(self) -> Region | None:
        value = self.cleaned_data["region"]
        if not value:
            return None
        region = Region.objects.filter(code=value).first() if REGION_CODE_RE.match(value) else None
        if region is None:
            raise ValidationError(
                _("There is no region with this code; a region code has six digits, like 330100."),
                code=ComplaintsErrorCode.REGION_UNKNOWN,
            )
        return region

    def clean_kind(self) -> str:
        value = self.cleaned_data["kind"]
        if value and value not in Ticket.Kind.values:
            raise ValidationError(
                _("Choose one of the kinds: %(kinds)s."),
                code=ComplaintsErrorCode.KIND_INVALID,
                params={"kinds": ", ".join(Ticket.Kind.values)},
            )
        return value

    def clean_channel(self) -> str:
        value = self.cleaned_data["channel"]
        if value and value not in Ticket.Channel.values:
            raise ValidationError(
                _("Choose one of the channels: %(channels)s."),
                code=ComplaintsErrorCode.CHANNEL_INVALID,
                params={"channels": ", ".join(Ticket.Channel.values)},
            )
        return value

    def clean(self) -> dict:
        data = super().clean()
        if self.errors.keys() & {"date_from", "date_to", "period"}:
            return data
        today = timezone.localdate()
        date_to = data.get("date_to") or today
        date_from = data.get("date_from") or date_to - dt.timedelta(days=DEFAULT_DAYS - 1)
        if date_from > date_to:
            self.add_error(
                "date_to",
                ValidationError(
                    _("The end date is before the start date."),
                    code=ComplaintsErrorCode.DATE_RANGE_REVERSED,
                ),
            )
            return data
        days = (date_to - date_from).days + 1
        if days > MAX_DAYS:
            self.add_error(
                "date_from",
                ValidationError(
                    _("Choose a range of at most %(days)d days."),
                    code=ComplaintsErrorCode.DATE_RANGE_TOO_LONG,
                    params={"days": MAX_DAYS},
                ),
            )
            return data
        period = data.get("period") or default_period(date_from, date_to)
        if period == "day" and days > MAX_DAYS_BY_DAY:
            self.add_error(
                "period",
                ValidationError(
                    _("Group by week or month for a range longer than %(days)d days."),
                    code=ComplaintsErrorCode.PERIOD_TOO_FINE,
                    params={"days": MAX_DAYS_BY_DAY},
                ),
            )
            return data
        data["date_from"], data["date_to"], data["period"] = date_from, date_to, period
        return data

    @property
    def filters(self) -> StatsFilters:
        """The cleaned filters; only after ``is_valid()`` answered ``True``."""
        data = self.cleaned_data
        return StatsFilters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            period=data["period"],
            department=data.get("department"),
            category=data.get("category", ""),
            region=data.get("region"),
            kind=data.get("kind", ""),
            channel=data.get("channel", ""),
        )


# ---------------------------------------------------------------- figures

_day_start = rollups.day_start


def _half_up(part: int, whole: int, places: int) -> Decimal:
    """``part / whole`` rounded half up to ``places`` decimals, exactly (integers only)."""
    scale = 10**places
    return Decimal((2 * part * scale + whole) // (2 * whole)).scaleb(-places)


def rate(part: int, whole: int) -> float | None:
    """A share from 0 to 1, rounded half up to four decimals; ``None`` when nothing counted."""
    return float(_half_up(part, whole, 4)) if whole else None


def percent(part: int, whole: int) -> Decimal | None:
    """A share as a percentage rounded half up to one decimal (4 of 11 → 36.4), computed from
    the counts, not from a rounded share; ``None`` when nothing counted."""
    return _half_up(part * 100, whole, 1) if whole else None


def _average(total: int, count: int) -> float | None:
    return float(_half_up(total, count, 2)) if count else None


def _row(key, label: str, counts: dict[str, int]) -> dict:
    """A breakdown row; ``_counts`` keeps what its shares are of, for the page and the CSV (the
    API and the JSON downloads leave it out)."""
    return {
        "key": key,
        "label": label,
        "count": counts["received"],
        "senders": counts["received"],
        "matters": counts["received"] - counts["linked"],
        "open": counts["open"],
        "closed": counts["closed"],
        "overdue": counts["overdue"],
        "signed_on_time_rate": rate(counts["signed_on_time"], counts["signed"]),
        "answered_on_time_rate": rate(counts["answered_on_time"], counts["answered"]),
        "rated": counts["rated"],
        "satisfaction_average": _average(counts["satisfaction_sum"], counts["rated"]),
        "satisfied_share": rate(counts["satisfied"], counts["rated"]),
        "unsatisfied_share": rate(counts["unsatisfied"], counts["rated"]),
        "_counts": counts,
    }


def _public(value):
    """``value`` without the ``_counts`` the rows carry for the page."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_public(item) for item in value]
    return value


def _ordered(rows: list[dict]) -> list[dict]:
    """Most tickets first; rows without a key (no department, region...) last among equals."""
    return sorted(rows, key=lambda row: (-row["count"], not row["key"], str(row["key"] or "")))


def _period_starts(filters: StatsFilters) -> list[dt.date]:
    """Every period from the range's first to its last day, empty ones included."""
    start = filters.date_from
    if filters.period == "week":
        start -= dt.timedelta(days=start.weekday())
    elif filters.period == "month":
        start = start.replace(day=1)
    starts = []
    while start <= filters.date_to:
        starts.append(start)
        if filters.period == "day":
            start += dt.timedelta(days=1)
        elif filters.period == "week":
            start += dt.timedelta(days=7)
        else:
            start = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return starts


# ---------------------------------------------------------------- reading cells and tickets

# What reading a bucket costs, roughly in rows, for choosing how to cover a range: the cells of a
# day, a week, a month, or the tickets of a day counted live.
COST = {rollups.DAY: 1, rollups.WEEK: 2, rollups.MONTH: 3}
LIVE_COST = 20
# What each query groups by: a name, the path on the cells, and on the tickets (a day is the
# local day received or closed; the series turn days into periods).
GROUPS: dict[str, tuple[tuple[str, Any, Any], ...]] = {
    "department": (
        ("department_id", "department_id", "department_id"),
        ("department__code", "department__code", "department__code"),
        ("department__name", "department__name", "department__name"),
        ("category", "category", "category"),
    ),
    "region": (
        ("region_id", "region_id", "region_id"),
        ("region__code", "region__code", "region__code"),
        ("region__name", "region__name", "region__name"),
        ("region__level", "region__level", "region__level"),
        ("region__parent__code", "region__parent__code", "region__parent__code"),
        ("region__parent__name", "region__parent__name", "region__parent__name"),
    ),
    "kind": (("kind", "kind", "kind"),),
    "channel": (("channel", "channel", "channel"),),
    "received": (("day", "start", TruncDate("created_at")),),
    "closed": (("day", "closed_day", TruncDate("closed_at")),),
}


@dataclass(frozen=True)
class _Plan:
    """What of the range may be read from the cells: the days counted and unchanged since (and
    whose overdue figure the date has not changed), the weeks and months summed from such days.
    Every other day is counted live from the tickets."""

    first: dt.date
    last: dt.date
    days: frozenset[dt.date]
    coarse: frozenset[tuple[str, dt.date]]


def _plan(filters: StatsFilters, today: dt.date, *, live: bool) -> _Plan:
    """One query, and a second only while some day's overdue figure is of an earlier date (until
    the beat task has moved it to today)."""
    first, last = filters.date_from, filters.date_to
    if live:
        return _Plan(first, last, frozenset(), frozenset())
    rows = (
        TicketStatsBucket.objects.filter(start__gte=first, start__lte=last, fresh=True)
        .annotate(changed=Exists(TicketStatsChange.objects.filter(day=OuterRef("start"))))
        .values_list("level", "start", "as_of", "changed")
    )
    days: dict[dt.date, dt.date] = {}
    coarse = []
    for level, start, as_of, changed in rows:
        if level == rollups.DAY:
            if not changed and as_of is not None:
                days[start] = as_of
        elif rollups.bucket_end(level, start) <= last:
            coarse.append((level, start))
    behind = {day: as_of for day, as_of in days.items() if as_of != today}
    if behind:
        dates = [*behind.values(), today]
        due = (
            Ticket.objects.filter(
                OPEN,
                node_due_date__gte=min(dates),
                node_due_date__lt=max(dates),
                created_at__gte=_day_start(first),
                created_at__lt=_day_start(last + dt.timedelta(days=1)),
            )
            .annotate(day=TruncDate("created_at"))
            .values_list("day", "node_due_date")
            .order_by()
        )
        for day, due_date in due:
            if (
                due_date is not None
                and day in behind
                and rollups.overdue_shifted(behind[day], due_date, today)
            ):
                days.pop(day, None)
    readable = frozenset(days)
    # a week or a month is read only if every one of its days may be
    unreadable = [
        day
        for day in (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
        if day not in readable
    ]

    def whole(level: str, start: dt.date) -> bool:
        at = bisect.bisect_left(unreadable, start)
        return at == len(unreadable) or unreadable[at] > rollups.bucket_end(level, start)

    return _Plan(first, last, readable, frozenset(bucket for bucket in coarse if whole(*bucket)))


@dataclass(frozen=True)
class _Tiles:
    days: tuple[tuple[dt.date, dt.date], ...]  # runs of day cells
    coarse: tuple[tuple[str, dt.date], ...]  # weeks and months
    live: tuple[tuple[dt.date, dt.date], ...]  # runs of days counted from the tickets


def _within(period: str | None, start: dt.date, end: dt.date) -> bool:
    """Whether a bucket lies inside one period of the time series (any bucket, without one)."""
    if period is None:
        return True
    if period == "week":
        return start.weekday() == 0 and end == start + dt.timedelta(days=6)
    if period == "month":
        return (start.year, start.month) == (end.year, end.month)
    return start == end


def _tiles(plan: _Plan, levels: tuple[str, ...], period: str | None) -> _Tiles:
    """The cheapest cover of the range by readable buckets (none crossing a period of the series
    when ``period`` is given) and days counted live: a shortest path over the days."""
    n = (plan.last - plan.first).days + 1
    cost: list[float] = [0.0] + [float("inf")] * n
    step: list[tuple[str, dt.date] | None] = [None] * (n + 1)
    for i in range(n):
        day = plan.first + dt.timedelta(days=i)
        readable = day in plan.days
        options = [(i + 1, (rollups.DAY if readable else "live", day))]
        for level in levels:
            if level != rollups.DAY and (level, day) in plan.coarse:
                end = rollups.bucket_end(level, day)
                if end <= plan.last and _within(period, day, end):
                    options.append(((end - plan.first).days + 1, (level, day)))
        for j, (kind, start) in options:
            spent = cost[i] + (LIVE_COST if kind == "live" else COST[kind])
            if spent < cost[j]:
                cost[j], step[j] = spent, (kind, start)
    chosen = []
    j = n
    while j:
        kind, start = step[j]  # type: ignore[misc]
        chosen.append((kind, start))
        j = (start - plan.first).days
    chosen.reverse()
    days = [start for kind, start in chosen if kind == rollups.DAY]
    live = [start for kind, start in chosen if kind == "live"]
    return _Tiles(
        days=tuple(rollups.day_runs(days)),
        coarse=tuple((kind, start) for kind, start in chosen if kind in rollups.COARSE_LEVELS),
        live=tuple(rollups.day_runs(live)),
    )


def _cells_q(tiles: _Tiles) -> Q | None:
    parts = [Q(level=rollups.DAY, start__gte=a, start__lte=b) for a, b in tiles.days]
    for level in rollups.COARSE_LEVELS:
        starts = [start for kind, start in tiles.coarse if kind == level]
        if starts:
            parts.append(Q(level=level, start__in=starts))
    return reduce(operator.or_, parts) if parts else None


def _live_q(tiles: _Tiles) -> Q | None:
    parts = [
        Q(created_at__gte=_day_start(a), created_at__lt=_day_start(b + dt.timedelta(days=1)))
        for a, b in tiles.live
    ]
    return reduce(operator.or_, parts) if parts else None


def _filtered(rows: QuerySet, filters: StatsFilters) -> QuerySet:
    """Every filter but the date range, on tickets or on cells (the same fields)."""
    if filters.department is not None:
        rows = rows.filter(department=filters.department)
    if filters.category:
        rows = rows.filter(category=filters.category)
    if filters.region is not None:
        prefix = filters.region_prefix
        if len(prefix) == 6:
            rows = rows.filter(region=filters.region)
        else:
            rows = rows.filter(region__code__startswith=prefix)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.channel:
        rows = rows.filter(channel=filters.channel)
    return rows.order_by()


def _dimensions_filtered(scope: StatsScope, filters: StatsFilters) -> int:
    """The dimensions the scope and the filters select by: a cuboid read must keep them."""
    dims = 0
    if filters.department is not None or not scope.sees_all:
        dims |= rollups.DEPARTMENT
    if filters.category:
        dims |= rollups.CATEGORY
    if filters.region is not None:
        dims |= rollups.REGION
    if filters.kind:
        dims |= rollups.KIND
    if filters.channel:
        dims |= rollups.CHANNEL
    return dims


@dataclass
class _Reading:
    scope: StatsScope
    filters: StatsFilters
    today: dt.date
    plan: _Plan
    _tiles: dict = field(default_factory=dict)

    def tiles(self, levels: tuple[str, ...], period: str | None) -> _Tiles:
        key = (levels, period)
        if key not in self._tiles:
            self._tiles[key] = _tiles(self.plan, levels, period)
        return self._tiles[key]

    def fetch(self, *, need: int, group: str, period: str | None = None) -> list[dict]:
        """One query: the cells of the smallest cuboid keeping ``need`` over the readable buckets
        and, ``UNION ALL``, the tickets of the other days counted live, each grouped by
        ``group``; the two are added up here. The series (``group`` "received" or "closed")
        are read by day, never across a period of ``period``."""
        closed = group == "closed"
        cuboids = rollups.CLOSED_CUBOIDS if closed else rollups.RECEIVED_CUBOIDS
        dims = next(c for c in cuboids if c & need == need)
        columns = GROUPS[group]
        names = [name for name, _cell, _ticket in columns]
        aliases = [f"g{i}" for i in range(len(columns))]
        measures = ("closed",) if closed else rollups.MEASURES
        tiles = self.tiles(rollups.levels_of(closed, dims), period if group == "received" else None)
        # Only quoted names and the ORM's own SQL are put together; every value is a parameter.
        quote = connection.ops.quote_name
        keys = ", ".join(map(quote, aliases))
        parts, params = [], []
        cells_q = _cells_q(tiles)
        if cells_q is not None:
            model = TicketClosedCell if closed else TicketStatsCell
            cells = self.scope.restrict(
                _filtered(model.objects.filter(cells_q, dims=dims), self.filters)
            )
            if closed:
                cells = cells.filter(closed_day__lte=self.filters.date_to)
            rows = cells.annotate(
                **{alias: F(path) for alias, (_n, path, _t) in zip(aliases, columns, strict=True)}
            ).values(*aliases, *measures)
            inner, inner_params = rows.query.sql_with_params()
            sums = ", ".join(f"SUM({quote(m)}) AS {quote(f'n_{m}')}" for m in measures)
            parts.append(f"SELECT {keys}, {sums} FROM ({inner}) cells GROUP BY {keys}")  # noqa: S608
            params += inner_params
        live_q = _live_q(tiles)
        if live_q is not None:
            tickets = self.scope.restrict(
                _filtered(
                    Ticket.objects.filter(live_q, state__in=Ticket.State.values), self.filters
                )
            )
            counts = rollups.ticket_counts(self.today)
            if closed:
                tickets = tickets.filter(
                    state=Ticket.State.CLOSED,
                    closed_at__lt=_day_start(self.filters.date_to + dt.timedelta(days=1)),
                )
                counts = {"closed": Count("id")}
            rows = (
                tickets.annotate(
                    **{
                        alias: F(path) if isinstance(path, str) else path
                        for alias, (_n, _c, path) in zip(aliases, columns, strict=True)
                    }
                )
                .values(*aliases)
                .annotate(**{f"n_{name}": count for name, count in counts.items()})
            )
            inner, inner_params = rows.query.sql_with_params()
            selected = ", ".join(map(quote, [*aliases, *(f"n_{m}" for m in measures)]))
            parts.append(f"SELECT {selected} FROM ({inner}) live")  # noqa: S608
            params += inner_params
        sql = " UNION ALL ".join(parts)
        merged: dict[tuple, dict] = {}
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for row in cursor.fetchall():
                key = row[: len(names)]
                entry = merged.get(key)
                if entry is None:
                    entry = merged[key] = {
                        **dict(zip(names, key, strict=True)),
                        **dict.fromkeys(measures, 0),
                    }
                for name, value in zip(measures, row[len(names) :], strict=True):
                    entry[name] += value or 0
        if group in ("received", "closed"):
            return _by_period(merged.values(), period or "day", measures)
        return list(merged.values())


def _by_period(rows: Iterable[dict], period: str, measures: Iterable[str]) -> list[dict]:
    """Rows by day (a date, or its text on SQLite) added up by the period starting on or
    before it."""
    totals: dict[dt.date, dict] = {}
    for row in rows:
        day = row["day"]
        if isinstance(day, str):
            day = dt.date.fromisoformat(day[:10])
        elif isinstance(day, dt.datetime):
            day = day.date()
        if period == "week":
            day -= dt.timedelta(days=day.weekday())
        elif period == "month":
            day = day.replace(day=1)
        entry = totals.setdefault(day, {"m_period": day, **dict.fromkeys(measures, 0)})
        for name in measures:
            entry[name] += row[name]
    return list(totals.values())


def _added(rows: Iterable[dict]) -> dict[str, int]:
    total = dict.fromkeys(rollups.MEASURES, 0)
    for row in rows:
        for name in rollups.MEASURES:
            total[name] += row[name]
    return total


def _grouped(rows: list[dict], key) -> dict:
    """The rows added up by ``key(row)``: key → (first row, counts)."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return {k: (members[0], _added(members)) for k, members in groups.items()}


def _top_issues(pairs: list[dict], by_category: list[dict]) -> dict:
    # One row per (department, category) pair: bounded by the number of departments times the
    # number of categories, not by the number of tickets.
    departments: dict = {}
    for row in pairs:
        if not row["category"] or not row["received"]:
            continue
        entry = departments.setdefault(
            row["department_id"],
            {
                "key": row["department__code"],
                "label": row["department__name"] or _("Not dispatched yet"),
                "count": 0,
                "categories": [],
            },
        )
        entry["categories"].append({"category": row["category"], "count": row["received"]})
        entry["count"] += row["received"]
    per_department = _ordered(list(departments.values()))
    for entry in per_department:
        # Sorted here, not in SQL, so that ties break the same way whatever the collation.
        entry["categories"].sort(key=lambda c: (-c["count"], c["category"]))
        del entry["categories"][TOP_CATEGORIES_PER_DEPARTMENT:]
    total = sum(row["count"] for row in by_category)
    return {
        "categories": [
            {
                "category": row["key"],
                "count": row["count"],
                "share": rate(row["count"], total),
                "_counts": {"part": row["count"], "whole": total},
            }
            for row in by_category
            if row["key"]
        ][:TOP_CATEGORIES],
        "by_department": per_department,
    }


def _series(received: list[dict], closed: list[dict], filters: StatsFilters) -> dict:
    counts = {row["m_period"]: row["received"] for row in received}
    closed_counts = {row["m_period"]: row["closed"] for row in closed}
    return {
        "period": filters.period,
        "points": [
            {
                "start": start_day.isoformat(),
                "received": counts.get(start_day, 0),
                "closed": closed_counts.get(start_day, 0),
            }
            for start_day in _period_starts(filters)
        ],
    }


@dataclass
class TicketStats:
    filters: StatsFilters
    sees_all: bool
    totals: dict
    timeliness: dict
    satisfaction: dict
    series: dict
    by_department: list[dict] = field(default_factory=list)
    by_category: list[dict] = field(default_factory=list)
    by_region: list[dict] = field(default_factory=list)
    by_city: list[dict] = field(default_factory=list)
    by_kind: list[dict] = field(default_factory=list)
    by_channel: list[dict] = field(default_factory=list)
    top_issues: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)

    BREAKDOWNS = ("by_department", "by_category", "by_region", "by_city", "by_kind", "by_channel")
    # The tables of the page, each downloadable as CSV and JSON (``?format=…&table=…``).
    TABLES = ("totals", "series", *BREAKDOWNS, "top_issues")

    def _head(self) -> dict:
        return {
            "filters": self.filters.as_dict(),
            "scope": "all" if self.sees_all else "own_departments",
        }

    def as_dict(self) -> dict:
        return {
            **self._head(),
            "totals": self.totals,
            "timeliness": self.timeliness,
            "satisfaction": self.satisfaction,
            "series": self.series,
            **{name: _public(getattr(self, name)) for name in self.BREAKDOWNS},
            "top_issues": _public(self.top_issues),
        }

    def table_dict(self, table: str) -> dict:
        """One table as the API shows it: its part of ``as_dict()``, with the filters and scope.
        The key figures are the totals, the timeliness and the satisfaction."""
        document = self.as_dict()
        keys = ("totals", "timeliness", "satisfaction") if table == "totals" else (table,)
        return {**self._head(), **{key: document[key] for key in keys}}


def ticket_stats(*, scope: StatsScope, filters: StatsFilters, live: bool = False) -> TicketStats:
    """The statistics of the tickets in ``scope`` matching ``filters``: seven queries (one to
    know which cells may be read, six for the figures), whatever the number of tickets.

    ``live``: count everything from the tickets, none from the cells (the reference the cells
    are tested against)."""
    today = timezone.localdate()
    reading = _Reading(scope, filters, today, _plan(filters, today, live=live))
    selected = _dimensions_filtered(scope, filters)
    pairs = reading.fetch(need=selected | rollups.DEPARTMENT | rollups.CATEGORY, group="department")
    regions = reading.fetch(need=selected | rollups.REGION, group="region")
    kinds_rows = reading.fetch(need=selected | rollups.KIND, group="kind")
    channels_rows = reading.fetch(need=selected | rollups.CHANNEL, group="channel")
    received_rows = reading.fetch(need=selected, group="received", period=filters.period)
    closed_rows = reading.fetch(need=selected, group="closed", period=filters.period)

    totals = _added(pairs)
    received = totals["received"]
    kinds = dict(Ticket.Kind.choices)
    channels = dict(Ticket.Channel.choices)
    level_label = {
        Region.Level.PROVINCE: _("province-level"),
        Region.Level.CITY: _("city-level"),
    }

    by_department = [
        _row(row["department__code"], row["department__name"] or _("Not dispatched yet"), counts)
        for row, counts in _grouped(pairs, lambda r: r["department_id"]).values()
    ]
    by_category = _ordered(
        [
            _row(row["category"], row["category"] or _("Uncategorised"), counts)
            for row, counts in _grouped(pairs, lambda r: r["category"]).values()
        ]
    )

    def region_label(row: dict) -> str:
        if not row["region__code"]:
            return _("No region")
        if row["region__level"] in level_label:
            return f"{row['region__name']} ({level_label[row['region__level']]})"
        return row["region__name"]

    def city_of(row: dict) -> tuple:
        if row["region__level"] == Region.Level.COUNTY:
            return row["region__parent__code"], row["region__parent__name"]
        return row["region__code"], row["region__name"]

    by_region = [
        _row(row["region__code"], region_label(row), counts)
        for row, counts in _grouped(regions, lambda r: r["region_id"]).values()
    ]
    by_city = [
        _row(code, name or _("No region"), counts)
        for (code, name), (_first, counts) in _grouped(regions, city_of).items()
    ]
    by_kind = [
        _row(row["kind"], str(kinds.get(row["kind"], row["kind"])), counts)
        for row, counts in _grouped(kinds_rows, lambda r: r["kind"]).values()
    ]
    by_channel = [
        _row(row["channel"], str(channels.get(row["channel"], row["channel"])), counts)
        for row, counts in _grouped(channels_rows, lambda r: r["channel"]).values()
    ]

    return TicketStats(
        filters=filters,
        sees_all=scope.sees_all,
        totals={
            "received": received,
            "senders": received,
            "matters": received - totals["linked"],
            "open": totals["open"],
            "closed": totals["closed"],
            "linked": totals["linked"],
            "overdue": totals["overdue"],
            "dispatched": totals["dispatched"],
            "dispatched_automatically": totals["dispatched_automatically"],
            "auto_dispatch_share": rate(totals["dispatched_automatically"], totals["dispatched"]),
            "returned": totals["returned"],
            "returned_share": rate(totals["returned"], received),
            "reopened": totals["reopened"],
            "reopened_share": rate(totals["reopened"], received),
        },
        timeliness={
            "signed": totals["signed"],
            "signed_on_time": totals["signed_on_time"],
            "signed_on_time_rate": rate(totals["signed_on_time"], totals["signed"]),
            "answered": totals["answered"],
            "answered_on_time": totals["answered_on_time"],
            "answered_on_time_rate": rate(totals["answered_on_time"], totals["answered"]),
        },
        satisfaction={
            "rated": totals["rated"],
            "average": _average(totals["satisfaction_sum"], totals["rated"]),
            "satisfied": totals["satisfied"],
            "satisfied_share": rate(totals["satisfied"], totals["rated"]),
            "unsatisfied": totals["unsatisfied"],
            "unsatisfied_share": rate(totals["unsatisfied"], totals["rated"]),
        },
        series=_series(received_rows, closed_rows, filters),
        by_department=_ordered(by_department),
        by_category=by_category,
        by_region=_ordered(by_region),
        by_city=_ordered(by_city),
        by_kind=_ordered(by_kind),
        by_channel=_ordered(by_channel),
        top_issues=_top_issues(pairs, by_category),
        counts=totals,
    )


# The columns of a breakdown in the CSV downloads; shares as percentages, rounded half up.
BREAKDOWN_COLUMNS = (
    "senders",
    "matters",
    "open",
    "closed",
    "overdue",
    "signed_on_time_percent",
    "answered_on_time_percent",
    "rated",
    "satisfaction_average",
    "satisfied_percent",
    "unsatisfied_percent",
)


def breakdown_values(row: dict) -> list:
    """A breakdown row's values in the order of ``BREAKDOWN_COLUMNS`` (``None``: nothing was
    counted for that share)."""
    counts = row["_counts"]
    return [
        row["senders"],
        row["matters"],
        row["open"],
        row["closed"],
        row["overdue"],
        percent(counts["signed_on_time"], counts["signed"]),
        percent(counts["answered_on_time"], counts["answered"]),
        row["rated"],
        row["satisfaction_average"],
        percent(counts["satisfied"], counts["rated"]),
        percent(counts["unsatisfied"], counts["rated"]),
    ]


def breakdown_rows(stats: TicketStats):
    """``(dimension, row)`` for every breakdown row, for the CSV download."""
    for name in TicketStats.BREAKDOWNS:
        for row in getattr(stats, name):
            yield name.removeprefix("by_"), row

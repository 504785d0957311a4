"""Leaders' statistics of the complaints desk: selectors, their filters and who may see what.

Everything is counted by the database (``aggregate`` / ``values().annotate()`` with filtered
``Count`` and ``Avg``), so one call runs a fixed number of queries whatever the number of tickets:
one for the totals, two for the time series, six for the breakdowns and one for the top issues.
Nothing here loops over tickets; the Python loops run over aggregated rows (periods, departments,
categories), whose number the data size does not change.

Definitions (the page's "How the figures are counted" says the same in words):

- the filters select the tickets *received* (``created_at``) in the date range, in the viewer's
  scope, matching department (lead), category, region (with its child regions), kind and channel;
- *open* is a ticket in one of ``Ticket.OPEN_STATES``; *overdue* an open one whose current step was
  due before today; *linked* a duplicate linked to an earlier ticket;
- *dispatched* is a ticket with a lead department that is not a linked duplicate; the auto-dispatch
  share is over those; the returned and reopened shares are over all the tickets received;
- an on-time rate is the share of ``True`` among the tickets whose step happened (non-null);
- satisfaction is over rated tickets: the average (1–5), the share rating 4–5 and the share 1–2;
- the time series counts, per day, week or month, the tickets received in that period and, of the
  tickets received in the range, those closed in that period (by ``closed_at``); a ticket received
  before the range is not counted, so every figure on the page is about the same tickets;
- a ticket whose state is none of ``Ticket.State`` (which only the work-order service sets) is
  not counted.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    F,
    Q,
    QuerySet,
    When,
)
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from complaints.errors import ComplaintsErrorCode
from departments.models import Department, Membership, Region
from departments.scoping import scope_queryset

from .dispatch.categories import CATEGORIES
from .models import Ticket

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

OPEN = Q(state__in=list(Ticket.OPEN_STATES))
UNKNOWN = "—"


# ---------------------------------------------------------------- who sees what


@dataclass(frozen=True)
class StatsScope:
    """Whose tickets a viewer's statistics count: every ticket, or their departments' ones."""

    user: Any
    sees_all: bool

    def tickets(self) -> QuerySet[Ticket]:
        tickets = Ticket.objects.all()
        return tickets if self.sees_all else scope_queryset(tickets, self.user)

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
    memberships = Membership.objects.filter(user_id=user.pk).aggregate(
        any=Count("id"),
        desk=Count(
            "id",
            filter=Q(department__kind=Department.Kind.HOTLINE, department__is_active=True),
        ),
    )
    if memberships["desk"]:
        return StatsScope(user=user, sees_all=True)
    if memberships["any"]:
        return StatsScope(user=user, sees_all=False)
    raise PermissionDenied(_("Only staff of a department may see the complaints statistics."))


def department_choices(scope: StatsScope) -> list[Department]:
    """The departments the filter offers: the active ones in the viewer's scope (one query)."""
    return list(
        scope.departments()
        .filter(is_active=True)
        .select_related("region")
        .order_by("region__code", "kind", "name")
    )


def region_choices() -> list[Region]:
    """Every region, in code order (a province, then its cities and their counties)."""
    return list(Region.objects.order_by("code"))


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


# ---------------------------------------------------------------- selectors


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _filtered(tickets: QuerySet[Ticket], filters: StatsFilters) -> QuerySet[Ticket]:
    """Every filter but the date range."""
    if filters.department is not None:
        tickets = tickets.filter(department=filters.department)
    if filters.category:
        tickets = tickets.filter(category=filters.category)
    if filters.region is not None:
        prefix = filters.region_prefix
        if len(prefix) == 6:
            tickets = tickets.filter(region=filters.region)
        else:
            tickets = tickets.filter(region__code__startswith=prefix)
    if filters.kind:
        tickets = tickets.filter(kind=filters.kind)
    if filters.channel:
        tickets = tickets.filter(channel=filters.channel)
    return tickets.order_by()


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _average(value) -> float | None:
    return round(float(value), 2) if value is not None else None


def _metrics(today: dt.date) -> dict:
    return {
        "n_count": Count("id"),
        "n_open": Count("id", filter=OPEN),
        "n_closed": Count("id", filter=Q(state=Ticket.State.CLOSED)),
        "n_overdue": Count("id", filter=OPEN & Q(node_due_date__lt=today)),
        "n_signed_on_time": Count("id", filter=Q(signed_on_time=True)),
        "n_signed": Count("id", filter=Q(signed_on_time__isnull=False)),
        "n_answered_on_time": Count("id", filter=Q(answered_on_time=True)),
        "n_answered": Count("id", filter=Q(answered_on_time__isnull=False)),
        "n_rated": Count("id", filter=Q(satisfaction__isnull=False)),
        "n_satisfied": Count("id", filter=Q(satisfaction__gte=4)),
        "n_unsatisfied": Count("id", filter=Q(satisfaction__lte=2)),
        "n_satisfaction_avg": Avg("satisfaction"),
    }


def _row(key, label: str, values: dict) -> dict:
    return {
        "key": key,
        "label": label,
        "count": values["n_count"],
        "open": values["n_open"],
        "closed": values["n_closed"],
        "overdue": values["n_overdue"],
        "signed_on_time_rate": _rate(values["n_signed_on_time"], values["n_signed"]),
        "answered_on_time_rate": _rate(values["n_answered_on_time"], values["n_answered"]),
        "rated": values["n_rated"],
        "satisfaction_average": _average(values["n_satisfaction_avg"]),
        "satisfied_share": _rate(values["n_satisfied"], values["n_rated"]),
        "unsatisfied_share": _rate(values["n_unsatisfied"], values["n_rated"]),
    }


def _ordered(rows: list[dict]) -> list[dict]:
    """Most tickets first; rows without a key (no department, region...) last among equals."""
    return sorted(rows, key=lambda row: (-row["count"], not row["key"], str(row["key"] or "")))


def _breakdown(tickets: QuerySet[Ticket], today: dt.date, *group: str) -> list[dict]:
    return list(tickets.values(*group).annotate(**_metrics(today)).order_by())


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


TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


def _local_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.date()
    return value


def _series(received: QuerySet[Ticket], filters: StatsFilters) -> dict:
    trunc = TRUNC[filters.period]
    end = _day_start(filters.date_to + dt.timedelta(days=1))
    counts = {
        _local_date(row["at"]): row["n"]
        for row in received.annotate(at=trunc("created_at")).values("at").annotate(n=Count("id"))
    }
    closed = (
        received.filter(state=Ticket.State.CLOSED, closed_at__lt=end)
        .annotate(at=trunc("closed_at"))
        .values("at")
        .annotate(n=Count("id"))
        .order_by()
    )
    closed_counts = {_local_date(row["at"]): row["n"] for row in closed}
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


def _top_issues(tickets: QuerySet[Ticket], by_category: list[dict]) -> dict:
    # One row per (department, category) pair: bounded by the number of departments times the
    # number of categories, not by the number of tickets.
    pairs = (
        tickets.exclude(category="")
        .values("department_id", "department__code", "department__name", "category")
        .annotate(n=Count("id"))
        .order_by()
    )
    departments: dict = {}
    for row in pairs:
        entry = departments.setdefault(
            row["department_id"],
            {
                "key": row["department__code"],
                "label": row["department__name"] or _("Not dispatched yet"),
                "count": 0,
                "categories": [],
            },
        )
        entry["categories"].append({"category": row["category"], "count": row["n"]})
        entry["count"] += row["n"]
    per_department = _ordered(list(departments.values()))
    for entry in per_department:
        # Sorted here, not in SQL, so that ties break the same way whatever the collation.
        entry["categories"].sort(key=lambda c: (-c["count"], c["category"]))
        del entry["categories"][TOP_CATEGORIES_PER_DEPARTMENT:]
    total = sum(row["count"] for row in by_category)
    return {
        "categories": [
            {"category": row["key"], "count": row["count"], "share": _rate(row["count"], total)}
            for row in by_category
            if row["key"]
        ][:TOP_CATEGORIES],
        "by_department": per_department,
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

    BREAKDOWNS = ("by_department", "by_category", "by_region", "by_city", "by_kind", "by_channel")

    def as_dict(self) -> dict:
        return {
            "filters": self.filters.as_dict(),
            "scope": "all" if self.sees_all else "own_departments",
            "totals": self.totals,
            "timeliness": self.timeliness,
            "satisfaction": self.satisfaction,
            "series": self.series,
            **{name: getattr(self, name) for name in self.BREAKDOWNS},
            "top_issues": self.top_issues,
        }


def ticket_stats(*, scope: StatsScope, filters: StatsFilters) -> TicketStats:
    """The statistics of the tickets in ``scope`` matching ``filters``: ten queries."""
    today = timezone.localdate()
    scoped = _filtered(scope.tickets(), filters)
    tickets = scoped.filter(
        # Every state, spelled out, so that PostgreSQL can range-scan ticket_state_idx
        # (state, created_at) for the dates: created_at has no index of its own.
        state__in=Ticket.State.values,
        created_at__gte=_day_start(filters.date_from),
        created_at__lt=_day_start(filters.date_to + dt.timedelta(days=1)),
    )

    totals = tickets.aggregate(
        **_metrics(today),
        n_linked=Count("id", filter=Q(state=Ticket.State.LINKED)),
        n_dispatched=Count(
            "id", filter=Q(department__isnull=False) & ~Q(state=Ticket.State.LINKED)
        ),
        n_auto=Count(
            "id",
            filter=Q(dispatched_automatically=True, department__isnull=False)
            & ~Q(state=Ticket.State.LINKED),
        ),
        n_returned=Count("id", filter=Q(return_count__gt=0)),
        n_reopened=Count("id", filter=Q(reopen_count__gt=0)),
    )
    received = totals["n_count"]

    kinds = dict(Ticket.Kind.choices)
    channels = dict(Ticket.Channel.choices)
    level_label = {
        Region.Level.PROVINCE: _("province-level"),
        Region.Level.CITY: _("city-level"),
    }
    city_of = {
        "city_code": Case(
            When(region__level=Region.Level.COUNTY, then=F("region__parent__code")),
            default=F("region__code"),
            output_field=CharField(),
        ),
        "city_name": Case(
            When(region__level=Region.Level.COUNTY, then=F("region__parent__name")),
            default=F("region__name"),
            output_field=CharField(),
        ),
    }

    by_department = [
        _row(r["department__code"], r["department__name"] or _("Not dispatched yet"), r)
        for r in _breakdown(tickets, today, "department_id", "department__code", "department__name")
    ]
    by_category = [
        _row(r["category"], r["category"] or _("Uncategorised"), r)
        for r in _breakdown(tickets, today, "category")
    ]
    by_region = [
        _row(
            r["region__code"],
            (
                f"{r['region__name']} ({level_label[r['region__level']]})"
                if r["region__level"] in level_label
                else r["region__name"]
            )
            if r["region__code"]
            else _("No region"),
            r,
        )
        for r in _breakdown(tickets, today, "region__code", "region__name", "region__level")
    ]
    by_city = [
        _row(r["city_code"], r["city_name"] or _("No region"), r)
        for r in _breakdown(tickets.annotate(**city_of), today, "city_code", "city_name")
    ]
    by_kind = [
        _row(r["kind"], str(kinds.get(r["kind"], r["kind"])), r)
        for r in _breakdown(tickets, today, "kind")
    ]
    by_channel = [
        _row(r["channel"], str(channels.get(r["channel"], r["channel"])), r)
        for r in _breakdown(tickets, today, "channel")
    ]
    by_category = _ordered(by_category)

    return TicketStats(
        filters=filters,
        sees_all=scope.sees_all,
        totals={
            "received": received,
            "open": totals["n_open"],
            "closed": totals["n_closed"],
            "linked": totals["n_linked"],
            "overdue": totals["n_overdue"],
            "dispatched": totals["n_dispatched"],
            "dispatched_automatically": totals["n_auto"],
            "auto_dispatch_share": _rate(totals["n_auto"], totals["n_dispatched"]),
            "returned": totals["n_returned"],
            "returned_share": _rate(totals["n_returned"], received),
            "reopened": totals["n_reopened"],
            "reopened_share": _rate(totals["n_reopened"], received),
        },
        timeliness={
            "signed": totals["n_signed"],
            "signed_on_time": totals["n_signed_on_time"],
            "signed_on_time_rate": _rate(totals["n_signed_on_time"], totals["n_signed"]),
            "answered": totals["n_answered"],
            "answered_on_time": totals["n_answered_on_time"],
            "answered_on_time_rate": _rate(totals["n_answered_on_time"], totals["n_answered"]),
        },
        satisfaction={
            "rated": totals["n_rated"],
            "average": _average(totals["n_satisfaction_avg"]),
            "satisfied": totals["n_satisfied"],
            "satisfied_share": _rate(totals["n_satisfied"], totals["n_rated"]),
            "unsatisfied": totals["n_unsatisfied"],
            "unsatisfied_share": _rate(totals["n_unsatisfied"], totals["n_rated"]),
        },
        series=_series(tickets, filters),
        by_department=_ordered(by_department),
        by_category=by_category,
        by_region=_ordered(by_region),
        by_city=_ordered(by_city),
        by_kind=_ordered(by_kind),
        by_channel=_ordered(by_channel),
        top_issues=_top_issues(tickets, by_category),
    )


BREAKDOWN_COLUMNS = (
    "count",
    "open",
    "closed",
    "overdue",
    "signed_on_time_rate",
    "answered_on_time_rate",
    "rated",
    "satisfaction_average",
    "satisfied_share",
    "unsatisfied_share",
)


def breakdown_rows(stats: TicketStats):
    """``(dimension, row)`` for every breakdown row, for the CSV download."""
    for name in TicketStats.BREAKDOWNS:
        for row in getattr(stats, name):
            yield name.removeprefix("by_"), row

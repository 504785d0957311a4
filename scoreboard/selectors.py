"""Reading the board: snapshots, a department's history, and the rows behind each figure."""

from __future__ import annotations

import datetime as dt
import math

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When

from departments.models import Department

from .metrics import METRIC_BY_KEY, Metric, Period, counted_expression
from .models import Score, Snapshot


def snapshot_latest(period: str) -> Snapshot | None:
    return (
        Snapshot.objects.filter(period=period)
        .select_related("weight_set")
        .order_by("-start")
        .first()
    )


def snapshot_get(period: str, start) -> Snapshot | None:
    return Snapshot.objects.filter(period=period, start=start).select_related("weight_set").first()


def board_scores(snapshot: Snapshot, *, level: str, regions: bool = False) -> QuerySet[Score]:
    """The rows of one level, ranked first (by rank), then the unranked by name."""
    qs = snapshot.scores.filter(level=level, department__isnull=regions)
    return qs.select_related("department", "region").order_by(
        F("rank").asc(nulls_last=True), "department__code", "region__code"
    )


def department_history(department: Department, period: str) -> QuerySet[Score]:
    """A department's scores over time (one query): the trend costs no computation."""
    return (
        Score.objects.filter(department=department, snapshot__period=period)
        .select_related("snapshot")
        .order_by("snapshot__start")
    )


def drilldown(metric: Metric | str, department: Department, snapshot: Snapshot) -> QuerySet:
    """The rows behind one department's figure, each with ``counted`` (rates) or ``amount``
    (ratios and means): the figure is their count, or their sums, again."""
    metric = METRIC_BY_KEY[metric] if isinstance(metric, str) else metric
    period = Period(snapshot.start, snapshot.end)
    if metric.by_region:  # nothing of it belongs to a department
        rows = metric.rows(period).none()
    else:
        rows = metric.rows(period).filter(**{metric.department: department})
    if "__" in metric.department:
        rows = rows.distinct()
    if metric.kind == "rate":
        return rows.annotate(counted=counted_expression(metric)).order_by("pk")
    if metric.kind == "ratio":
        statutory, promised = metric.ratio
        return rows.annotate(amount=F(statutory) - F(promised), base=F(statutory)).order_by("pk")
    if metric.kind == "quantile":  # in order: the figure is the row at ⌈q·n⌉
        return rows.annotate(amount=metric.value()).order_by("amount", "pk")
    return rows.annotate(amount=metric.value()).order_by("pk")


# ---------------------------------------------------------------- pages and API (additions)

EARLIER_SNAPSHOTS_SHOWN = 36


def snapshot_starts(period: str, *, limit: int = EARLIER_SNAPSHOTS_SHOWN) -> list:
    """The starts of the stored snapshots of one kind, newest first (one query)."""
    return list(
        Snapshot.objects.filter(period=period)
        .order_by("-start")
        .values_list("start", flat=True)[:limit]
    )


def snapshot_department_scores(snapshot: Snapshot) -> list[Score]:
    """Every department's row of a snapshot, with its department and region (one query)."""
    return list(
        snapshot.scores.filter(department__isnull=False)
        .select_related("department", "region")
        .order_by("level", F("rank").asc(nulls_last=True), "department__code")
    )


def department_get_for_board(code: str) -> Department | None:
    return Department.objects.filter(code=code).select_related("region").first()


def department_score(snapshot: Snapshot, department: Department) -> Score | None:
    return snapshot.scores.filter(department=department).first()


def items_missing_targets(department: Department, *, limit: int = 10) -> list:
    """The department's published items that miss a catalog target (not online, not mobile,
    needing a trip, not ID-only), most targets missed first, then the most used (one query)."""
    from catalog.models import ServiceItem

    def missed(condition: Q):
        return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())

    return list(
        ServiceItem.objects.filter(department=department, is_active=True)
        .annotate(
            misses_online=missed(Q(online=False)),
            misses_mobile=missed(Q(mobile=False)),
            misses_trips=missed(Q(trips__gt=0)),
            misses_id_only=missed(Q(id_only=False)),
        )
        .annotate(
            misses=F("misses_online") + F("misses_mobile") + F("misses_trips") + F("misses_id_only")
        )
        .filter(misses__gt=0)
        .only("pk", "code", "name", "online", "mobile", "trips", "id_only", "popularity")
        .order_by("-misses", "-popularity", "code")[:limit]
    )


# What a drill-down row may show: never an applicant's name, a ticket's sender or its content.
_DRILLDOWN_FIELDS = {
    "catalog.serviceitem": (
        (),
        ("pk", "code", "name", "online", "mobile", "trips", "id_only"),
    ),
    "workflows.task": (
        ("application", "item"),
        (
            "pk",
            "step",
            "label",
            "state",
            "due_date",
            "ready_at",
            "finished_at",
            "application__reference",
            "item__name",
        ),
    ),
    "complaints.ticket": (
        (),
        (
            "pk",
            "kind",
            "title",
            "created_at",
            "state",
            "signed_on_time",
            "answered_on_time",
            "satisfaction",
            "reopen_count",
        ),
    ),
    "complaints.ticketdepartment": (
        ("ticket",),
        ("pk", "state", "created_at", "ticket__kind", "ticket__title"),
    ),
    "workflows.rating": (
        ("application",),
        ("pk", "score", "created_at", "application__reference"),
    ),
    "workflows.rectification": (
        ("rating__application",),
        ("pk", "state", "fix_due", "fixed_at", "rating__score", "rating__application__reference"),
    ),
}


def drilldown_totals(metric: Metric | str, department: Department, snapshot: Snapshot) -> dict:
    """The figure again, by one aggregation over the drill-down's rows:
    ``{"rows", "num", "den"}`` (``num``/``den`` as the snapshot stores them)."""
    metric = METRIC_BY_KEY[metric] if isinstance(metric, str) else metric
    rows = drilldown(metric, department, snapshot).order_by()
    if metric.kind == "rate":
        found = rows.aggregate(rows=Count("pk"), num=Count("pk", filter=Q(counted=True)))
        found["den"] = found["rows"]
    elif metric.kind == "ratio":
        found = rows.aggregate(rows=Count("pk"), num=Sum("amount"), den=Sum("base"))
    elif metric.kind == "quantile":
        found = rows.aggregate(rows=Count("pk"))
        found["den"] = found["rows"]
        position = math.ceil(found["rows"] * metric.quantile) if found["rows"] else 0
        found["num"] = (
            drilldown(metric, department, snapshot).values_list("amount", flat=True)[position - 1]
            if position
            else 0
        )
    else:
        found = rows.aggregate(rows=Count("pk"), num=Sum("amount"))
        found["den"] = found["rows"]
    num = found["num"] or 0
    if isinstance(num, dt.timedelta):
        num = num.total_seconds() / 86400
    return {"rows": found["rows"], "num": float(num), "den": float(found["den"] or 0)}


def drilldown_rows(
    metric: Metric | str, department: Department, snapshot: Snapshot, *, counted: bool | None = None
) -> QuerySet:
    """The drill-down's rows with only the columns a page may show (no personal data);
    ``counted`` keeps only the rows counted (or not) in a rate's numerator."""
    metric = METRIC_BY_KEY[metric] if isinstance(metric, str) else metric
    rows = drilldown(metric, department, snapshot)
    if counted is not None and metric.kind == "rate":
        rows = rows.filter(counted=counted)
    related, fields = _DRILLDOWN_FIELDS[rows.model._meta.label_lower]
    if related:
        rows = rows.select_related(*related)
    return rows.only(*fields)


def department_ids_in_scope(user) -> set[int]:
    """The departments a member of staff may watch on the staff board (superusers: all)."""
    from departments.scoping import scope_queryset

    return set(
        scope_queryset(Department.objects.all(), user, department_field="pk").values_list(
            "pk", flat=True
        )
    )

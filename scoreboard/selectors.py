"""Reading the board: snapshots, a department's history, and the rows behind each figure."""

from __future__ import annotations

from django.db.models import F, QuerySet

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
    rows = metric.rows(period).filter(**{metric.department: department})
    if "__" in metric.department:
        rows = rows.distinct()
    if metric.kind == "rate":
        return rows.annotate(counted=counted_expression(metric)).order_by("pk")
    if metric.kind == "ratio":
        statutory, promised = metric.ratio
        return rows.annotate(amount=F(statutory) - F(promised), base=F(statutory)).order_by("pk")
    return rows.annotate(amount=metric.value()).order_by("pk")

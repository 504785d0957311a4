"""Computing the board: one SQL aggregation per metric, then intervals, scores and ranks.

``snapshot_compute`` replaces a period's snapshot in one transaction. The Python work runs over
the aggregated rows (one per department and metric), never over cases, tickets or items.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import Aggregate, Count, DurationField, F, Sum, Window
from django.db.models.functions import Ceil, RowNumber
from django.utils import timezone

from departments.models import Department, Region

from .metrics import METRICS, Metric, Period, default_weights
from .models import Score, Snapshot, WeightSet

Z = 1.96  # 95 % intervals
PRIOR_STRENGTH = 10  # a rate is pulled towards its peers' as if by this many average rows
SCORED_KINDS = ("rate", "ratio")  # days are shown, not scored
VOLUME_METRICS = ("online", "rejection", "returns")  # items, finished steps, tickets led


# ---------------------------------------------------------------- periods


def period_bounds(period: str, day: dt.date) -> Period:
    """The period of that kind containing ``day`` (rolling: the 30 days ending with it)."""
    if period == Snapshot.Period.MONTH:
        start = day.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1)
    elif period == Snapshot.Period.QUARTER:
        start = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        end = (start + dt.timedelta(days=95)).replace(day=1)
    elif period == Snapshot.Period.YEAR:
        start, end = dt.date(day.year, 1, 1), dt.date(day.year + 1, 1, 1)
    elif period == Snapshot.Period.ROLLING:
        end = day + dt.timedelta(days=1)
        start = end - dt.timedelta(days=30)
    else:
        raise ValueError(f"unknown period {period!r}")
    return Period(start, end)


# ---------------------------------------------------------------- weights


def weights_current() -> WeightSet:
    """The newest weight set; the defaults become version 1 when there is none."""
    found = WeightSet.objects.order_by("-version").first()
    if found is None:
        found = WeightSet.objects.create(version=1, weights=default_weights(), note="defaults")
    return found


@transaction.atomic
def weights_save(*, actor, weights: dict[str, float], min_volume: int, note: str = "") -> WeightSet:
    """A new version: snapshots computed from now on use it; the old ones keep theirs."""
    keys = {m.key for m in METRICS}
    unknown = set(weights) - keys
    if unknown:
        raise ValueError(f"unknown metrics: {', '.join(sorted(unknown))}")
    if any(
        not isinstance(w, int | float) or isinstance(w, bool) or not math.isfinite(w) or w < 0
        for w in weights.values()
    ):
        raise ValueError("weights are finite numbers of at least 0")
    means = [m.key for m in METRICS if m.kind not in SCORED_KINDS and weights.get(m.key, 0) > 0]
    if means:
        raise ValueError(f"averages are shown, not scored: {', '.join(means)}")
    if not any(weights.values()):
        raise ValueError("at least one weight must be above 0")
    last = WeightSet.objects.select_for_update().order_by("-version").first()
    return WeightSet.objects.create(
        version=(last.version + 1) if last else 1,
        weights={k: float(weights.get(k, 0)) for k in sorted(keys)},
        min_volume=min_volume,
        note=note,
        created_by=actor,
    )


# ---------------------------------------------------------------- figures


def wilson(num: float, den: float) -> tuple[float | None, float | None]:
    if den <= 0:
        return None, None
    p = num / den
    centre = p + Z * Z / (2 * den)
    margin = Z * math.sqrt(p * (1 - p) / den + Z * Z / (4 * den * den))
    scale = 1 + Z * Z / den
    return max(0.0, (centre - margin) / scale), min(1.0, (centre + margin) / scale)


class PercentileDisc(Aggregate):
    """PostgreSQL's ``percentile_disc(q) WITHIN GROUP (ORDER BY …)``: the first value whose
    position reaches the fraction q, i.e. the ⌈q·n⌉-th smallest."""

    function = "percentile_disc"
    template = "%(function)s(%(quantile)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, *, quantile: float, **extra):
        super().__init__(expression, quantile=float(quantile), **extra)


def _quantile_totals(metric: Metric, period: Period) -> dict[int, tuple[float, float]]:
    rows = metric.rows(period)
    if connection.vendor == "postgresql":
        found = (
            rows.values(dept=F(metric.department))
            .annotate(
                q_value=PercentileDisc(
                    metric.expression(), quantile=metric.rank, output_field=DurationField()
                ),
                q_count=Count("pk"),
            )
            .order_by()
            .values_list("dept", "q_value", "q_count")
        )
    else:  # the same rank by window functions
        found = (
            rows.annotate(
                q_value=metric.expression(),
                q_rank=Window(
                    RowNumber(),
                    partition_by=[F(metric.department)],
                    order_by=[F("q_value").asc(), F("pk").asc()],
                ),
                q_count=Window(Count("pk"), partition_by=[F(metric.department)]),
            )
            .filter(q_rank=Ceil(F("q_count") * metric.rank))
            .values_list(metric.department, "q_value", "q_count")
        )
    return {dept: (_days(value), float(count)) for dept, value, count in found if dept is not None}


def _group_key(metric: Metric):
    """Metrics counted over the same rows share one aggregation."""
    if metric.kind in ("rate", "mean") and not metric.by_region:
        return (metric.rows, metric.department)
    return (metric.key,)


def all_totals(period: Period) -> dict[str, dict[int, tuple[float, float]]]:
    """Every metric's ``{department_id (region_id for regional ones): (num, den)}``, with one
    aggregation per set of rows: the items' four rates are one query, and so on."""
    groups: dict[tuple, list[Metric]] = {}
    for metric in METRICS:
        groups.setdefault(_group_key(metric), []).append(metric)
    totals: dict[str, dict[int, tuple[float, float]]] = {}
    for members in groups.values():
        if len(members) == 1:
            totals[members[0].key] = metric_totals(members[0], period)
            continue
        first = members[0]
        distinct = "__" in first.department
        annotations: dict[str, Count | Sum] = {"den": Count("pk", distinct=distinct)}
        for metric in members:
            annotations[f"n_{metric.key}"] = (
                Count("pk", filter=metric.counted, distinct=distinct)
                if metric.kind == "rate"
                else Sum(metric.expression())
            )
        found: dict[str, dict[int, tuple[float, float]]] = {m.key: {} for m in members}
        for row in (
            first.rows(period).values(dept=F(first.department)).annotate(**annotations).order_by()
        ):
            if row["dept"] is None:
                continue
            for metric in members:
                found[metric.key][row["dept"]] = (
                    _days(row[f"n_{metric.key}"] or 0),
                    float(row["den"] or 0),
                )
        totals.update(found)
    return totals


def metric_totals(metric: Metric, period: Period) -> dict[int, tuple[float, float]]:
    """``{department_id: (numerator, denominator)}``: one aggregation."""
    if metric.kind == "quantile":
        return _quantile_totals(metric, period)
    rows = metric.rows(period).values(dept=F(metric.department))
    if metric.kind == "rate":
        distinct = "__" in metric.department  # a join that may repeat a row
        rows = rows.annotate(
            den=Count("pk", distinct=distinct),
            num=Count("pk", filter=metric.counted, distinct=distinct),
        )
    elif metric.kind == "ratio":
        statutory, promised = metric.ratio_sums
        rows = rows.annotate(den=Sum(statutory), num=Sum(F(statutory) - F(promised)))
    else:
        rows = rows.annotate(den=Count("pk"), num=Sum(metric.expression()))
    found = {}
    for row in rows.order_by():
        if row["dept"] is None:
            continue
        found[row["dept"]] = (_days(row["num"] or 0), float(row["den"] or 0))
    return found


def _days(value) -> float:
    return value.total_seconds() / 86400 if isinstance(value, dt.timedelta) else float(value)


def figure(metric: Metric, num: float, den: float, *, region: bool = False) -> dict:
    if den <= 0 or (region and metric.kind == "quantile"):
        # a region's quantile is not its departments' added up: not shown
        num = num if den > 0 and not region else 0.0
        return {"num": num, "den": den, "value": None, "low": None, "high": None}
    value = num if metric.kind == "quantile" else num / den
    low, high = wilson(num, den) if metric.kind == "rate" else (None, None)
    return {"num": num, "den": den, "value": value, "low": low, "high": high}


def _estimate(metric: Metric, num: float, den: float, prior: float) -> float:
    """The volume-aware value used for ranking, oriented so that higher is better."""
    if metric.kind == "rate":
        value = (num + PRIOR_STRENGTH * prior) / (den + PRIOR_STRENGTH)
    else:
        value = num / den if den > 0 else prior
    return value if metric.higher_is_better else 1 - value


# ---------------------------------------------------------------- snapshots


def snapshot_compute(*, period: str, day: dt.date | None = None) -> Snapshot:
    """Compute the board of the period containing ``day`` (today) and replace any earlier
    snapshot of it atomically."""
    started = time.perf_counter()
    day = day or timezone.localdate()
    bounds = period_bounds(period, day)
    existing = Snapshot.objects.filter(period=period, start=bounds.start).first()
    if existing is not None and bounds.end <= timezone.localdate():
        weight_set = existing.weight_set  # a closed period keeps the weights it was ranked by
    else:
        weight_set = weights_current()
    totals = all_totals(bounds)

    departments = list(
        Department.objects.filter(is_active=True)
        .exclude(kind=Department.Kind.HOTLINE)
        .select_related("region__parent__parent")
    )
    regions = {r.pk: r for r in Region.objects.all()}
    rows: list[dict] = []
    for department in departments:
        rows.append(
            {
                "department": department,
                "region": department.region,
                "level": department.region.level,
                "sums": {
                    m.key: (0.0, 0.0)
                    if m.by_region
                    else totals[m.key].get(department.pk, (0.0, 0.0))
                    for m in METRICS
                },
            }
        )
    # a region adds up the departments in it and below it
    region_sums: dict[int, dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(lambda: [0.0, 0.0])
    )
    for row in rows:
        region = row["region"]
        while region is not None:
            for key, (num, den) in row["sums"].items():
                region_sums[region.pk][key][0] += num
                region_sums[region.pk][key][1] += den
            region = regions.get(region.parent_id) if region.parent_id else None
    # what is measured per region only adds up the region and the regions below it
    for metric in (m for m in METRICS if m.by_region):
        for region_id, (num, den) in totals[metric.key].items():
            region = regions.get(region_id)
            while region is not None:
                region_sums[region.pk][metric.key][0] += num
                region_sums[region.pk][metric.key][1] += den
                region = regions.get(region.parent_id) if region.parent_id else None
    for region_id, sums in region_sums.items():
        region = regions[region_id]
        rows.append(
            {
                "department": None,
                "region": region,
                "level": region.level,
                "sums": {k: tuple(v) for k, v in sums.items()},
            }
        )

    previous = {
        (s.department_id, s.region_id if s.department_id is None else None): s.rank
        for s in Score.objects.filter(
            snapshot__period=period, snapshot__start__lt=bounds.start, rank__isnull=False
        )
        .filter(
            snapshot__start=Snapshot.objects.filter(period=period, start__lt=bounds.start)
            .order_by("-start")
            .values("start")[:1]
        )
        .only("department_id", "region_id", "rank")
    }
    scores = _score_rows(rows, weight_set)
    with transaction.atomic():
        Snapshot.objects.filter(period=period, start=bounds.start).delete()
        snapshot = Snapshot.objects.create(
            period=period,
            start=bounds.start,
            end=bounds.end,
            weight_set=weight_set,
            computed_at=timezone.now(),
        )
        objects = []
        for row, (score, ranked, rank, peers, volume) in zip(rows, scores, strict=True):
            department = row["department"]
            key = (department.pk, None) if department else (None, row["region"].pk)
            before = previous.get(key)
            objects.append(
                Score(
                    snapshot=snapshot,
                    department=department,
                    region=row["region"],
                    level=row["level"],
                    metrics={
                        m.key: figure(m, *row["sums"][m.key], region=department is None)
                        for m in METRICS
                    },
                    volume=volume,
                    score=score,
                    ranked=ranked,
                    rank=rank,
                    peers=peers,
                    rank_change=(before - rank) if before is not None and rank else None,
                )
            )
        Score.objects.bulk_create(objects, batch_size=1000)
        snapshot.seconds = round(time.perf_counter() - started, 3)
        snapshot.save(update_fields=["seconds"])
    return snapshot


def minimum_volume(weight_set: WeightSet) -> int:
    """The volume a row needs to have a score at all (and so a rank): at least one thing done."""
    return max(1, weight_set.min_volume)


def _score_rows(rows: list[dict], weight_set: WeightSet) -> list[tuple]:
    """(score, ranked, rank, peers, volume) for each row; peers are the rows of the same kind
    (department or region) and level.

    A row below the minimum volume, or with no activity at all, has no score: its estimates
    would be its peers' average alone, a figure about nothing it did. Its rows still count in
    the peers' averages."""
    weights = {m.key: float(weight_set.weights.get(m.key, 0)) for m in METRICS}
    least = minimum_volume(weight_set)
    groups: dict[tuple[bool, str], list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        groups[(row["department"] is None, row["level"])].append(index)
    out: list[tuple] = [None] * len(rows)  # type: ignore[list-item]
    for members in groups.values():
        priors = {}
        for metric in METRICS:
            num = sum(rows[i]["sums"][metric.key][0] for i in members)
            den = sum(rows[i]["sums"][metric.key][1] for i in members)
            priors[metric.key] = num / den if den > 0 else None
        scored = []
        for i in members:
            sums = rows[i]["sums"]
            volume = int(sum(sums[k][1] for k in VOLUME_METRICS))
            total = weight = 0.0
            for metric in METRICS:
                w = weights[metric.key]
                prior = priors[metric.key]
                if w <= 0 or prior is None or metric.kind not in SCORED_KINDS:
                    continue  # not scored, or nobody at this level has data for it
                num, den = sums[metric.key]
                total += w * _estimate(metric, num, den, prior)
                weight += w
            score = round(100 * total / weight, 2) if weight and volume >= least else None
            scored.append((i, score, volume))
        ranked = sorted(
            ((i, score) for i, score, _volume in scored if score is not None),
            key=lambda pair: (-pair[1], _code(rows[pair[0]])),
        )
        ranks = {i: n for n, (i, _score) in enumerate(ranked, start=1)}
        for i, score, volume in scored:
            out[i] = (score, i in ranks, ranks.get(i), len(ranked), volume)
    return out


def _code(row: dict) -> str:
    return row["department"].code if row["department"] else row["region"].code


def scoreboard_compute_all(*, day: dt.date | None = None) -> list[Snapshot]:
    """Every kind of period containing ``day``: what the beat task and the command run."""
    return [snapshot_compute(period=p, day=day) for p in Snapshot.Period.values]

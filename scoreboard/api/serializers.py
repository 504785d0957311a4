"""Shapes of the board's JSON (the API and the pages' JSON downloads give the same).

What the public may see of the board is written here once: a row per department or region with
its figures (``board_data``, ``history_data``) and a figure broken down into counts by item,
month and category (``breakdown_data``). None of them holds a case or ticket number, a title, a
name or a phone: the rows behind a figure are for staff only (``scoreboard.views.staff_drilldown``).
The page, its CSV and JSON downloads and the API all build on these functions.

The payload builders are plain functions over stored rows; the serializers below only document
the shapes in the OpenAPI schema.
"""

from __future__ import annotations

from rest_framework import serializers

from departments.models import Region
from zheliban.core.schema import NamedChoiceField

from .. import selectors
from ..metrics import METRICS
from ..models import Score, Snapshot


def snapshot_data(snapshot: Snapshot) -> dict:
    return {
        "period": snapshot.period,
        "start": snapshot.start.isoformat(),
        "end": snapshot.end.isoformat(),
        "computed_at": snapshot.computed_at.isoformat(),
    }


def weights_data(snapshot: Snapshot) -> dict:
    weight_set = snapshot.weight_set
    return {
        "version": weight_set.version,
        "weights": {m.key: float(weight_set.weights.get(m.key, 0)) for m in METRICS},
        "min_volume": weight_set.min_volume,
    }


def metrics_data(score: Score) -> dict:
    empty = {"num": 0.0, "den": 0.0, "value": None, "low": None, "high": None}
    return {
        m.key: {name: score.metrics.get(m.key, empty).get(name) for name in empty} for m in METRICS
    }


def score_data(score: Score, weight_set) -> dict:
    department = score.department
    return {
        "kind": "region" if department is None else "department",
        "code": score.region.code if department is None else department.code,
        "name": score.region.name if department is None else department.name,
        "region": score.region.code,
        "level": score.level,
        "ranked": score.ranked,
        "unranked_reason": selectors.unranked_reason(score, weight_set),
        "rank": score.rank,
        "peers": score.peers,
        "rank_change": score.rank_change,
        "score": score.score,
        "volume": score.volume,
        "metrics": metrics_data(score),
    }


def board_data(snapshot: Snapshot, rows: list[Score], *, level: str, regions: bool) -> dict:
    return {
        "snapshot": snapshot_data(snapshot),
        "weights": weights_data(snapshot),
        "level": level,
        "regions": regions,
        "rows": [score_data(row, snapshot.weight_set) for row in rows],
    }


def history_point(score: Score) -> dict:
    return {
        **snapshot_data(score.snapshot),
        "ranked": score.ranked,
        "unranked_reason": selectors.unranked_reason(score, score.snapshot.weight_set),
        "rank": score.rank,
        "peers": score.peers,
        "rank_change": score.rank_change,
        "score": score.score,
        "volume": score.volume,
        "metrics": metrics_data(score),
    }


def history_data(department, period: str, history: list[Score]) -> dict:
    return {
        "department": {
            "code": department.code,
            "name": department.name,
            "region": department.region.code,
        },
        "period": period,
        "history": [history_point(score) for score in history],
    }


def breakdown_data(department, snapshot: Snapshot, score: Score | None, breakdown) -> dict:
    """One department's figure and the same counts broken down: every dimension's groups add
    up to ``totals`` (for the 90th percentile: the rows, and the band holding the figure)."""
    metric = breakdown.metric
    empty = {"num": 0.0, "den": 0.0, "value": None, "low": None, "high": None}
    board = (score.metrics.get(metric.key) if score else None) or empty
    totals = breakdown.totals
    return {
        "department": {
            "code": department.code,
            "name": department.name,
            "region": department.region.code,
        },
        "metric": {
            "key": metric.key,
            "label": str(metric.label),
            "kind": metric.kind,
            "numerator": str(metric.numerator),
            "denominator": str(metric.denominator),
        },
        "snapshot": snapshot_data(snapshot),
        "board": {name: board.get(name) for name in empty},
        "totals": {"rows": totals["rows"], "num": totals["num"], "den": totals["den"]},
        "dimensions": [
            {
                "dimension": dimension,
                "groups": [
                    {
                        "key": group.key,
                        "label": group.label,
                        "item": group.item_code or None,
                        "rows": group.rows,
                        "num": group.num,
                        "den": group.den,
                        "not_counted": (
                            group.not_counted
                            if metric.kind == "rate" and dimension != selectors.DIMENSION_DAYS
                            else None
                        ),
                        "holds_figure": group.holds_figure,
                    }
                    for group in groups
                ],
            }
            for dimension, groups in breakdown.dimensions.items()
        ],
    }


# ---------------------------------------------------------------- documentation


def _period() -> NamedChoiceField:
    return NamedChoiceField(enum_name="SnapshotPeriodEnum", choices=Snapshot.Period.values)


def _level() -> NamedChoiceField:
    return NamedChoiceField(enum_name="ScoreLevelEnum", choices=Region.Level.values)


class FigureSerializer(serializers.Serializer):
    num = serializers.FloatField(
        help_text="Numerator: rows counted (rates), sum of (statutory − promised) days "
        "(ratio), or sum of days (mean)."
    )
    den = serializers.FloatField(help_text="Denominator: rows, or sum of statutory days (ratio).")
    value = serializers.FloatField(allow_null=True, help_text="num / den; null without rows.")
    low = serializers.FloatField(
        allow_null=True, help_text="Lower end of the 95 % Wilson interval (rates only)."
    )
    high = serializers.FloatField(allow_null=True, help_text="Upper end (rates only).")


# One figure per metric key, in the catalog's order.
MetricsSerializer = type(
    "MetricsSerializer",
    (serializers.Serializer,),
    {
        "__module__": __name__,
        "__doc__": "Every metric's figure, by its key.",
        **{m.key: FigureSerializer() for m in METRICS},
    },
)


class SnapshotSerializer(serializers.Serializer):
    period = _period()
    start = serializers.DateField()
    end = serializers.DateField(help_text="Exclusive.")
    computed_at = serializers.DateTimeField()


class WeightsSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    weights = serializers.DictField(child=serializers.FloatField())
    min_volume = serializers.IntegerField(
        help_text="Rows with a smaller volume are listed but not ranked."
    )


def _unranked_reason() -> NamedChoiceField:
    return NamedChoiceField(
        enum_name="UnrankedReasonEnum",
        choices=list(selectors.UNRANKED_REASONS),
        allow_null=True,
        help_text="Why the row has no score and no rank: no activity in the period, a volume "
        "below the weight set's min_volume, or nothing weighted measured at its level; null "
        "when ranked.",
    )


class ScoreRowSerializer(serializers.Serializer):
    kind = NamedChoiceField(enum_name="ScoreRowKindEnum", choices=["department", "region"])
    code = serializers.CharField(help_text="The department's code, or the region's 6 digits.")
    name = serializers.CharField()
    region = serializers.CharField()
    level = _level()
    ranked = serializers.BooleanField()
    unranked_reason = _unranked_reason()
    rank = serializers.IntegerField(allow_null=True)
    peers = serializers.IntegerField(help_text="Ranked rows of the same kind and level.")
    rank_change = serializers.IntegerField(
        allow_null=True, help_text="Places gained since the previous period (negative: lost)."
    )
    score = serializers.FloatField(
        allow_null=True,
        help_text="Volume-aware score, 0 to 100; null below the minimum volume or without "
        "activity.",
    )
    volume = serializers.IntegerField(
        help_text="Published items, finished steps and tickets led in the period."
    )
    metrics = MetricsSerializer()


class BoardSerializer(serializers.Serializer):
    snapshot = SnapshotSerializer()
    weights = WeightsSerializer()
    level = _level()
    regions = serializers.BooleanField()
    rows = ScoreRowSerializer(many=True, help_text="Ranked rows by rank, then the unranked.")


class _Department(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    region = serializers.CharField()


class HistoryPointSerializer(SnapshotSerializer):
    ranked = serializers.BooleanField()
    unranked_reason = _unranked_reason()
    rank = serializers.IntegerField(allow_null=True)
    peers = serializers.IntegerField()
    rank_change = serializers.IntegerField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    volume = serializers.IntegerField()
    metrics = MetricsSerializer()


class HistorySerializer(serializers.Serializer):
    department = _Department()
    period = _period()
    history = HistoryPointSerializer(many=True, help_text="Oldest first.")


class BreakdownMetricSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = NamedChoiceField(
        enum_name="MetricKindEnum", choices=["rate", "ratio", "mean", "quantile"]
    )
    numerator = serializers.CharField(help_text="What is counted (rates) or summed.")
    denominator = serializers.CharField(help_text="Over which rows.")


class BreakdownTotalsSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    num = serializers.FloatField(
        help_text="Recomputed from the rows: as the board's num (for the 90th percentile, its "
        "days)."
    )
    den = serializers.FloatField()


class BreakdownGroupSerializer(serializers.Serializer):
    key = serializers.CharField(
        help_text="The item's code (bundle:<slug> for a bundle's case), the month (YYYY-MM), "
        "the category, or the first day of a band of days; empty for what has none."
    )
    label = serializers.CharField()
    item = serializers.CharField(
        allow_null=True, help_text="The code of the published item the group is, if any."
    )
    rows = serializers.IntegerField()
    num = serializers.FloatField(
        help_text="Rows counted (rates), days saved (ratio), days (means); for bands of days: "
        "the rows up to and in the band."
    )
    den = serializers.FloatField(help_text="Rows, or statutory days (ratio); bands: all rows.")
    not_counted = serializers.IntegerField(
        allow_null=True, help_text="Rates: rows not counted (rows − num); otherwise null."
    )
    holds_figure = serializers.BooleanField(
        help_text="Bands of days: the band holding the 90th percentile's row."
    )


class BreakdownDimensionSerializer(serializers.Serializer):
    dimension = NamedChoiceField(
        enum_name="BreakdownDimensionEnum",
        choices=[
            selectors.DIMENSION_ITEM,
            selectors.DIMENSION_MONTH,
            selectors.DIMENSION_CATEGORY,
            selectors.DIMENSION_DAYS,
        ],
    )
    groups = BreakdownGroupSerializer(many=True)


class BreakdownSerializer(serializers.Serializer):
    department = _Department()
    metric = BreakdownMetricSerializer()
    snapshot = SnapshotSerializer()
    board = FigureSerializer(help_text="The figure as the snapshot stores it.")
    totals = BreakdownTotalsSerializer()
    dimensions = BreakdownDimensionSerializer(
        many=True, help_text="Each dimension's groups add up to the totals."
    )

"""Shapes of the board's JSON (the API and the pages' JSON downloads give the same).

The payload builders are plain functions over stored rows; the serializers below only document
the shapes in the OpenAPI schema.
"""

from __future__ import annotations

from rest_framework import serializers

from complaints.api.serializers import NamedChoiceField
from departments.models import Region

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


def score_data(score: Score) -> dict:
    department = score.department
    return {
        "kind": "region" if department is None else "department",
        "code": score.region.code if department is None else department.code,
        "name": score.region.name if department is None else department.name,
        "region": score.region.code,
        "level": score.level,
        "ranked": score.ranked,
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
        "rows": [score_data(row) for row in rows],
    }


def history_point(score: Score) -> dict:
    return {
        **snapshot_data(score.snapshot),
        "ranked": score.ranked,
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


class ScoreRowSerializer(serializers.Serializer):
    kind = NamedChoiceField(enum_name="ScoreRowKindEnum", choices=["department", "region"])
    code = serializers.CharField(help_text="The department's code, or the region's 6 digits.")
    name = serializers.CharField()
    region = serializers.CharField()
    level = _level()
    ranked = serializers.BooleanField()
    rank = serializers.IntegerField(allow_null=True)
    peers = serializers.IntegerField(help_text="Ranked rows of the same kind and level.")
    rank_change = serializers.IntegerField(
        allow_null=True, help_text="Places gained since the previous period (negative: lost)."
    )
    score = serializers.FloatField(allow_null=True, help_text="Volume-aware score, 0 to 100.")
    volume = serializers.IntegerField()
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

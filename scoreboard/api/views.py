"""``GET /api/v1/scoreboard/`` (one snapshot's board),
``GET /api/v1/scoreboard/departments/<code>/`` (a department's history) and
``GET /api/v1/scoreboard/departments/<code>/<metric>/`` (one figure broken down).

Public reads of stored snapshots: the figures are published, and a figure's breakdown gives the
same counts by item, month and category, never a case or a ticket. A refused parameter answers
400 in the shared error shape with its field; a period with no snapshot yet, or a ``start`` no
snapshot has, answers 404 with the code ``no_snapshot``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from departments.models import Region
from zheliban.core.api import ErrorSerializer, query_params_given

from .. import selectors
from ..forms import BoardForm, PeriodForm
from ..metrics import METRIC_BY_KEY, METRICS
from ..models import Snapshot
from .serializers import (
    BoardSerializer,
    BreakdownSerializer,
    HistorySerializer,
    board_data,
    breakdown_data,
    history_data,
)


class NoSnapshot(exceptions.NotFound):
    default_code = "no_snapshot"


def _snapshot(period: str, start) -> Snapshot:
    snapshot = selectors.snapshot_get(period, start) if start else selectors.snapshot_latest(period)
    if snapshot is None:
        raise NoSnapshot(
            _("No board of that period has been computed.")
            if start
            else _("No board of this kind of period has been computed yet.")
        )
    return snapshot


def _only(request: Request, *names: str) -> dict:
    return query_params_given(request.query_params, names)


def _query(name: str, description: str, **extra) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        extra.pop("type", OpenApiTypes.STR),
        OpenApiParameter.QUERY,
        description=description,
        **extra,
    )


PERIOD = _query(
    "period",
    "Kind of period. Default: month.",
    enum=list(Snapshot.Period.values),
)
START = _query(
    "start",
    "First day of a stored snapshot of that kind (YYYY-MM-DD). Default: the newest.",
    type=OpenApiTypes.DATE,
)


class BoardView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        operation_id="scoreboard_board",
        tags=["scoreboard"],
        summary="The sunning board of one period",
        description=(
            "One stored snapshot: its weights, and one row per department of a level (or per "
            "region with regions=1), ranked rows by rank then the unranked (volume below the "
            "weight set's min_volume). Each metric gives its numerator, denominator, value and, "
            "for rates, the 95 % interval; rates are 0 to 1, the mean in days. 404 "
            "(code no_snapshot) when no board of the period has been computed."
        ),
        parameters=[
            PERIOD,
            START,
            _query("level", "Level of the rows. Default: city.", enum=list(Region.Level.values)),
            _query(
                "regions",
                "1: the regions' rows (each adds up the departments in it and below); "
                "0 or left out: the departments'.",
                enum=["0", "1"],
            ),
        ],
        responses={200: BoardSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        form = BoardForm(_only(request, "period", "start", "level", "regions"))
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())
        query = form.cleaned_data
        snapshot = _snapshot(query["period"], query["start"])
        rows = list(
            selectors.board_scores(snapshot, level=query["level"], regions=query["regions"])
        )
        return Response(board_data(snapshot, rows, level=query["level"], regions=query["regions"]))


CODE = OpenApiParameter(
    "code",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The department's code.",
    pattern=r"^[-a-zA-Z0-9_]+$",
    examples=[OpenApiExample("A department", value="330100-gongan")],
)


class DepartmentHistoryView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        operation_id="scoreboard_department_history",
        tags=["scoreboard"],
        summary="A department's figures over the stored snapshots",
        description=(
            "Every stored snapshot of one kind of period in which the department has a row, "
            "oldest first (an empty list before the first). 404 for an unknown department."
        ),
        parameters=[CODE, PERIOD],
        responses={200: HistorySerializer, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request, code: str) -> Response:
        form = PeriodForm(_only(request, "period"))
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())
        department = selectors.department_get_for_board(code)
        if department is None:
            raise exceptions.NotFound(_("No department has this code."))
        period = form.cleaned_data["period"]
        history = list(selectors.department_history(department, period))
        return Response(history_data(department, period, history))


class BreakdownView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        operation_id="scoreboard_breakdown",
        tags=["scoreboard"],
        summary="One department's figure broken down by item, month and category",
        description=(
            "The counts behind one figure of a stored snapshot, grouped by the catalog item "
            "(or bundle), by month and, for tickets, by dispatch category; for the 90th "
            "percentile also by bands of whole days. Each dimension's groups add up to the "
            "totals, which give the board's figure again. Never a case or ticket number, a "
            "title or a person: the rows themselves are for staff of the department, on "
            "/staff/board/department/<code>/<metric>/. 404 for an unknown department or "
            "metric (or one measured per region only), 404 no_snapshot without a snapshot."
        ),
        parameters=[
            CODE,
            OpenApiParameter(
                "metric",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="The metric's key.",
                enum=[m.key for m in METRICS if not m.by_region],
            ),
            PERIOD,
            START,
        ],
        responses={200: BreakdownSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request, code: str, metric: str) -> Response:
        form = PeriodForm(_only(request, "period", "start"))
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())
        department = selectors.department_get_for_board(code)
        if department is None:
            raise exceptions.NotFound(_("No department has this code."))
        found = METRIC_BY_KEY.get(metric)
        if found is None or found.by_region:
            raise exceptions.NotFound(_("The board has no such figure."))
        snapshot = _snapshot(form.cleaned_data["period"], form.cleaned_data["start"])
        score = selectors.department_score(snapshot, department)
        breakdown = selectors.drilldown_breakdown(found, department, snapshot)
        return Response(breakdown_data(department, snapshot, score, breakdown))

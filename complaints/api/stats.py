"""``GET /api/v1/tickets/stats/``: the leaders' statistics of the complaints desk as JSON.

The same filters, scope and figures as the page (``complaints.stats``, read from the roll-ups
``complaints.rollups`` keeps); the page's JSON downloads are parts of this document. A refused
filter answers 400 in the shared error shape with the field and its code; a citizen or staff
outside any department 403; an anonymous caller 401 or 403 (the first authentication class
decides).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from complaints import stats
from complaints.dispatch.categories import CATEGORIES
from complaints.models import Ticket
from zheliban.core.api import ErrorSerializer, query_params_given

# ---------------------------------------------------------------- output (documentation)


class _Filters(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    period = serializers.ChoiceField(choices=stats.PERIODS)
    department = serializers.CharField(allow_null=True)
    category = serializers.CharField(allow_null=True)
    region = serializers.CharField(allow_null=True)
    kind = serializers.CharField(allow_null=True)
    channel = serializers.CharField(allow_null=True)


class _Totals(serializers.Serializer):
    received = serializers.IntegerField()
    senders = serializers.IntegerField(
        help_text="Every ticket received, the linked duplicates included (= received)."
    )
    matters = serializers.IntegerField(
        help_text="Received minus the linked duplicates: a matter sent by many counted once."
    )
    open = serializers.IntegerField()
    closed = serializers.IntegerField()
    linked = serializers.IntegerField(help_text="Duplicates linked to an earlier ticket.")
    overdue = serializers.IntegerField(help_text="Open, and the current step was due before today.")
    dispatched = serializers.IntegerField(help_text="With a lead department, not linked.")
    dispatched_automatically = serializers.IntegerField()
    auto_dispatch_share = serializers.FloatField(
        allow_null=True, help_text="dispatched_automatically / dispatched, 0 to 1."
    )
    returned = serializers.IntegerField(help_text="Returned by a department at least once.")
    returned_share = serializers.FloatField(allow_null=True)
    reopened = serializers.IntegerField(help_text="Reopened at least once.")
    reopened_share = serializers.FloatField(allow_null=True)


class _Timeliness(serializers.Serializer):
    signed = serializers.IntegerField(help_text="Tickets signed for (on time or not).")
    signed_on_time = serializers.IntegerField()
    signed_on_time_rate = serializers.FloatField(allow_null=True)
    answered = serializers.IntegerField()
    answered_on_time = serializers.IntegerField()
    answered_on_time_rate = serializers.FloatField(allow_null=True)


class _Satisfaction(serializers.Serializer):
    rated = serializers.IntegerField()
    average = serializers.FloatField(allow_null=True, help_text="1 to 5.")
    satisfied = serializers.IntegerField(help_text="Rated 4 or 5.")
    satisfied_share = serializers.FloatField(allow_null=True)
    unsatisfied = serializers.IntegerField(help_text="Rated 1 or 2.")
    unsatisfied_share = serializers.FloatField(allow_null=True)


class _Point(serializers.Serializer):
    start = serializers.DateField(help_text="First day of the period (a Monday for weeks).")
    received = serializers.IntegerField()
    closed = serializers.IntegerField(
        help_text="Of the tickets received in the range, those closed in this period."
    )


class _Series(serializers.Serializer):
    period = serializers.ChoiceField(choices=stats.PERIODS)
    points = _Point(many=True)


class _Row(serializers.Serializer):
    key = serializers.CharField(
        allow_null=True, help_text="Code or value; null for tickets without one."
    )
    label = serializers.CharField()
    count = serializers.IntegerField(help_text="Tickets received (= senders).")
    senders = serializers.IntegerField(help_text="Every ticket received.")
    matters = serializers.IntegerField(help_text="Received minus the linked duplicates.")
    open = serializers.IntegerField()
    closed = serializers.IntegerField()
    overdue = serializers.IntegerField()
    signed_on_time_rate = serializers.FloatField(allow_null=True)
    answered_on_time_rate = serializers.FloatField(allow_null=True)
    rated = serializers.IntegerField()
    satisfaction_average = serializers.FloatField(allow_null=True)
    satisfied_share = serializers.FloatField(allow_null=True)
    unsatisfied_share = serializers.FloatField(allow_null=True)


class _CategoryCount(serializers.Serializer):
    category = serializers.CharField()
    count = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True, required=False)


class _DepartmentTop(serializers.Serializer):
    key = serializers.CharField(allow_null=True)
    label = serializers.CharField()
    count = serializers.IntegerField()
    categories = _CategoryCount(many=True)


class _TopIssues(serializers.Serializer):
    categories = _CategoryCount(many=True)
    by_department = _DepartmentTop(many=True)


class TicketStatsSerializer(serializers.Serializer):
    filters = _Filters(help_text="The filters applied, defaults filled in.")
    scope = serializers.ChoiceField(
        choices=["all", "own_departments"],
        help_text="all: the hotline desk and superusers; own_departments: the caller's.",
    )
    totals = _Totals()
    timeliness = _Timeliness()
    satisfaction = _Satisfaction()
    series = _Series()
    by_department = _Row(many=True)
    by_category = _Row(many=True)
    by_region = _Row(many=True, help_text="By the ticket's own region (usually a county).")
    by_city = _Row(many=True, help_text="By city: a county's ticket counts under its city.")
    by_kind = _Row(many=True)
    by_channel = _Row(many=True)
    top_issues = _TopIssues()


# ---------------------------------------------------------------- the endpoint


def _parameter(name: str, description: str, **extra) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        extra.pop("type", OpenApiTypes.STR),
        OpenApiParameter.QUERY,
        description=description,
        **extra,
    )


# The dates ``stats.EARLIEST`` to ``stats.LATEST`` accepts: the years 2000 to 2099.
DATE_IN_RANGE = r"^20[0-9]{2}-"

PARAMETERS = [
    _parameter(
        "date_from",
        "First day received (YYYY-MM-DD, local time), from 2000-01-01 to 2099-12-31. "
        "Default: 29 days before date_to.",
        type=OpenApiTypes.DATE,
        pattern=DATE_IN_RANGE,
    ),
    _parameter(
        "date_to",
        "Last day received (YYYY-MM-DD), from 2000-01-01 to 2099-12-31. Default: today.",
        type=OpenApiTypes.DATE,
        pattern=DATE_IN_RANGE,
    ),
    _parameter(
        "period",
        "Grain of the time series. Default: day up to 62 days, week up to 366, else month. "
        "day is refused for more than 366 days.",
        enum=list(stats.PERIODS),
    ),
    _parameter(
        "department",
        "Lead department's code; one in the caller's scope.",
        pattern=r"^[-a-zA-Z0-9_]{1,40}$",
        examples=[OpenApiExample("A department", value="330100-zhujian")],
    ),
    _parameter("category", "Dispatch category.", enum=list(CATEGORIES)),
    _parameter(
        "region",
        "Region code (6 digits); a city or province includes its counties.",
        pattern=r"^\d{6}$",
        examples=[OpenApiExample("A city", value="330100")],
    ),
    _parameter("kind", "Kind of ticket.", enum=list(Ticket.Kind.values)),
    _parameter("channel", "Channel the ticket came in by.", enum=list(Ticket.Channel.values)),
]


class TicketStatsView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="tickets_stats",
        tags=["tickets"],
        summary="Statistics of the complaints desk",
        description=(
            "Counts, timeliness, satisfaction, a time series, breakdowns by department, "
            "category, region, city, kind and channel, and the top issues, for the tickets "
            "received in a date range (default: the last 30 days). The 12345 hotline desk and "
            "superusers see every ticket; other staff those led by their departments; anyone "
            "else is refused. Shares and rates are from 0 to 1, rounded half up to four "
            "decimals, null when nothing was counted. Senders count every ticket received; "
            "matters leave out the tickets linked to another as the same matter."
        ),
        parameters=PARAMETERS,
        responses={
            200: TicketStatsSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
        },
    )
    def get(self, request: Request) -> Response:
        scope = stats.stats_scope_for(request.user)
        # As every API filter, one given empty is refused (the page's form reads it as absent).
        query_params_given(request.query_params, [p.name for p in PARAMETERS])
        form = stats.TicketStatsFilterForm(request.query_params, scope=scope)
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())
        result = stats.ticket_stats(scope=scope, filters=form.filters)
        return Response(result.as_dict())


urlpatterns = [path("tickets/stats/", TicketStatsView.as_view(), name="ticket-stats")]

"""The API of the clock and of supervision: a task's special procedures, hand-over and sending
back (actions on ``/tasks/{id}/``), and 督办 (``/supervisions/``) with their written replies."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from zheliban.core.api import ErrorSerializer, TextField, valid_data

from .. import services
from ..models import SpecialProcedure, Supervision
from .serializers import MAX_REASON, MAX_VERSION, person_name

# ---------------------------------------------------------------- task actions


class HandOverSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=0, max_value=MAX_VERSION, required=False, help_text="The task's `version`."
    )
    colleague = serializers.IntegerField(
        min_value=1,
        max_value=MAX_VERSION,
        help_text="The user id of a clerk or supervisor of the task's department.",
    )
    reason = TextField(
        max_length=1000, required=False, allow_blank=True, help_text="A note for the colleague."
    )


class SendBackSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=0, max_value=MAX_VERSION, required=False, help_text="The task's `version`."
    )
    reason = TextField(
        max_length=MAX_REASON, help_text="Why the case goes back, as the earlier step reads it."
    )


class ProcedureStartSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=SpecialProcedure.Kind.choices,
        help_text="testing (检测), inspection (检验), appraisal (鉴定), expert_review (专家评审), "
        "public_notice (公示) or hearing (听证).",
    )
    reason = TextField(max_length=MAX_REASON, help_text="Why, as the citizen reads it.")
    expected_end = serializers.DateField(help_text="When it is expected to end (today or later).")


class SuperviseSerializer(serializers.Serializer):
    reason = TextField(max_length=MAX_REASON, help_text="What the 督办 is about.")


class SupervisionSerializer(serializers.ModelSerializer):
    task = serializers.IntegerField(source="task_id", read_only=True)
    reference = serializers.CharField(source="task.application.reference", read_only=True)
    step = serializers.CharField(source="task.label", read_only=True)
    department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    issued_by = serializers.SerializerMethodField()
    replied_by = serializers.SerializerMethodField()
    escalated_to = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Supervision
        fields = (
            "id",
            "task",
            "reference",
            "step",
            "department",
            "level",
            "status",
            "reason",
            "issued_at",
            "issued_by",
            "reply_due",
            "reply",
            "replied_by",
            "replied_at",
            "escalated_to",
        )
        read_only_fields = fields

    def get_issued_by(self, obj) -> str | None:
        return person_name(obj.issued_by) if obj.issued_by_id else None

    def get_replied_by(self, obj) -> str | None:
        return person_name(obj.replied_by) if obj.replied_by_id else None


class SupervisionReplySerializer(serializers.Serializer):
    reply = TextField(max_length=4000, help_text="The cause and what is being done.")


BOX = OpenApiParameter(
    "box",
    OpenApiTypes.STR,
    enum=["inbox", "issued"],
    description="`inbox` (default): open 督办 addressed to you or a department you supervise; "
    "`issued`: those you issued, answered or not.",
)


@extend_schema_view(
    list=extend_schema(
        operation_id="supervisions_list",
        tags=["worklist"],
        summary="督办 awaiting my reply, or issued by me",
        parameters=[BOX],
        responses={200: SupervisionSerializer(many=True), 401: ErrorSerializer},
    ),
    retrieve=extend_schema(
        operation_id="supervisions_retrieve",
        tags=["worklist"],
        summary="A 督办",
        description="Its addressees, its issuer, the task's department and the service centres "
        "overseeing it may read it; anyone else gets 404.",
        responses={200: SupervisionSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
    ),
)
class SupervisionViewSet(viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = SupervisionSerializer
    queryset = Supervision.objects.none()
    lookup_value_regex = "[0-9]{1,18}"

    def list(self, request):
        from .. import selectors

        box = request.query_params.get("box", "inbox")
        if box == "issued":
            rows = selectors.supervisions_issued_by(user=request.user)
        elif box == "inbox":
            rows = selectors.supervisions_open_for(user=request.user)
        else:
            raise serializers.ValidationError({"box": ["inbox, issued"]})
        rows = rows.select_related("issued_by", "replied_by")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(SupervisionSerializer(page, many=True).data)

    def _found(self, request, pk) -> Supervision:
        found = (
            Supervision.objects.select_related(
                "task__application", "task__department", "department", "issued_by", "replied_by"
            )
            .filter(pk=pk)
            .first()
        )
        if found is None or not services.supervision_visible(user=request.user, supervision=found):
            raise Http404
        return found

    def retrieve(self, request, pk=None):
        return Response(SupervisionSerializer(self._found(request, pk)).data)

    @extend_schema(
        operation_id="supervisions_reply",
        tags=["worklist"],
        summary="Answer a 督办 in writing",
        description="Only its addressees (403 `not_supervisor` otherwise); once answered it "
        "never escalates; a second answer is 409 (`decided`).",
        request=SupervisionReplySerializer,
        responses={
            200: SupervisionSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
        },
    )
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        found = self._found(request, pk)
        data = valid_data(SupervisionReplySerializer, request.data)
        services.supervision_reply(actor=request.user, supervision_id=found.pk, reply=data["reply"])
        return Response(SupervisionSerializer(self._found(request, pk)).data)

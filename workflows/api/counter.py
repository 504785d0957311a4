"""REST API of the counter (一窗受理) and of a case's notices as PDF.

The notices are made by the same function as the pages' (``workflows.documents.document_pdf``
through ``counter_views.document_response``). The counter finds or registers a citizen and files
an item or a bundle for them through the same service as its page (``counter.counter_file``),
with the citizen's form (``selectors.application_prepare`` with the citizen) and answers checked
as the citizen's own API submission checks them.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Bundle, ServiceItem
from workflows.errors import WorkflowsErrorCode
from zheliban.accounts import services as accounts
from zheliban.core.api import ErrorSerializer, valid_data
from zheliban.core.errors import Refused

from .. import documents, selectors, services
from ..counter_views import document_response
from ..services import counter
from .views import checked_answers

KIND_PARAMETER = OpenApiParameter(
    "kind",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=list(documents.KINDS),
    description=(
        "acceptance: 受理通知书 (once submitted); correction: 补正告知书 (while a step waits for "
        "a correction); rejection: 不予受理决定书 (once a step was rejected); service: 送达回证 "
        "(once completed or partly completed)."
    ),
)
ID_PARAMETER = OpenApiParameter(
    "id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The application's id."
)
ERRORS = {
    401: ErrorSerializer,
    403: ErrorSerializer,
    404: ErrorSerializer,
}


class PDFRenderer(BaseRenderer):
    """Lets a client ask for ``application/pdf``; errors are still the JSON error shape."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data)


class ApplicationDocumentView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    renderer_classes = [JSONRenderer, PDFRenderer]

    @extend_schema(
        operation_id="applications_documents_retrieve",
        summary="A notice of the case, as PDF",
        description=(
            "The notice as the counter prints it and the citizen downloads it, made from the "
            "case as it is now. Its applicant, the counter that filed it and the staff working "
            "on it may read it; anyone else, and a notice the case does not have, get 404."
        ),
        tags=["applications"],
        parameters=[ID_PARAMETER, KIND_PARAMETER],
        responses={
            (200, "application/pdf"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The PDF (A4)."
            ),
            **ERRORS,
        },
    )
    def get(self, request, pk, kind):
        if kind not in documents.KINDS:
            raise Http404
        app = counter.application_get_for_documents(user=request.user, pk=pk)
        if not documents.document_applies(app, kind):
            raise Http404
        return document_response(request, app, kind)


# ---------------------------------------------------------------- the counter


class CitizenFindSerializer(serializers.Serializer):
    query = serializers.CharField(max_length=100, help_text="ID number, mobile number or name.")


class CitizenRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    id_number_masked = serializers.CharField()
    phone_masked = serializers.CharField()


class CitizenRegisterSerializer(serializers.Serializer):
    real_name = serializers.CharField(max_length=100)
    sex = serializers.ChoiceField(choices=["男", "女"])
    birth_date = serializers.DateField()
    id_number = serializers.CharField(max_length=18)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


class CitizenRegisteredSerializer(CitizenRowSerializer):
    set_password_url = serializers.CharField(
        help_text="The one-time link with which the citizen sets their first password."
    )


class CounterFileSerializer(serializers.Serializer):
    citizen = serializers.IntegerField()
    bundle = serializers.SlugField(required=False)
    item = serializers.CharField(required=False, max_length=60)
    answers = serializers.DictField(child=serializers.CharField(allow_blank=True), default=dict)
    received = serializers.ListField(
        child=serializers.CharField(max_length=300),
        default=list,
        help_text="Names of the materials received on paper (收件清单).",
    )
    idempotency_key = serializers.CharField(max_length=64)

    def validate(self, attrs):
        if bool(attrs.get("bundle")) == bool(attrs.get("item")):
            raise serializers.ValidationError(_("Give either a bundle or an item."))
        return attrs


class CounterFiledSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    reference = serializers.CharField()
    status = serializers.CharField()
    promised_date = serializers.DateField()


def _counter_user(request) -> None:
    if not counter.may_use_counter(user=request.user):
        raise exceptions.PermissionDenied(
            _("Only counter clerks of a service centre use the counter.")
        )


class CounterCitizenFindView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="counter_citizens_find",
        summary="Find a citizen at the counter",
        description="By exact ID number (check digit validated), mobile number or name; masked.",
        tags=["counter"],
        request=CitizenFindSerializer,
        responses={200: CitizenRowSerializer(many=True), 400: ErrorSerializer, **ERRORS},
    )
    def post(self, request):
        _counter_user(request)
        data = valid_data(CitizenFindSerializer, request.data)
        rows = counter.citizen_find(actor=request.user, query=data["query"])
        return Response(CitizenRowSerializer(rows, many=True).data)


class CounterCitizenRegisterView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="counter_citizens_register",
        summary="Register a walk-in citizen from their ID card",
        tags=["counter"],
        request=CitizenRegisterSerializer,
        responses={201: CitizenRegisteredSerializer, 400: ErrorSerializer, **ERRORS},
    )
    def post(self, request):
        _counter_user(request)
        data = valid_data(CitizenRegisterSerializer, request.data)
        citizen = accounts.citizen_register_at_counter(**data)
        row = counter.CitizenRow(
            citizen.pk, citizen.real_name, citizen.id_number_masked, citizen.phone_masked
        )
        body = {
            **CitizenRowSerializer(row).data,
            "set_password_url": request.build_absolute_uri(accounts.set_password_path(citizen)),
        }
        return Response(body, status=status.HTTP_201_CREATED)


class CounterFileView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="counter_applications_create",
        summary="File an item or a bundle for a citizen at the counter",
        description=(
            "The citizen's own form (prefilled from the registers and their e-licences), checked "
            "as their own submission is; the case is theirs, filed by the caller. Materials are "
            "received on paper through this call; scans are uploaded on the counter's page."
        ),
        tags=["counter"],
        request=CounterFileSerializer,
        responses={
            201: CounterFiledSerializer,
            200: CounterFiledSerializer,
            400: ErrorSerializer,
            409: ErrorSerializer,
            **ERRORS,
        },
    )
    def post(self, request):
        _counter_user(request)
        data = valid_data(CounterFileSerializer, request.data)
        citizen = counter.citizen_get_for_counter(user=request.user, pk=data["citizen"])
        if data.get("bundle"):
            bundle, item = get_object_or_404(Bundle, slug=data["bundle"], is_active=True), None
        else:
            bundle = None
            item = get_object_or_404(
                ServiceItem.objects.select_related("department"), code=data["item"], is_active=True
            )
        centres = counter.counter_require(user=request.user)
        counter.counter_subject_check(user=request.user, centres=centres, bundle=bundle, item=item)
        workflow = services.workflow_for(bundle=bundle, item=item)
        prepared = selectors.application_prepare(
            user=citizen, workflow=workflow, bundle=bundle, item=item
        )
        if prepared.refusals:
            raise Refused(
                " ".join(v.says for v in prepared.refusals), code=WorkflowsErrorCode.INELIGIBLE
            )
        answers = checked_answers(spec=prepared.spec, user=citizen, given=data["answers"])
        app, created = counter.counter_file(
            actor=request.user,
            citizen=citizen,
            bundle=bundle,
            item=item,
            answers=answers,
            received=data["received"],
            idempotency_key=data["idempotency_key"],
            prepared=prepared,
        )
        body = {
            "id": app.pk,
            "reference": app.reference,
            "status": app.status,
            "promised_date": app.promised_date,
        }
        return Response(
            CounterFiledSerializer(body).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

"""REST API of complaints-desk tickets: send one, look for repeats, follow them, move them.

A citizen (or enterprise) sees their own tickets; staff see the tickets of their scope
(``tickets_for_staff``: the desk all of them, a department those it has a part in), and a ticket
out of the caller's reach answers 404, exactly like one that does not exist. The sender is shown
as ``reporter_for`` lets the caller see them: masked, and not at all (``null``) to a department
handling a report (举报). Only the desk's supervisors unmask a sender, through ``reporter/``, and
every look is logged.

Every write goes through ``complaints.services``; a refusal there (``Refused``, ``Forbidden``,
``Conflict``) becomes the shared error shape with its status and code, plus ``holder`` on a 409.
"""

from __future__ import annotations

from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from complaints.errors import ComplaintsErrorCode
from workflows.selectors import application_list_for_citizen
from zheliban.accounts.models import User
from zheliban.core.api import ErrorSerializer, valid_data
from zheliban.core.idempotency import (
    body_digest,
    idempotency_check,
    idempotency_key_of,
    idempotency_parameter,
    idempotency_remember,
)
from zheliban.core.schema import link, response_links

from .. import selectors, services
from ..models import Ticket
from .serializers import (
    DuplicatesQuerySerializer,
    ReporterRevealSerializer,
    RevealedReporterSerializer,
    TicketActionSerializer,
    TicketConflictSerializer,
    TicketCreateSerializer,
    TicketDetailSerializer,
    TicketDuplicateSerializer,
    TicketListQuerySerializer,
    TicketMergeSerializer,
    TicketSerializer,
)

# Digits only, so that ``tickets/stats/`` and ``tickets/duplicates/`` are never taken for an id.
TICKET_ID_PATTERN = r"[0-9]{1,18}"
DUPLICATES_SHOWN = 5
OPEN_TO_ANYONE = ("create", "duplicates")

TICKET_PARAMETER = OpenApiParameter(
    "id",
    OpenApiTypes.INT,
    OpenApiParameter.PATH,
    description="The ticket's id.",
    examples=[OpenApiExample("A ticket", value=1)],
)
READ_ERRORS = {401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
MOVE_ERRORS = {
    400: ErrorSerializer,
    401: ErrorSerializer,
    403: ErrorSerializer,
    404: ErrorSerializer,
    409: TicketConflictSerializer,
}


def ticket_links(pointer: str) -> dict:
    """Links from a response naming a ticket (at ``pointer``) to the ticket and its moves."""
    return {
        "Ticket": link("tickets_retrieve", "The ticket.", id=pointer),
        "MoveTicket": link("tickets_actions_create", "A step of the loop.", id=pointer),
    }


def is_staff(user) -> bool:
    """Staff read tickets through their departments' scope, everyone else their own tickets."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or user.kind == User.Kind.STAFF


def field_error(field: str, message: str, code: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [exceptions.ErrorDetail(message, code=code)]})


@extend_schema_view(
    list=extend_schema(
        operation_id="tickets_list",
        tags=["tickets"],
        extensions=response_links({200: ticket_links("$response.body#/results/0/id")}),
        summary="My tickets, or my departments' tickets",
        description="For a citizen or an enterprise: their own tickets, newest first. For staff: "
        "the tickets of their scope (the desk: all; a department: those it has a part in and "
        "has not returned), the open ones unless `state` says otherwise, by due date. A member "
        "of staff in no department gets an empty list. `queue`, `overdue` and `department` "
        "apply to staff only.",
        parameters=[TicketListQuerySerializer],
        responses={200: TicketSerializer(many=True), 400: ErrorSerializer, **READ_ERRORS},
    ),
    retrieve=extend_schema(
        operation_id="tickets_retrieve",
        tags=["tickets"],
        extensions=response_links({200: ticket_links("$response.body#/id")}),
        summary="A ticket with its parts and history",
        description="The ticket, the departments' parts, its history, the current step's "
        "deadline, how it was dispatched and the reply. `reporter` is the sender as a handling "
        "department sees them (masked), and `null` with `reporter_hidden` on a report (举报) "
        "seen by a handling department. `application` gives the facts of the application the "
        "ticket is about (item, steps, states, dates), never who applied, and without its "
        "reference where the sender is hidden. Another person's ticket, or one outside your "
        "departments, answers 404.",
        parameters=[TICKET_PARAMETER],
        responses={200: TicketDetailSerializer, **READ_ERRORS},
    ),
)
class TicketViewSet(viewsets.GenericViewSet):
    """Tickets of the complaints desk: send one, follow them, move them through the loop."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser, MultiPartParser]
    lookup_value_regex = TICKET_ID_PATTERN
    filter_backends: list = []
    serializer_class = TicketSerializer
    queryset = Ticket.objects.none()

    def get_permissions(self):
        if self.action in OPEN_TO_ANYONE:
            return [permissions.AllowAny()]
        return super().get_permissions()

    def get_throttles(self):
        if self.action in OPEN_TO_ANYONE:
            return [AnonRateThrottle(), UserRateThrottle()]
        return super().get_throttles()

    # ------------------------------------------------------------ reading

    def list(self, request):
        query = valid_data(TicketListQuerySerializer, request.query_params)
        user = request.user
        if is_staff(user):
            department = selectors.department_for_code(query.get("department", ""))
            tickets = selectors.staff_tickets(
                user=user,
                state=query.get("state", ""),
                department=department,
                overdue=query.get("overdue") == "1",
                queue=query.get("queue") == "1",
            )
        else:
            tickets = selectors.tickets_of_citizen(user=user)
            if query.get("state"):
                tickets = tickets.filter(state=query["state"])
        page = self.paginate_queryset(tickets)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk: str):
        return Response(self._detail(request, self._ticket(request, pk)))

    def _ticket(self, request, pk) -> Ticket:
        if is_staff(request.user):
            return selectors.ticket_for_staff(user=request.user, pk=int(pk))
        return selectors.ticket_for_citizen(user=request.user, pk=int(pk))

    def _detail(self, request, ticket: Ticket) -> dict:
        # Only staff can be at the desk: a citizen's (or a visitor's) view costs no query, and
        # shows the sender their ticket as the handling department sees it.
        desk = selectors.is_desk(request.user) if is_staff(request.user) else False
        sender_visible = selectors.ticket_sender_visible(
            viewer=request.user, ticket=ticket, desk=desk
        )
        reporter = selectors.reporter_for(ticket, user=request.user, desk=desk)
        context = {
            **self.get_serializer_context(),
            "reporter": None if reporter.hidden else reporter,
            "reporter_hidden": reporter.hidden,
            "dispatch_reasons": selectors.dispatch_reasons_shown(
                ticket, sender_visible=sender_visible
            ),
            "application": selectors.application_facts(ticket, sender_visible=sender_visible),
            "linked_to": selectors.linked_to_shown(ticket, viewer=request.user, desk=desk),
        }
        return TicketDetailSerializer(ticket, context=context).data

    # ------------------------------------------------------------ sending

    @extend_schema(
        operation_id="tickets_create",
        tags=["tickets"],
        extensions=response_links({201: ticket_links("$response.body#/id")}),
        summary="Send a consultation, complaint, report, suggestion, request for help or praise",
        description="Takes the ticket in (channel `api`) and dispatches it: straight to the "
        "department when the dispatch is sure enough, else to the desk's dispatchers. Send JSON, "
        "or multipart with `attachments` (photos and PDF files, checked by their content; photos "
        "are kept without their metadata). Without logging in, only an anonymous ticket "
        "(`anonymous: true`) is taken. Any bad field answers 400 with a message per field and "
        "stores nothing; so does a `link_to` naming no ticket you can join (one that does not "
        "exist, or a report, 举报, which is never offered nor joined). Answers 201 with the "
        "ticket as you see it; `reporter` shows you as the handling department will see you. "
        "With an `Idempotency-Key` a ticket sent in your name is taken in once: a retry with "
        "the same key answers 200 with the ticket the first request created (an anonymous "
        "ticket has no sender to hold a key, and the header is ignored for it).",
        parameters=[idempotency_parameter(required=False, created="ticket")],
        request=TicketCreateSerializer,
        responses={
            201: TicketDetailSerializer,
            200: TicketDetailSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            422: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    def create(self, request):
        key = idempotency_key_of(request, required=False)
        data = valid_data(TicketCreateSerializer, request.data)
        user = request.user if request.user.is_authenticated else None
        if user is None and not data["anonymous"]:
            raise exceptions.NotAuthenticated(
                _("Log in to send a ticket in your name, or send it anonymously.")
            )
        application = None
        if data.get("application") is not None:
            if data["anonymous"]:
                # The application names its applicant to the department that handles both.
                raise field_error(
                    "application",
                    _(
                        "An anonymous ticket cannot be about your application: it would say who "
                        "you are."
                    ),
                    "anonymous_application",
                )
            if user is not None:
                application = (
                    application_list_for_citizen(user=user).filter(pk=data["application"]).first()
                )
            if application is None:
                raise field_error(
                    "application", _("This is not one of your applications."), "not_yours"
                )
        digest = body_digest(request) if key else ""
        idempotency_check(user=user, scope="tickets", key=key, digest=digest)
        try:
            with transaction.atomic():  # the key's record commits with the ticket it made
                ticket, created = services.ticket_submit_once(
                    idempotency_key=key,
                    kind=data["kind"],
                    channel=Ticket.Channel.API,
                    content=data["content"],
                    title=data["title"],
                    region=data.get("region"),
                    address=data["address"],
                    latitude=data["latitude"],
                    longitude=data["longitude"],
                    citizen=user,
                    contact_name=data["contact_name"],
                    contact_phone=data["contact_phone"],
                    contact_email=data["contact_email"],
                    is_anonymous=data["anonymous"],
                    is_public=data["public"],
                    uploads=data["attachments"],
                    application=application,
                    # resolved by the service among the tickets a ticket may join: never a report
                    link_to=data.get("link_to"),
                )
                idempotency_remember(user=user, scope="tickets", key=key, digest=digest)
        except services.TicketInvalid as error:
            raise exceptions.ValidationError(
                {
                    field: [
                        exceptions.ErrorDetail(m, code=ComplaintsErrorCode.INVALID)
                        for m in messages
                    ]
                    for field, messages in error.fields.items()
                }
            ) from error
        headers = {}
        if ticket.citizen_id is not None:
            ticket = selectors.ticket_for_citizen(user=user, pk=ticket.pk)
            headers["Location"] = TicketSerializer(
                ticket, context=self.get_serializer_context()
            ).data["url"]
        # An anonymous ticket has no owner to read it back through a selector: it is shown once,
        # as the service returned it.
        if not created:
            return Response(self._detail(request, ticket), status=status.HTTP_200_OK)
        return Response(
            self._detail(request, ticket), status=status.HTTP_201_CREATED, headers=headers
        )

    @extend_schema(
        operation_id="tickets_duplicates",
        tags=["tickets"],
        summary="Tickets that look like the one you are about to send",
        description="Recent tickets from the same region (or, without a region, the same "
        "address) whose text is much the same, most alike first, at most "
        f"{DUPLICATES_SHOWN}. Only the state and date of each, and its number and title if its "
        "sender made it public: never its sender or its content. Reports (举报) are never "
        "listed. Without a region or an address the list is empty. An open one can be given "
        "as `link_to` when sending.",
        parameters=[DuplicatesQuerySerializer],
        responses={
            200: TicketDuplicateSerializer(many=True),
            400: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def duplicates(self, request):
        query = valid_data(DuplicatesQuerySerializer, request.query_params)
        matches = selectors.duplicates_find(
            content=query["content"],
            title=query.get("title", ""),
            region=query.get("region"),
            address=query.get("address", ""),
            limit=DUPLICATES_SHOWN,
        )
        return Response(TicketDuplicateSerializer(matches, many=True).data)

    # ------------------------------------------------------------ moving

    @extend_schema(
        operation_id="tickets_actions_create",
        tags=["tickets"],
        summary="Move a ticket one step of the work-order loop",
        description="受理 → 派单 (`dispatch`, or `link` a repeat) → 签收 (`sign`) or 退单 "
        "(`return`, with the reason in `note`) → assisting departments' `opinion` → 答复 "
        "(`answer`) → 回访 (`callback`) → 满意度 (`rate`, by the sender) → 办结 (or `close` "
        "without a rating). Answers the ticket as it now stands. A move your role may not make "
        "answers 403, one the ticket's state does not allow or a stale `version` 409 (with "
        "`holder`: who moved it last), a missing note or a bad value 400 (a report, 举报, is "
        "never a `link` target: `target_report`); nothing changes. A ticket outside your reach "
        "answers 404. The desk may also answer a consultation from the knowledge base "
        "(`resolve` with `article`: closed, never dispatched); a lead department may 下派 part of "
        "it to a street or township of its district (`subdispatch` with `department`), ask for "
        "延期 or 挂起 (`delay` with `kind`, `until` and the reason in `note`), and `resume` a "
        "suspended ticket; the desk `decide`s the request (`approve`).",
        parameters=[TICKET_PARAMETER],
        request=TicketActionSerializer,
        responses={200: TicketDetailSerializer, **MOVE_ERRORS},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="actions",
        url_name="actions",
        parser_classes=[JSONParser],
    )
    def act(self, request, pk: str):
        ticket = self._ticket(request, pk)
        data = valid_data(TicketActionSerializer, request.data)
        department = selectors.department_for_code(data.get("department", ""))
        assisting = selectors.departments_for_codes(data["assisting"])
        target = selectors.link_target_get(data.get("target"), staff=request.user)
        article = selectors.article_for_code(data.get("article", ""))
        moved = services.ticket_transition(
            actor=request.user,
            ticket=ticket.pk,
            action=data["action"],
            version=data.get("version"),
            note=data["note"],
            department=department,
            assisting=assisting,
            target=target,
            satisfaction=data.get("satisfaction"),
            article=article,
            data=services.move_data(data),
        )
        try:
            ticket = self._ticket(request, pk)
        except Http404:
            # The move took the ticket out of the caller's reach (a department returned it):
            # they still see what they just did, once.
            ticket = moved
        return Response(self._detail(request, ticket))

    @extend_schema(
        operation_id="tickets_merge_create",
        tags=["tickets"],
        summary="Merge tickets about the same matter into this one (合并, desk)",
        description="Each ticket listed (received or waiting for dispatch, of the same region) "
        "is linked to this one and follows it; every sender is told the outcome with it. All "
        "or nothing: one that may not be merged refuses the lot (400/403/409) and nothing "
        "changes. Answers this ticket as it now stands.",
        parameters=[TICKET_PARAMETER],
        request=TicketMergeSerializer,
        responses={200: TicketDetailSerializer, **MOVE_ERRORS},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def merge(self, request, pk: str):
        ticket = self._ticket(request, pk)
        data = valid_data(TicketMergeSerializer, request.data)
        others = [
            selectors.link_target_get(ref, staff=request.user, field="tickets")
            for ref in data["tickets"]
        ]
        services.tickets_merge(actor=request.user, into=ticket, tickets=others)
        return Response(self._detail(request, self._ticket(request, pk)))

    @extend_schema(
        operation_id="tickets_reporter_create",
        tags=["tickets"],
        summary="Who sent a ticket, unmasked (desk supervisors)",
        description="The sender's name, phone and e-mail as given, for the desk's supervisors "
        "only; each look is logged with its reason. Everyone else answers 403 and nothing is "
        "logged; a missing reason answers 400.",
        parameters=[TICKET_PARAMETER],
        request=ReporterRevealSerializer,
        responses={200: RevealedReporterSerializer, 400: ErrorSerializer, **READ_ERRORS},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def reporter(self, request, pk: str):
        if not selectors.can_reveal_reporter(request.user):
            raise exceptions.PermissionDenied(
                _("Only the desk's supervisors may see who sent a ticket.")
            )
        ticket = selectors.ticket_for_staff(user=request.user, pk=int(pk))
        data = valid_data(ReporterRevealSerializer, request.data)
        revealed = services.reporter_reveal(user=request.user, ticket=ticket, reason=data["reason"])
        return Response(
            RevealedReporterSerializer(revealed).data, headers={"Cache-Control": "no-store"}
        )


router = SimpleRouter()
router.register("tickets", TicketViewSet, basename="ticket")
urlpatterns = router.urls

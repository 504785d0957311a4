"""Shapes of the tickets API: an input serializer per write or query, read-only output.

The output never names a member of staff or a sender beyond what the viewer may see: the
sender comes in ``context["reporter"]``, worked out by the view through ``reporter_for`` (or,
for the sender's own ticket, from what they gave), and is ``null`` whenever it is hidden.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from departments.models import Region
from zheliban.core.api import SLUG_PATTERN, CodeNameSerializer, FlagField, TextField
from zheliban.core.schema import NamedChoiceField

from ..dispatch.categories import CATEGORIES
from ..models import Ticket, TicketDelay, TicketDepartment
from ..services import ACTIONS, CONTENT_MAX_CHARS, MAX_ATTACHMENTS, TITLE_MAX_CHARS

REGION_CODE_PATTERN = r"^([0-9]{6}([0-9]{3})?)?$"  # empty: no region; 9 digits: a street
# A version or id a client sends back may not pass what every database's integer holds.
MAX_INT = 2**31 - 1
MAX_REASON = 200


@extend_schema_field({"type": "string", "pattern": REGION_CODE_PATTERN})
class RegionCodeField(serializers.SlugRelatedField):
    """A region given by its 6-digit code."""


def _region_field(**kwargs) -> RegionCodeField:
    return RegionCodeField(
        slug_field="code",
        queryset=Region.objects.all(),
        error_messages={
            "does_not_exist": _("No region has the code “{value}”."),
            "invalid": _("Give the region's 6-digit code."),
        },
        **kwargs,
    )


def ticket_kind_field(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="TicketKindEnum", choices=Ticket.Kind.choices, **kwargs)


def ticket_state_field(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="TicketStateEnum", choices=Ticket.State.choices, **kwargs)


def _is_overdue(ticket: Ticket) -> bool:
    return (
        ticket.state in Ticket.OPEN_STATES
        and ticket.node_due_date is not None
        and ticket.node_due_date < timezone.localdate()
    )


# ---------------------------------------------------------------- inputs


class TicketCreateSerializer(serializers.Serializer):
    """What ``ticket_submit`` takes; the service checks the rest and names each bad field."""

    kind = ticket_kind_field()
    title = TextField(
        max_length=TITLE_MAX_CHARS,
        allow_blank=True,
        default="",
        help_text="Left empty, the start of the content becomes the title.",
    )
    content = TextField(
        max_length=CONTENT_MAX_CHARS,
        error_messages={"blank": _("Write what happened or what you want to ask.")},
        help_text="What happened, or what you want to ask.",
    )
    region = _region_field(
        required=False,
        allow_null=True,
        help_text="6-digit code of the region (county or district, or a city) where it happened. "
        "Give the region, the address or the coordinates.",
    )
    address = TextField(max_length=200, allow_blank=True, default="")
    latitude = serializers.FloatField(
        min_value=-90, max_value=90, required=False, allow_null=True, default=None
    )
    longitude = serializers.FloatField(
        min_value=-180, max_value=180, required=False, allow_null=True, default=None
    )
    contact_name = TextField(max_length=60, allow_blank=True, default="")
    contact_phone = TextField(
        max_length=20,
        allow_blank=True,
        default="",
        help_text="A mobile number of 11 digits or a landline number; left empty, the phone of "
        "your account.",
    )
    contact_email = TextField(max_length=254, allow_blank=True, default="")
    anonymous = serializers.BooleanField(
        default=False,
        help_text="Send without your name: nobody can call you back or tell you the outcome. "
        "The only way to send a ticket without logging in.",
    )
    public = serializers.BooleanField(
        default=False,
        help_text="Agree that the content and the reply are shown in public (never for a report).",
    )
    application = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="Id of one of your applications that the ticket is about; it then goes to the "
        "department handling that application.",
    )
    link_to = serializers.IntegerField(
        min_value=1,
        max_value=MAX_INT,
        required=False,
        allow_null=True,
        help_text="Id of an open ticket about the same matter (see `tickets/duplicates/`): "
        "yours is linked to it instead of being handled twice. A report (举报) can never be "
        "joined: its id is refused like one that does not exist.",
    )
    attachments = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        max_length=MAX_ATTACHMENTS,
        help_text="Photos (JPEG, PNG) and PDF files, checked by their content, multipart only. "
        "Photos are kept without their metadata (place, camera, time).",
    )


class DuplicatesQuerySerializer(serializers.Serializer):
    """Query of ``GET /api/v1/tickets/duplicates/``."""

    content = TextField(max_length=CONTENT_MAX_CHARS, help_text="The text you are about to send.")
    title = TextField(max_length=TITLE_MAX_CHARS, required=False, allow_blank=True)
    region = _region_field(required=False, allow_null=True, help_text="6-digit code of the region.")
    address = TextField(max_length=200, required=False, allow_blank=True)


class TicketListQuerySerializer(serializers.Serializer):
    """Query of ``GET /api/v1/tickets/``; empty values are the same as absent ones."""

    state = serializers.ChoiceField(
        choices=Ticket.State.choices,
        required=False,
        allow_blank=True,
        help_text="Only tickets in this state. Absent: a citizen gets all their tickets, staff "
        "the open ones.",
    )
    overdue = FlagField(
        help_text="1: only open tickets past the current step's due date.",
    )
    queue = FlagField(
        help_text="Staff: 1 for the tickets waiting for a dispatcher (overrides `state`).",
    )
    department = serializers.RegexField(
        SLUG_PATTERN,
        max_length=40,
        required=False,
        allow_blank=True,
        help_text="Staff: only tickets this department (its code) has a part in.",
    )


class TicketActionSerializer(serializers.Serializer):
    action = NamedChoiceField(
        enum_name="TicketActionEnum",
        choices=[(a, a) for a in ACTIONS],
        help_text="dispatch, link, resolve (desk); sign, return, opinion, answer, subdispatch, "
        "delay, resume (the departments); decide, callback, close (desk); rate (the sender, or "
        "the desk on the callback).",
    )
    version = serializers.IntegerField(
        min_value=0,
        max_value=MAX_INT,
        required=False,
        allow_null=True,
        help_text="The ticket's `version` as you last read it. When the ticket has moved since, "
        "the action is refused with 409 (`stale`) and nothing changes.",
    )
    note = TextField(
        max_length=CONTENT_MAX_CHARS,
        allow_blank=True,
        default="",
        help_text="The reason (return, close), the opinion, the answer to the citizen, what "
        "the citizen said on the callback, or the rating's comment.",
    )
    department = serializers.RegexField(
        SLUG_PATTERN,
        max_length=40,
        required=False,
        allow_blank=True,
        help_text="dispatch: the code of the department that leads; return: the one you "
        "suggest instead.",
    )
    assisting = serializers.ListField(
        child=serializers.RegexField(SLUG_PATTERN, max_length=40),
        required=False,
        default=list,
        max_length=10,
        help_text="dispatch: codes of departments that assist (joint handling).",
    )
    target = serializers.IntegerField(
        min_value=1,
        max_value=MAX_INT,
        required=False,
        allow_null=True,
        help_text="link: id of the open ticket this one repeats.",
    )
    satisfaction = serializers.IntegerField(
        min_value=1,
        max_value=5,
        required=False,
        allow_null=True,
        help_text="rate (or callback, when the citizen rated on the phone): 5 very satisfied "
        "… 1 very dissatisfied; 1 and 2 reopen the ticket.",
    )
    article = serializers.RegexField(
        SLUG_PATTERN,
        max_length=40,
        required=False,
        allow_blank=True,
        help_text="resolve: the code of the knowledge-base article that answers the consultation.",
    )
    category = serializers.ChoiceField(
        choices=[(c, c) for c in CATEGORIES],
        required=False,
        allow_blank=True,
        help_text="dispatch: the category, when not the lead department's matter.",
    )
    kind = serializers.ChoiceField(
        choices=TicketDelay.Kind.choices,
        required=False,
        help_text="delay: extension (延期, a later due date) or suspension (挂起, the clock "
        "stops until `until`).",
    )
    until = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="delay: the new due date (extension) or the day work resumes (suspension).",
    )
    approve = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="decide: approve (true) or refuse (false, with a `note`) the pending request.",
    )


class TicketMergeSerializer(serializers.Serializer):
    tickets = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_INT),
        min_length=1,
        max_length=50,
        help_text="Ids of the tickets (received or queued, of the same region) to merge into "
        "this one; all are merged, or none.",
    )


class ReporterRevealSerializer(serializers.Serializer):
    reason = TextField(
        max_length=MAX_REASON,
        allow_blank=True,
        help_text="Why you need to know who sent it; kept in the log.",
    )


# ---------------------------------------------------------------- outputs


class TicketSerializer(serializers.Serializer):
    """A row of a list: only the fields the list selectors load."""

    id = serializers.IntegerField()
    number = TextField(help_text="The ticket's number as the citizen is told it.")
    title = TextField()
    kind = ticket_kind_field()
    channel = NamedChoiceField(enum_name="TicketChannelEnum", choices=Ticket.Channel.choices)
    state = ticket_state_field()
    state_display = TextField(source="get_state_display")
    created_at = serializers.DateTimeField()
    region = CodeNameSerializer(allow_null=True)
    department = CodeNameSerializer(allow_null=True, help_text="The lead department.")
    category = TextField()
    due_date = serializers.DateField(
        source="node_due_date", allow_null=True, help_text="When the current step is due."
    )
    due_provisional = serializers.BooleanField(
        source="node_due_provisional",
        help_text="True when the due date counts only weekends: next year's statutory "
        "holidays are not published yet.",
    )
    overdue = serializers.SerializerMethodField()
    version = serializers.IntegerField(
        help_text="Grows with every move; send it back with an action to refuse stale moves."
    )
    url = serializers.SerializerMethodField()

    def get_overdue(self, obj: Ticket) -> bool:
        return _is_overdue(obj)

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Ticket) -> str:
        return reverse(
            "api:ticket-detail", kwargs={"pk": obj.pk}, request=self.context.get("request")
        )


class TicketReporterSerializer(serializers.Serializer):
    anonymous = serializers.BooleanField()
    name = TextField(help_text="Masked, except on your own ticket.")
    phone = TextField(help_text="Masked.")
    email = TextField(help_text="Masked, except on your own ticket.")


class TicketPartSerializer(serializers.Serializer):
    department = CodeNameSerializer()
    lead = serializers.BooleanField(source="is_lead")
    state = NamedChoiceField(
        enum_name="TicketPartStateEnum", choices=TicketDepartment.State.choices
    )
    state_display = TextField(source="get_state_display")
    signed_at = serializers.DateTimeField(allow_null=True)
    replied_at = serializers.DateTimeField(allow_null=True)
    returned_at = serializers.DateTimeField(allow_null=True)


class TicketHistoryEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    action = TextField(
        help_text="receive, queue, dispatch, link, linked, sign, return, opinion, answer, "
        "callback, rate, reopen, close, supervise."
    )
    from_state = TextField()
    to_state = TextField()
    department = CodeNameSerializer(allow_null=True)
    note = TextField()


class TicketDeadlineSerializer(serializers.Serializer):
    due_date = serializers.DateField(source="node_due_date", allow_null=True)
    provisional = serializers.BooleanField(source="node_due_provisional")
    since = serializers.DateTimeField(
        source="node_started_at", allow_null=True, help_text="When the current step began."
    )
    overdue = serializers.SerializerMethodField()

    def get_overdue(self, obj: Ticket) -> bool:
        return _is_overdue(obj)


class TicketDispatchSerializer(serializers.Serializer):
    category = TextField()
    confidence = serializers.FloatField(source="dispatch_confidence", allow_null=True)
    reasons = serializers.SerializerMethodField()
    automatic = serializers.BooleanField(source="dispatched_automatically")

    def get_reasons(self, obj: Ticket) -> list[str]:
        # worked out by the view through ``dispatch_reasons_shown``: a reason naming an
        # application would point a department at a report's sender
        return list(self.context.get("dispatch_reasons", []))


class TicketApplicationStepSerializer(serializers.Serializer):
    label = TextField()
    department = TextField(help_text="The department's name.")
    state = TextField(
        help_text="waiting, ready, accepted, correction, completed, rejected or cancelled."
    )
    state_display = TextField()
    ready_on = serializers.DateField(allow_null=True, help_text="When the step could start.")
    due_date = serializers.DateField(allow_null=True)
    finished_on = serializers.DateField(allow_null=True)


class TicketApplicationSerializer(serializers.Serializer):
    """The facts of the application a ticket is about, never who applied."""

    reference = TextField(
        help_text="Empty on a report (举报) seen by a handling department: the reference leads "
        "to the applicant, who sent the report."
    )
    subject = TextField(help_text="The item or bundle applied for.")
    status = TextField()
    status_display = TextField()
    submitted_on = serializers.DateField(allow_null=True)
    promised_date = serializers.DateField(allow_null=True)
    steps = TicketApplicationStepSerializer(many=True)


class TicketAttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = TextField()
    content_type = TextField()
    size = serializers.IntegerField()
    metadata_removed = serializers.BooleanField(
        help_text="A photo kept without its metadata (place, camera, time)."
    )


class TicketDetailSerializer(TicketSerializer):
    """A ticket with its parts and history; ``context["reporter"]`` is the sender as the viewer
    may see them (``None`` when hidden) and ``context["reporter_hidden"]`` says so."""

    content = TextField()
    address = TextField()
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, allow_null=True, coerce_to_string=False
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, allow_null=True, coerce_to_string=False
    )
    public = serializers.BooleanField(source="is_public")
    reporter_hidden = serializers.SerializerMethodField(
        help_text="True on a report (举报) seen by a handling department: who sent it is not "
        "shown at all."
    )
    reporter = serializers.SerializerMethodField()
    linked_to = serializers.SerializerMethodField(
        help_text="Id of the ticket this one was linked to as a repeat, if any."
    )
    application = serializers.SerializerMethodField(
        help_text="The application the ticket is about (its item, steps, their states and "
        "dates), or null; never who applied."
    )
    parts = TicketPartSerializer(many=True, help_text="The departments' parts: the lead first.")
    history = TicketHistoryEventSerializer(source="events", many=True)
    deadline = serializers.SerializerMethodField()
    dispatch = serializers.SerializerMethodField()
    reply = TextField(help_text="The lead department's answer.")
    replied_at = serializers.DateTimeField(allow_null=True)
    satisfaction = serializers.IntegerField(
        allow_null=True, help_text="The sender's rating, 1 to 5."
    )
    closed_at = serializers.DateTimeField(allow_null=True)
    attachments = TicketAttachmentSerializer(many=True)

    def get_reporter_hidden(self, obj: Ticket) -> bool:
        return bool(self.context.get("reporter_hidden"))

    @extend_schema_field(TicketReporterSerializer(allow_null=True))
    def get_reporter(self, obj: Ticket):
        reporter = self.context.get("reporter")
        return None if reporter is None else TicketReporterSerializer(reporter).data

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_linked_to(self, obj: Ticket) -> int | None:
        # worked out by the view through ``linked_to_shown``: never a report to a citizen
        target = self.context.get("linked_to")
        return None if target is None else target.pk

    @extend_schema_field(TicketApplicationSerializer(allow_null=True))
    def get_application(self, obj: Ticket):
        facts = self.context.get("application")
        return None if facts is None else TicketApplicationSerializer(facts).data

    @extend_schema_field(TicketDeadlineSerializer)
    def get_deadline(self, obj: Ticket) -> dict:
        return TicketDeadlineSerializer(obj).data

    @extend_schema_field(TicketDispatchSerializer)
    def get_dispatch(self, obj: Ticket) -> dict:
        return TicketDispatchSerializer(obj, context=self.context).data


class TicketDuplicateSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="ticket.pk", help_text="Pass it as `link_to`.")
    number = TextField(allow_null=True, help_text="Null unless its sender made the ticket public.")
    title = TextField(allow_null=True, help_text="Null unless its sender made the ticket public.")
    state = ticket_state_field(source="ticket.state")
    state_display = TextField(source="ticket.get_state_display")
    created_at = serializers.DateTimeField(source="ticket.created_at")
    score = serializers.FloatField(help_text="How alike the texts are, 0 to 1.")


class RevealedReporterSerializer(serializers.Serializer):
    name = TextField()
    phone = TextField()
    email = TextField()
    username = TextField(help_text="The sender's account, empty if none.")


class TicketConflictDetailSerializer(serializers.Serializer):
    code = TextField(help_text="stale, wrong_state, signed, opinions_missing, ...")
    message = TextField()
    holder = TextField(required=False, help_text="With `stale`: who moved the ticket last.")


class TicketConflictSerializer(serializers.Serializer):
    error = TicketConflictDetailSerializer()

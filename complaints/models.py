"""The complaints desk: tickets and their work-order loop, the knowledge base, the assistant's
log, dispatch rules and Open311 keys.

Every status field here is moved by exactly one service in ``complaints.services`` (the
work-order chokepoint ``ticket_transition``), which checks each move against the machine's table
declared below its model (``TICKET_MACHINE``, ``PART_MACHINE``); admin shows the fields read-only
and draws the tables.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalog.models import ServiceItem
from complaints.errors import ComplaintsErrorCode
from departments.models import Department, Region
from zheliban.core.machines import STAY, SYSTEM, Machine, Transition
from zheliban.core.models import TimeStampedModel
from zheliban.core.uploads import private_files

# Who makes the moves of the tables below (``SYSTEM``: the services, on their own).
DESK = "desk"
LEAD = "lead"
ASSISTING = "assisting"
SENDER = "sender"


class Ticket(TimeStampedModel):
    """One consultation, complaint, report, suggestion, request for help or praise (工单)."""

    class Kind(models.TextChoices):
        CONSULTATION = "consultation", _("Consultation")
        COMPLAINT = "complaint", _("Complaint")
        REPORT = "report", _("Report of wrongdoing")
        SUGGESTION = "suggestion", _("Suggestion")
        HELP = "help", _("Request for help")
        PRAISE = "praise", _("Praise")

    class Channel(models.TextChoices):
        WEB = "web", _("Website")
        APP = "app", _("Mobile app")
        HOTLINE = "hotline", _("12345 hotline")
        OPEN311 = "open311", _("Open311")
        API = "api", _("API")

    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        QUEUED = "queued", _("Waiting for a dispatcher")
        DISPATCHED = "dispatched", _("Dispatched, waiting to be signed for")
        HANDLING = "handling", _("Being handled")
        SUSPENDED = "suspended", _("Suspended (挂起) until a set date")
        ANSWERED = "answered", _("Answered, waiting for the callback")
        CALLED_BACK = "called_back", _("Called back, waiting for the rating")
        CLOSED = "closed", _("Closed")
        LINKED = "linked", _("Linked to an earlier ticket")

    OPEN_STATES = (
        State.RECEIVED,
        State.QUEUED,
        State.DISPATCHED,
        State.HANDLING,
        State.SUSPENDED,
        State.ANSWERED,
        State.CALLED_BACK,
    )
    FINAL_STATES = (State.CLOSED, State.LINKED)

    token = models.UUIDField(_("token"), default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    title = models.CharField(_("title"), max_length=100)
    content = models.TextField(_("content"))
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("citizen"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    # The sender's Idempotency-Key, when the API sent one: a retry answers with this ticket.
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=64, blank=True, default="", editable=False
    )
    contact_name = models.CharField(_("contact name"), max_length=60, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    is_anonymous = models.BooleanField(_("anonymous"), default=False)
    is_public = models.BooleanField(
        _("public"),
        default=False,
        help_text=_("The citizen agreed that the content and the reply are shown in public."),
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The hotline operator who entered the call."),
    )
    api_key = models.ForeignKey(
        "complaints.Open311Key",
        verbose_name=_("integrator key"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    service_code = models.CharField(_("Open311 service code"), max_length=40, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    application = models.ForeignKey(
        "workflows.Application",
        verbose_name=_("about application"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    item = models.ForeignKey(
        ServiceItem,
        verbose_name=_("about item"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.RECEIVED
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("lead department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    category = models.CharField(
        _("category"),
        max_length=20,
        blank=True,
        help_text=_(
            "The matter of the department handling it: the dispatch model's guess until the "
            "ticket is dispatched, then the lead department's."
        ),
    )
    category_guessed = models.CharField(
        _("category guessed on arrival"),
        max_length=20,
        blank=True,
        help_text=_("Kept as the dispatch model guessed it, to measure and train the model."),
    )
    dispatch_confidence = models.FloatField(_("dispatch confidence"), null=True, blank=True)
    dispatch_reasons = models.JSONField(_("dispatch reasons"), default=list, blank=True)
    dispatch_model = models.CharField(_("dispatch model version"), max_length=40, blank=True)
    dispatched_automatically = models.BooleanField(_("dispatched automatically"), default=False)
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("linked to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
    )
    node_started_at = models.DateTimeField(_("current step since"), null=True, blank=True)
    node_due_date = models.DateField(_("current step due"), null=True, blank=True)
    node_due_provisional = models.BooleanField(_("due date provisional"), default=False)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    supervised_at = models.DateTimeField(_("supervised (督办) at"), null=True, blank=True)
    supervision_count = models.PositiveSmallIntegerField(_("times supervised"), default=0)
    reply = models.TextField(_("reply"), blank=True)
    article = models.ForeignKey(
        "complaints.Article",
        verbose_name=_("answered from article"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The knowledge-base article the desk answered the consultation with."),
    )
    delay_count = models.PositiveSmallIntegerField(
        _("times extended or suspended"),
        default=0,
        help_text=_("Approved extensions (延期) and suspensions (挂起)."),
    )
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    callback_note = models.TextField(_("callback note"), blank=True)
    called_back_at = models.DateTimeField(_("called back at"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    satisfaction_comment = models.TextField(_("satisfaction comment"), blank=True)
    signed_on_time = models.BooleanField(_("signed for on time"), null=True, blank=True)
    answered_on_time = models.BooleanField(_("answered on time"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    return_count = models.PositiveSmallIntegerField(_("times returned"), default=0)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=0)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True)
                | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="ticket_satisfaction_range",
            ),
            models.UniqueConstraint(
                fields=["citizen", "idempotency_key"],
                condition=Q(citizen__isnull=False) & ~Q(idempotency_key=""),
                name="ticket_idempotency_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["department", "state", "node_due_date"], name="ticket_work_idx"),
            models.Index(fields=["state", "created_at"], name="ticket_state_idx"),
            models.Index(fields=["created_at"], name="ticket_created_idx"),
            models.Index(fields=["closed_at"], name="ticket_closed_idx"),
            models.Index(fields=["region", "created_at"], name="ticket_region_idx"),
            models.Index(fields=["citizen", "created_at"], name="ticket_citizen_idx"),
            models.Index(
                fields=["node_due_date"],
                condition=Q(
                    state__in=[
                        "received",
                        "queued",
                        "dispatched",
                        "handling",
                        "suspended",
                        "answered",
                        "called_back",
                    ]
                ),
                name="ticket_open_due_idx",
            ),
        ]

    @property
    def department_name(self) -> str:
        """The lead department's name ("" before the ticket has one)."""
        return self.department.name if self.department else ""

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def number(self) -> str:
        return f"ZB{self.pk or 0:08d}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def shown_in_public(self) -> bool:
        """Whether its number, title and text may be shown to anyone: only when its sender made
        it public, and never a 举报's. The one rule every public or other-citizen surface reads."""
        return self.is_public and self.kind != self.Kind.REPORT

    @property
    def hides_reporter(self) -> bool:
        """A 举报's reporter is hidden from every handling department."""
        return self.kind == self.Kind.REPORT

    def get_absolute_url(self) -> str:
        return reverse("complaints:ticket", kwargs={"pk": self.pk})


_S = Ticket.State
_WHO = {
    DESK: _("the complaints desk"),
    LEAD: _("the lead department"),
    ASSISTING: _("an assisting department"),
    SENDER: _("the citizen who sent it"),
    SYSTEM: _("the system"),
}
TICKET_MACHINE = Machine(
    name="complaints.ticket",
    title=_("Ticket"),
    model="complaints.Ticket",
    field="state",
    states=Ticket.State,
    who=_WHO,
    transitions=[
        Transition("dispatch", (_S.RECEIVED, _S.QUEUED), _S.DISPATCHED, DESK),
        Transition(
            "dispatch",
            _S.RECEIVED,
            _S.DISPATCHED,
            SYSTEM,
            when=_("on arrival, when the suggestion is sure enough and no duplicate is open"),
        ),
        Transition("queue", _S.RECEIVED, _S.QUEUED, SYSTEM, when=_("on arrival, otherwise")),
        Transition(
            "link",
            (_S.RECEIVED, _S.QUEUED),
            _S.LINKED,
            DESK,
            when=_("to an open ticket of the same region about the same matter (合并)"),
        ),
        Transition(
            "resolve",
            (_S.RECEIVED, _S.QUEUED),
            _S.CLOSED,
            DESK,
            when=_("a consultation the knowledge base answers, with the article as its source"),
        ),
        Transition(
            "link",
            _S.RECEIVED,
            _S.LINKED,
            SENDER,
            when=_("on arrival, to an open ticket the sender chose as the same matter"),
        ),
        Transition("sign", _S.DISPATCHED, _S.HANDLING, LEAD),
        Transition("sign", (_S.DISPATCHED, _S.HANDLING), STAY, ASSISTING),
        Transition("return", _S.DISPATCHED, _S.QUEUED, LEAD),
        Transition("return", (_S.DISPATCHED, _S.HANDLING), STAY, ASSISTING),
        Transition("opinion", (_S.DISPATCHED, _S.HANDLING), STAY, ASSISTING),
        Transition(
            "subdispatch",
            _S.HANDLING,
            STAY,
            LEAD,
            when=_("part of the ticket to a street or township of its own district (下派)"),
        ),
        Transition("delay", _S.HANDLING, STAY, LEAD, when=_("asking for 延期 or 挂起")),
        Transition(
            "decide",
            _S.HANDLING,
            (_S.HANDLING, _S.SUSPENDED),
            DESK,
            when=_("on a request for 延期 or 挂起: suspended when a 挂起 is approved"),
        ),
        Transition("resume", _S.SUSPENDED, _S.HANDLING, LEAD, when=_("before the end date")),
        Transition("resume", _S.SUSPENDED, _S.HANDLING, SYSTEM, when=_("on the end date")),
        Transition("answer", _S.HANDLING, _S.ANSWERED, LEAD),
        Transition("callback", _S.ANSWERED, _S.CALLED_BACK, DESK),
        Transition(
            "rate",
            _S.CALLED_BACK,
            (_S.CLOSED, _S.HANDLING),
            SENDER,
            when=_("closed when satisfied (3 of 5 or more), back to the lead department otherwise"),
        ),
        Transition(
            "rate",
            _S.ANSWERED,
            (_S.CLOSED, _S.HANDLING),
            SENDER,
            when=_("by the one-tap link sent with the answer (智能回访), before any callback"),
        ),
        Transition(
            "rate",
            _S.CALLED_BACK,
            (_S.CLOSED, _S.HANDLING),
            DESK,
            when=_("the rating the citizen gave on the callback, with the same effect"),
        ),
        Transition("close", _S.CALLED_BACK, _S.CLOSED, DESK),
    ],
    code=ComplaintsErrorCode.WRONG_STATE,
    refusal=_("This ticket is “%(state)s”; that cannot be done now."),
)


class TicketDepartment(TimeStampedModel):
    """A department's part in a ticket: the lead, or one assisting in joint handling."""

    class State(models.TextChoices):
        DISPATCHED = "dispatched", _("Waiting to be signed for")
        SIGNED = "signed", _("Signed for, being handled")
        REPLIED = "replied", _("Replied")
        RETURNED = "returned", _("Returned")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="parts")
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    is_lead = models.BooleanField(_("lead"), default=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("sub-dispatched (下派) by"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="subparts",
        help_text=_("The district department's part that sent this part on to a street."),
    )
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.DISPATCHED
    )
    signed_at = models.DateTimeField(_("signed for at"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signed for by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    opinion = models.TextField(_("opinion"), blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    return_reason = models.TextField(_("reason for returning"), blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)

    class Meta:
        verbose_name = _("department's part")
        verbose_name_plural = _("departments' parts")
        ordering = ["ticket_id", "-is_lead", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "department"],
                condition=~Q(state="returned"),
                name="ticket_part_unique_active",
            ),
        ]
        indexes = [
            models.Index(fields=["department", "state"], name="ticket_part_dept_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} · {self.department}"


_P = TicketDepartment.State
PART_MACHINE = Machine(
    name="complaints.ticketdepartment",
    title=_("Department's part in a ticket"),
    model="complaints.TicketDepartment",
    field="state",
    states=TicketDepartment.State,
    who={k: v for k, v in _WHO.items() if k in (LEAD, ASSISTING, SYSTEM)},
    transitions=[
        Transition("sign", _P.DISPATCHED, _P.SIGNED, LEAD),
        Transition("sign", _P.DISPATCHED, _P.SIGNED, ASSISTING),
        Transition("return", _P.DISPATCHED, _P.RETURNED, LEAD),
        Transition("return", _P.DISPATCHED, _P.RETURNED, ASSISTING),
        Transition("opinion", _P.SIGNED, _P.REPLIED, ASSISTING),
        Transition("answer", _P.SIGNED, _P.REPLIED, LEAD),
        Transition(
            "reopen",
            _P.REPLIED,
            _P.SIGNED,
            SYSTEM,
            when=_("the lead's part, when the citizen was not satisfied with the answer"),
        ),
    ],
    code=ComplaintsErrorCode.WRONG_STATE,
    refusal=_("Your department's part is “%(state)s”; that cannot be done now."),
)


class TicketDelay(TimeStampedModel):
    """A lead department's request for 延期 (a later due date) or 挂起 (the clock stopped until
    a date: waiting for a court, a season, a third party), and the desk's decision."""

    class Kind(models.TextChoices):
        EXTENSION = "extension", _("Extension (延期)")
        SUSPENSION = "suspension", _("Suspension (挂起)")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for the desk")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")
        ENDED = "ended", _("Ended")
        WITHDRAWN = "withdrawn", _("Withdrawn: answered before the desk decided")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="delays")
    department = models.ForeignKey(
        Department,
        verbose_name=_("asked by department"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    reason = models.TextField(_("reason"))
    until = models.DateField(_("until"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("asked by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    due_before = models.DateField(_("due before"), null=True, blank=True)
    remaining_workdays = models.PositiveSmallIntegerField(
        _("working days left when suspended"), null=True, blank=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("extension or suspension")
        verbose_name_plural = _("extensions and suspensions")
        ordering = ["ticket_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(state__in=["pending", "approved"], kind="suspension")
                | Q(state="pending"),
                name="ticket_delay_one_pending",
            ),
        ]
        indexes = [models.Index(fields=["state", "until"], name="ticket_delay_state_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id} · {self.get_kind_display()} · {self.until}"


_D = TicketDelay.State
DELAY_MACHINE = Machine(
    name="complaints.ticketdelay",
    title=_("Extension or suspension"),
    model="complaints.TicketDelay",
    field="state",
    states=TicketDelay.State,
    who={k: v for k, v in _WHO.items() if k in (DESK, LEAD, SYSTEM)},
    transitions=[
        Transition("approve", _D.PENDING, _D.APPROVED, DESK),
        Transition("refuse", _D.PENDING, _D.REFUSED, DESK),
        Transition(
            "withdraw",
            _D.PENDING,
            _D.WITHDRAWN,
            SYSTEM,
            when=_("when the lead answers before the desk decided"),
        ),
        Transition(
            "end", _D.APPROVED, _D.ENDED, LEAD, when=_("a suspension, when the lead resumes")
        ),
        Transition("end", _D.APPROVED, _D.ENDED, SYSTEM, when=_("a suspension, on its end date")),
    ],
    code=ComplaintsErrorCode.WRONG_STATE,
    refusal=_("This request is “%(state)s”; that cannot be done now."),
)


class TicketEvent(models.Model):
    """A history row: every transition of a ticket, written in its transaction."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("action"), max_length=20)
    from_state = models.CharField(_("from"), max_length=12, blank=True)
    to_state = models.CharField(_("to"), max_length=12, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    due_date = models.DateField(_("step due"), null=True, blank=True)
    on_time = models.BooleanField(_("step ended on time"), null=True, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("history entry")
        verbose_name_plural = _("history")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="ticket_event_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.from_state}→{self.to_state}"


class TicketAttachment(TimeStampedModel):
    """A file sent with a ticket, checked by content; photos are stored without their metadata."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), storage=private_files, upload_to="tickets/%Y/%m/")
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size in bytes"))
    metadata_removed = models.BooleanField(_("photo metadata removed"), default=False)

    class Meta:
        verbose_name = _("ticket attachment")
        verbose_name_plural = _("ticket attachments")
        ordering = ["ticket_id", "id"]

    def __str__(self) -> str:
        return self.name


class ReporterAccess(models.Model):
    """Each time a desk supervisor looked at the identity of a 举报's reporter."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="reporter_accesses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("reporter identity access")
        verbose_name_plural = _("reporter identity accesses")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} · {self.user_id} · {self.at:%Y-%m-%d %H:%M}"


class DispatchRule(TimeStampedModel):
    """A rule staff add for what the dispatch model gets wrong; the first match wins."""

    keyword = models.CharField(_("keyword"), max_length=100, blank=True)
    regex = models.CharField(_("regular expression"), max_length=200, blank=True)
    kind = models.CharField(_("department kind"), max_length=16, choices=Department.Kind.choices)
    priority = models.PositiveSmallIntegerField(_("priority"), default=100)
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("dispatch rule")
        verbose_name_plural = _("dispatch rules")
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(keyword="") & ~Q(regex="")) | (~Q(keyword="") & Q(regex="")),
                name="dispatch_rule_keyword_or_regex",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.keyword or self.regex} → {self.get_kind_display()}"


class Article(TimeStampedModel):
    """A knowledge-base article: province-wide, or a city's or a department's own (1+N).

    A local article names the province article it overrides on the same question.
    """

    class Scope(models.TextChoices):
        PROVINCE = "province", _("Province-wide")
        CITY = "city", _("City")
        DEPARTMENT = "department", _("Department")

    class Source(models.TextChoices):
        STAFF = "staff", _("Written by staff")
        REPLY = "reply", _("From an official reply")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="articles",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="articles",
    )
    question = models.CharField(_("question"), max_length=200)
    answer = models.TextField(_("answer"))
    keywords = models.CharField(_("keywords"), max_length=200, blank=True)
    overrides = models.ForeignKey(
        "self",
        verbose_name=_("overrides"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="overridden_by",
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    source = models.CharField(
        _("source"), max_length=8, choices=Source.choices, default=Source.STAFF
    )
    source_ref = models.CharField(_("source reference"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("knowledge article")
        verbose_name_plural = _("knowledge articles")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="province", region__isnull=True, department__isnull=True)
                | Q(scope="city", region__isnull=False, department__isnull=True)
                | Q(scope="department", department__isnull=False),
                name="article_scope_matches_owner",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gte=models.F("valid_from")),
                name="article_validity_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.question

    def get_absolute_url(self) -> str:
        return reverse("complaints:article", kwargs={"code": self.code})


class AssistantQuestion(models.Model):
    """Every question put to the assistant, what it answered and whether that helped."""

    question = models.CharField(_("question"), max_length=500)
    normalized = models.CharField(_("normalized question"), max_length=500, db_index=True)
    answer = models.TextField(_("answer"), blank=True)
    confidence = models.FloatField(_("confidence"), default=0)
    answered = models.BooleanField(_("answered"), default=False)
    sources = models.JSONField(_("sources"), default=list, blank=True)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("asked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    asker_session = models.CharField(
        _("asker's session"),
        max_length=64,
        blank=True,
        editable=False,
        help_text=_(
            "A keyed hash of the session that asked without an account: only that session may "
            "say whether the answer helped."
        ),
    )
    helpful = models.BooleanField(_("helpful"), null=True, blank=True)
    flagged = models.BooleanField(_("flagged as wrong"), default=False)
    flag_note = models.CharField(_("flag note"), max_length=300, blank=True)
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("flagged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("ticket opened"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    asked_at = models.DateTimeField(_("asked at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("assistant question")
        verbose_name_plural = _("assistant questions")
        ordering = ["-asked_at", "-id"]

    def __str__(self) -> str:
        return self.question


class PinnedAnswer(TimeStampedModel):
    """A curated answer staff pin to a question; it wins over whatever the search finds."""

    question = models.CharField(_("question"), max_length=200)
    normalized = models.CharField(_("normalized question"), max_length=200, unique=True)
    article = models.ForeignKey(
        Article,
        verbose_name=_("article"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="pins",
    )
    item = models.ForeignKey(
        ServiceItem,
        verbose_name=_("item"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    pinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("pinned by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("pinned answer")
        verbose_name_plural = _("pinned answers")
        ordering = ["question"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(article__isnull=False) & Q(item__isnull=True))
                | (Q(article__isnull=True) & Q(item__isnull=False)),
                name="pinned_answer_one_source",
            ),
        ]

    def __str__(self) -> str:
        return self.question


class Open311Key(TimeStampedModel):
    """An integrator's Open311 api_key; only its SHA-256 is stored."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    prefix = models.CharField(_("key prefix"), max_length=8, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("Open311 key")
        verbose_name_plural = _("Open311 keys")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


from .rollup_models import *  # noqa: E402,F403

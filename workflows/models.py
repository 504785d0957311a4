"""Applications, joint handling across departments, workflow text, notices, e-licences, ratings.

Every status field here is moved by exactly one service in ``workflows.services`` (the state
machine's chokepoint), which checks each move against the machine's table declared below its
model (``APPLICATION_MACHINE``, ``TASK_MACHINE``, ``RECTIFICATION_MACHINE``); admin shows the
fields read-only and draws the tables.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Bundle, ServiceItem, ServiceItemVersion
from departments.models import Department
from workflows.errors import WorkflowsErrorCode
from zheliban.core.machines import STAY, SYSTEM, Machine, Transition
from zheliban.core.models import TimeStampedModel
from zheliban.core.uploads import private_files

# Who makes the moves of the tables below (``SYSTEM``: the services, on their own).
APPLICANT = "applicant"
STAFF = "staff"


class WorkflowDefinition(TimeStampedModel):
    """Workflow text for one bundle or one item, versioned; one version is active at a time.

    A version's text never changes once saved: editing saves the next version. ``departments``
    are the departments the version binds (those with a step in it and those owning an item it
    handles), fixed when it is saved; a shared version becomes active only once each of them has
    approved it (``WorkflowApproval``).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")

    class Source(models.TextChoices):
        STAFF = "staff", _("Written by staff")
        IMPORTED = "imported", _("From imported joint-handling stages")

    bundle = models.ForeignKey(
        Bundle,
        verbose_name=_("bundle"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="workflows",
    )
    item = models.ForeignKey(
        ServiceItem,
        verbose_name=_("item"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="workflows",
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    text = models.TextField(_("workflow text"))
    compiled = models.JSONField(_("compiled definition"), default=dict, editable=False)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.DRAFT
    )
    source = models.CharField(
        _("source"), max_length=8, choices=Source.choices, default=Source.STAFF
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    departments = models.ManyToManyField(
        Department,
        verbose_name=_("departments bound"),
        blank=True,
        related_name="+",
        help_text=_("Departments with a step in this version or owning an item it handles."),
    )
    needs_consent = models.BooleanField(
        _("needs the departments' approval"),
        default=False,
        editable=False,
        help_text=_(
            "A version written by staff for a bundle, or for an item with steps by other "
            "departments, becomes active only once every department it binds has approved it."
        ),
    )

    class Meta:
        verbose_name = _("workflow definition")
        verbose_name_plural = _("workflow definitions")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(bundle__isnull=False, item__isnull=True))
                | (Q(bundle__isnull=True, item__isnull=False)),
                name="workflow_one_subject",
            ),
            models.UniqueConstraint(
                fields=["bundle", "version"],
                condition=Q(bundle__isnull=False),
                name="workflow_bundle_version_unique",
            ),
            models.UniqueConstraint(
                fields=["item", "version"],
                condition=Q(item__isnull=False),
                name="workflow_item_version_unique",
            ),
            models.UniqueConstraint(
                fields=["bundle"],
                condition=Q(status="active", bundle__isnull=False),
                name="workflow_one_active_per_bundle",
            ),
            models.UniqueConstraint(
                fields=["item"],
                condition=Q(status="active", item__isnull=False),
                name="workflow_one_active_per_item",
            ),
        ]

    def __str__(self) -> str:
        subject = self.bundle or self.item
        return f"{subject} v{self.version}"

    @property
    def subject_name(self) -> str:
        return str(self.bundle.name if self.bundle_id else self.item.name)


class WorkflowApproval(models.Model):
    """One department's decision on a version of a shared workflow, by one of its admins.

    A decision is given once per version and department and never edited: a department that
    refused waits for a new version of the text. The rows are the version's consent history.
    """

    class Decision(models.TextChoices):
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")

    definition = models.ForeignKey(
        WorkflowDefinition,
        verbose_name=_("workflow version"),
        on_delete=models.PROTECT,
        related_name="approvals",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    decision = models.CharField(_("decision"), max_length=8, choices=Decision.choices)
    note = models.TextField(_("note"), blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("workflow approval")
        verbose_name_plural = _("workflow approvals")
        ordering = ["definition_id", "at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["definition", "department"], name="workflow_approval_once"
            ),
            models.CheckConstraint(
                condition=Q(decision__in=["approved", "refused"]),
                name="workflow_approval_decision_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.definition} · {self.department} · {self.get_decision_display()}"


class Application(TimeStampedModel):
    """What a citizen files, for one item or one bundle; once submitted it is a case.

    A draft follows the catalog: its form is built from the items as they are now. Submission
    pins what the case was filed under: the published version of each item (``item_versions``)
    and the form exactly as it was asked (``form_spec``, ``workflows.forms.FormSpec.to_dict``).
    From then on its pages, its API and its corrections read the pin, whatever the catalog
    publishes later.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_PROGRESS = "in_progress", _("In progress")
        CORRECTION = "correction", _("Waiting for your correction")
        COMPLETED = "completed", _("Completed")
        PARTIAL = "partial", _("Partly completed")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    FINISHED_STATUSES = (Status.COMPLETED, Status.PARTIAL, Status.REJECTED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(_("reference"), max_length=20, unique=True, null=True, blank=True)
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applicant"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    bundle = models.ForeignKey(
        Bundle,
        verbose_name=_("bundle"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    item = models.ForeignKey(
        ServiceItem,
        verbose_name=_("item"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    definition = models.ForeignKey(
        WorkflowDefinition,
        verbose_name=_("workflow"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    data = models.JSONField(_("answers"), default=dict, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    promised_date = models.DateField(_("promised completion"), null=True, blank=True)
    promised_provisional = models.BooleanField(_("promised date provisional"), default=False)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed at the counter by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The counter clerk who filed the case for the citizen (一窗受理)."),
    )
    received = models.JSONField(
        _("received at the counter"),
        default=list,
        blank=True,
        help_text=_("The materials the counter received on paper, by name (收件清单)."),
    )
    form_spec = models.JSONField(
        _("form as filed"),
        default=dict,
        blank=True,
        editable=False,
        help_text=_("The fields and materials the form asked when it was submitted."),
    )
    item_versions = models.ManyToManyField(
        ServiceItemVersion,
        through="ApplicationItemVersion",
        verbose_name=_("item versions filed under"),
        blank=True,
        related_name="applications",
    )

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["applicant", "idempotency_key"], name="application_idempotency_unique"
            ),
            models.CheckConstraint(
                condition=~(Q(bundle__isnull=False) & Q(item__isnull=False)),
                name="application_one_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["applicant", "-created_at"], name="application_applicant_idx"),
            models.Index(fields=["status", "submitted_at"], name="application_status_idx"),
        ]

    def __str__(self) -> str:
        return self.reference or str(self.pk)

    @property
    def subject_name(self) -> str:
        return str(self.bundle.name if self.bundle_id else self.item.name)

    def get_absolute_url(self) -> str:
        return reverse("workflows:application", kwargs={"pk": self.pk})


_A = Application.Status
APPLICATION_MACHINE = Machine(
    name="workflows.application",
    title=_("Application"),
    model="workflows.Application",
    field="status",
    states=Application.Status,
    who={APPLICANT: _("the applicant"), SYSTEM: _("the system")},
    transitions=[
        Transition("submit", _A.DRAFT, _A.IN_PROGRESS, APPLICANT),
        Transition(
            "status",
            _A.IN_PROGRESS,
            (_A.CORRECTION, _A.COMPLETED, _A.PARTIAL, _A.REJECTED),
            SYSTEM,
            when=_(
                "follows the tasks: a correction asked; all completed; some completed; "
                "none completed"
            ),
        ),
        Transition(
            "status",
            _A.CORRECTION,
            _A.IN_PROGRESS,
            SYSTEM,
            when=_("no task waits for a correction any more"),
        ),
    ],
    code=WorkflowsErrorCode.WRONG_STATE,
    refusal=_("This application is “%(state)s”; that cannot be done now."),
)


class ApplicationItemVersion(models.Model):
    """The published version of one of its items an application was filed under."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="filed_versions"
    )
    version = models.ForeignKey(
        ServiceItemVersion,
        verbose_name=_("item version"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("item version filed under")
        verbose_name_plural = _("item versions filed under")
        ordering = ["application_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "version"], name="application_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} · {self.version}"


class Attachment(TimeStampedModel):
    """A material of a case: uploaded by the citizen (checked by content, kept in private
    storage), fetched from a register at submission (its record as read), issued by a step of the
    case, or the citizen's verified identity."""

    class Source(models.TextChoices):
        UPLOAD = "upload", _("uploaded by the applicant")
        REGISTER = "register", _("fetched from a register")
        STEP = "step", _("issued during handling")
        LICENCE = "licence", _("verified identity or e-licence")

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="attachments"
    )
    material_name = models.CharField(_("material"), max_length=300)
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.UPLOAD
    )
    source_label = models.CharField(_("from"), max_length=200, blank=True)
    source_department = models.ForeignKey(
        "departments.Department",
        verbose_name=_("provided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    record = models.ForeignKey(
        "registers.Record",
        verbose_name=_("register record"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    content = models.JSONField(_("content as fetched"), default=dict, blank=True)
    fetched_at = models.DateTimeField(_("fetched at"), null=True, blank=True)
    file = models.FileField(
        _("file"),
        upload_to="applications/%Y/%m/",
        storage=private_files,
        max_length=300,
        blank=True,
    )
    original_name = models.CharField(_("original name"), max_length=200, blank=True)
    content_type = models.CharField(_("content type"), max_length=60, blank=True)
    size = models.PositiveIntegerField(_("size"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["application_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "material_name"], name="attachment_one_per_material"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.material_name}: {self.original_name or self.source_label}"

    @property
    def is_file(self) -> bool:
        return self.source == self.Source.UPLOAD and bool(self.file)


class Task(TimeStampedModel):
    """One step of a case in one department's worklist."""

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting for earlier steps")
        READY = "ready", _("To be accepted")
        ACCEPTED = "accepted", _("Accepted, being handled")
        CORRECTION = "correction", _("Waiting for the citizen's correction")
        COMPLETED = "completed", _("Completed")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Not carried out")

    OPEN_STATES = (State.READY, State.ACCEPTED, State.CORRECTION)
    FINAL_STATES = (State.COMPLETED, State.REJECTED, State.CANCELLED)
    # The states whose clock runs: a correction (补正) stops it until the citizen resubmits.
    CLOCK_STATES = (State.READY, State.ACCEPTED)

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="tasks")
    step = models.CharField(_("step"), max_length=60)
    label = models.CharField(_("label"), max_length=200, blank=True)
    item = models.ForeignKey(
        ServiceItem, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="tasks"
    )
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.WAITING
    )
    after = models.JSONField(_("after steps"), default=list, blank=True)
    gives = models.JSONField(_("gives"), default=list, blank=True)
    needs = models.JSONField(_("needs"), default=list, blank=True)
    due_workdays = models.PositiveSmallIntegerField(_("due in working days"))
    due_date = models.DateField(_("due date"), null=True, blank=True)
    due_provisional = models.BooleanField(_("due date provisional"), default=False)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("claimed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered to the department at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    outputs = models.JSONField(_("outputs"), default=dict, blank=True)
    inputs = models.JSONField(_("data received"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    correction_fields = models.JSONField(_("fields to correct"), default=list, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=0)
    paused_since = models.DateField(_("clock paused since"), null=True, blank=True)
    paused_workdays = models.PositiveSmallIntegerField(_("working days paused"), default=0)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["application_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "step"], name="task_step_unique"),
        ]
        indexes = [
            models.Index(fields=["department", "state", "due_date"], name="task_worklist_idx"),
            models.Index(
                fields=["due_date"],
                condition=Q(state__in=["ready", "accepted", "correction"]),
                name="task_open_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} · {self.label or self.step}"

    def get_absolute_url(self) -> str:
        return reverse("workflows:task", kwargs={"pk": self.pk})

    @classmethod
    def overdue_filter(cls, today: datetime.date) -> Q:
        """The tasks overdue on ``today``: past their due date with the clock running (a task
        waiting for a correction or in a special procedure is never overdue). ``is_overdue``
        says the same of one task."""
        return Q(state__in=cls.CLOCK_STATES, paused_since__isnull=True, due_date__lt=today)

    def is_overdue(self, today: datetime.date) -> bool:
        return (
            self.state in self.CLOCK_STATES
            and self.paused_since is None
            and self.due_date is not None
            and self.due_date < today
        )

    def is_due_today(self, today: datetime.date) -> bool:
        return (
            self.state in self.CLOCK_STATES and self.paused_since is None and self.due_date == today
        )


_T = Task.State
TASK_MACHINE = Machine(
    name="workflows.task",
    title=_("Task"),
    model="workflows.Task",
    field="state",
    states=Task.State,
    who={
        STAFF: _("staff of the task's department, holding its claim"),
        APPLICANT: _("the applicant"),
        SYSTEM: _("the system"),
    },
    transitions=[
        Transition("ready", _T.WAITING, _T.READY, SYSTEM, when=_("every earlier step is done")),
        Transition(
            "cancel", _T.WAITING, _T.CANCELLED, SYSTEM, when=_("an earlier step was rejected")
        ),
        Transition("claim", Task.OPEN_STATES, STAY, STAFF),
        Transition("release", Task.OPEN_STATES, STAY, STAFF),
        Transition(
            "hand_over", Task.OPEN_STATES, STAY, STAFF, when=_("to a colleague of the department")
        ),
        Transition(
            "send_back",
            (_T.READY, _T.ACCEPTED),
            _T.WAITING,
            STAFF,
            when=_("back to the earlier steps, with a reason"),
        ),
        Transition(
            "reopen", _T.COMPLETED, _T.ACCEPTED, SYSTEM, when=_("a later step sent the case back")
        ),
        Transition("accept", _T.READY, _T.ACCEPTED, STAFF),
        Transition("correction", (_T.READY, _T.ACCEPTED), _T.CORRECTION, STAFF),
        Transition("complete", _T.ACCEPTED, _T.COMPLETED, STAFF),
        Transition("reject", (_T.READY, _T.ACCEPTED), _T.REJECTED, STAFF),
        Transition(
            "resubmit",
            _T.CORRECTION,
            (_T.READY, _T.ACCEPTED),
            APPLICANT,
            when=_("back to the state the correction was asked from"),
        ),
    ],
    code=WorkflowsErrorCode.WRONG_STATE,
    refusal=_("This task is “%(state)s”; it cannot be moved that way."),
)


class TaskEvent(models.Model):
    """A history row: every transition of a task or an application, written in its transaction."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    task = models.ForeignKey(
        Task, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=20)
    from_state = models.CharField(_("from"), max_length=12, blank=True)
    to_state = models.CharField(_("to"), max_length=12, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("history entry")
        verbose_name_plural = _("history")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["application", "at"], name="event_application_idx"),
            # the board asks of every finished step whether it asked for a correction
            models.Index(
                fields=["task"], condition=Q(action="correction"), name="event_correction_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.from_state}→{self.to_state}"


class Extension(models.Model):
    """A request for more time (延期) on a task: asked by the clerk holding it, decided by a
    supervisor of its department. Only an approval moves the task's due date."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Awaiting a supervisor's decision")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")

    MAX_WORKDAYS = 60

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="extensions")
    workdays = models.PositiveSmallIntegerField(_("working days asked"))
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("asked by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("asked at"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED
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
    decision_reason = models.TextField(_("reason for the decision"), blank=True)
    due_before = models.DateField(_("due date before"), null=True, blank=True)
    due_after = models.DateField(_("due date after"), null=True, blank=True)

    class Meta:
        verbose_name = _("extension (延期)")
        verbose_name_plural = _("extensions (延期)")
        ordering = ["requested_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(workdays__gte=1) & Q(workdays__lte=60), name="extension_workdays_range"
            ),
            # One undecided request per task at a time.
            models.UniqueConstraint(
                fields=["task"], condition=Q(status="requested"), name="extension_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} · +{self.workdays} · {self.status}"


class SpecialProcedure(models.Model):
    """A special procedure (特别程序) the law keeps out of a task's time limit: testing,
    inspection, appraisal, expert review, public notice or a hearing. While one runs the task's
    clock is paused; when it ends the due date moves by the working days it took."""

    class Kind(models.TextChoices):
        TESTING = "testing", _("Testing (检测)")
        INSPECTION = "inspection", _("Inspection (检验)")
        APPRAISAL = "appraisal", _("Appraisal (鉴定)")
        EXPERT_REVIEW = "expert_review", _("Expert review (专家评审)")
        PUBLIC_NOTICE = "public_notice", _("Public notice (公示)")
        HEARING = "hearing", _("Hearing (听证)")

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="procedures")
    kind = models.CharField(_("procedure"), max_length=16, choices=Kind.choices)
    reason = models.TextField(_("reason"))
    expected_end = models.DateField(_("expected end"))
    started_on = models.DateField(_("started on"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ended by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    workdays = models.PositiveSmallIntegerField(_("working days paused"), default=0)

    class Meta:
        verbose_name = _("special procedure")
        verbose_name_plural = _("special procedures")
        ordering = ["started_on", "id"]
        constraints = [
            # One running procedure per task at a time.
            models.UniqueConstraint(
                fields=["task"], condition=Q(ended_on__isnull=True), name="procedure_one_running"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} · {self.get_kind_display()}"


class Supervision(models.Model):
    """A 督办: a supervision notice about an overdue task, addressed to the supervisors of the
    task's department (or, where it has none, of the next level up), who must answer in writing
    by ``reply_due``. One left unanswered is escalated once to the next level."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting a reply")
        ANSWERED = "answered", _("Answered")
        ESCALATED = "escalated", _("Escalated unanswered")

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="supervisions")
    department = models.ForeignKey(
        Department,
        verbose_name=_("addressed to"),
        on_delete=models.PROTECT,
        related_name="supervisions",
    )
    level = models.PositiveSmallIntegerField(_("level"), default=0)
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("recipients"), related_name="supervisions"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty when the deadline sweep issued it."),
    )
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    reason = models.TextField(_("reason"))
    reply_due = models.DateField(_("reply due"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    reply = models.TextField(_("reply"), blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("replied by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    escalated_to = models.OneToOneField(
        "self",
        verbose_name=_("escalated to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="escalated_from",
    )

    class Meta:
        verbose_name = _("supervision (督办)")
        verbose_name_plural = _("supervisions (督办)")
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(fields=["status", "reply_due"], name="supervision_status_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task} · {self.department} · {self.get_status_display()}"

    def get_absolute_url(self) -> str:
        return reverse("workflows:supervision", kwargs={"pk": self.pk})


class StaffSearch(models.Model):
    """One search of cases by a member of staff (by reference, name, ID number or mobile), logged
    for audit: who searched, for what kind of key, the key masked, and how many rows it found."""

    class Kind(models.TextChoices):
        REFERENCE = "reference", _("Case reference")
        NAME = "name", _("Applicant's name")
        ID_NUMBER = "id_number", _("ID number")
        MOBILE = "mobile", _("Mobile number")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("searched by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    where = models.CharField(_("where"), max_length=20)
    kind = models.CharField(_("searched by"), max_length=10, choices=Kind.choices)
    query_masked = models.CharField(_("query (masked)"), max_length=64)
    found = models.PositiveIntegerField(_("rows found"), default=0)

    class Meta:
        verbose_name = _("staff search")
        verbose_name_plural = _("staff searches")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_kind_display()} · {self.query_masked}"


class ELicence(TimeStampedModel):
    """A certificate or record a department issued to a citizen, held for reuse (电子证照)."""

    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("holder"),
        on_delete=models.CASCADE,
        related_name="elicences",
    )
    field = models.CharField(_("field"), max_length=60)
    name = models.CharField(_("name"), max_length=100)
    value = models.CharField(_("value"), max_length=200)
    issuer = models.ForeignKey(
        Department, verbose_name=_("issuer"), on_delete=models.PROTECT, related_name="+"
    )
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="elicences"
    )

    class Meta:
        verbose_name = _("e-licence")
        verbose_name_plural = _("e-licences")
        ordering = ["holder_id", "field", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["holder", "field", "issuer", "application"], name="elicence_unique"
            ),
        ]
        indexes = [models.Index(fields=["holder", "field"], name="elicence_holder_field_idx")]

    def __str__(self) -> str:
        return self.name


class DataAccess(models.Model):
    """One read of a citizen's data by a department through a grant (or refused for want of one)."""

    class Outcome(models.TextChoices):
        VALUE = "value", _("Value read")
        VERIFIED_YES = "yes", _("Verified: yes")
        VERIFIED_NO = "no", _("Verified: no")
        REFUSED = "refused", _("Refused: no valid grant")

    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_reads"
    )
    field = models.CharField(_("field"), max_length=60)
    owner = models.ForeignKey(
        Department, verbose_name=_("held by"), on_delete=models.PROTECT, related_name="+"
    )
    consumer = models.ForeignKey(
        Department, verbose_name=_("read by"), on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    grant = models.ForeignKey(
        "departments.DataGrant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    purpose = models.CharField(_("purpose"), max_length=200)
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="data_reads"
    )
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("data access")
        verbose_name_plural = _("data access log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["citizen", "-at"], name="dataaccess_citizen_idx")]

    def __str__(self) -> str:
        return f"{self.consumer} · {self.field} · {self.outcome}"


class Rating(TimeStampedModel):
    """好差评: the citizen's rating of a finished case, once, with one follow-up review."""

    class Score(models.IntegerChoices):
        VERY_SATISFIED = 5, _("Very satisfied")
        SATISFIED = 4, _("Satisfied")
        BASIC = 3, _("Basically satisfied")
        DISSATISFIED = 2, _("Dissatisfied")
        VERY_DISSATISFIED = 1, _("Very dissatisfied")

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="rating")
    score = models.PositiveSmallIntegerField(_("score"), choices=Score.choices)
    comment = models.TextField(_("comment"), blank=True)
    follow_up = models.TextField(_("follow-up review"), blank=True)
    follow_up_at = models.DateTimeField(_("follow-up at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1, score__lte=5), name="rating_score_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} · {self.score}"

    @property
    def is_bad(self) -> bool:
        return self.score <= 2


class Rectification(TimeStampedModel):
    """差评整改: a bad rating's follow-through by the department that handled the case."""

    class State(models.TextChoices):
        OPEN = "open", _("Waiting for the callback")
        CALLED_BACK = "called_back", _("Called back, being fixed")
        FIXED = "fixed", _("Fixed, citizen told")

    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="rectifications")
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.OPEN)
    callback_due = models.DateField(_("callback due"))
    fix_due = models.DateField(_("fix due"))
    callback_note = models.TextField(_("callback note"), blank=True)
    outcome = models.TextField(_("outcome told to the citizen"), blank=True)
    called_back_at = models.DateTimeField(_("called back at"), null=True, blank=True)
    fixed_at = models.DateTimeField(_("fixed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rectification")
        verbose_name_plural = _("rectifications")
        ordering = ["callback_due", "id"]
        constraints = [
            models.UniqueConstraint(fields=["rating", "department"], name="rectification_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.rating} · {self.department}"


_R = Rectification.State
RECTIFICATION_MACHINE = Machine(
    name="workflows.rectification",
    title=_("Rectification"),
    model="workflows.Rectification",
    field="state",
    states=Rectification.State,
    who={STAFF: _("staff of the rectifying department")},
    transitions=[
        Transition("callback", _R.OPEN, _R.CALLED_BACK, STAFF),
        Transition("fix", _R.CALLED_BACK, _R.FIXED, STAFF),
    ],
    code=WorkflowsErrorCode.WRONG_STATE,
    refusal=_("This rectification is “%(state)s”; that step is not possible now."),
)


__all__ = [
    "APPLICANT",
    "APPLICATION_MACHINE",
    "RECTIFICATION_MACHINE",
    "STAFF",
    "TASK_MACHINE",
    "Application",
    "ApplicationItemVersion",
    "Attachment",
    "DataAccess",
    "ELicence",
    "Extension",
    "Rating",
    "Rectification",
    "Task",
    "TaskEvent",
    "WorkflowApproval",
    "WorkflowDefinition",
]

"""Shapes of the applications and worklist API: an input serializer per write, read-only output."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from catalog.models import Bundle, ServiceItem
from workflows.errors import WorkflowsErrorCode
from zheliban.core.api import SLUG_PATTERN, CodeNameSerializer, FlagField, TextField

from ..forms import MAX_TEXTAREA
from ..models import Application, Extension, Rating, Task
from ..selectors import (
    SEARCH_MAX_LENGTH,
    MaterialShown,
    TaskShown,
    applicant_masked,
    application_form_spec,
    parts_of,
    search_key_of,
)

MAX_REASON = 2000
MAX_OUTPUT = 200
# A version a client sends back may not pass what every database's integer holds.
MAX_VERSION = 2**31 - 1


def person_name(user) -> str | None:
    """How a member of staff is named to colleagues: real name, else user name."""
    if user is None:
        return None
    return user.real_name or user.get_username()


# ---------------------------------------------------------------- inputs


class ApplicationCreateSerializer(serializers.Serializer):
    bundle = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Bundle.objects.filter(is_active=True),
        required=False,
        help_text="Slug of the published bundle (一件事) applied for. Give this or `item`.",
    )
    item = serializers.SlugRelatedField(
        slug_field="code",
        queryset=ServiceItem.objects.filter(is_active=True),
        required=False,
        help_text="Implementation code of the published item applied for. Give this or `bundle`.",
    )
    answers = serializers.DictField(
        child=TextField(allow_blank=True, allow_null=True, max_length=MAX_TEXTAREA),
        help_text="The form's answers by field name, as text (dates as YYYY-MM-DD). Fields left "
        "out are filled from your profile and e-licences where they are known (name, ID "
        "number, phone ...); fields a step of the workflow produces are never asked.",
    )

    def validate(self, attrs):
        if ("bundle" in attrs) == ("item" in attrs):
            raise serializers.ValidationError(
                _("Apply for one bundle or one item: give exactly one of “bundle” and “item”."),
                code=WorkflowsErrorCode.ONE_SUBJECT,
            )
        return attrs


class RatingCreateSerializer(serializers.Serializer):
    score = serializers.ChoiceField(
        choices=Rating.Score.choices,
        help_text="5 very satisfied … 1 very dissatisfied (the national 好差评 scale).",
    )
    comment = TextField(max_length=MAX_REASON, allow_blank=True, default="")


class TaskActionSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=0,
        max_value=MAX_VERSION,
        required=False,
        help_text="The task's `version` as you last read it. When the task has moved since, the "
        "action is refused with 409 (`stale`) and nothing changes.",
    )


class TaskCorrectionSerializer(TaskActionSerializer):
    reason = TextField(
        max_length=MAX_REASON, help_text="What must be corrected, as the citizen will read it."
    )
    fields = serializers.ListField(
        child=TextField(max_length=60),
        min_length=1,
        max_length=100,
        help_text="What the citizen must fix: names of answers (`answers[].name`) and keys of "
        "materials (`materials[].key`) of the task.",
    )


class ExtensionRequestSerializer(serializers.Serializer):
    workdays = serializers.IntegerField(
        min_value=1,
        max_value=Extension.MAX_WORKDAYS,
        help_text="How many more working days the step needs.",
    )
    reason = TextField(max_length=MAX_REASON, help_text="Why, as the supervisor will read it.")


class ExtensionDecisionSerializer(serializers.Serializer):
    extension = serializers.IntegerField(
        min_value=1, max_value=MAX_VERSION, help_text="The request's `id` (`extensions[].id`)."
    )
    decision = serializers.ChoiceField(
        choices=[("approve", "approve"), ("refuse", "refuse")],
        help_text="`approve` moves the due date by the working days asked; `refuse` changes "
        "nothing.",
    )
    reason = TextField(max_length=MAX_REASON, help_text="Why, as the citizen will read it.")


class TaskCompleteSerializer(TaskActionSerializer):
    outputs = serializers.DictField(
        child=TextField(max_length=MAX_OUTPUT, allow_blank=True),
        default=dict,
        help_text="What this step gives, by name (every name in `gives` is required). The "
        "outputs are passed to later steps that need them, through data-sharing grants.",
    )


class TaskRejectSerializer(TaskActionSerializer):
    reason = TextField(max_length=MAX_REASON, help_text="Why the department rejects its part.")


class WorklistQuerySerializer(serializers.Serializer):
    """Query of ``GET /api/v1/tasks/``; empty values are the same as absent ones."""

    department = serializers.RegexField(
        SLUG_PATTERN,
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="Only this department's tasks (its code); one of your departments.",
    )
    state = serializers.ChoiceField(
        choices=Task.State.choices,
        required=False,
        allow_blank=True,
        help_text="Only tasks in this state. Absent: the open ones (ready, accepted, "
        "correction). Waiting tasks are in no worklist.",
    )
    overdue = FlagField(
        help_text="1: only open tasks past their due date. 0 or absent: no restriction. A "
        "supervisor of a government service centre also gets the overdue tasks of every "
        "department in the regions the centre oversees (read only: their moves answer 404).",
    )
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=SEARCH_MAX_LENGTH,
        help_text="Find a case by an exact key: its reference (ZB…), the applicant's 18-character "
        "ID number (check digit verified), 11-digit mobile number or full name. Without `state`, "
        "finished tasks are searched too. Each search is logged, the key masked. A number that "
        "is none of these answers 400.",
    )

    def validate_q(self, value: str):
        try:
            return search_key_of(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages[0], code=exc.code) from None


# ---------------------------------------------------------------- the citizen's view


class RatingSerializer(serializers.Serializer):
    score = serializers.ChoiceField(choices=Rating.Score.choices)
    score_display = TextField(source="get_score_display")
    comment = TextField()
    follow_up = TextField()
    created_at = serializers.DateTimeField()


class CitizenTaskSerializer(serializers.Serializer):
    step = TextField()
    label = TextField()
    state = serializers.ChoiceField(choices=Task.State.choices)
    state_display = TextField(source="get_state_display")
    due_date = serializers.DateField(allow_null=True)
    due_provisional = serializers.BooleanField(
        help_text="True when the due date counts only weekends: next year's statutory "
        "holidays are not published yet."
    )
    reason = TextField(
        help_text="Why the department asks for a correction or rejected its part; empty otherwise."
    )
    correction_fields = serializers.ListField(
        child=TextField(), help_text="The answers and materials to correct."
    )


class DepartmentPartSerializer(serializers.Serializer):
    department = CodeNameSerializer()
    delivery = TextField(
        help_text="Where the department's part stands: not sent yet, being sent, received, "
        "picked up."
    )
    tasks = CitizenTaskSerializer(many=True)


class TimelineEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    action = TextField(
        help_text="submit, ready, claim, release, accept, correction, resubmit, complete, "
        "reject, cancel, escalate, status, rate."
    )
    from_state = TextField()
    to_state = TextField()
    department = CodeNameSerializer(
        source="task.department", allow_null=True, help_text="Null for the case as a whole."
    )
    step = TextField(source="task.label", allow_null=True)
    note = TextField()


class ResultSerializer(serializers.Serializer):
    field = TextField()
    name = TextField()
    value = TextField()


class ApplicationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    reference = TextField(
        allow_null=True, help_text="The case's reference, given when it is submitted."
    )
    bundle = TextField(source="bundle.slug", allow_null=True)
    item = TextField(source="item.code", allow_null=True)
    subject_name = TextField()
    status = serializers.ChoiceField(choices=Application.Status.choices)
    status_display = TextField(source="get_status_display")
    submitted_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    promised_date = serializers.DateField(allow_null=True)
    promised_provisional = serializers.BooleanField()
    url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Application) -> str:
        return reverse(
            "api:application-detail", kwargs={"pk": obj.pk}, request=self.context.get("request")
        )


class FiledItemSerializer(serializers.Serializer):
    code = TextField(help_text="The item's implementation code.")
    name = TextField(help_text="Its name when the application was filed.")
    version = serializers.IntegerField(
        help_text="The version of its guide published then; 0 when none had been published."
    )


class FormFieldSerializer(serializers.Serializer):
    name = TextField()
    label = TextField()
    type = TextField(help_text="text, textarea, date, number, choice, id_number, uscc or phone.")
    required = serializers.BooleanField()
    choices = serializers.ListField(child=TextField(), help_text="The choices of a `choice`.")


class FormMaterialSerializer(serializers.Serializer):
    key = TextField(help_text="What a correction names to ask for the material again.")
    name = TextField()
    required = serializers.BooleanField()
    uploaded = serializers.BooleanField()


class FiledFormSerializer(serializers.Serializer):
    items = FiledItemSerializer(many=True, help_text="The items the form was built from.")
    fields = FormFieldSerializer(many=True, help_text="The questions asked.")
    materials = FormMaterialSerializer(
        many=True,
        help_text="The materials asked of the applicant (those a department holds are not).",
    )


class ApplicationDetailSerializer(ApplicationSerializer):
    answers = serializers.DictField(source="data", child=TextField())
    form = serializers.SerializerMethodField(
        help_text="The form as the application was filed with it, whatever the catalog has "
        "published since: its corrections are checked against it. Null for a draft, whose form "
        "follows the catalog until it is submitted."
    )
    parts = serializers.SerializerMethodField()
    results = ResultSerializer(
        source="elicences",
        many=True,
        help_text="Certificates the case produced, held for you as e-licences.",
    )
    timeline = TimelineEventSerializer(source="events", many=True)
    rating = serializers.SerializerMethodField()

    @extend_schema_field(FiledFormSerializer(allow_null=True))
    def get_form(self, obj: Application) -> dict | None:
        if obj.status == Application.Status.DRAFT:
            return None
        spec = application_form_spec(obj)
        uploaded = {a.material_name for a in obj.attachments.all()}
        return FiledFormSerializer(
            {
                "items": spec.items,
                "fields": spec.fields,
                "materials": [
                    {
                        "key": m.key,
                        "name": m.name,
                        "required": m.required,
                        "uploaded": m.name in uploaded,
                    }
                    for m in spec.asked_materials
                ],
            }
        ).data

    @extend_schema_field(DepartmentPartSerializer(many=True))
    def get_parts(self, obj: Application) -> list:
        return DepartmentPartSerializer(parts_of(obj), many=True).data

    @extend_schema_field(RatingSerializer(allow_null=True))
    def get_rating(self, obj: Application):
        try:
            rating = obj.rating
        except Rating.DoesNotExist:
            return None
        return RatingSerializer(rating).data


# ---------------------------------------------------------------- the worklist


class TaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = TextField(source="application.reference")
    step = TextField()
    label = TextField()
    department = CodeNameSerializer()
    item = CodeNameSerializer()
    state = serializers.ChoiceField(choices=Task.State.choices)
    state_display = TextField(source="get_state_display")
    due_date = serializers.DateField(allow_null=True)
    due_provisional = serializers.BooleanField()
    overdue = serializers.SerializerMethodField()
    due_today = serializers.SerializerMethodField()
    applicant = serializers.SerializerMethodField(
        help_text="Who applied, masked: the name's first character and the identity number's "
        "first and last four."
    )
    claimed_by = serializers.SerializerMethodField()
    version = serializers.IntegerField(
        help_text="Grows with every move; send it back with an action to refuse stale moves."
    )
    url = serializers.SerializerMethodField()

    def get_overdue(self, obj: Task) -> bool:
        return obj.is_overdue(timezone.localdate())

    def get_due_today(self, obj: Task) -> bool:
        return obj.is_due_today(timezone.localdate())

    def get_applicant(self, obj: Task) -> str:
        return applicant_masked(obj.application.applicant)

    @extend_schema_field(TextField(allow_null=True))
    def get_claimed_by(self, obj: Task) -> str | None:
        return person_name(obj.claimed_by)

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Task) -> str:
        return reverse(
            "api:task-detail", kwargs={"pk": obj.pk}, request=self.context.get("request")
        )


class TaskApplicationSerializer(serializers.Serializer):
    reference = TextField()
    subject_name = TextField()
    status = serializers.ChoiceField(choices=Application.Status.choices)
    submitted_at = serializers.DateTimeField(allow_null=True)
    promised_date = serializers.DateField(allow_null=True)
    promised_provisional = serializers.BooleanField()


class TaskAnswerSerializer(serializers.Serializer):
    name = TextField()
    label = TextField()
    type = TextField()
    value = TextField(
        help_text="ID numbers and phones are masked unless you hold the claim on the task."
    )


class TaskMaterialContentSerializer(serializers.Serializer):
    name = TextField(help_text="The register's name of the field.")
    label = TextField()
    value = TextField(
        help_text="ID numbers and phones are masked unless you hold the claim on the task."
    )


class TaskMaterialSerializer(serializers.Serializer):
    key = TextField(help_text="What a correction names to ask for the material again.")
    name = TextField()
    required = serializers.BooleanField()
    asked = serializers.BooleanField(
        help_text="Asked of the applicant (so a correction may ask for it again); false when a "
        "department holds it."
    )
    uploaded = serializers.BooleanField(help_text="The applicant uploaded a file for it.")
    source = TextField(
        help_text="Where it comes from: `upload`, uploaded by the applicant; `register`, fetched "
        "from a department's register when the case was filed; `step`, issued by a department "
        "while handling the case; `licence`, the applicant's verified identity or e-licence."
    )
    source_display = TextField()
    source_label = TextField(help_text="Where it comes from, in words; empty for an upload.")
    source_department = TextField(
        allow_null=True, help_text="The department holding or issuing it; null for an upload."
    )
    fetched_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When it was fetched; null for an upload and for what is issued during "
        "handling (`source` step).",
    )
    issued_during_handling = serializers.BooleanField()
    download = serializers.URLField(
        allow_null=True, help_text="The uploaded file; null when there is no file."
    )
    content = TaskMaterialContentSerializer(
        many=True,
        help_text="The register record fetched for it, less the answers your department's steps "
        "do not use.",
    )


class TaskHistoryEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    action = TextField()
    from_state = TextField()
    to_state = TextField()
    actor = serializers.SerializerMethodField()
    note = TextField()

    @extend_schema_field(TextField(allow_null=True))
    def get_actor(self, obj) -> str | None:
        return person_name(obj.actor)


class ExtensionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    workdays = serializers.IntegerField()
    reason = TextField()
    status = serializers.ChoiceField(choices=Extension.Status.choices)
    requested_by = serializers.SerializerMethodField()
    requested_at = serializers.DateTimeField()
    decided_by = serializers.SerializerMethodField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = TextField()
    due_before = serializers.DateField(allow_null=True)
    due_after = serializers.DateField(allow_null=True)

    @extend_schema_field(TextField(allow_null=True))
    def get_requested_by(self, obj: Extension) -> str | None:
        return person_name(obj.requested_by)

    @extend_schema_field(TextField(allow_null=True))
    def get_decided_by(self, obj: Extension) -> str | None:
        return person_name(obj.decided_by)


class TaskDetailSerializer(TaskSerializer):
    """A task with the case it belongs to, as ``selectors.task_shown`` shows it to the viewer
    (``context["shown"]``)."""

    application = TaskApplicationSerializer()
    claimed_at = serializers.DateTimeField(allow_null=True)
    gives = serializers.ListField(child=TextField())
    needs = serializers.ListField(child=TextField())
    answers = serializers.SerializerMethodField(
        help_text="The answers the items of your department's steps in the case ask."
    )
    materials = serializers.SerializerMethodField(
        help_text="The materials the items of your department's steps in the case ask, with "
        "where each came from."
    )
    inputs = serializers.SerializerMethodField(
        help_text="What earlier steps gave that this step needs, passed through grants (ID "
        "numbers masked unless you hold the claim).",
    )
    outputs = serializers.DictField(child=TextField())
    reason = TextField()
    correction_fields = serializers.ListField(child=TextField())
    history = TaskHistoryEventSerializer(source="events", many=True)
    paused_since = serializers.DateField(
        allow_null=True, help_text="Set while the task waits for a correction: its clock stops."
    )
    paused_workdays = serializers.IntegerField(
        help_text="Working days the clock stood still for corrections; the due date moved by them."
    )
    extensions = serializers.SerializerMethodField(help_text="Requests for more time (延期).")

    @extend_schema_field(ExtensionSerializer(many=True))
    def get_extensions(self, obj: Task) -> list:
        rows = obj.extensions.select_related("requested_by", "decided_by")
        return ExtensionSerializer(rows, many=True).data

    @extend_schema_field(TaskAnswerSerializer(many=True))
    def get_answers(self, obj: Task) -> list:
        shown: TaskShown = self.context["shown"]
        rows = [
            {"name": a.field.name, "label": a.field.label, "type": a.field.type, "value": a.value}
            for a in shown.answers
        ]
        return TaskAnswerSerializer(rows, many=True).data

    @extend_schema_field(serializers.DictField(child=TextField()))
    def get_inputs(self, obj: Task) -> dict:
        shown: TaskShown = self.context["shown"]
        return {i.name: i.value for i in shown.inputs}

    @extend_schema_field(TaskMaterialSerializer(many=True))
    def get_materials(self, obj: Task) -> list:
        shown: TaskShown = self.context["shown"]
        rows = [
            {
                "key": m.key,
                "name": m.name,
                "required": m.spec.required,
                "asked": m.asked,
                "uploaded": m.is_file,
                "source": m.source,
                "source_display": m.source_display,
                "source_label": m.source_label,
                "source_department": m.department or None,
                "fetched_at": m.fetched_at,
                "issued_during_handling": m.issued_during_handling,
                "download": self._download(m),
                "content": [c._asdict() for c in m.content],
            }
            for m in shown.materials
        ]
        return TaskMaterialSerializer(rows, many=True).data

    def _download(self, material: MaterialShown) -> str | None:
        if material.attachment is None or not material.is_file:
            return None
        return reverse(
            "workflows:attachment",
            args=[material.attachment.pk],
            request=self.context.get("request"),
        )


# ---------------------------------------------------------------- errors


class ApplicationErrorDetailSerializer(serializers.Serializer):
    code = TextField()
    message = TextField()
    fields = serializers.DictField(
        child=serializers.ListField(child=TextField()),
        required=False,
        help_text="Messages by field; an answer's field is `answers.<name>`.",
    )
    materials = serializers.ListField(
        child=TextField(),
        required=False,
        help_text="With `materials_required`: the materials to upload, which only the web "
        "form takes.",
    )


class ApplicationErrorSerializer(serializers.Serializer):
    error = ApplicationErrorDetailSerializer()


class TaskConflictDetailSerializer(serializers.Serializer):
    code = TextField(help_text="claimed, not_holder, not_claimed, stale, wrong_state, ...")
    message = TextField()
    holder = TextField(
        required=False,
        help_text="Who holds the claim on the task (or, for `stale`, who moved it last).",
    )


class TaskConflictSerializer(serializers.Serializer):
    error = TaskConflictDetailSerializer()


class CorrectionCreateSerializer(serializers.Serializer):
    task = serializers.IntegerField(
        min_value=1, help_text="The task that asked for the correction."
    )
    answers = serializers.DictField(
        child=TextField(max_length=2000, allow_blank=False),
        allow_empty=False,
        help_text="New answers to the fields the department asked to correct, by name.",
    )

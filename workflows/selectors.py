"""Reads of the workflows app that permissions or performance care about.

Each function runs a fixed number of queries whatever the number of cases or tasks; the page tests
count them at two sizes. Staff reads go through ``departments.scoping.scope_queryset``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import Case, Count, Exists, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Bundle, BundleItem, Material, ServiceItem
from departments.models import Department, Membership, Region
from departments.scoping import member_department_ids, scope_queryset
from departments.selectors import staff_roles
from zheliban.core.identity import mask_middle

from .forms import FieldSpec, FormSpec, build_form_spec
from .models import (
    Application,
    Attachment,
    DataAccess,
    ELicence,
    Rating,
    Task,
    TaskEvent,
    WorkflowApproval,
    WorkflowDefinition,
)

WORK_ROLES = (Membership.Role.CLERK, Membership.Role.SUPERVISOR)


def promise_workdays(definition: WorkflowDefinition) -> int:
    """The promised time of what ``definition`` handles, in working days: the one figure the
    guide, the form, the confirmation, the case and the API show. A bundle promises its
    workflow's critical path (recorded on the bundle when the workflow is activated); an item
    promises its own published limit, which its workflow may not exceed (checked when it is
    activated), or the critical path when it publishes none."""
    item = definition.item
    if item is not None and item.promised_days is not None:
        return item.promised_days
    return definition.compiled["critical_path_workdays"]


def subject_items(
    *, bundle: Bundle | None = None, item: ServiceItem | None = None
) -> list[ServiceItem]:
    """The items an application asks for, with materials and issuers (2–3 queries)."""
    materials = Prefetch(
        "materials",
        queryset=Material.objects.select_related("issuer")
        .only(*MATERIAL_FIELDS)
        .order_by("sort_order", "id"),
    )
    items = ServiceItem.objects.only(*FORM_ITEM_FIELDS).prefetch_related(materials)
    if bundle is not None:
        codes = list(bundle.parts.order_by("sort_order", "id").values_list("item_id", flat=True))
        by_pk = {i.pk: i for i in items.filter(pk__in=codes)}
        return [by_pk[pk] for pk in codes if pk in by_pk]
    if item is None:
        raise TypeError("The items of a bundle or of one item: give either.")
    return list(items.filter(pk=item.pk))


# What a generated form reads of an item and its materials (not the guide's long texts).
FORM_ITEM_FIELDS = ("id", "code", "name", "form_fields", "department_id", "trips", "version")
MATERIAL_FIELDS = (
    "id", "item_id", "name", "source", "required", "sort_order", "issuer__id", "issuer__name",
)  # fmt: skip


def licences_for(user) -> dict[str, str]:
    """The newest value of each e-licence field the citizen holds."""
    out: dict[str, str] = {}
    for field, value in (
        ELicence.objects.filter(holder=user)
        .order_by("field", "-created_at")
        .values_list("field", "value")
    ):
        out.setdefault(field, value)
    return out


# A real-name citizen's identity card is held by public security and checked by sharing.
IDENTITY_DOCUMENT = "居民身份证"


def licence_names_for(user) -> list[str]:
    """Names of documents some department already holds for the citizen."""
    # ``order_by()`` drops the model's ordering, whose columns would otherwise make each licence
    # row distinct and list a name once per licence.
    names = list(
        ELicence.objects.filter(holder=user).order_by().values_list("name", flat=True).distinct()
    )
    if getattr(user, "id_number", None):
        names.append(IDENTITY_DOCUMENT)
    return names


def form_spec_for(
    *, user, bundle: Bundle | None = None, item: ServiceItem | None = None, produced=()
) -> FormSpec:
    return build_form_spec(
        subject_items(bundle=bundle, item=item),
        produced=produced,
        held_materials=licence_names_for(user) if user.is_authenticated else (),
    )


def produced_fields(definition) -> set[str]:
    if definition is None:
        return set()
    return {g for s in definition.compiled.get("steps", []) for g in s.get("gives", [])}


def application_form_spec(app: Application) -> FormSpec:
    """The form an application was filed with, read from its pin (no query).

    A draft has no pin: it follows the catalog until it is submitted, so its form is the one the
    items ask now, as the apply page builds it. Every submitted application is pinned; one that
    somehow is not gets the same fallback rather than no form.
    """
    if app.form_spec:
        return FormSpec.from_dict(app.form_spec)
    return form_spec_for(
        user=app.applicant,
        bundle=app.bundle,
        item=app.item,
        produced=produced_fields(app.definition),
    )


def application_list_for_citizen(*, user) -> QuerySet[Application]:
    """The citizen's applications, newest first, without the forms they were filed with."""
    return (
        Application.objects.filter(applicant=user)
        .select_related("bundle", "item")
        .defer("form_spec")
        .order_by("-created_at")
    )


def application_get_for_citizen(*, user, pk) -> Application:
    """The citizen's own case with tasks, departments, events, rating (fixed queries)."""
    try:
        return (
            Application.objects.filter(applicant=user)
            .select_related("bundle", "item", "definition", "rating")
            .prefetch_related(
                Prefetch(
                    "tasks",
                    queryset=Task.objects.select_related("department", "item").order_by("id"),
                ),
                Prefetch(
                    "events",
                    queryset=TaskEvent.objects.select_related("task__department").order_by(
                        "at", "id"
                    ),
                ),
                Prefetch("attachments", queryset=Attachment.objects.order_by("id")),
                "elicences",
            )
            .get(pk=pk)
        )
    except (Application.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def worklist(
    *, user, department: Department | None = None, state: str = "", overdue: bool = False
) -> QuerySet[Task]:
    """Tasks of the departments the user works in, open ones first by due date.

    The queryset reads the task table alone, so sorting and paging touch no other table;
    ``worklist_rows`` then loads one page's rows with what a row shows (one query).
    """
    qs = scope_queryset(Task.objects.all(), user, roles=WORK_ROLES).exclude(
        state=Task.State.WAITING
    )
    if department is not None:
        qs = qs.filter(department=department)
    qs = qs.filter(state=state) if state else qs.filter(state__in=Task.OPEN_STATES)
    if overdue:
        qs = qs.filter(due_date__lt=timezone.localdate(), state__in=Task.OPEN_STATES)
    return qs.order_by("due_date", "id")


def worklist_rows(ids) -> list[Task]:
    """One page of a worklist, in the order of ``ids``."""
    ids = list(ids)
    rows = {
        task.pk: task
        for task in Task.objects.filter(pk__in=ids)
        .select_related("department", "item", "claimed_by", "application")
        .only(*WORKLIST_FIELDS)
    }
    return [rows[pk] for pk in ids if pk in rows]


# What a worklist row shows: 50 rows of whole items, cases and users would be mostly unread text.
WORKLIST_FIELDS = (
    "id", "step", "label", "state", "due_date", "due_provisional", "version", "claimed_at",
    "department__id", "department__code", "department__name",
    "item__id", "item__code", "item__name",
    "claimed_by__id", "claimed_by__username", "claimed_by__real_name",
    "application__id", "application__reference",
)  # fmt: skip


def task_get_for_staff(*, user, pk) -> Task:
    qs = scope_queryset(Task.objects.all(), user, roles=WORK_ROLES)
    try:
        return (
            qs.select_related(
                "department",
                "item",
                "claimed_by",
                "application__applicant",
                "application__bundle",
                "application__item",
            )
            .prefetch_related(
                Prefetch(
                    "events",
                    queryset=TaskEvent.objects.select_related("actor").order_by("at", "id"),
                ),
                Prefetch("application__attachments", queryset=Attachment.objects.order_by("id")),
            )
            .get(pk=pk)
        )
    except (Task.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def may_work_tasks(*, user) -> bool:
    """Whether the user may use the worklist and the task pages: a superuser, or a clerk or
    supervisor of some department."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or not staff_roles(user=user).isdisjoint(WORK_ROLES)


def staff_departments(*, user) -> QuerySet[Department]:
    if user.is_superuser:
        return Department.objects.filter(tasks__isnull=False).distinct().order_by("code")
    return (
        Department.objects.filter(memberships__user=user, memberships__role__in=WORK_ROLES)
        .distinct()
        .order_by("code")
    )


def data_uses_for(*, user) -> QuerySet[DataAccess]:
    return (
        DataAccess.objects.filter(citizen=user)
        .select_related("owner", "consumer", "application")
        .order_by("-at", "-id")
    )


def attachment_for(*, user, pk) -> Attachment:
    """An attachment its applicant, or staff of a department handling the case, may open."""
    staff_apps = scope_queryset(Task.objects.all(), user, roles=WORK_ROLES).values("application_id")
    qs = Attachment.objects.filter(
        Q(application__applicant_id=user.pk) | Q(application_id__in=staff_apps)
    )
    try:
        return qs.get(pk=pk)
    except (Attachment.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


@dataclass
class DepartmentPart:
    """One department's share of a case, as the citizen sees it."""

    department: Department
    tasks: list[Task]

    @property
    def delivery(self) -> str:
        states = [t.state for t in self.tasks]
        if all(s == Task.State.WAITING for s in states):
            return _("Not sent yet: waiting for earlier steps")
        if any(t.state != Task.State.WAITING and t.delivered_at is None for t in self.tasks):
            return _("Being sent to the department")
        if any(t.acknowledged_at is None and t.state != Task.State.WAITING for t in self.tasks):
            return _("Received by the department, not yet picked up")
        return _("Received and picked up by the department")


def parts_of(app: Application) -> list[DepartmentPart]:
    parts: dict[int, DepartmentPart] = {}
    for task in app.tasks.all():
        part = parts.setdefault(task.department_id, DepartmentPart(task.department, []))
        part.tasks.append(task)
    return list(parts.values())


# ---------------------------------------------------------------- who may change a workflow
#
# One rule, asked by the admin (queryset, change permission, the add form, the review page) and by
# the services that save, activate and approve versions:
# - an item's workflow is edited by an administrator of the item's department;
# - a bundle's workflow by an administrator of a department the bundle binds (one owning an item
#   of it, or with a step in its active version), or of the government service centre (政务服务
#   中心) of the bundle's region or a region above it, which coordinates 一件事;
# - superusers edit any workflow; nobody else does;
# - a step of an item's workflow runs in the item's own department (or one its published joint
#   stages name); only a bundle's workflow routes steps elsewhere, and then every department it
#   binds approves the version before it can become active.

ADMIN = Membership.Role.ADMIN


def admin_department_ids(user) -> set[int]:
    """The departments the user administers (one query)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    return set(
        Membership.objects.filter(user_id=user.pk, role=ADMIN).values_list(
            "department_id", flat=True
        )
    )


def bundle_department_ids(bundle: Bundle) -> set[int]:
    """Departments a bundle binds now: owners of its items, and those with a step in its
    active workflow (two queries)."""
    owners = set(
        BundleItem.objects.filter(bundle=bundle).values_list("item__department_id", flat=True)
    )
    stepping = WorkflowDefinition.departments.through.objects.filter(
        workflowdefinition__bundle=bundle,
        workflowdefinition__status=WorkflowDefinition.Status.ACTIVE,
    ).values_list("department_id", flat=True)
    return owners | set(stepping)


def _coordinating_region_ids(region_id: int) -> set[int]:
    row = Region.objects.filter(pk=region_id).values_list("pk", "parent_id", "parent__parent_id")
    return {pk for pk in (row.first() or ()) if pk is not None}


def workflow_may_edit(
    *, user, bundle: Bundle | None = None, item: ServiceItem | None = None
) -> bool:
    """Whether ``user`` may save new versions of (and activate) this bundle's or item's workflow."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    mine = admin_department_ids(user)
    if not mine:
        return False
    if item is not None:
        return item.department_id in mine
    if bundle is None:
        return False
    if mine & bundle_department_ids(bundle):
        return True
    return Department.objects.filter(
        pk__in=mine,
        kind=Department.Kind.SERVICE_CENTRE,
        region_id__in=_coordinating_region_ids(bundle.region_id),
    ).exists()


def workflow_routing_problems(*, steps: list[dict], item: ServiceItem | None) -> list[str]:
    """Steps of an item's workflow routed to a department other than the item's own (or one of
    its published joint stages). A bundle's workflow may route anywhere: consent covers it."""
    if item is None:
        return []
    own = item.department.code
    allowed = {own, *item.joint_stages.values_list("department__code", flat=True)}
    return [
        _(
            "Step “%(step)s” is routed to %(dept)s, but item %(item)s is handled by %(own)s: an "
            "item's workflow runs in its own department; only a bundle's workflow may route a step "
            "to another department, with that department's approval."
        )
        % {"step": step["name"], "dept": step["department"], "item": item.code, "own": own}
        for step in steps
        if step["department"] not in allowed
    ]


def definitions_visible_to(*, user, queryset: QuerySet[WorkflowDefinition]):
    """The versions a member of staff sees: those of their departments' items, of bundles
    holding one of their items, and any binding one of their departments."""
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_superuser:
        return queryset
    mine = member_department_ids(user)
    bound = WorkflowDefinition.departments.through.objects.filter(department_id__in=mine)
    bundles = BundleItem.objects.filter(item__department__in=mine).values("bundle_id")
    return queryset.filter(
        Q(pk__in=bound.values("workflowdefinition_id"))
        | Q(item__department__in=mine)
        | Q(bundle__in=bundles)
    )


def _undecided_for(department_ids) -> Exists:
    """A bound department among ``department_ids`` has not decided on the outer version yet."""
    decided = WorkflowApproval.objects.filter(
        definition_id=OuterRef("workflowdefinition_id"), department_id=OuterRef("department_id")
    )
    return Exists(
        WorkflowDefinition.departments.through.objects.filter(
            workflowdefinition_id=OuterRef("pk"), department_id__in=department_ids
        ).filter(~Exists(decided))
    )


def definitions_awaiting_decision(*, user, queryset: QuerySet[WorkflowDefinition] | None = None):
    """Draft versions waiting for the decision of a department the user administers."""
    qs = queryset if queryset is not None else WorkflowDefinition.objects.all()
    mine = admin_department_ids(user)
    if not mine:
        return qs.none()
    return qs.filter(status=WorkflowDefinition.Status.DRAFT, needs_consent=True).filter(
        _undecided_for(mine)
    )


@dataclass
class Consent:
    """Where a version stands with the departments it binds."""

    required: list[Department]
    approvals: list[WorkflowApproval]

    @property
    def approved(self) -> list[WorkflowApproval]:
        return [a for a in self.approvals if a.decision == WorkflowApproval.Decision.APPROVED]

    @property
    def refused(self) -> list[WorkflowApproval]:
        return [a for a in self.approvals if a.decision == WorkflowApproval.Decision.REFUSED]

    @property
    def waiting(self) -> list[Department]:
        decided = {a.department_id for a in self.approvals}
        return [d for d in self.required if d.pk not in decided]

    @property
    def complete(self) -> bool:
        return len(self.approved) == len(self.required) and not self.refused


def consent_of(definition: WorkflowDefinition) -> Consent:
    """The departments a version needs and their decisions; uses prefetched ``departments`` and
    ``approvals`` (see ``definitions_with_consent``) when present."""
    if not definition.needs_consent:
        return Consent(required=[], approvals=[])
    prefetched = getattr(definition, "_prefetched_objects_cache", {})
    departments = (
        definition.departments.all()
        if "departments" in prefetched
        else definition.departments.order_by("code")
    )
    approvals = (
        definition.approvals.all()
        if "approvals" in prefetched
        else definition.approvals.select_related("department", "approver")
    )
    return Consent(
        required=sorted(departments, key=lambda d: d.code),
        approvals=sorted(approvals, key=lambda a: (a.at, a.pk)),
    )


def definitions_with_consent(queryset: QuerySet[WorkflowDefinition]):
    """What ``consent_of`` reads, prefetched (two queries for any number of versions)."""
    return queryset.prefetch_related(
        Prefetch("departments", queryset=Department.objects.order_by("code")),
        Prefetch(
            "approvals",
            queryset=WorkflowApproval.objects.select_related("department", "approver").order_by(
                "at", "id"
            ),
        ),
    )


def definition_history(definition: WorkflowDefinition) -> list[WorkflowDefinition]:
    """Every version of the same bundle's or item's workflow, newest first, each with its author
    and its consent (three queries)."""
    subject = (
        {"bundle_id": definition.bundle_id}
        if definition.bundle_id
        else {"item_id": definition.item_id}
    )
    return list(
        definitions_with_consent(
            WorkflowDefinition.objects.filter(**subject)
            .select_related("author")
            .order_by("-version")
        )
    )


@dataclass
class StepChange:
    """One step a department takes part in, in the active version (before) and this one (after)."""

    name: str
    before: dict | None
    after: dict | None

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed" if self.before != self.after else "unchanged"

    @property
    def label(self) -> str:
        return (self.after or self.before or {}).get("label") or self.name

    @property
    def department(self) -> str:
        return (self.after or self.before or {}).get("department", "")

    @staticmethod
    def _listed(step: dict | None, key: str) -> str:
        return ", ".join(step.get(key) or []) or "—" if step is not None else "—"

    @property
    def needs_before(self) -> str:
        return self._listed(self.before, "needs")

    @property
    def needs_after(self) -> str:
        return self._listed(self.after, "needs")

    @property
    def gives_before(self) -> str:
        return self._listed(self.before, "gives")

    @property
    def gives_after(self) -> str:
        return self._listed(self.after, "gives")


def department_step_changes(
    *, definition: WorkflowDefinition, department: Department
) -> list[StepChange]:
    """The steps of this version a department takes part in (run by it, or handling one of its
    items) against the same steps of the active version: what its admin approves (two queries)."""
    subject = (
        {"bundle_id": definition.bundle_id}
        if definition.bundle_id
        else {"item_id": definition.item_id}
    )
    active = (
        WorkflowDefinition.objects.filter(**subject, status=WorkflowDefinition.Status.ACTIVE)
        .exclude(pk=definition.pk)
        .only("compiled")
        .first()
    )
    before_steps = active.compiled.get("steps", []) if active else []
    after_steps = definition.compiled.get("steps", [])
    codes = {s["item"] for s in [*before_steps, *after_steps]}
    own_items = set(
        ServiceItem.objects.filter(code__in=codes, department=department).values_list(
            "code", flat=True
        )
    )

    def concerned(steps):
        return {
            s["name"]: s
            for s in steps
            if s["department"] == department.code or s["item"] in own_items
        }

    before, after = concerned(before_steps), concerned(after_steps)
    names = [*after, *(n for n in before if n not in after)]
    return [StepChange(name=n, before=before.get(n), after=after.get(n)) for n in names]


# ---------------------------------------------------------------- the citizen's overview (/my/)


@dataclass(frozen=True)
class ApplicationTally:
    total: int
    correction: int


def application_tally_for_citizen(*, user) -> ApplicationTally:
    """How many applications the citizen has, and how many wait for their correction (one
    query)."""
    return ApplicationTally(
        **Application.objects.filter(applicant=user).aggregate(
            total=Count("pk"),
            correction=Count("pk", filter=Q(status=Application.Status.CORRECTION)),
        )
    )


def applications_awaiting_first(*, user) -> QuerySet[Application]:
    """The citizen's applications, newest first, those waiting for the citizen's correction
    before the rest; with the rating, for ``awaited_of_citizen``."""
    awaiting = Case(When(status=Application.Status.CORRECTION, then=Value(0)), default=Value(1))
    return (
        application_list_for_citizen(user=user)
        .select_related("rating")
        .order_by(awaiting, "-created_at", "pk")
    )


def awaited_of_citizen(app: Application) -> str:
    """What a case waits for from its applicant: ``correct`` the fields a department asked for,
    ``submit`` a draft, ``rate`` a finished case not yet rated, or nothing (``""``)."""
    if app.status == Application.Status.CORRECTION:
        return "correct"
    if app.status == Application.Status.DRAFT:
        return "submit"
    if app.status in Application.FINISHED_STATUSES:
        try:
            app.rating  # noqa: B018
        except Rating.DoesNotExist:
            return "rate"
    return ""


def licence_list_for_citizen(*, user) -> QuerySet[ELicence]:
    """The e-licences departments issued to the citizen, newest first."""
    return (
        ELicence.objects.filter(holder=user)
        .select_related("issuer")
        .only(
            "id", "name", "value", "created_at", "application_id", "holder_id",
            "issuer__id", "issuer__name",
        )
        .order_by("-created_at", "-id")
    )  # fmt: skip


# ---------------------------------------------------------------- a task's answers


class TaskAnswer(NamedTuple):
    field: FieldSpec
    value: str


MASKED_TYPES = frozenset({"id_number"})


def task_answers_shown(*, task: Task, viewer, spec: FormSpec | None = None) -> list[TaskAnswer]:
    """The application's answers as a task's page and its API show them to ``viewer``: an ID
    number in full only to whoever holds the claim on the task, masked (``330**********1234``)
    to everyone else; a missing answer as "". ``spec`` is the application's form
    (``application_form_spec``), read here unless given."""
    spec = spec or application_form_spec(task.application)
    holder = task.claimed_by_id is not None and task.claimed_by_id == getattr(viewer, "pk", None)
    data = task.application.data
    answers = []
    for field in spec.fields:
        raw = data.get(field.name)
        value = "" if raw is None else str(raw)
        if field.type in MASKED_TYPES and not holder:
            value = mask_middle(value, keep_start=3, keep_end=4)
        answers.append(TaskAnswer(field, value))
    return answers

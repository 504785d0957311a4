"""Reads of the workflows app that permissions or performance care about.

Each function runs a fixed number of queries whatever the number of cases or tasks; the page tests
count them at two sizes. Staff reads go through ``departments.scoping.scope_queryset``.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db.models import Case, Count, Exists, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Bundle, BundleItem, Material, ServiceItem
from departments.models import Department, Membership, Region
from departments.scoping import member_department_ids, overseen_department_ids, scope_queryset
from departments.selectors import staff_roles
from registers.schema import REGISTERS
from zheliban.core.identity import mask_middle, mask_name, mask_phone, validate_id_number

from . import held
from .forms import (
    PARENT_FIELD_NAMES,
    ROLE_FIELD,
    FieldSpec,
    FormSpec,
    Held,
    MaterialSpec,
    build_form_spec,
)
from .models import (
    Application,
    Attachment,
    DataAccess,
    ELicence,
    Rating,
    StaffSearch,
    Supervision,
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


def application_prepare(
    *,
    user,
    workflow: WorkflowDefinition,
    bundle: Bundle | None = None,
    item: ServiceItem | None = None,
) -> held.Prepared:
    """The form a citizen fills for this bundle or item, with what the registers answer and
    hold marked on it: the one the apply page shows, the API describes and submission files."""
    items = subject_items(bundle=bundle, item=item)
    spec = build_form_spec(
        items,
        produced=produced_fields(workflow),
        held_materials=licence_names_for(user) if user.is_authenticated else (),
    )
    steps = {
        d.pk
        for d in Department.objects.filter(
            code__in={s["department"] for s in workflow.compiled["steps"]}
        )
    }
    if bundle is not None:
        region_code = Region.objects.filter(pk=bundle.region_id).values_list("code", flat=True)
    else:
        assert item is not None
        region_code = Region.objects.filter(departments__pk=item.department_id).values_list(
            "code", flat=True
        )
    return held.prepare(
        spec,
        user=user,
        items=items,
        step_departments=steps,
        compiled=workflow.compiled,
        region_code=(region_code.first() or "") if workflow.compiled.get("eligible") else "",
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
                    # What staff alone read (an unmasked view, a hand-over) is not a step of it.
                    queryset=TaskEvent.objects.exclude(action__in=STAFF_ONLY_ACTIONS)
                    .select_related("task__department")
                    .order_by("at", "id"),
                ),
                Prefetch("attachments", queryset=Attachment.objects.order_by("id")),
                "elicences",
            )
            .get(pk=pk)
        )
    except (Application.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


# ---------------------------------------------------------------- the worklist
#
# One list, read by the worklist page, the staff home, the "next task" after a move, the batch
# moves and the API: the tasks of the departments the user works in (``scope_queryset``), and,
# in the overdue view of a supervisor of a government service centre, the overdue tasks of every
# department the centre oversees (``overseen_department_ids``; read-only: the moves ask
# ``departments.selectors.can_work_on``). A search narrows it to one case or one applicant by an
# exact, indexed lookup.

# The orders a worklist can be read in: the columns compared, then the id. Ascending, and
# PostgreSQL puts an empty date after every date, which ``_after`` follows.
WORKLIST_SORTS = {
    "due": ("due_date",),
    "received": ("ready_at",),
    "step": ("step", "due_date"),
}
REFERENCE_RE = re.compile(r"^ZB[0-9A-Z]{6,18}$")
MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
SEARCH_MAX_LENGTH = 50
SEARCH_NOT_A_KEY = "search_not_a_key"
SEARCH_TOO_LONG = "search_too_long"
SEARCHED: dict[str, str] = {
    StaffSearch.Kind.REFERENCE: "application__reference",
    StaffSearch.Kind.ID_NUMBER: "application__applicant__id_number",
    StaffSearch.Kind.MOBILE: "application__applicant__phone",
    StaffSearch.Kind.NAME: "application__applicant__real_name",
}


class SearchKey(NamedTuple):
    """What a staff search looks for: a ``StaffSearch.Kind`` and the value compared exactly."""

    kind: str
    value: str

    @property
    def masked(self) -> str:
        """The value as the search log keeps it: an ID number, a mobile or a name masked."""
        if self.kind == StaffSearch.Kind.ID_NUMBER:
            return mask_middle(self.value)
        if self.kind == StaffSearch.Kind.MOBILE:
            return mask_phone(self.value)
        if self.kind == StaffSearch.Kind.NAME:
            return mask_name(self.value)
        return self.value

    def q(self, prefix: str = "") -> Q:
        """The exact lookup, on tasks (``prefix=""``) or on applications (``prefix`` drops the
        leading ``application__``)."""
        field = SEARCHED[self.kind]
        if prefix == "application":
            field = field.removeprefix("application__") or "pk"
        return Q(**{field: self.value})


def search_key_of(query: str) -> SearchKey | None:
    """What a staff search box's text is: a case reference (ZB…), an 18-character ID number
    whose check digit is right, an 11-digit mobile number, or else an applicant's name (None for
    an empty box). Raises ``ValidationError`` saying why a number is none of them."""
    text = " ".join((query or "").split())
    if not text:
        return None
    if len(text) > SEARCH_MAX_LENGTH:
        raise ValidationError(
            _("Search with at most %(n)d characters.") % {"n": SEARCH_MAX_LENGTH},
            code=SEARCH_TOO_LONG,
        )
    compact = text.replace(" ", "").upper()
    if REFERENCE_RE.match(compact):
        return SearchKey(StaffSearch.Kind.REFERENCE, compact)
    if len(compact) == 18 and compact[:17].isdigit():
        validate_id_number(compact)
        return SearchKey(StaffSearch.Kind.ID_NUMBER, compact)
    if compact.isdigit() or (compact[:-1].isdigit() and compact.endswith("X")):
        if MOBILE_RE.match(compact):
            return SearchKey(StaffSearch.Kind.MOBILE, compact)
        raise ValidationError(
            _(
                "This is not a valid search: a number must be an 18-character ID number or an "
                "11-digit mobile number, and a case reference starts with ZB."
            ),
            code=SEARCH_NOT_A_KEY,
        )
    return SearchKey(StaffSearch.Kind.NAME, text)


def worklist_scope(*, user, oversight: bool = False) -> QuerySet[Task]:
    """The tasks a member of staff works on; with ``oversight``, also every task of the
    departments they oversee (callers narrow those to the overdue ones)."""
    qs = scope_queryset(Task.objects.all(), user, roles=WORK_ROLES)
    if oversight and user is not None and user.is_authenticated and not user.is_superuser:
        qs = qs | Task.objects.filter(department__in=overseen_department_ids(user))
    return qs


def worklist(
    *,
    user,
    department: Department | None = None,
    state: str = "",
    overdue: bool = False,
    search: SearchKey | None = None,
    sort: str = "due",
    department_code: str = "",
) -> QuerySet[Task]:
    """Tasks of the departments the user works in, open ones first by due date.

    ``overdue``: only the overdue ones, with those of the departments a service-centre
    supervisor oversees. ``search``: one exact key; without ``state`` it looks through finished
    tasks too. The queryset reads the task table (and, searching, the case's and the
    applicant's row), so sorting and paging touch nothing else; ``worklist_rows`` then loads one
    page's rows with what a row shows (one query)."""
    qs = worklist_scope(user=user, oversight=overdue).exclude(state=Task.State.WAITING)
    if department is not None:
        qs = qs.filter(department=department)
    if department_code:
        qs = qs.filter(department__code=department_code)
    if state:
        qs = qs.filter(state=state)
    elif search is None:
        qs = qs.filter(state__in=Task.OPEN_STATES)
    if overdue:
        qs = qs.filter(Task.overdue_filter(timezone.localdate()))
    if search is not None:
        qs = qs.filter(search.q())
    return qs.order_by(*WORKLIST_SORTS.get(sort, WORKLIST_SORTS["due"]), "id")


def worklist_rows(ids) -> list[Task]:
    """One page of a worklist, in the order of ``ids``."""
    ids = list(ids)
    rows = {
        task.pk: task
        for task in Task.objects.filter(pk__in=ids)
        .select_related(*WORKLIST_RELATED)
        .only(*WORKLIST_FIELDS)
    }
    return [rows[pk] for pk in ids if pk in rows]


WORKLIST_RELATED = ("department", "item", "claimed_by", "application__applicant")
# What a worklist row shows: 50 rows of whole items, cases and users would be mostly unread text.
WORKLIST_FIELDS = (
    "id", "step", "label", "state", "due_date", "due_provisional", "version", "claimed_at",
    "paused_since", "ready_at",
    "department__id", "department__code", "department__name",
    "item__id", "item__code", "item__name",
    "claimed_by__id", "claimed_by__username", "claimed_by__real_name",
    "application__id", "application__reference",
    "application__applicant__id", "application__applicant__username",
    "application__applicant__real_name", "application__applicant__kind",
    "application__applicant__id_number", "application__applicant__credit_code",
)  # fmt: skip


def applicant_masked(applicant) -> str:
    """Who applied, as a worklist row shows it: the name and the identity number masked
    (张** · 3301**********1234)."""
    if applicant is None:
        return ""
    name = mask_name(applicant.real_name or applicant.username)
    identity = applicant.identity_masked
    return f"{name} · {identity}" if identity else name


def _after(values: dict, fields: tuple[str, ...]) -> Q:
    """The rows that come after ``values`` in the order ``fields`` then id (an empty value
    sorts last)."""
    later: list[Q] = []
    same = Q()
    for field in fields:
        value = values[field]
        if value is not None:
            later.append(same & (Q(**{f"{field}__gt": value}) | Q(**{f"{field}__isnull": True})))
            same &= Q(**{field: value})
        else:
            same &= Q(**{f"{field}__isnull": True})
    later.append(same & Q(pk__gt=values["id"]))
    return functools.reduce(operator.or_, later)


def worklist_next(
    *,
    user,
    current: Task,
    department_code: str = "",
    state: str = "",
    overdue: bool = False,
    search: SearchKey | None = None,
    sort: str = "due",
) -> int | None:
    """The id of the task after ``current`` in the same list that the user can work on now (its
    clock running, nobody else holding it), or None (one query)."""
    fields = WORKLIST_SORTS.get(sort, WORKLIST_SORTS["due"])
    values = {"id": current.pk, **{f: getattr(current, f) for f in fields}}
    qs = worklist(
        user=user,
        department_code=department_code,
        state=state,
        overdue=overdue,
        search=search,
        sort=sort,
    )
    if not user.is_superuser:
        qs = qs.filter(department__in=member_department_ids(user, roles=WORK_ROLES))
    return (
        qs.filter(state__in=Task.CLOCK_STATES)
        .filter(Q(claimed_by__isnull=True) | Q(claimed_by=user))
        .exclude(pk=current.pk)
        .filter(_after(values, fields))
        .values_list("pk", flat=True)
        .first()
    )


def worklist_refs(*, user, ids) -> dict[int, Any]:
    """Of the tasks ``ids``, those the user works on: each one's reference, state and holder
    (one query). What a batch move reads to name its rows; another department's are absent."""
    return {
        row["pk"]: row
        for row in scope_queryset(Task.objects.filter(pk__in=ids), user, roles=WORK_ROLES).values(
            "pk", "state", "claimed_by_id", "version", "application__reference"
        )
    }


@dataclass
class StaffHome:
    """What needs a member of staff now: the staff home's sections."""

    claimed: list[Task]
    ready: list[Task]
    due_today: list[Task]
    overdue: list[Task]
    counts: dict[str, int]
    supervisions_open: list[Supervision]
    supervisions_issued: list[Supervision]


STAFF_HOME_ROWS = 5


def staff_home(*, user) -> StaffHome:
    """The staff home's tasks and 督办 (seven queries, whatever the number of tasks): the tasks
    the user holds; their departments' unclaimed ready tasks; those due today and overdue
    (overdue with those of the departments they oversee); the 督办 awaiting their reply and those
    they issued."""
    today = timezone.localdate()
    scope = worklist_scope(user=user, oversight=True).exclude(state=Task.State.WAITING)
    own = (
        Q()
        if user.is_superuser
        else Q(department__in=member_department_ids(user, roles=WORK_ROLES))
    )
    conditions = {
        "claimed": own & Q(claimed_by=user, state__in=Task.OPEN_STATES),
        "ready": own & Q(state=Task.State.READY, claimed_by__isnull=True),
        "due_today": own
        & Q(state__in=Task.CLOCK_STATES, paused_since__isnull=True, due_date=today),
        "overdue": Task.overdue_filter(today),
    }
    counts = scope.aggregate(
        **{name: Count("pk", filter=condition) for name, condition in conditions.items()}
    )

    def first(name: str, *order) -> list[Task]:
        return list(
            scope.filter(conditions[name])
            .select_related(*WORKLIST_RELATED)
            .only(*WORKLIST_FIELDS)
            .order_by(*order, "id")[:STAFF_HOME_ROWS]
        )

    return StaffHome(
        claimed=first("claimed", "due_date"),
        ready=first("ready", "due_date"),
        due_today=first("due_today"),
        overdue=first("overdue", "due_date"),
        counts=counts,
        supervisions_open=list(supervisions_open_for(user=user)[:10]),
        supervisions_issued=list(supervisions_issued_by(user=user)[:10]),
    )


def task_get_overseen(*, user, pk) -> Task:
    """An overdue task of a department the user oversees, for reading only (404 otherwise)."""
    if user is None or not user.is_authenticated or user.is_superuser:
        raise Http404
    qs = Task.objects.filter(
        Task.overdue_filter(timezone.localdate()),
        department__in=overseen_department_ids(user),
    )
    try:
        return (
            qs.select_related("department", "item", "claimed_by", "application")
            .prefetch_related(
                Prefetch(
                    "events",
                    queryset=TaskEvent.objects.select_related("actor").order_by("at", "id"),
                )
            )
            .get(pk=pk)
        )
    except (Task.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


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
#
# Need to know: a department's task shows only what the steps that department handles in the
# case use: the answers their items ask, the data its step received, and the materials their
# items ask, with the register records fetched for them less any answer the department does not
# use. ID numbers and phones show in full only to whoever holds the claim on the task; each time
# they do, the reveal is logged once per claim. ``task_shown`` is the one function the task page,
# its API and its corrections read.


class TaskAnswer(NamedTuple):
    field: FieldSpec
    value: str


class TaskInput(NamedTuple):
    """A value an earlier step gave that this step needs."""

    name: str
    value: str


class ContentShown(NamedTuple):
    """One field of a register record fetched for a material."""

    name: str
    label: str
    value: str


MASKED_TYPES = frozenset({"id_number", "phone"})
REVEAL = "reveal"
# History rows only staff read: an unmasked view, a hand-over between colleagues, the internal
# reply to a 督办.
STAFF_ONLY_ACTIONS = (REVEAL, "hand_over", "supervise_reply")


def _masked(value: str, kind: str) -> str:
    if kind == "phone":
        return mask_phone(value)
    return mask_middle(value, keep_start=3, keep_end=4)


def _kind_of(name: str) -> str:
    """The masking kind of a value known only by its name (a step's output, a record's field)."""
    if name.endswith("id_number"):
        return "id_number"
    if name.endswith("phone"):
        return "phone"
    return "text"


# The attachment a material would have, from how the filed form says it is held.
HELD_SOURCES = {
    "": Attachment.Source.UPLOAD,
    Held.DEPARTMENT: Attachment.Source.REGISTER,
    Held.STEP: Attachment.Source.STEP,
    Held.LICENCE: Attachment.Source.LICENCE,
}


@dataclass(frozen=True)
class TaskNeed:
    """What the steps one department handles in a case use: names of their items, of the
    answers those items ask and of the materials they ask."""

    items: frozenset[str]
    fields: frozenset[str]
    materials: frozenset[str]


def task_need(*, task: Task, spec: FormSpec) -> TaskNeed:
    """What ``task``'s department uses of its case ``spec`` (the form as filed): the answers and
    materials the filed form says the items of the department's steps ask (one query)."""
    return _need_of(
        spec,
        Task.objects.filter(application_id=task.application_id, department_id=task.department_id),
    )


def _need_of(spec: FormSpec, tasks: QuerySet[Task]) -> TaskNeed:
    """What ``tasks`` (steps of the case filed as ``spec``) use (one query)."""
    pinned = {source.id: source.name for source in spec.items}
    items: set[str] = set()
    asked: set[str] = set()
    for item_id, name, form_fields in tasks.values_list(
        "item_id", "item__name", "item__form_fields"
    ):
        items.add(pinned.get(item_id, name))
        asked.update(str(raw.get("name", "")) for raw in form_fields or [])
    fields = {
        f.name
        for f in spec.fields
        # a form pinned without the items asking each field: the catalog's items say
        if (items.intersection(f.items) if f.items else f.name in asked)
    }
    if ROLE_FIELD in {f.name for f in spec.fields} and fields & PARENT_FIELD_NAMES:
        fields.add(ROLE_FIELD)  # says which parent's answers came from the applicant's account
    materials = {m.name for m in spec.materials if items.intersection(m.items)}
    return TaskNeed(frozenset(items), frozenset(fields), frozenset(materials))


@dataclass(frozen=True)
class MaterialShown:
    """A material of the case a department uses, with where it came from."""

    spec: MaterialSpec
    attachment: Attachment | None
    source: str  # an ``Attachment.Source`` value
    content: list[ContentShown]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def asked(self) -> bool:
        """Asked of the citizen, so a correction may ask for it again."""
        return self.spec.asked

    @property
    def source_display(self) -> str:
        return str(Attachment.Source(self.source).label)

    @property
    def source_label(self) -> str:
        if self.attachment is not None and self.attachment.source_label:
            return self.attachment.source_label
        return self.spec.source

    @property
    def department(self) -> str:
        """The department that holds or issues it, as the filed form names it."""
        return self.spec.issuer if self.source != Attachment.Source.UPLOAD else ""

    @property
    def fetched_at(self) -> dt.datetime | None:
        return self.attachment.fetched_at if self.attachment is not None else None

    @property
    def issued_during_handling(self) -> bool:
        return self.source == Attachment.Source.STEP

    @property
    def is_file(self) -> bool:
        return self.attachment is not None and self.attachment.is_file


@dataclass(frozen=True)
class TaskShown:
    """A task's case as its page and its API show it to one viewer."""

    answers: list[TaskAnswer]
    inputs: list[TaskInput]
    materials: list[MaterialShown]
    revealed: bool  # ID numbers or phones shown unmasked (to the holder of the claim)
    reveal_logged: bool  # a reveal is already logged for the viewer's present claim

    @property
    def correctable(self) -> frozenset[str]:
        """What a correction may ask of the citizen: names of the answers shown and keys of the
        materials shown that were asked of the citizen."""
        return frozenset(
            [a.field.name for a in self.answers if not a.field.confirmed]
            + [m.key for m in self.materials if m.asked]
        )

    @property
    def reveal_to_log(self) -> bool:
        return self.revealed and not self.reveal_logged


def _record_content(
    attachment: Attachment, *, spec: FormSpec, need: TaskNeed, holder: bool
) -> tuple[list[ContentShown], bool]:
    """The fields of the register record fetched for a material, less those that answer a
    question of the form the department does not use; and whether any shows unmasked."""
    if not attachment.content:
        return [], False
    document = held.document_for(attachment.material_name)
    register = REGISTERS.get(held._register_of(document)) if document is not None else None
    slot = document.record if document is not None else ""
    answers = {key: name for name, (where, key) in held.REGISTER_FIELDS.items() if where == slot}
    asked = {f.name for f in spec.fields}
    rows, revealed = [], False
    for key, raw in attachment.content.items():
        answer = answers.get(key)
        if answer in asked and answer not in need.fields:
            continue
        described = register.field(key) if register is not None else None
        kind = "id_number" if described is not None and described.type == "id_number" else ""
        kind = kind or _kind_of(key)
        value = "" if raw is None else str(raw)
        if kind in MASKED_TYPES and value:
            if holder:
                revealed = True
            else:
                value = _masked(value, kind)
        label = str(described.label) if described is not None else key
        rows.append(ContentShown(key, label, value))
    return rows, revealed


def _reveal_logged(task: Task, viewer) -> bool:
    """Whether a reveal to ``viewer`` is logged since they claimed the task (reads the task's
    prefetched events: no query)."""
    if task.claimed_at is None:
        return False
    return any(
        e.action == REVEAL and e.actor_id == viewer.pk and e.at >= task.claimed_at
        for e in task.events.all()
    )


def task_shown(*, task: Task, viewer, spec: FormSpec | None = None) -> TaskShown:
    """What a task's page and its API show ``viewer`` of the case (one query; ``spec`` is the
    application's form, ``application_form_spec``, read here unless given).

    Only what the department's steps use (``task_need``); an ID number or a phone in full only
    to whoever holds the claim on the task, masked (``330**********1234``, ``138****0001``) to
    everyone else; a missing answer as ""."""
    spec = spec or application_form_spec(task.application)
    need = task_need(task=task, spec=spec)
    holder = task.claimed_by_id is not None and task.claimed_by_id == getattr(viewer, "pk", None)
    revealed = False

    def shown(value: str, kind: str) -> str:
        nonlocal revealed
        if kind not in MASKED_TYPES or not value:
            return value
        if holder:
            revealed = True
            return value
        return _masked(value, kind)

    data = task.application.data
    answers = []
    for field in spec.fields:
        raw = data.get(field.name)
        if field.name not in need.fields or (field.name == ROLE_FIELD and not raw):
            continue
        answers.append(TaskAnswer(field, shown("" if raw is None else str(raw), field.type)))
    inputs = [
        TaskInput(name, shown("" if raw is None else str(raw), _kind_of(name)))
        for name, raw in (task.inputs or {}).items()
    ]
    attachments = {a.material_name: a for a in task.application.attachments.all()}
    materials = []
    for m in spec.materials:
        if m.name not in need.materials:
            continue
        attachment = attachments.get(m.name)
        content: list[ContentShown] = []
        if attachment is not None:
            content, unmasked = _record_content(attachment, spec=spec, need=need, holder=holder)
            revealed = revealed or unmasked
        source = attachment.source if attachment is not None else HELD_SOURCES.get(m.held, "")
        materials.append(MaterialShown(m, attachment, source or Attachment.Source.UPLOAD, content))
    return TaskShown(
        answers=answers,
        inputs=inputs,
        materials=materials,
        revealed=revealed,
        reveal_logged=holder and _reveal_logged(task, viewer),
    )


def attachment_needed(*, user, attachment: Attachment) -> bool:
    """Whether ``user`` may open ``attachment`` (one of ``attachment_for``): its applicant
    always; staff when the items of their departments' steps in the case ask its material."""
    app = attachment.application
    if app.applicant_id == user.pk:
        return True
    tasks = scope_queryset(Task.objects.filter(application_id=app.pk), user, roles=WORK_ROLES)
    return attachment.material_name in _need_of(application_form_spec(app), tasks).materials


def task_answers_shown(*, task: Task, viewer, spec: FormSpec | None = None) -> list[TaskAnswer]:
    """The answers of ``task_shown``."""
    return task_shown(task=task, viewer=viewer, spec=spec).answers


# ---------------------------------------------------------------- supervision (督办)


def supervisions_open_for(*, user) -> QuerySet[Supervision]:
    """The 督办 awaiting a reply that the user must answer: addressed to them, or to a department
    they supervise. Newest first, with what a row shows (one query)."""
    if user is None or not user.is_authenticated:
        return Supervision.objects.none()
    supervised = member_department_ids(user, roles=[Membership.Role.SUPERVISOR])
    return (
        Supervision.objects.filter(status=Supervision.Status.OPEN)
        .filter(Q(recipients=user) | Q(department__in=supervised))
        .select_related("task", "task__application", "department")
        .distinct()
        .order_by("reply_due", "id")
    )


def supervisions_issued_by(*, user) -> QuerySet[Supervision]:
    """The 督办 the user issued, with their replies, newest first (one query)."""
    return (
        Supervision.objects.filter(issued_by=user)
        .select_related("task", "task__application", "department", "replied_by")
        .order_by("-issued_at", "-id")
    )

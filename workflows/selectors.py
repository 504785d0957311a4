"""Reads of the workflows app that permissions or performance care about.

Each function runs a fixed number of queries whatever the number of cases or tasks; the page tests
count them at two sizes. Staff reads go through ``departments.scoping.scope_queryset``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Bundle, Material, ServiceItem
from departments.models import Department, Membership
from departments.scoping import scope_queryset

from .forms import FormSpec, build_form_spec
from .models import Application, Attachment, DataAccess, ELicence, Notice, Task, TaskEvent

WORK_ROLES = (Membership.Role.CLERK, Membership.Role.SUPERVISOR)


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
    return list(items.filter(pk=item.pk))


# What a generated form reads of an item and its materials (not the guide's long texts).
FORM_ITEM_FIELDS = ("id", "code", "name", "form_fields", "department_id", "trips")
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
    names = list(ELicence.objects.filter(holder=user).values_list("name", flat=True).distinct())
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


def application_list_for_citizen(*, user) -> QuerySet[Application]:
    return (
        Application.objects.filter(applicant=user)
        .select_related("bundle", "item")
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


def staff_departments(*, user) -> QuerySet[Department]:
    if user.is_superuser:
        return Department.objects.filter(tasks__isnull=False).distinct().order_by("code")
    return (
        Department.objects.filter(memberships__user=user, memberships__role__in=WORK_ROLES)
        .distinct()
        .order_by("code")
    )


def notices_for(*, user) -> QuerySet[Notice]:
    return (
        Notice.objects.filter(recipient=user)
        .select_related("application")
        .order_by("-created_at", "-id")
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

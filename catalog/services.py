"""Every write to the catalog goes through here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from departments.models import Membership
from departments.scoping import member_department_ids

from .models import Bundle, Material, ServiceItem, ServiceItemVersion
from .search import generation_bump, index_item

EDITOR_ROLES = (Membership.Role.ADMIN, Membership.Role.SUPERVISOR)

SNAPSHOT_FIELDS = (
    "code",
    "basic_code",
    "main_code",
    "main_name",
    "sub_name",
    "name",
    "item_type",
    "for_citizens",
    "for_enterprises",
    "summary",
    "legal_basis",
    "acceptance_conditions",
    "statutory_days",
    "promised_days",
    "trips",
    "online",
    "mobile",
    "counter",
    "courier",
    "appointment",
    "id_only",
    "fee_fen",
    "fee_note",
    "consult_phone",
    "complaint_phone",
    "location",
    "online_url",
    "form_fields",
)
MATERIAL_FIELDS = ("name", "source", "form", "required", "copies", "note", "sort_order")


def item_snapshot(item: ServiceItem) -> dict[str, Any]:
    """Everything a citizen read about the item, as plain JSON."""
    data: dict[str, Any] = {field: getattr(item, field) for field in SNAPSHOT_FIELDS}
    data["department"] = {"code": item.department.code, "name": item.department.name}
    data["region"] = {"code": item.region.code, "name": item.region.name}
    data["materials"] = [
        {
            **{f: getattr(m, f) for f in MATERIAL_FIELDS},
            "issuer": m.issuer.name if m.issuer else None,
        }
        for m in item.materials.select_related("issuer").order_by("sort_order", "id")
    ]
    data["themes"] = sorted(item.themes.values_list("name", flat=True))
    data["joint_stages"] = [
        {"department": s.department.name, "stage": s.stage}
        for s in item.joint_stages.select_related("department").order_by("id")
    ]
    return data


def require_item_editor(*, actor, item: ServiceItem) -> None:
    if actor.is_superuser:
        return
    if (
        not member_department_ids(actor, roles=EDITOR_ROLES)
        .filter(department_id=item.department_id)
        .exists()
    ):
        raise PermissionDenied(
            _("Only this department's supervisors and administrators may publish its items.")
        )


def item_publish(
    *,
    actor,
    item: ServiceItem,
    materials: Iterable[Mapping[str, Any]] | None = None,
    note: str = "",
) -> ServiceItemVersion:
    """Publish the item as it now stands: save it, replace its materials if given, re-index it
    and record the new version. Earlier versions stay as they were."""
    if actor is not None:
        require_item_editor(actor=actor, item=item)
    # Field validation only: uniqueness and constraints are the database's to enforce, and
    # checking them here would cost queries per item in a bulk import.
    item.full_clean(
        exclude=["themes", "life_events"], validate_unique=False, validate_constraints=False
    )
    with transaction.atomic():
        if item.pk:
            locked = ServiceItem.objects.select_for_update().only("version").get(pk=item.pk)
            item.version = locked.version + 1
        else:
            item.version = 1
        item.save()
        if materials is not None:
            item.materials.all().delete()
            Material.objects.bulk_create(
                Material(item=item, sort_order=i, **dict(m)) for i, m in enumerate(materials)
            )
        index_item(item)
        generation_bump()
        return ServiceItemVersion.objects.create(
            item=item,
            number=item.version,
            snapshot=item_snapshot(item),
            published_at=timezone.now(),
            published_by=actor if actor else None,
            note=note,
        )


def items_set_published(*, actor, items, published: bool) -> int:
    """Withdraw or republish items (bulk); refused whole if any is outside the actor's remit."""
    items = list(items.select_related("department"))
    for item in items:
        require_item_editor(actor=actor, item=item)
    with transaction.atomic():
        count = ServiceItem.objects.filter(pk__in=[i.pk for i in items]).update(is_active=published)
        generation_bump()
    return count


def bundle_promise_set(*, bundle: Bundle, days: int) -> None:
    """Record the promised time of ``bundle`` (working days), as its active workflow computes it
    (``workflows.selectors.promise_workdays``): the guide, search and API show this figure."""
    if bundle.promised_days == days:
        return
    with transaction.atomic():
        Bundle.objects.filter(pk=bundle.pk).update(promised_days=days)
        bundle.promised_days = days
        generation_bump()


def eligibility_set(*, subject: Bundle | ServiceItem, rules: list[dict[str, str]]) -> None:
    """Record who may apply for ``subject`` online, as its active workflow's eligibility rules
    say it (each ``{"says", "instead"}``): the guide and the API show it."""
    words = [{"says": r.get("says", ""), "instead": r.get("instead", "")} for r in rules]
    if subject.eligibility == words:
        return
    with transaction.atomic():
        type(subject).objects.filter(pk=subject.pk).update(eligibility=words)
        subject.eligibility = words
        generation_bump()

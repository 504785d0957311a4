"""Every write to departments goes through here."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from departments.errors import DepartmentsErrorCode

from .models import Department, Membership, ServiceLocation, ServiceLocationUserPermission
from .scoping import in_scope, member_department_ids

User = get_user_model()


def _require_department_admin(*, actor, department: Department) -> None:
    if actor.is_superuser:
        return
    if (
        not member_department_ids(actor, roles=[Membership.Role.ADMIN])
        .filter(department_id=department.pk)
        .exists()
    ):
        raise PermissionDenied(_("Only this department's administrators may do this."))


def membership_grant(*, actor, user, department: Department, role: str) -> Membership:
    """Give a member of staff a role in a department (idempotent)."""
    _require_department_admin(actor=actor, department=department)
    if role not in Membership.Role.values:
        raise ValidationError(
            {"role": ValidationError(_("Unknown role."), code=DepartmentsErrorCode.ROLE_INVALID)}
        )
    if user.kind != User.Kind.STAFF:
        raise ValidationError(
            {
                "user": ValidationError(
                    _("Only staff accounts can hold a department role."),
                    code=DepartmentsErrorCode.NOT_STAFF,
                )
            }
        )
    with transaction.atomic():
        membership, _created = Membership.objects.get_or_create(
            user=user, department=department, role=role
        )
        if not user.is_staff:
            User.objects.filter(pk=user.pk).update(is_staff=True)
    return membership


def membership_revoke(*, actor, membership: Membership) -> None:
    _require_department_admin(actor=actor, department=membership.department)
    membership.delete()


def department_update(*, actor, department: Department, fields: dict) -> Department:
    """Change a department's public details; its code and region stay as they are."""
    _require_department_admin(actor=actor, department=department)
    editable = {"name", "phone", "complaint_phone", "address", "description", "is_active"}
    unknown = set(fields) - editable
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %(fields)s")
            % {"fields": ", ".join(sorted(unknown))},
            code=DepartmentsErrorCode.FIELD_READONLY,
        )
    for name, value in fields.items():
        setattr(department, name, value)
    department.full_clean()
    department.save(update_fields=[*fields, "updated_at"])
    return department


def service_location_save(*, actor, location: ServiceLocation) -> ServiceLocation:
    """Create or change a service location of a department the actor may manage."""
    allowed = (
        actor.is_superuser
        or member_department_ids(actor, roles=[Membership.Role.ADMIN, Membership.Role.SUPERVISOR])
        .filter(department_id=location.department_id)
        .exists()
    )
    if not allowed and location.pk:
        allowed = in_scope(
            location,
            actor,
            shared_model=ServiceLocationUserPermission,
            shared_codenames=["change_servicelocation"],
            roles=[Membership.Role.ADMIN, Membership.Role.SUPERVISOR],
        )
    if not allowed:
        raise PermissionDenied(_("You may not change this department's service locations."))
    location.full_clean()
    location.save()
    return location

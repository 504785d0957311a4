"""Every write to departments goes through here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from shapely.geometry import shape

from departments.errors import DepartmentsErrorCode

from .models import (
    Boundary,
    Department,
    Membership,
    ServiceLocation,
    ServiceLocationUserPermission,
)
from .scoping import in_scope, member_department_ids
from .selectors import boundary_cache_clear

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


# ---------------------------------------------------------------- boundaries

# The province's published administrative boundaries (GeoJSON ``MultiPolygon`` features in GCJ-02
# coordinates, as Chinese web maps publish them) predate Hangzhou's 2021 reorganisation, so each
# published district is mapped to today's codes by ``REORGANISED``, a reviewed table: a district
# merged whole into another resolves to it; one whose area was split between districts since
# resolves only to its city, marked not exact.

PROVINCE = "330000"

# Published code → (today's region, exact, why). Reviewed against the State Council's approval
# of 2021-03-11 (国函〔2021〕26号/27号): 下城区 and 拱墅区 became the new 拱墅区; 上城区 and 江干区
# the new 上城区, except 江干's 下沙 and 白杨 streets, which went to the new 钱塘区 with five of
# 萧山区's streets; 临平区 was cut out of 余杭区.
REORGANISED: dict[str, tuple[str, bool, str]] = {
    "330103": ("330105", True, "下城区 merged whole into 拱墅区 (2021)"),
    "330104": ("330100", False, "江干区 split between 上城区 and 钱塘区 (2021)"),
    "330109": ("330100", False, "part of 萧山区 went to 钱塘区 (2021)"),
    "330110": ("330100", False, "余杭区 split into 余杭区 and 临平区 (2021)"),
}
# Today's districts that have no published boundary of their own.
WITHOUT_BOUNDARY = ("330113", "330114")


@dataclass(frozen=True)
class ImportReport:
    cities: int
    counties: int
    remapped: list[str]
    approximate: list[str]
    without_boundary: tuple[str, ...] = WITHOUT_BOUNDARY


def _bbox(geometry: dict) -> tuple[float, float, float, float]:
    return shape(geometry).bounds  # (min_lng, min_lat, max_lng, max_lat)


def _rows(path: Path, level: str) -> list[Boundary]:
    rows = []
    for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
        props, geometry = feature["properties"], feature["geometry"]
        code = str(props["adcode"])
        if geometry is None or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValueError(f"{path.name}: {code} has no polygon")
        region_code, exact, note = REORGANISED.get(code, (code, True, ""))
        min_lng, min_lat, max_lng, max_lat = _bbox(geometry)
        rows.append(
            Boundary(
                code=code,
                name=props.get("name", "")[:50],
                level=level,
                region_code=region_code,
                exact=exact,
                note=note,
                geometry=geometry,
                min_lng=min_lng,
                min_lat=min_lat,
                max_lng=max_lng,
                max_lat=max_lat,
            )
        )
    return rows


def boundaries_import(directory: Path) -> ImportReport:
    """Replace the stored boundaries with those of ``directory`` (``330000_full.json``, the
    cities, and ``33xx00_full.json``, each city's districts and counties): all or nothing."""
    province = directory / f"{PROVINCE}_full.json"
    if not province.is_file():
        raise FileNotFoundError(f"no {province.name} in {directory}")
    cities = _rows(province, Boundary.Level.CITY)
    counties: list[Boundary] = []
    for city in cities:
        path = directory / f"{city.code}_full.json"
        if path.is_file():
            counties += _rows(path, Boundary.Level.COUNTY)
    with transaction.atomic():
        Boundary.objects.all().delete()
        Boundary.objects.bulk_create(cities + counties)
    boundary_cache_clear()
    return ImportReport(
        cities=len(cities),
        counties=len(counties),
        remapped=sorted(b.code for b in counties if b.code in REORGANISED and b.exact),
        approximate=sorted(b.code for b in counties if not b.exact),
    )

"""Every write to departments goes through here."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping
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
    Region,
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


# ---------------------------------------------------------------- streets, towns and townships

# The official codes of the streets (街道), towns (镇) and townships (乡) below each county, as
# ../shared/data/regions/zhejiang_streets.csv publishes them (see departments/data/README.md):
# ``code`` (9 digits: the county's 6 and 3 more), ``name``, ``areaCode`` (the county's code).
STREET_COLUMNS = ("code", "name", "areaCode")
STREET_CODE = re.compile(r"[0-9]{9}")
STREET_NAME_MAX = int(Region._meta.get_field("name").max_length or 0)


def streets_read(path: Path) -> list[dict[str, str]]:
    """The rows of a streets CSV file (columns ``code``, ``name``, ``areaCode`` at least).
    Raises ``OSError`` when the file cannot be read and ``ValueError`` naming what is wrong
    when it is not such a file."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in STREET_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise ValueError(
                    f"{path.name}: no column {', '.join(missing)} in its first line "
                    f"(expected {', '.join(STREET_COLUMNS)})"
                )
            return [{column: row[column] or "" for column in STREET_COLUMNS} for row in reader]
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"{path.name}: not a UTF-8 CSV file ({exc})") from exc


def _street_problem(code: str, name: str, county: str, seen: Mapping[str, object]) -> str | None:
    if not STREET_CODE.fullmatch(code):
        return "the code is not 9 digits"
    if county != code[:6]:
        return f"the code does not begin with its county's code {county or '(none)'}"
    if not name:
        return "no name"
    if len(name) > STREET_NAME_MAX:
        return f"the name is longer than {STREET_NAME_MAX} characters"
    if code in seen:
        return "the code is listed twice"
    return None


def streets_import(rows: Iterable[Mapping[str, str]]) -> dict:
    """Create or update the street, town and township regions of ``rows`` (``code``, ``name``,
    ``areaCode``) under their counties, all or nothing, in a handful of queries whatever the
    number of rows. A row whose county is not in the database is skipped and counted, never
    attached elsewhere; a malformed row is reported with its reason (its number counts the rows
    from 1) and not imported. Running it again changes nothing. Streets absent from ``rows`` stay
    as they are: departments may be attached to them.

    Returns ``created``, ``updated``, ``unchanged`` and ``skipped`` counts, ``skipped_counties``
    (the county codes not found, sorted) and ``invalid`` (``{"row", "code", "reason"}`` each)."""
    wanted: dict[str, tuple[str, str]] = {}  # code → (name, county code)
    invalid: list[dict] = []
    for number, row in enumerate(rows, start=1):
        code = (row.get("code") or "").strip()
        name = (row.get("name") or "").strip()
        county = (row.get("areaCode") or "").strip()
        problem = _street_problem(code, name, county, wanted)
        if problem:
            invalid.append({"row": number, "code": code, "reason": problem})
        else:
            wanted[code] = (name, county)

    with transaction.atomic():
        counties = dict(
            Region.objects.filter(
                level=Region.Level.COUNTY, code__in={county for _name, county in wanted.values()}
            ).values_list("code", "pk")
        )
        existing = {
            region.code: region
            for region in Region.objects.filter(code__in=list(wanted)).only(
                "pk", "code", "name", "level", "parent_id"
            )
        }
        new: list[Region] = []
        changed: list[Region] = []
        skipped: set[str] = set()
        skipped_rows = 0
        for code, (name, county) in wanted.items():
            parent_id = counties.get(county)
            if parent_id is None:
                skipped.add(county)
                skipped_rows += 1
                continue
            region = existing.get(code)
            if region is None:
                new.append(
                    Region(code=code, name=name, level=Region.Level.STREET, parent_id=parent_id)
                )
            elif (region.name, region.level, region.parent_id) != (
                name,
                Region.Level.STREET,
                parent_id,
            ):
                region.name, region.level, region.parent_id = name, Region.Level.STREET, parent_id
                changed.append(region)
        Region.objects.bulk_create(new, batch_size=500)
        Region.objects.bulk_update(changed, ["name", "level", "parent"], batch_size=500)
    return {
        "created": len(new),
        "updated": len(changed),
        "unchanged": len(wanted) - skipped_rows - len(new) - len(changed),
        "skipped": skipped_rows,
        "skipped_counties": sorted(skipped),
        "invalid": invalid,
    }

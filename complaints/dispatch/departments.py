"""Which department handles a kind of matter in a region."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from departments.models import Department

from .categories import CATEGORY_BY_KIND


@dataclass(frozen=True)
class DepartmentRef:
    code: str
    name: str
    known: bool  # a Department of the database, not a generic stand-in


def region_chain(region_code: str) -> list[str]:
    """A region code, its city's and its province's (GB/T 2260: 330106 → 330100 → 330000)."""
    chain = [region_code, f"{region_code[:4]}00", f"{region_code[:2]}0000"]
    return list(dict.fromkeys(chain))


def generic_department(kind: str) -> DepartmentRef:
    category = CATEGORY_BY_KIND.get(kind)
    name = category.department_name if category else str(Department.Kind(kind).label)
    return DepartmentRef(code=kind, name=name, known=False)


def departments_nearest(*, kinds: Iterable[str], region_code: str | None) -> dict[str, Department]:
    """For each kind, the active department of that kind nearest to the region (the region's
    own, else its city's, else the province's; without a region, the province's). One query;
    a kind with none is left out."""
    kinds = set(kinds)
    if not kinds:
        return {}
    qs = Department.objects.filter(kind__in=kinds, is_active=True).select_related("region")
    if region_code is None:
        found = qs.filter(region__level="province")
        chain: list[str] = []
    else:
        chain = region_chain(region_code)
        found = qs.filter(region__code__in=chain)
    nearest: dict[str, Department] = {}
    ordered = sorted(found, key=lambda d: (chain.index(d.region.code) if chain else 0, d.code))
    for department in ordered:
        nearest.setdefault(department.kind, department)
    return nearest


def dispatch_departments_get(
    *, kinds: Iterable[str], region_code: str | None
) -> dict[str, DepartmentRef]:
    """For each kind, the active department of that kind nearest to the region (the region's
    own, else its city's, else the province's); without a region, the department whose code is
    the kind. A kind with no such department gets a generic stand-in (code = kind). One query."""
    kinds = set(kinds)
    if not kinds:
        return {}
    found: dict[str, DepartmentRef] = {}
    if region_code:
        found = {
            kind: DepartmentRef(code=d.code, name=d.name, known=True)
            for kind, d in departments_nearest(kinds=kinds, region_code=region_code).items()
        }
    else:
        rows = Department.objects.filter(code__in=kinds).values_list("code", "name")
        found = {code: DepartmentRef(code=code, name=name, known=True) for code, name in rows}
    return {kind: found.get(kind) or generic_department(kind) for kind in kinds}

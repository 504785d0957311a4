"""Which department handles a kind of matter in a region: one rule for the desk and the command.

A region's matter goes to the active department of its kind nearest to it: the region's own,
else its city's, else the province's. Without a region there is no nearest department: the
desk leaves the ticket to a human dispatcher, and ``dispatch_predict`` names the kind with its
generic name (``department_ref``).
"""

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
    """A region code, its district's (for a street's 9 digits), its city's and its province's
    (GB/T 2260: 330106002 → 330106 → 330100 → 330000)."""
    chain = [region_code, region_code[:6], f"{region_code[:4]}00", f"{region_code[:2]}0000"]
    return list(dict.fromkeys(chain))


def generic_department(kind: str) -> DepartmentRef:
    category = CATEGORY_BY_KIND.get(kind)
    name = category.department_name if category else str(Department.Kind(kind).label)
    return DepartmentRef(code=kind, name=name, known=False)


def department_ref(kind: str, department: Department | None) -> DepartmentRef:
    """The department as code and name, or the kind's generic stand-in (code = kind)."""
    if department is None:
        return generic_department(kind)
    return DepartmentRef(code=department.code, name=department.name, known=True)


def departments_nearest(*, kinds: Iterable[str], region_code: str | None) -> dict[str, Department]:
    """For each kind, the active department of that kind nearest to the region (the region's
    own, else its city's, else the province's). One query; none without a region (and no
    query); a kind with no such department is left out."""
    kinds = {kind for kind in kinds if kind}
    if not kinds or not region_code:
        return {}
    chain = region_chain(region_code)
    found = Department.objects.filter(
        kind__in=kinds, is_active=True, region__code__in=chain
    ).select_related("region")
    nearest: dict[str, Department] = {}
    for department in sorted(found, key=lambda d: (chain.index(d.region.code), d.code)):
        nearest.setdefault(department.kind, department)
    return nearest

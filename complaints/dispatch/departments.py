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
        chain = region_chain(region_code)
        rows = Department.objects.filter(
            kind__in=kinds, region__code__in=chain, is_active=True
        ).values_list("kind", "code", "name", "region__code")
        for kind, code, name, _region in sorted(rows, key=lambda r: (chain.index(r[3]), r[1])):
            found.setdefault(kind, DepartmentRef(code=code, name=name, known=True))
    else:
        rows = Department.objects.filter(code__in=kinds).values_list("code", "name")
        found = {code: DepartmentRef(code=code, name=name, known=True) for code, name in rows}
    return {kind: found.get(kind) or generic_department(kind) for kind in kinds}

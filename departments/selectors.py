"""Reads of departments that pages, admin and the API share."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from shapely.geometry import Point, shape
from shapely.prepared import prep

from .models import Boundary, Department, Membership, Region, ServiceLocation
from .scoping import region_subtree_q, scope_queryset


def region_list() -> QuerySet[Region]:
    return Region.objects.select_related("parent").order_by("code")


def region_subtree(*, code: str) -> QuerySet[Region]:
    """The region of ``code`` and every region below it, down to its streets, towns and
    townships (one query; empty for an unknown code)."""
    top = Region.objects.filter(code=code).values("pk")
    return Region.objects.filter(region_subtree_q(top, path="")).order_by("code")


def department_list_public(*, region_code: str | None = None) -> QuerySet[Department]:
    qs = Department.objects.filter(is_active=True).select_related("region")
    if region_code:
        qs = qs.filter(region__code=region_code)
    return qs.order_by("region__code", "kind", "name")


def department_get_public(*, code: str) -> Department:
    """A department's shop, with its locations; 404 for an unknown or inactive code."""
    qs = Department.objects.filter(is_active=True).select_related("region", "region__parent")
    qs = qs.prefetch_related(
        Prefetch("locations", queryset=ServiceLocation.objects.order_by("name"))
    ).annotate(location_count=Count("locations", distinct=True))
    return get_object_or_404(qs, code=code)


def region_departments_grouped() -> list[tuple[Region, list[Department]]]:
    """Every active department grouped under its region, in two queries."""
    regions: dict[int, tuple[Region, list[Department]]] = {
        r.pk: (r, []) for r in Region.objects.order_by("code")
    }
    for department in Department.objects.filter(is_active=True).order_by("kind", "name"):
        regions[department.region_id][1].append(department)
    return [entry for entry in regions.values() if entry[1]]


def staff_roles(*, user) -> frozenset[str]:
    """The roles the user holds in any department (none for anyone else): one query, kept on the
    user object, as Django keeps permissions, so a page's own check and its navigation share it."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    roles = getattr(user, "_staff_roles_cache", None)
    if roles is None:
        roles = frozenset(
            Membership.objects.filter(user_id=user.pk).order_by().values_list("role", flat=True)
        )
        user._staff_roles_cache = roles
    return roles


def membership_list_for_user(*, user) -> QuerySet[Membership]:
    """The memberships a member of staff may see: those of their own departments."""
    qs = Membership.objects.select_related("user", "department", "department__region")
    return scope_queryset(qs, user).order_by("department__code", "role", "user__username")


def staff_name(user) -> str:
    """How a member of staff is named to others: their real name, else their user name."""
    return (getattr(user, "real_name", "") or user.get_username()) if user else ""


def can_work_on(user, department_id: int) -> bool:
    """Whether the user handles cases of the department (its clerk or supervisor, or a
    superuser)."""
    if user.is_superuser:
        return True
    return Membership.objects.filter(
        user_id=user.pk,
        department_id=department_id,
        role__in=[Membership.Role.CLERK, Membership.Role.SUPERVISOR],
    ).exists()


def staff_of(departments, role: str) -> list:
    """The active staff holding ``role`` in a department (an id) or in any of several (ids or a
    subquery of them), each once."""
    if departments is None:
        return []
    where = (
        {"memberships__department_id": departments}
        if isinstance(departments, int)
        else {"memberships__department__in": departments}
    )
    return list(
        get_user_model().objects.filter(**where, memberships__role=role, is_active=True).distinct()
    )


# ---------------------------------------------------------------- boundaries
# Which region a point lies in: Shapely over the few boundaries whose bounding box holds it,
# in Python, so PostgreSQL and SQLite give the same answer (see ``services.boundaries_import``).


@dataclass(frozen=True)
class Located:
    region_code: str  # today's region holding the point: a district, or a city where not exact
    exact: bool
    boundary: str  # the published boundary it fell in


@lru_cache(maxsize=256)
def _prepared(pk: int, code: str):
    return prep(shape(Boundary.objects.only("geometry").get(pk=pk).geometry))


def boundaries_loaded() -> bool:
    return Boundary.objects.exists()


def region_at(lng: float, lat: float) -> Located | None:
    """The region a point (GCJ-02 longitude and latitude) lies in: its district or county where
    the boundaries tell it, else its city; None outside the province. One query."""
    candidates = (
        Boundary.objects.filter(
            min_lng__lte=lng, max_lng__gte=lng, min_lat__lte=lat, max_lat__gte=lat
        )
        .order_by("level", "code")  # "city" sorts before "county": try districts first below
        .values_list("pk", "code", "level", "region_code", "exact")
    )
    point = Point(lng, lat)
    found = {
        level: Located(region_code=region_code, exact=exact, boundary=code)
        for pk, code, level, region_code, exact in candidates
        if _prepared(pk, code).contains(point)
    }
    return found.get(Boundary.Level.COUNTY) or found.get(Boundary.Level.CITY)


def boundary_cache_clear() -> None:
    _prepared.cache_clear()

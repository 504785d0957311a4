"""Department scoping: the one rule for what a member of staff may see.

A row is in scope when its department is one the user is a member of (optionally in given roles),
or when it was shared with the user personally through a django-guardian direct permission row.
The rule is a pair of SQL subqueries, so it scales with indexes and composes with any queryset:
every selector, admin queryset, API view, search and export goes through ``scope_queryset``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from django.db.models import Model, Q, QuerySet

from .models import Department, Membership, Region

M = TypeVar("M", bound=Model)


def member_department_ids(user, *, roles: Iterable[str] | None = None) -> QuerySet:
    """A subquery of the ids of the departments the user works in."""
    memberships = Membership.objects.filter(user_id=user.pk)
    if roles is not None:
        memberships = memberships.filter(role__in=list(roles))
    return memberships.values("department_id")


def scope_queryset(
    queryset: QuerySet[M],
    user,
    *,
    department_field: str = "department",
    roles: Iterable[str] | None = None,
    shared_model: type[Model] | None = None,
    shared_codenames: Iterable[str] | None = None,
) -> QuerySet[M]:
    """The rows of ``queryset`` that ``user`` may reach as staff."""
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_superuser:
        return queryset
    condition = Q(**{f"{department_field}__in": member_department_ids(user, roles=roles)})
    if shared_model is not None:
        shared = shared_model.objects.filter(user_id=user.pk)
        if shared_codenames is not None:
            shared = shared.filter(permission__codename__in=list(shared_codenames))
        condition |= Q(pk__in=shared.values("content_object_id"))
    return queryset.filter(condition)


def in_scope(obj: Model, user, **options) -> bool:
    """Whether one object is in the user's scope (one query)."""
    return scope_queryset(type(obj)._default_manager.filter(pk=obj.pk), user, **options).exists()


# How many levels lie below the top one (province → city → county → street): how far down a
# region's subtree can reach.
REGION_DEPTH = len(Region.Level.values) - 1


def region_subtree_q(regions, *, path: str = "region") -> Q:
    """The rows whose region (at ``path``; ``""`` for regions themselves) is one of ``regions``
    (ids, or a subquery of them) or lies anywhere below one, down to the streets. One condition,
    no recursion: it follows the parent chain as deep as there are levels."""
    prefix = f"{path}__" if path else ""
    condition = Q(**{f"{path or 'pk'}__in": regions})
    for depth in range(1, REGION_DEPTH + 1):
        condition |= Q(**{f"{prefix}{'parent__' * (depth - 1)}parent__in": regions})
    return condition


def overseen_department_ids(user) -> QuerySet:
    """A subquery of the departments a supervisor of a government service centre oversees: every
    department in the centre's region and the regions below it, down to the offices of the
    streets, towns and townships (a district's centre oversees its 街道办事处 and 综合行政执法队).
    Oversight reads (overdue lists, 督办); it never lets the overseer move another department's
    task."""
    centres = Membership.objects.filter(
        user_id=user.pk,
        role=Membership.Role.SUPERVISOR,
        department__kind=Department.Kind.SERVICE_CENTRE,
    ).values("department__region_id")
    return Department.objects.filter(region_subtree_q(centres)).values("pk")

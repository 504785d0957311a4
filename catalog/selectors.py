"""Reads of the catalog that pages and the API share.

Every function here runs a fixed number of queries whatever the size of the catalog; the page
tests count them at two sizes.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from departments.models import Department, Region
from zheliban.accounts.models import User
from zheliban.core.generation import generation_get, generation_key, generation_pending

from .models import (
    Bundle,
    BundleItem,
    JointStage,
    LifeEvent,
    Material,
    ServiceItem,
    ServiceItemVersion,
    Theme,
)
from .search import cache as search_cache
from .search.backends import SEARCH_FIELDS

ACTIVE_ITEMS = Q(items__is_active=True)


def user_region_code(*, user) -> str:
    """The region a signed-in citizen or enterprise belongs to, whose services a search ranks
    first: the address code of a citizen's resident ID number (GB 11643: its first six digits,
    the county of household registration when it was issued), the registration region of an
    enterprise's unified social credit code (GB 32100: characters 3 to 8). "" for staff, for
    visitors and for an identity without one. Reads the user already loaded; no query."""
    if not getattr(user, "is_authenticated", False):
        return ""
    kind = getattr(user, "kind", "")
    if kind == User.Kind.CITIZEN:
        code = (user.id_number or "")[:6]
    elif kind == User.Kind.ENTERPRISE:
        code = (user.credit_code or "")[2:8]
    else:
        return ""
    return code if len(code) == 6 and code.isdigit() and code != "000000" else ""


def item_get_public(*, code: str) -> ServiceItem:
    """A published item's name and version only (one small query); 404 otherwise."""
    qs = ServiceItem.objects.filter(is_active=True).only("id", "code", "name", "version")
    return get_object_or_404(qs, code=code)


_CODE_PLACEHOLDER = "\x00code"


@functools.cache
def _published_sql() -> tuple[str, tuple, int]:
    """``item_published``'s SQL as the ORM writes it, its parameters and where the code goes."""
    qs = (
        ServiceItem.objects.filter(is_active=True, code=_CODE_PLACEHOLDER)
        .order_by()
        .values_list("id", "code", "name", "version")
    )
    sql, params = qs.query.sql_with_params()
    return sql, tuple(params), params.index(_CODE_PLACEHOLDER)


def item_published(*, code: str) -> ServiceItem:
    """As ``item_get_public`` (id, code, name and version of a published item; 404 otherwise),
    with the query built once per process: it is asked on every view of a guide kept whole
    (``page_version``), where building the query would cost more than running it."""
    sql, params, at = _published_sql()
    params = (*params[:at], code, *params[at + 1 :])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise Http404("No published item has this code.")
    return ServiceItem(id=row[0], code=row[1], name=row[2], version=row[3])


def item_ratings_generation(code: str) -> str:
    """The generation of the ratings (好差评) the guide of the item ``code`` shows, bumped when a
    case that included the item is rated (a digest: codes come from addresses, and a cache key
    must not carry any character)."""
    return "ratings:" + hashlib.sha256(code.encode()).hexdigest()[:32]


def page_version(request, *args, **kwargs) -> list | None:
    """The catalog's generation, for the pages that show the catalog kept whole
    (``zheliban.core.page_cache``); None inside a transaction that has changed the catalog."""
    if search_cache.changed_in_transaction():
        return None
    return [search_cache.generation()]


def guide_version(request, code: str) -> list | None:
    """The version of a kept guide (``zheliban.core.page_cache``): the catalog's generation and
    the item's ratings generation (``item_ratings_generation``), both read from the cache, so a
    kept guide costs no query; None inside a transaction that changed either; 404 for an item
    not published.

    An item's ratings generation is made when its guide is first asked for and the item is found
    published (one query); a code no item has never gets one, so requests for made-up addresses
    cannot fill the cache."""
    catalog = page_version(request)
    name = item_ratings_generation(code)
    if catalog is None or generation_pending(name):
        return None
    ratings = cache.get(generation_key(name))
    if ratings is None:
        if not ServiceItem.objects.filter(is_active=True, code=code).exists():
            raise Http404("No published item has this code.")
        ratings = generation_get(name)
    return [*catalog, ratings]


def item_get_guide(*, code: str) -> ServiceItem:
    """A published item with everything its guide page shows (7 queries); 404 otherwise.

    Department, region, materials with issuers, joint stages, themes, life events, versions
    (without their snapshots) and the published bundles it is part of (as ``active_bundles``).
    """
    qs = (
        ServiceItem.objects.filter(is_active=True)
        .defer(*SEARCH_FIELDS)
        .select_related("department", "region", "region__parent")
        .prefetch_related(
            Prefetch(
                "materials",
                queryset=Material.objects.select_related("issuer").order_by("sort_order", "id"),
            ),
            Prefetch(
                "joint_stages",
                queryset=JointStage.objects.select_related("department").order_by("id"),
            ),
            "themes",
            "life_events",
            Prefetch(
                "versions",
                queryset=ServiceItemVersion.objects.defer("snapshot").order_by("-number"),
            ),
            Prefetch(
                "bundles",
                queryset=Bundle.objects.filter(is_active=True).order_by("-popularity", "slug"),
                to_attr="active_bundles",
            ),
        )
    )
    return get_object_or_404(qs, code=code)


def item_version_get_public(*, code: str, number: int) -> ServiceItemVersion:
    """One kept version of a published item, with the item; 404 otherwise."""
    qs = ServiceItemVersion.objects.select_related("item").filter(item__is_active=True)
    return get_object_or_404(qs, item__code=code, number=number)


def item_list_popular(*, limit: int = 8) -> list[ServiceItem]:
    """The most used published items, for the home page."""
    qs = ServiceItem.objects.filter(is_active=True).select_related("department")
    return list(qs.order_by("-popularity", "code")[:limit])


def department_item_list_popular(*, department: Department, limit: int = 10) -> list[ServiceItem]:
    qs = ServiceItem.objects.filter(department=department, is_active=True)
    return list(qs.order_by("-popularity", "code")[:limit])


def department_item_stats(*, department: Department) -> dict[str, int]:
    """How many published items the department has, and how many are online or zero-trip."""
    return ServiceItem.objects.filter(department=department, is_active=True).aggregate(
        total=Count("id"),
        online=Count("id", filter=Q(online=True)),
        mobile=Count("id", filter=Q(mobile=True)),
        zero_trips=Count("id", filter=Q(trips=0)),
    )


def theme_list() -> QuerySet[Theme]:
    return Theme.objects.order_by("sort_order", "name")


def theme_list_with_counts() -> QuerySet[Theme]:
    return theme_list().annotate(item_count=Count("items", filter=ACTIVE_ITEMS))


def theme_get_public(*, slug: str) -> Theme:
    return get_object_or_404(Theme, slug=slug)


def life_event_list() -> QuerySet[LifeEvent]:
    return LifeEvent.objects.order_by("sort_order", "slug")


def life_event_list_with_counts() -> QuerySet[LifeEvent]:
    return life_event_list().annotate(item_count=Count("items", filter=ACTIVE_ITEMS))


def life_event_get_public(*, slug: str) -> LifeEvent:
    """A life event with its published bundles (as ``active_bundles``)."""
    qs = LifeEvent.objects.prefetch_related(
        Prefetch(
            "bundles",
            queryset=Bundle.objects.filter(is_active=True)
            .annotate(part_count=Count("parts"))
            .order_by("-popularity", "slug"),
            to_attr="active_bundles",
        )
    )
    return get_object_or_404(qs, slug=slug)


def bundle_get_public(*, slug: str) -> Bundle:
    qs = Bundle.objects.filter(is_active=True).select_related("region", "life_event")
    qs = qs.prefetch_related(
        Prefetch(
            "parts",
            queryset=BundleItem.objects.select_related("item", "item__department").order_by(
                "sort_order", "id"
            ),
        )
    )
    return get_object_or_404(qs, slug=slug)


def bundle_get_guide(*, slug: str) -> Bundle:
    """A published bundle with its parts in order, their departments and materials (3 queries)."""
    qs = Bundle.objects.filter(is_active=True).select_related("region", "life_event")
    qs = qs.prefetch_related(
        Prefetch(
            "parts",
            queryset=BundleItem.objects.select_related("item", "item__department").order_by(
                "sort_order", "id"
            ),
        ),
        Prefetch(
            "parts__item__materials",
            queryset=Material.objects.order_by("sort_order", "id"),
        ),
    )
    return get_object_or_404(qs, slug=slug)


def bundle_list_public() -> QuerySet[Bundle]:
    return Bundle.objects.filter(is_active=True).select_related("region", "life_event")


def bundle_list_with_counts() -> QuerySet[Bundle]:
    """Published bundles, most used first, each with ``part_count``."""
    return bundle_list_public().annotate(part_count=Count("parts")).order_by("-popularity", "slug")


def bundle_list_popular(*, limit: int = 4) -> list[Bundle]:
    return list(bundle_list_with_counts()[:limit])


def name_lookup(*, department: str = "", region: str = "", theme: str = "", life_event: str = ""):
    """Display names for filter values in one query each, only for the values given."""
    names: dict[str, str] = {}
    if department:
        found = Department.objects.filter(code=department).values_list("name", flat=True).first()
        names["department"] = found or department
    if region:
        found = Region.objects.filter(code=region).values_list("name", flat=True).first()
        names["region"] = found or region
    if theme:
        shown = Theme.objects.filter(slug=theme).first()
        names["theme"] = shown.display_name if shown else theme
    if life_event:
        event = LifeEvent.objects.filter(slug=life_event).first()
        names["life_event"] = event.display_name if event else life_event
    return names


# The order in which a citizen has to do something about a material: bring it, have it issued,
# or nothing at all.
_SOURCE_BURDEN: dict[str, int] = {
    Material.Source.APPLICANT: 2,
    Material.Source.ISSUED: 1,
    Material.Source.SHARED: 0,
}


@dataclass
class CombinedMaterial:
    """One document across a bundle's items, asked for once."""

    name: str
    source: str
    required: bool
    forms: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @property
    def is_shared(self) -> bool:
        return self.source == Material.Source.SHARED

    def get_source_display(self) -> str:
        return str(Material.Source(self.source).label)


def bundle_materials(bundle: Bundle) -> list[CombinedMaterial]:
    """The bundle's materials by name, asked once. A document counts as fetched by sharing only
    when every part that needs it fetches it; otherwise the heaviest burden wins. Its forms are
    as ``Material.provided_form`` words them for the way it is applied for: nothing is brought
    for a bundle or a part that needs no trip."""
    combined: dict[str, CombinedMaterial] = {}
    for part in bundle.parts.all():
        trips = min(bundle.trips, part.item.trips)
        for material in part.item.materials.all():
            key = material.name.strip()
            entry = combined.get(key)
            if entry is None:
                entry = combined[key] = CombinedMaterial(
                    name=key, source=material.source, required=material.required
                )
            elif _SOURCE_BURDEN.get(material.source, 2) > _SOURCE_BURDEN.get(entry.source, 2):
                entry.source = material.source
            entry.required = entry.required or material.required
            form = material.get_provided_form_display(trips=trips)
            if form not in entry.forms:
                entry.forms.append(form)
            if part.item.name not in entry.parts:
                entry.parts.append(part.item.name)
    return list(combined.values())

"""Catalog search: one entry point for pages, API, admin and export.

``search_items`` answers a citizen's words with the matching published items, ranked, with facet
counts over the same filtered set. ``index_item`` keeps an item's pre-segmented search text true;
call it whenever an item's words change (the catalog services do).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from ..models import ServiceItem

FILTER_KEYS = (
    "department",
    "region",
    "type",
    "theme",
    "audience",
    "online",
    "mobile",
    "zero_trips",
    "id_only",
    "life_event",
)
FLAG_FILTERS = {"online": "online", "mobile": "mobile", "id_only": "id_only"}


@dataclass
class Facet:
    value: str
    label: str
    count: int
    selected: bool = False


@dataclass
class SearchResult:
    items: list[ServiceItem]
    total: int
    page: int
    page_size: int
    query: str
    terms: list[str] = field(default_factory=list)
    facets: dict[str, list[Facet]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def index_item(item: ServiceItem) -> None:
    """Recompute the item's search text (segmented words and pinyin)."""
    words = " ".join(
        filter(
            None,
            [
                item.name,
                item.main_name,
                item.sub_name,
                item.department.name if item.department_id else "",
            ],
        )
    )
    ServiceItem.objects.filter(pk=item.pk).update(search_words=words, search_pinyin="")
    item.search_words, item.search_pinyin = words, ""


def apply_filters(qs: QuerySet[ServiceItem], filters: Mapping[str, str]) -> QuerySet[ServiceItem]:
    if value := filters.get("department"):
        qs = qs.filter(department__code=value)
    if value := filters.get("region"):
        qs = qs.filter(region__code=value)
    if value := filters.get("type"):
        qs = qs.filter(item_type=value)
    if value := filters.get("theme"):
        qs = qs.filter(themes__slug=value)
    if value := filters.get("life_event"):
        qs = qs.filter(life_events__slug=value)
    if value := filters.get("audience"):
        qs = qs.filter(**{"for_citizens" if value == "citizen" else "for_enterprises": True})
    for key, column in FLAG_FILTERS.items():
        if filters.get(key) == "1":
            qs = qs.filter(**{column: True})
    if filters.get("zero_trips") == "1":
        qs = qs.filter(trips=0)
    return qs


def search_items(
    *, text: str = "", filters: Mapping[str, str] | None = None, page: int = 1, page_size: int = 20
) -> SearchResult:
    filters = {k: v for k, v in (filters or {}).items() if k in FILTER_KEYS and v}
    text = (text or "").strip()[:100]
    qs = ServiceItem.objects.filter(is_active=True)
    terms = text.split()
    for term in terms:
        qs = qs.filter(Q(name__icontains=term) | Q(search_words__icontains=term))
    filtered = apply_filters(qs, filters)
    total = filtered.count()
    start = (page - 1) * page_size
    items = list(
        filtered.select_related("department", "region").order_by("-popularity", "code")[
            start : start + page_size
        ]
    )
    facets = {
        "type": [
            Facet(
                row["item_type"],
                str(ServiceItem.ItemType(row["item_type"]).label),
                row["n"],
                filters.get("type") == row["item_type"],
            )
            for row in filtered.values("item_type").annotate(n=Count("id")).order_by("-n")
        ],
    }
    return SearchResult(
        items=items,
        total=total,
        page=page,
        page_size=page_size,
        query=text,
        terms=terms,
        facets=facets,
    )

"""Catalog pages: the home page, search with facets, item guides and their versions, themes, life
events, bundles.

Views parse the request, call one selector or ``search_items`` and shape the facets into links;
everything they show is read in a fixed number of queries. The search pages' results and the
item guides are rendered once per catalog generation (``catalog.search.cache.fragment``): the
searching and the reading are lazy, and a page whose fragment is cached skips them. For visitors
without a session the pages are kept whole for the generation (``zheliban.core.page_cache``,
``selectors.page_version``), a guide for its item's ratings too (``selectors.guide_version``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject, cached_property
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from . import selectors
from .models import Audience, JointStage, Material, ServiceItem
from .search import FILTER_KEYS, search_items
from .search import cache as search_cache

MAX_PAGE = 10_000
# Facet options shown at once; the rest wait behind "more".
FACET_VISIBLE = 8
FLAG_KEYS = ("online", "mobile", "zero_trips", "id_only")
FACET_TITLES = {
    "department": _("Department"),
    "region": _("Region"),
    "type": _("Item type"),
    "theme": _("Theme"),
    "life_event": _("Life event"),
    "audience": _("For whom"),
}
FLAG_LABELS = {
    "online": _("Can be done online"),
    "mobile": _("Can be done on a phone"),
    "zero_trips": _("Zero trips to the hall"),
    "id_only": _("ID card alone suffices"),
}
FEATURES_TITLE = _("Convenience")
STAGE_LABELS = dict(JointStage.Stage.choices)
AUDIENCE_LABELS = {"citizen": Audience.CITIZEN.label, "enterprise": Audience.ENTERPRISE.label}


@dataclass
class FacetOption:
    label: str
    count: int
    selected: bool
    url: str


@dataclass
class FacetGroup:
    key: str
    title: str
    options: list[FacetOption]
    more: list[FacetOption] = field(default_factory=list)


@dataclass
class ActiveFilter:
    title: str
    label: str
    remove_url: str


@dataclass
class PageLink:
    number: int
    url: str
    current: bool = False


def _page_number(request) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_PAGE else 1


def _filters_from(request, *, fixed: Mapping[str, str]) -> dict[str, str]:
    """The filters the visitor chose (those fixed by the page's address excluded)."""
    chosen = {}
    for key in FILTER_KEYS:
        if key in fixed:
            continue
        value = (request.GET.get(key) or "").strip()[:60]
        if value and (key not in FLAG_KEYS or value == "1"):
            chosen[key] = value
    return chosen


def _href(query: str, filters: Mapping[str, str], base: str = "", **extra) -> str:
    params = {"q": query} if query else {}
    params.update(filters)
    params.update({k: v for k, v in extra.items() if v})
    return f"{base}?{urlencode(params)}" if params else f"{base}?"


def _facet_groups(result, query, filters: dict[str, str], fixed: Mapping[str, str], base: str):
    """The engine's facet counts as links: each keeps the words and the other filters, and a
    chosen one links to its own removal. The yes/no features (online, zero trips ...) make one
    group, shown first. Labels for the chosen values come along."""
    groups: list[FacetGroup] = []
    features: list[FacetOption] = []
    labels: dict[str, str] = {}
    for key, facets in (getattr(result, "facets", None) or {}).items():
        options = []
        for facet in facets:
            if key in FILTER_KEYS:
                param, value = key, str(facet.value)
                if key in FLAG_KEYS and value not in ("1", "true", "True"):
                    continue
                value = "1" if key in FLAG_KEYS else value
                label = facet.label or FLAG_LABELS.get(key) or value
            elif str(facet.value) in FILTER_KEYS:
                # A group of yes/no features: each option is a flag of its own.
                param, value = str(facet.value), "1"
                label = facet.label or FLAG_LABELS.get(param, param)
            else:
                continue
            selected = filters.get(param) == value
            if param in fixed or not (facet.count or selected):
                continue  # the page's own filter, or a choice that would find nothing
            if selected:
                labels[param] = str(label)
            others = {k: v for k, v in filters.items() if k != param}
            url = _href(query, others if selected else {**others, param: value}, base)
            option = FacetOption(str(label), facet.count, selected, url)
            (features if param in FLAG_KEYS else options).append(option)
        if not options:
            continue
        title = str(FACET_TITLES.get(key, FEATURES_TITLE))
        if len(options) > FACET_VISIBLE + 2:
            visible = options[:FACET_VISIBLE]
            rest = options[FACET_VISIBLE:]
            # A chosen option stays in sight.
            visible += [o for o in rest if o.selected]
            rest = [o for o in rest if not o.selected]
            groups.append(FacetGroup(key, title, visible, rest))
        else:
            groups.append(FacetGroup(key, title, options))
    if features:
        groups.insert(0, FacetGroup("features", str(FEATURES_TITLE), features))
    return groups, labels


def _active_filters(query, filters, labels, base: str) -> list[ActiveFilter]:
    missing = {k: v for k, v in filters.items() if k not in labels}
    names = selectors.name_lookup(
        **{k: v for k, v in missing.items() if k in ("department", "region", "theme", "life_event")}
    )
    active = []
    for key, value in filters.items():
        if key in labels:
            label = labels[key]
        elif key in names:
            label = names[key]
        elif key == "type" and value in ServiceItem.ItemType.values:
            label = str(ServiceItem.ItemType(value).label)
        elif key == "audience":
            label = str(AUDIENCE_LABELS.get(value, value))
        elif key in FLAG_LABELS:
            label = str(FLAG_LABELS[key])
        else:
            label = value
        others = {k: v for k, v in filters.items() if k != key}
        remove_url = _href(query, others, base)
        title = "" if key in FLAG_KEYS else str(FACET_TITLES.get(key, key))
        active.append(ActiveFilter(title, label, remove_url))
    return active


def _page_links(result, query, filters, base: str) -> list[PageLink | None]:
    """Page numbers around the current one, with the first and last; None marks a gap."""
    pages, current = result.pages, result.page
    wanted = sorted({1, pages, *range(max(1, current - 2), min(pages, current + 2) + 1)})
    links: list[PageLink | None] = []
    previous = 0
    for number in wanted:
        if number - previous > 1:
            links.append(None)
        links.append(PageLink(number, _href(query, filters, base, page=number), number == current))
        previous = number
    return links


def _as_text(value, fallback: list[str]) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | set):
        return " ".join(str(v) for v in value)
    if value:
        return " ".join(fallback)
    return ""


class Listing:
    """One search as a listing page shows it, computed on first use: a page whose fragment is
    cached (``fragment``) renders without it, and so without searching."""

    def __init__(self, request, *, fixed: Mapping[str, str], text: str | None, base: str):
        self.fixed = dict(fixed)
        self.base = base
        self.query = (request.GET.get("q") or "").strip()[:100] if text is None else text
        self.filters = _filters_from(request, fixed=self.fixed)
        self.page = _page_number(request) if text is None else 1
        # A signed-in citizen's or enterprise's own region: its services rank first.
        self.region = selectors.user_region_code(user=request.user)
        # Everything the listing's HTML depends on besides the catalog's state.
        self.fragment = search_cache.fragment(
            request.path, self.query, self.filters, self.fixed, self.page, base, self.region
        )

    @cached_property
    def result(self):
        return search_items(
            text=self.query,
            filters={**self.filters, **self.fixed},
            page=self.page,
            region=self.region,
        )

    @cached_property
    def facets(self) -> tuple[list[FacetGroup], dict[str, str]]:
        return _facet_groups(self.result, self.query, self.filters, self.fixed, self.base)

    def href(self, filters: Mapping[str, str], **extra) -> str:
        return _href(self.query, filters, self.base, **extra)

    def context(self) -> dict:
        """The template's context: the request's words and filters as they are, what the search
        finds as lazy objects, computed if the template reads them."""
        query, filters = self.query, self.filters

        def lazy(compute):
            return SimpleLazyObject(lambda: compute(self.result))

        def terms(result) -> list[str]:
            return list(getattr(result, "terms", None) or [])

        return {
            "query": query,
            "filters": filters,
            "fragment": self.fragment,
            "result": SimpleLazyObject(lambda: self.result),
            # The bundles the words find, shown before the items.
            "found_bundles": lazy(lambda r: list(getattr(r, "bundles", None) or [])),
            "facet_groups": SimpleLazyObject(lambda: self.facets[0]),
            "active_filters": SimpleLazyObject(
                lambda: _active_filters(query, filters, self.facets[1], self.base)
            ),
            "clear_url": self.href({}),
            "page_links": lazy(
                lambda r: _page_links(r, query, filters, self.base) if r.pages > 1 else []
            ),
            "previous_url": lazy(
                lambda r: self.href(filters, page=r.page - 1) if r.page > 1 else ""
            ),
            "next_url": lazy(
                lambda r: self.href(filters, page=r.page + 1) if r.page < r.pages else ""
            ),
            "first_url": self.href(filters),
            "corrected": lazy(lambda r: _as_text(getattr(r, "corrected", None), terms(r))),
            "expanded_from": lazy(lambda r: _as_text(getattr(r, "expanded_from", None), [query])),
            "terms_text": lazy(lambda r: " ".join(terms(r))),
            "partial": lazy(lambda r: bool(getattr(r, "partial", False))),
        }


def _listing_context(
    request, *, fixed: Mapping[str, str] | None = None, text: str | None = None, base: str = ""
) -> dict:
    """Search the catalog as the request asks (within the page's fixed filters) and shape it.

    Links are relative to the page (``?...``) unless ``base`` sends them to another address.
    """
    return Listing(request, fixed=fixed or {}, text=text, base=base).context()


@require_GET
def home(request):
    return render(request, "home.html", {"life_events": list(selectors.life_event_list())})


def search(request):
    return render(request, "catalog/search.html", _listing_context(request))


def item(request, code: str):
    """The guide, its HTML cached for the catalog's generation: a cached guide costs one small
    query (is the item published, under what name) and its ratings' (one more)."""
    item = selectors.item_published(code=code)
    return render(
        request,
        "catalog/item.html",
        {
            "item": item,
            "guide": SimpleLazyObject(lambda: selectors.item_get_guide(code=code)),
            "fragment": search_cache.fragment(item.pk, item.version),
        },
    )


def item_version(request, code: str, number: int):
    version = selectors.item_version_get_public(code=code, number=number)
    snapshot = version.snapshot or {}
    fields = {f.name for f in ServiceItem._meta.concrete_fields} - {"id", "department", "region"}
    # An unsaved item and materials built from the snapshot, so the guide's own fragments and
    # labels render it (a material's form for the version's trips); nothing is written.
    old = ServiceItem(**{k: v for k, v in snapshot.items() if k in fields})
    material_fields = {f.name for f in Material._meta.concrete_fields} - {"id", "item", "issuer"}
    materials = []
    for row in snapshot.get("materials") or []:
        material = Material(item=old, **{k: v for k, v in row.items() if k in material_fields})
        material.issuer_name = row.get("issuer") or ""
        materials.append(material)
    stages = [
        {
            "department": row.get("department", ""),
            "stage": STAGE_LABELS.get(row.get("stage"), row.get("stage", "")),
        }
        for row in snapshot.get("joint_stages") or []
    ]
    return render(
        request,
        "catalog/item_version.html",
        {
            "version": version,
            "current": version.item,
            "old": old,
            "snapshot": snapshot,
            "materials": materials,
            "stages": stages,
        },
    )


def theme_index(request):
    return render(
        request,
        "catalog/themes.html",
        {
            "themes": list(selectors.theme_list_with_counts()),
            "life_events": list(selectors.life_event_list_with_counts()),
        },
    )


def theme(request, slug: str):
    theme = selectors.theme_get_public(slug=slug)
    context = _listing_context(request, fixed={"theme": theme.slug})
    context.update({"heading": theme.display_name, "search_action": request.path})
    return render(request, "catalog/search.html", context)


def life_event(request, slug: str):
    event = selectors.life_event_get_public(slug=slug)
    context = _listing_context(request, fixed={"life_event": event.slug})
    chose_nothing = not context["query"] and not context["filters"]
    if not context["result"].total and chose_nothing and event.keywords:
        # No item is linked to the event yet: find its services by its words instead, with the
        # links leading on to the general search for those words.
        context = _listing_context(request, text=event.keywords, base=reverse("catalog:search"))
        context.update({"found_by_words": event.keywords, "query": ""})
    context.update(
        {
            "heading": event.display_name,
            "intro": event.description,
            "bundles": event.active_bundles,
            # The event's bundles are all shown above: none again among the results.
            "found_bundles": [],
            "search_action": request.path,
        }
    )
    return render(request, "catalog/search.html", context)


def bundle_index(request):
    return render(
        request, "catalog/bundles.html", {"bundles": list(selectors.bundle_list_with_counts())}
    )


def bundle(request, slug: str):
    bundle = selectors.bundle_get_guide(slug=slug)
    parts = list(bundle.parts.all())
    departments = []
    for part in parts:
        if part.item.department not in departments:
            departments.append(part.item.department)
    return render(
        request,
        "catalog/bundle.html",
        {
            "bundle": bundle,
            "parts": parts,
            "departments": departments,
            "materials": selectors.bundle_materials(bundle),
        },
    )

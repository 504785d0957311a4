from django.shortcuts import get_object_or_404, render

from . import selectors
from .models import LifeEvent, Theme
from .search import FILTER_KEYS, search_items


def _page_number(request) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10_000 else 1


def search(request):
    query = (request.GET.get("q") or "").strip()[:100]
    filters = {key: request.GET.get(key, "") for key in FILTER_KEYS}
    result = search_items(text=query, filters=filters, page=_page_number(request))
    return render(request, "catalog/search.html", {"query": query, "result": result})


def item(request, code: str):
    return render(request, "catalog/item.html", {"item": selectors.item_get_public(code=code)})


def theme(request, slug: str):
    theme = get_object_or_404(Theme, slug=slug)
    result = search_items(filters={"theme": slug}, page=_page_number(request))
    return render(request, "catalog/search.html", {"heading": theme.name, "result": result})


def life_event(request, slug: str):
    event = get_object_or_404(LifeEvent, slug=slug)
    result = search_items(filters={"life_event": slug}, page=_page_number(request))
    return render(request, "catalog/search.html", {"heading": event.name, "result": result})


def bundle(request, slug: str):
    return render(
        request, "catalog/bundle.html", {"bundle": selectors.bundle_get_public(slug=slug)}
    )

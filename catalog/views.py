from django.shortcuts import render

from .life_events import LIFE_EVENTS


def search(request):
    """The catalog search page; the catalog itself is published through the import."""
    query = (request.GET.get("q") or "").strip()[:100]
    event = next((e for e in LIFE_EVENTS if e.slug == request.GET.get("event")), None)
    if event and not query:
        query = event.keywords
    return render(
        request,
        "catalog/search.html",
        {"query": query, "event": event, "results": [], "life_events": LIFE_EVENTS},
    )

"""Versions of the public pages kept whole (``zheliban.core.page_cache``) that show more than one
app: here, above every app, both may be read in one query.

An item's guide shows the catalog (kept for its generation) and the ratings of the cases that
included the item (好差评), which come in between catalog changes. For every view of a kept guide
one query, built once per process, tells whether the item is still published (under which name
and version) and reads its ratings' average and count; the ratings' HTML is the one
``{% item_ratings %}`` renders, made once per process for each language, average and count.
"""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models import F, FloatField, Func, IntegerField, OuterRef, Subquery
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import translation

from catalog import selectors as catalog_selectors
from catalog.models import ServiceItem
from workflows.models import Rating, Task
from zheliban.core import page_cache

_CODE = "\x00code"
RATINGS_TEMPLATE = "workflows/item_ratings.html"


def _rated(function: str, field: str, output_field):
    """``function(field)`` (SQL's AVG, COUNT) over the ratings of the cases that included the
    outer item: one row, as ``aggregate`` would compute it."""
    cases = Task.objects.filter(item_id=OuterRef(OuterRef("pk"))).values("application_id")
    ratings = (
        Rating.objects.filter(application_id__in=cases)
        .order_by()
        .annotate(total=Func(F(field), function=function, output_field=output_field))
        .values("total")
    )
    return Subquery(ratings, output_field=output_field)


@functools.cache
def _guide_sql() -> tuple[str, tuple, int]:
    """The guide's query as the ORM writes it, its parameters and where the code goes."""
    qs = (
        ServiceItem.objects.filter(is_active=True, code=_CODE)
        .order_by()
        .annotate(
            rating_average=_rated("AVG", "score", FloatField()),
            rating_count=_rated("COUNT", "id", IntegerField()),
        )
        .values_list("id", "name", "version", "rating_average", "rating_count")
    )
    sql, params = qs.query.sql_with_params()
    return sql, tuple(params), params.index(_CODE)


@functools.lru_cache(maxsize=512)
def _ratings_html(language: str, average: float | None, count: int) -> str:
    with translation.override(language):
        return render_to_string(RATINGS_TEMPLATE, {"average": average, "count": count})


def guide_version(request, code: str) -> page_cache.Version | None:
    """The kept guide's version (the catalog's generation, the item's id, name and version) and
    its ratings' HTML; 404 for an item not published."""
    generation = catalog_selectors.page_version(request)
    if generation is None:
        return None
    sql, params, at = _guide_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params[:at], code, *params[at + 1 :]))
        row = cursor.fetchone()
    if row is None:
        raise Http404("No published item has this code.")
    pk, name, version, average, count = row
    average = None if average is None else float(average)
    ratings = _ratings_html(translation.get_language(), average, count or 0)
    return page_cache.Version(parts=[*generation, pk, name, version], fill={"ratings": ratings})

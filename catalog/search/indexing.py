"""Keeping an item's search columns true: one item (``index_item``) or many (``reindex_items``)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Prefetch, QuerySet

from ..models import LifeEvent, Material, ServiceItem, Theme
from . import text as t
from .backends import SEARCH_FIELDS, backend
from .cache import generation_bump

# Long legal text would swamp an item's words with everyday ones; its start says what it is.
LONG_TEXT_CHARS = 300


def search_columns(
    item: ServiceItem,
    *,
    department: str,
    materials: Iterable[str],
    themes: Iterable[str],
    life_events: Iterable[str],
) -> dict[str, str]:
    names = t.dedupe([item.name, item.main_name, item.sub_name])
    others = [
        department,
        *themes,
        *life_events,
        *materials,
        (item.summary or "")[:LONG_TEXT_CHARS],
        (item.acceptance_conditions or "")[:LONG_TEXT_CHARS],
    ]
    return {
        "search_name": " ".join(t.name_tokens(names)),
        "search_pinyin": " ".join(t.pinyin_tokens(names)),
        "search_grams": " ".join(t.gram_tokens(item.name)),
        "search_words": " ".join(t.word_tokens(others)),
    }


def index_item(item: ServiceItem) -> None:
    """Recompute the item's search text: jieba words of its names, materials, themes, life events
    and department; pinyin and initials of its names; whole-name tokens and pinyin trigrams.

    Reads materials, themes and events afresh (a caller's prefetched lists may predate the
    write that made it re-index)."""
    department = item.department.name if item.department_id else ""
    columns = search_columns(
        item,
        department=department,
        materials=Material.objects.filter(item_id=item.pk).values_list("name", flat=True),
        themes=Theme.objects.filter(items=item.pk).values_list("name", flat=True),
        life_events=LifeEvent.objects.filter(items=item.pk).values_list("name", flat=True),
    )
    ServiceItem.objects.filter(pk=item.pk).update(**columns)
    for name, value in columns.items():
        setattr(item, name, value)
    backend().sync([(item.pk, *(columns[f] for f in SEARCH_FIELDS))])
    generation_bump()


def write_columns(rows: list[tuple]) -> None:
    """(id, name, pinyin, grams, words) rows to the item table: one prepared UPDATE, many rows
    (bulk_update's CASE per column costs more than the segmentation)."""
    sets = ", ".join(f"{field} = %s" for field in SEARCH_FIELDS)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {ServiceItem._meta.db_table} SET {sets} WHERE id = %s",  # noqa: S608
            [(*row[1:], row[0]) for row in rows],
        )


def reindex_items(queryset: QuerySet[ServiceItem] | None = None, *, batch_size: int = 500) -> int:
    """Re-index many items in batches (a few queries per batch); all of them when no queryset is
    given, which on SQLite also drops index rows of items that no longer exist. One transaction:
    searches see the old index or the new one, never half of each. Returns the count."""
    full = queryset is None
    ids = list(
        (ServiceItem.objects.all() if full else queryset)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    engine = backend()
    with transaction.atomic():
        if full:
            engine.clear()
        for start in range(0, len(ids), batch_size):
            batch = list(
                ServiceItem.objects.filter(pk__in=ids[start : start + batch_size])
                .select_related("department")
                .prefetch_related(
                    Prefetch("materials", queryset=Material.objects.only("item_id", "name")),
                    Prefetch("themes", queryset=Theme.objects.only("name")),
                    Prefetch("life_events", queryset=LifeEvent.objects.only("name")),
                )
                .order_by("pk")
            )
            for item in batch:
                columns = search_columns(
                    item,
                    department=item.department.name,
                    materials=[m.name for m in item.materials.all()],
                    themes=[x.name for x in item.themes.all()],
                    life_events=[x.name for x in item.life_events.all()],
                )
                for name, value in columns.items():
                    setattr(item, name, value)
            rows = [(item.pk, *(getattr(item, f) for f in SEARCH_FIELDS)) for item in batch]
            write_columns(rows)
            engine.sync(rows)
        generation_bump()
    return len(ids)

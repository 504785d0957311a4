"""Catalog search: one entry point for pages, API, admin and export.

``search_items`` answers a citizen's words (Chinese, pinyin, initials, colloquial phrases from
the synonym table, typos) with the matching published items, ranked, one page of them, with facet
counts. ``index_item`` keeps one item's pre-segmented search text true (the catalog services call
it on every publication); ``reindex_items`` does it in bulk, after imports and from
``manage.py reindex_search``.

Modules: ``text`` (normalising, jieba, pinyin), ``query`` (what to search for), ``backends``
(PostgreSQL tsvector / SQLite FTS5), ``indexing``, ``engine`` (the SQL), ``highlight``,
``cache`` (answers per catalog generation).
"""

from .cache import generation_bump
from .engine import FILTER_KEYS, Facet, SearchResult, search_items
from .indexing import index_item, reindex_items

__all__ = [
    "FILTER_KEYS",
    "Facet",
    "SearchResult",
    "generation_bump",
    "index_item",
    "reindex_items",
    "search_items",
]

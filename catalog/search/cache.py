"""Search answers and catalog pages kept in Django's cache, valid for one catalog *generation*.

The generation is one integer in the cache (``catalog:generation``, a generation of
``zheliban.core.generation``) and part of every key written here. Whatever can change what a
search returns bumps it once its transaction commits (``generation_bump``): publishing or
withdrawing items, re-indexing them, an import, a synonym edit. Entries of older generations are
never read again and expire on their own (``ANSWER_SECONDS``). A reader reads the generation
*before* it queries the database: an answer written under a generation was therefore computed
after every change that generation counts.

What the engine keeps is plain data (ids in order, counts, the words searched); the items
themselves are read by id for each request, so an entry is small. Pages keep rendered fragments
(``fragment``: the search results and facets, an item's guide) and the items API its answers as
data (``remember``) under the same generation.

Synonyms, themes, life events, departments (and their locations), regions and bundles are edited
through the admin's generic views, with no service of their own; searches read their phrases,
names and slugs (facet labels, filters) and the cached pages show them (``fragment``, and the
public pages kept whole, ``zheliban.core.page_cache``). Their saves and deletions bump
the generation through the model signals connected at the end of this module (imported with
``catalog.search``, which the admin loads at start-up).

A transaction that has itself changed the catalog (its bump is still waiting for the commit)
neither reads nor writes the cache: it sees rows nobody else sees yet.

With no cache server (the default local-memory cache) each process keeps its own entries and
its own generation: fine for one process, as the demo runs; with several, ``CACHE_URL`` must
name a shared cache (Redis), or a process would keep answering from entries another one's write
made stale. Entries expire; the generation does not: a Redis that evicts should evict keys with
an expiry first (``volatile-lru``). Should the generation be lost all the same, it starts again
above every value it can have had, so no old entry is ever read as current.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.utils.translation import get_language

from departments.models import Department, Region, ServiceLocation
from zheliban.core.generation import (
    GenerationBump,
    generation_get,
    generation_key,
    generation_pending,
)
from zheliban.core.generation import generation_bump as core_generation_bump

from ..models import Bundle, BundleItem, LifeEvent, Synonym, Theme

logger = logging.getLogger(__name__)

GENERATION = "catalog"
GENERATION_KEY = generation_key(GENERATION)
# Raised whenever what an entry holds changes shape, so that no process reads another's.
SCHEMA = 2
ANSWER_SECONDS = 600

T = TypeVar("T")


# The callbacks a commit runs to bump a generation (the catalog's among them).
_Bump = GenerationBump


def generation() -> int:
    """The catalog's current generation (set to a fresh value when the cache has none)."""
    return generation_get(GENERATION, cache=cache)


def generation_bump(*, using: str | None = None) -> None:
    """Make every cached search answer stale once the current transaction commits (at once
    outside a transaction). Once per transaction, however many items it writes; nothing if it
    rolls back. A cache that cannot be reached is logged, not raised: the write has committed."""
    core_generation_bump(GENERATION, using=using, cache=cache)


def changed_in_transaction(using: str | None = None) -> bool:
    """True when the current transaction has changed the catalog and not yet committed."""
    return generation_pending(GENERATION, using=using)


def _unavailable() -> None:
    logger.warning("catalog search cache unavailable; searching without it", exc_info=True)


class Entries:
    """The cached values of one kind in the current generation, by their parts (JSON-able).

    Inside a transaction that changed the catalog, or when the cache cannot be reached (logged),
    every lookup misses and nothing is stored: the search goes on without the cache."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.generation: int | None = None
        if not changed_in_transaction():
            try:
                self.generation = generation()
            except Exception:
                _unavailable()

    def key(self, parts: object) -> str:
        text = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        return f"catalog:{self.kind}:{SCHEMA}:{self.generation}:{digest}"

    def get_many(self, many: list[object]) -> list[Any | None]:
        """The value of each parts, None where missing."""
        if self.generation is None:
            return [None] * len(many)
        keys = [self.key(parts) for parts in many]
        try:
            found = cache.get_many(keys)
        except Exception:
            _unavailable()
            return [None] * len(many)
        return [found.get(key) for key in keys]

    def set_many(self, values: list[tuple[object, Any]]) -> None:
        if self.generation is None or not values:
            return
        try:
            cache.set_many({self.key(parts): v for parts, v in values}, ANSWER_SECONDS)
        except Exception:
            _unavailable()


@dataclass(frozen=True)
class Fragment:
    """How a template keeps a fragment that shows the catalog, for the current generation:
    ``{% cache fragment.timeout "name" fragment.key %}``. Inside a transaction that changed
    the catalog (or without a cache) a key of its own and no time: never read, never kept."""

    key: str
    timeout: int


def fragment(*parts: object) -> Fragment:
    """The fragment of these parts (JSON-able) in the active language and current generation."""
    entries = Entries("fragment")
    if entries.generation is None:
        return Fragment(key=uuid.uuid4().hex, timeout=0)
    return Fragment(key=entries.key([*parts, get_language()]), timeout=ANSWER_SECONDS)


def remember(kind: str, parts: object, compute: Callable[[], T]) -> T:
    """The cached value of ``compute()`` for ``parts`` in the current generation, computed and
    stored when missing."""
    entries = Entries(kind)
    (value,) = entries.get_many([parts])
    if value is None:
        value = compute()
        entries.set_many([(parts, value)])
    return value


def _searched_row_changed(sender, **kwargs) -> None:
    generation_bump(using=kwargs.get("using"))


for _model in (Synonym, Theme, LifeEvent, Department, Region, ServiceLocation, Bundle, BundleItem):
    for _signal in (post_save, post_delete):
        _signal.connect(
            _searched_row_changed,
            sender=_model,
            dispatch_uid=f"catalog-search-{_model._meta.label_lower}",
        )

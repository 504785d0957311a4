"""Generations: one integer per name in the cache, bumped once the change it counts commits.

Whatever keeps values computed from the database across requests (the catalog's search answers
and pages, the assistant's index) keys them by a generation, read *before* the database is
queried, and whatever changes what they were computed from calls ``generation_bump(name)``.
Entries of an older generation are never read again and expire on their own.

The bump runs through ``transaction.on_commit`` with Django's own semantics: at once outside a
transaction; nothing if the transaction rolls back; nothing for a bump asked inside a savepoint
that is rolled back (Django drops the callbacks registered since the savepoint); and once per
name however often one transaction asks. To know whether this transaction already has a bump
waiting, each connection keeps a weak reference to the bump it queued per name: a bump runs at
most once (``done``), and one Django drops with its transaction or savepoint is gone with it.

A lost generation (evicted, or the cache restarted) starts again above every value it can have
had, so no old entry is read as current. A cache that cannot be reached is logged, not raised,
by the commit (``robust``): the write it follows has committed.
"""

from __future__ import annotations

import time
import weakref

from django.core.cache import BaseCache
from django.core.cache import cache as default_cache
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper


def generation_key(name: str) -> str:
    """The cache key of a generation: ``catalog`` → ``catalog:generation``."""
    return f"{name}:generation"


def _fresh() -> int:
    """A value above any this cache can have used before: microseconds since the epoch, when
    each bump adds one."""
    return time.time_ns() // 1000


class GenerationBump:
    """One bump of a generation, queued for the commit. It runs at most once."""

    def __init__(self, name: str, cache: BaseCache) -> None:
        self.name = name
        self.cache = cache
        self.done = False

    def __call__(self) -> None:
        if self.done:
            return
        self.done = True
        key = generation_key(self.name)
        try:
            self.cache.incr(key)
        except ValueError:  # no generation yet (or evicted): any fresh one will do
            self.cache.add(key, _fresh(), timeout=None)

    def __repr__(self) -> str:
        return f"GenerationBump({self.name!r}, done={self.done})"


# Per connection (so per thread), the bump queued for each name.
_queued: weakref.WeakKeyDictionary[BaseDatabaseWrapper, dict[str, weakref.ref[GenerationBump]]] = (
    weakref.WeakKeyDictionary()
)


def generation_get(name: str, *, cache: BaseCache | None = None) -> int:
    """The generation's current value (set to a fresh one when the cache has none)."""
    cache = default_cache if cache is None else cache
    key = generation_key(name)
    value = cache.get(key)
    if value is None:
        cache.add(key, _fresh(), timeout=None)
        value = cache.get(key)
    # None only while the cache is unavailable: a generation of this moment matches nothing kept.
    return int(value) if value is not None else _fresh()


def generation_pending(name: str, *, using: str | None = None) -> bool:
    """Whether the current transaction has asked for a bump of ``name`` that its commit will
    run: it has changed what the generation counts, and nobody else sees the change yet."""
    connection = transaction.get_connection(using)
    reference = _queued.get(connection, {}).get(name)
    bump = reference() if reference is not None else None
    return bump is not None and not bump.done


def generation_bump(name: str, *, using: str | None = None, cache: BaseCache | None = None) -> None:
    """Bump ``name`` once the current transaction commits (at once outside one); once per
    transaction however often it is asked; nothing if the transaction, or the savepoint it was
    asked in, rolls back."""
    if generation_pending(name, using=using):
        return
    bump = GenerationBump(name, default_cache if cache is None else cache)
    connection = transaction.get_connection(using)
    _queued.setdefault(connection, {})[name] = weakref.ref(bump)
    transaction.on_commit(bump, using=using, robust=True)

"""The knowledge generation: one integer in the cache, bumped once a change to articles commits.

The assistant's index (``complaints.knowledge.index``) is kept per process for one pair of
generations, the catalog's (items) and this one (articles). Every write to articles goes through
``complaints.knowledge.services``, which calls ``bump``. Pinned answers are read per question and
need none. Like the catalog's, a lost generation starts again above any value it can have had.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

KEY = "complaints:knowledge:generation"


def current() -> int:
    value = cache.get(KEY)
    if value is None:
        cache.add(KEY, time.time_ns() // 1000, timeout=None)
        value = cache.get(KEY)
    # None only while the cache is unavailable: a generation of this moment matches nothing kept.
    return int(value) if value is not None else time.time_ns() // 1000


class _Bump:
    def __init__(self) -> None:
        self.done = False

    def __call__(self) -> None:
        self.done = True
        try:
            cache.incr(KEY)
        except ValueError:
            cache.add(KEY, time.time_ns() // 1000, timeout=None)


def _queued(using: str | None = None) -> _Bump | None:
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        return None
    for entry in connection.run_on_commit:
        if isinstance(entry[1], _Bump) and not entry[1].done:
            return entry[1]
    return None


def bump(*, using: str | None = None) -> None:
    """Make every process rebuild its index once the current transaction commits (at once
    outside one); once per transaction; nothing if it rolls back."""
    if _queued(using) is None:
        transaction.on_commit(_Bump(), using=using, robust=True)


def changed_in_transaction(using: str | None = None) -> bool:
    return _queued(using) is not None

"""The knowledge generation: one integer in the cache, bumped once a change to articles commits.

The assistant's index (``complaints.knowledge.index``) is kept per process for one pair of
generations, the catalog's (items) and this one (articles), both ``zheliban.core.generation``.
Every write to articles and pinned answers goes through ``complaints.knowledge.services``, which
calls ``bump``. Like the catalog's, a lost generation starts
again above any value it can have had.
"""

from __future__ import annotations

from zheliban.core.generation import (
    generation_bump,
    generation_get,
    generation_key,
    generation_pending,
)

NAME = "complaints:knowledge"
KEY = generation_key(NAME)


def current() -> int:
    return generation_get(NAME)


def bump(*, using: str | None = None) -> None:
    """Make every process rebuild its index once the current transaction commits (at once
    outside one); once per transaction; nothing if it rolls back."""
    generation_bump(NAME, using=using)


def changed_in_transaction(using: str | None = None) -> bool:
    return generation_pending(NAME, using=using)

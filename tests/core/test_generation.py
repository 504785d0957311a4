"""Generations bumped once per committed transaction, with Django's own on-commit semantics.

The tests commit and roll back for real (``transactional_db``): a test wrapped in a transaction
of its own would never commit, and "outside a transaction" would not exist.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction

from zheliban.core.generation import (
    generation_bump,
    generation_get,
    generation_key,
    generation_pending,
)

pytestmark = pytest.mark.usefixtures("transactional_db")


class Rollback(Exception):
    pass


@pytest.fixture
def name() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
def cache() -> LocMemCache:
    return LocMemCache(f"generation-{uuid.uuid4().hex}", {})


def test_outside_a_transaction_the_bump_is_immediate(name, cache):
    before = generation_get(name, cache=cache)
    generation_bump(name, cache=cache)
    assert generation_get(name, cache=cache) == before + 1
    assert generation_pending(name) is False
    generation_bump(name, cache=cache)
    assert generation_get(name, cache=cache) == before + 2


def test_one_bump_per_transaction_however_often_it_is_asked(name, cache):
    before = generation_get(name, cache=cache)
    with transaction.atomic():
        assert generation_pending(name) is False
        for _ in range(5):
            generation_bump(name, cache=cache)
        assert generation_pending(name) is True
        with transaction.atomic():  # a savepoint that commits keeps what it asked for
            generation_bump(name, cache=cache)
        assert generation_get(name, cache=cache) == before  # not before the commit
    assert generation_get(name, cache=cache) == before + 1
    assert generation_pending(name) is False
    with transaction.atomic():
        generation_bump(name, cache=cache)
    assert generation_get(name, cache=cache) == before + 2


def test_a_rolled_back_transaction_bumps_nothing_and_leaves_nothing_pending(name, cache):
    before = generation_get(name, cache=cache)
    with pytest.raises(Rollback), transaction.atomic():
        generation_bump(name, cache=cache)
        assert generation_pending(name) is True
        raise Rollback
    assert generation_get(name, cache=cache) == before
    assert generation_pending(name) is False
    # the next transaction is not taken for one that already asked
    with transaction.atomic():
        assert generation_pending(name) is False
        generation_bump(name, cache=cache)
    assert generation_get(name, cache=cache) == before + 1


def test_a_bump_asked_in_a_rolled_back_savepoint_does_not_run(name, cache):
    before = generation_get(name, cache=cache)
    with transaction.atomic():
        with pytest.raises(Rollback), transaction.atomic():
            generation_bump(name, cache=cache)
            raise Rollback
        assert generation_pending(name) is False
    assert generation_get(name, cache=cache) == before


def test_a_bump_asked_again_after_a_rolled_back_savepoint_runs_once(name, cache):
    before = generation_get(name, cache=cache)
    with transaction.atomic():
        with pytest.raises(Rollback), transaction.atomic():
            generation_bump(name, cache=cache)
            raise Rollback
        generation_bump(name, cache=cache)
        generation_bump(name, cache=cache)
        assert generation_pending(name) is True
    assert generation_get(name, cache=cache) == before + 1


def test_a_bump_asked_before_a_savepoint_survives_its_rollback(name, cache):
    before = generation_get(name, cache=cache)
    with transaction.atomic():
        generation_bump(name, cache=cache)
        with pytest.raises(Rollback), transaction.atomic():
            generation_bump(name, cache=cache)
            raise Rollback
        assert generation_pending(name) is True
    assert generation_get(name, cache=cache) == before + 1


@pytest.mark.parametrize(
    "shape",
    [
        "commit",
        "rollback",
        "savepoint rolled back",
        "savepoint released, outer rolled back",
        "savepoint released, outer committed",
        "savepoint rolled back, asked again",
        "nested savepoints, inner rolled back",
    ],
)
def test_a_bump_runs_exactly_when_djangos_on_commit_would(name, cache, shape):
    """Django's own on-commit callback, registered beside every bump, is the oracle."""
    before = generation_get(name, cache=cache)
    ran: list[str] = []

    def ask() -> None:
        generation_bump(name, cache=cache)
        transaction.on_commit(lambda: ran.append("django"))

    def savepoint(fail: bool, body) -> None:
        try:
            with transaction.atomic():
                body()
                if fail:
                    raise Rollback
        except Rollback:
            pass

    def outer(fail: bool, body) -> None:
        savepoint(fail, body)

    if shape == "commit":
        outer(False, ask)
    elif shape == "rollback":
        outer(True, ask)
    elif shape == "savepoint rolled back":
        outer(False, lambda: savepoint(True, ask))
    elif shape == "savepoint released, outer rolled back":
        outer(True, lambda: savepoint(False, ask))
    elif shape == "savepoint released, outer committed":
        outer(False, lambda: savepoint(False, ask))
    elif shape == "savepoint rolled back, asked again":
        outer(False, lambda: (savepoint(True, ask), ask()))
    else:
        outer(False, lambda: savepoint(False, lambda: savepoint(True, ask)))
    assert generation_get(name, cache=cache) == before + min(len(ran), 1)
    assert generation_pending(name) is False


def test_names_and_connections_are_apart(name, cache):
    other = f"{name}-other"
    seen_elsewhere: list[bool] = []
    with transaction.atomic():
        generation_bump(name, cache=cache)
        assert generation_pending(other) is False
        # another thread has a connection (and a transaction) of its own
        thread = threading.Thread(target=lambda: seen_elsewhere.append(generation_pending(name)))
        thread.start()
        thread.join()
    assert seen_elsewhere == [False]


def test_a_lost_generation_starts_above_the_old_ones(name, cache):
    generation_bump(name, cache=cache)
    before = generation_get(name, cache=cache)
    cache.delete(generation_key(name))
    assert generation_get(name, cache=cache) > before
    cache.delete(generation_key(name))
    generation_bump(name, cache=cache)  # a bump with nothing to add to starts afresh too
    assert generation_get(name, cache=cache) > before


def test_the_default_cache_holds_a_generation_under_its_key(name):
    from django.core.cache import cache as default_cache

    value = generation_get(name)
    assert default_cache.get(generation_key(name)) == value
    generation_bump(name)
    assert default_cache.get(generation_key(name)) == value + 1

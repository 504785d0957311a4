"""The search cache: answers kept per catalog generation, made stale by every committed change.

Tests run inside a transaction that never commits, so the bumps queued for the commit are run
by ``django_capture_on_commit_callbacks(execute=True)``, as a commit would run them.
"""

from __future__ import annotations

import os
import uuid

import pytest
from django.core.cache.backends.redis import RedisCache
from django.db import transaction

from catalog import services
from catalog.importers.gdzwfw import gdzwfw_import
from catalog.models import ServiceItem, Synonym
from catalog.search import cache as search_cache
from catalog.search import search_items
from catalog.search.cache import generation
from tests.catalog.test_import import feed_objects, write_lines
from tests.factories import ServiceItemFactory, StaffFactory

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


def publish(name: str, **fields) -> ServiceItem:
    item = ServiceItemFactory(name=name, **fields)
    services.item_publish(actor=None, item=item, materials=[{"name": "居民身份证"}])
    return item


def names(result) -> list[str]:
    return [item.name for item in result.items]


def bumps(callbacks) -> int:
    return sum(isinstance(callback, search_cache._Bump) for callback in callbacks)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what is written inside as committed: its on-commit callbacks run at the end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def marriage(committed):
    with committed():
        return [publish("结婚登记", popularity=2), publish("离婚登记", popularity=1)]


def test_a_repeated_search_reads_only_the_page(marriage, django_assert_num_queries):
    # Synonyms, the search statement, the page's items.
    with django_assert_num_queries(3):
        first = search_items(text="登记")
    # The page's items only: the same words, however spaced and in whatever width or case.
    with django_assert_num_queries(1):
        second = search_items(text="  登记 ")
    assert names(first) == names(second) == ["结婚登记", "离婚登记"]
    assert second.total == 2
    assert second.query == "登记"
    assert second.facets == first.facets
    assert str(second.items[0].highlighted_name) == "结婚<mark>登记</mark>"
    with django_assert_num_queries(3):
        search_items(text="JIEHUN")
    with django_assert_num_queries(1):
        pinyin = search_items(text="ｊｉｅｈｕｎ")
    assert names(pinyin) == ["结婚登记"]
    # Another page, size or filter is another entry.
    with django_assert_num_queries(3):
        search_items(text="登记", page_size=1)
    with django_assert_num_queries(1):
        assert names(search_items(text="登记", page_size=1)) == ["结婚登记"]


def test_a_typo_once_corrected_is_read_from_the_cache(marriage, django_assert_num_queries):
    # Synonyms, the statement, the correction, the corrected statement, the page's items.
    with django_assert_num_queries(5):
        first = search_items(text="结昏登记")
    with django_assert_num_queries(1):
        second = search_items(text="结昏登记")
    assert (second.corrected, names(second)) == (first.corrected, names(first))
    assert second.corrected == "结婚登记"


def test_browsing_is_read_from_the_cache(marriage, django_assert_num_queries):
    # The page; the counts of the online items by department, region, type and feature, and by
    # theme; the counts of every item by feature (the online filter's own); the page's items.
    with django_assert_num_queries(5):
        first = search_items(filters={"online": "1"})
    with django_assert_num_queries(1):
        second = search_items(filters={"online": "1"})
    assert names(first) == names(second) == ["结婚登记", "离婚登记"]
    assert (second.total, second.facets) == (first.total, first.facets)
    # The whole catalog's counts by department, region, type and feature are known already:
    # the page, the counts by theme, the page's items.
    with django_assert_num_queries(3):
        everything = search_items()
    assert everything.total == 2
    # Another page of the same items: only the page and its items.
    with django_assert_num_queries(2):
        assert names(search_items(filters={"online": "1"}, page=2, page_size=1)) == ["离婚登记"]


def test_an_item_edit_shows_at_once_and_a_publication_in_the_next_search(
    marriage, committed, django_assert_num_queries
):
    search_items(text="登记")
    # Items are read afresh by id: a change that does not touch the search shows at once.
    ServiceItem.objects.filter(pk=marriage[0].pk).update(promised_days=1)
    with django_assert_num_queries(1):
        assert search_items(text="登记").items[0].promised_days == 1
    with committed() as callbacks:
        publish("出生登记", popularity=3)
    assert bumps(callbacks) == 1
    assert names(search_items(text="登记")) == ["出生登记", "结婚登记", "离婚登记"]


def test_withdrawing_and_publishing_again_show_in_the_next_search(marriage, committed):
    assert search_items(text="登记").total == 2
    staff = StaffFactory(is_superuser=True)
    withdrawn = ServiceItem.objects.filter(pk=marriage[0].pk)
    with committed() as callbacks:
        services.items_set_published(actor=staff, items=withdrawn, published=False)
    assert bumps(callbacks) == 1
    result = search_items(text="登记")
    assert (names(result), result.total) == (["离婚登记"], 1)
    assert sum(f.count for f in result.facets["department"]) == 1
    with committed():
        services.items_set_published(actor=staff, items=withdrawn, published=True)
    assert names(search_items(text="登记")) == ["结婚登记", "离婚登记"]


def test_synonym_edits_show_in_the_next_search(committed):
    with committed():
        publish("社会保障卡申领")
        Synonym.objects.filter(phrase="社保卡").delete()
    assert search_items(text="社保卡").total == 0
    with committed() as callbacks:
        synonym = Synonym.objects.create(phrase="社保卡", expansion="社会保障卡")
    assert bumps(callbacks) == 1
    assert names(search_items(text="社保卡")) == ["社会保障卡申领"]
    with committed():
        synonym.delete()
    assert search_items(text="社保卡").total == 0


def test_an_import_shows_in_the_next_search(gd_feed, tmp_path, committed):
    rows = feed_objects(gd_feed)[:3]
    assert search_items(text=rows[0]["TASK_NAME"]).total == 0
    feed = tmp_path / "feed.jsonl"
    write_lines(feed, rows)
    with committed() as callbacks:
        report = gdzwfw_import(path=feed)
    assert report.created == 3
    assert bumps(callbacks) == 1  # once for the whole run, not once per item
    assert rows[0]["TASK_CODE"] in [i.code for i in search_items(text=rows[0]["TASK_NAME"]).items]
    # Nothing changed: no bump.
    with committed() as callbacks:
        assert gdzwfw_import(path=feed).unchanged == 3
    assert bumps(callbacks) == 0


def test_a_rolled_back_publication_does_not_bump_the_generation(
    marriage, committed, django_assert_num_queries
):
    before = generation()
    assert search_items(text="登记").total == 2
    with committed() as callbacks, pytest.raises(Rollback), transaction.atomic():
        publish("出生登记")
        # Inside the transaction that wrote it, the new item is found: the cache is not read
        # (nor written) while the catalog has changed and not committed.
        assert search_items(text="登记").total == 3
        raise Rollback
    assert bumps(callbacks) == 0
    assert generation() == before
    with django_assert_num_queries(1):
        assert names(search_items(text="登记")) == ["结婚登记", "离婚登记"]


def test_one_bump_per_transaction_and_none_before_the_commit(committed):
    before = generation()
    with committed() as callbacks:
        with transaction.atomic():
            publish("出生登记")
            publish("死亡登记")
            assert generation() == before
        assert generation() == before
    assert bumps(callbacks) == 1
    assert generation() == before + 1


def test_a_generation_lost_from_the_cache_starts_above_the_old_ones(marriage):
    before = generation()
    search_cache.cache.delete(search_cache.GENERATION_KEY)
    assert generation() > before


@pytest.fixture
def redis_cache(monkeypatch, redis_url):
    """The search cache on a real Redis (CACHE_URL if it names one), under keys of its own."""
    url = os.environ.get("CACHE_URL", "")
    url = url if url.startswith("redis://") else redis_url
    prefix = f"zheliban-test-{uuid.uuid4().hex}"
    redis = RedisCache(url, {"KEY_PREFIX": prefix})
    monkeypatch.setattr(search_cache, "cache", redis)
    yield redis
    client = redis._cache.get_client(write=True)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def test_the_cache_works_on_redis(redis_cache, committed, django_assert_num_queries):
    with committed():
        publish("结婚登记")
    before = generation()
    with django_assert_num_queries(3):
        search_items(text="结婚")
    with django_assert_num_queries(1):
        assert names(search_items(text="结婚")) == ["结婚登记"]
    with committed():
        publish("结婚证补领")
    assert generation() == before + 1
    assert names(search_items(text="结婚")) == ["结婚登记", "结婚证补领"]

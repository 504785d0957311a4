"""With the cache's server down, pages, searches, rate-limited posts and the board still answer:
the cache fails open (reads miss, writes are dropped) and says so in the log and on /healthz."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from catalog import services as catalog_services
from catalog.models import Material
from complaints.models import Ticket
from tests.complaints.desk import desk  # noqa: F401  (the complaints-desk scenario)
from tests.factories import CityFactory, DepartmentFactory, ServiceItemFactory
from zheliban.core import cache as fail_open

NOWHERE = {
    "default": {
        "BACKEND": "zheliban.core.cache.FailOpenRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
    }
}


@pytest.fixture
def cache_down():
    fail_open.OUTAGE.skip_until = 0.0
    failures = fail_open.OUTAGE.failures
    with override_settings(CACHES=NOWHERE):
        yield lambda: fail_open.OUTAGE.failures - failures
    fail_open.OUTAGE.skip_until = 0.0


def test_the_cache_answers_as_an_empty_one_while_its_server_is_down(cache_down):
    assert cache.get("k") is None
    assert cache.get("k", "fallback") == "fallback"
    assert cache.add("k", 1) is False
    assert cache.set("k", 1) is None
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert cache.has_key("k") is False
    assert cache.delete("k") is False
    with pytest.raises(ValueError):
        cache.incr("k")
    assert cache.ping() is False
    assert cache_down() >= 1


def test_after_a_failure_the_server_is_not_asked_again_for_a_moment(cache_down):
    cache.get("first")  # fails and opens the skip window
    failures = cache_down()
    started = time.monotonic()
    for n in range(200):
        assert cache.get(f"k{n}") is None
    assert cache_down() == failures  # skipped, not tried and failed again
    assert time.monotonic() - started < 0.5


@pytest.mark.django_db
def test_pages_and_searches_answer_while_the_cache_is_down(cache_down):
    city = CityFactory(code="330100", name="杭州市")
    department = DepartmentFactory(code="330100-gongan", kind="gongan", region=city)
    item = ServiceItemFactory.build(code="330100GA0001", name="出生登记", department=department)
    catalog_services.item_publish(
        actor=None,
        item=item,
        materials=[{"name": "居民身份证", "source": Material.Source.SHARED, "issuer": department}],
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for url in ("/", "/services/?q=出生", f"/services/items/{item.code}/", "/board/"):
        response = client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
        assert response.status_code == 200 or url == "/board/"
    search = client.get("/api/v1/items/", {"search": "出生"})
    assert search.status_code == 200
    assert [row["code"] for row in search.json()["results"]] == [item.code]
    health = client.get("/healthz").json()
    assert (health["status"], health["cache"]) == ("degraded", "unreachable")
    assert cache_down() >= 1


def test_rate_limited_ticket_posts_are_accepted_while_the_cache_is_down(desk, cache_down):  # noqa: F811
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(desk.citizen)
    for n in range(3):
        response = client.post(
            "/api/v1/tickets/",
            {
                "kind": "complaint",
                "content": f"小区门口道路施工噪音很大，晚上十一点还在施工，影响休息。第{n}次。",
                "region": "330106",
            },
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
    assert Ticket.objects.count() == 3

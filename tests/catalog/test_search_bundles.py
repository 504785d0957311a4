"""Search finds bundles (一件事) and shows them before every item; a signed-in citizen's own region
ranks first.

On the demo catalog (seeded as ``manage.py seed_demo`` seeds it), on small made-up catalogs, and
on the real Guangdong feed beside the demo province; pages, the items API and the engine alike,
in a fixed number of queries.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import selectors
from catalog.models import Bundle, LifeEvent, Material, ServiceItem
from catalog.search import index_item, search_items
from catalog.search.engine import MAX_BUNDLES
from departments.models import Region
from tests.factories import DepartmentFactory, RegionFactory, ServiceItemFactory, UserFactory
from zheliban.accounts.models import User
from zheliban.core.identity import uscc_check_char

pytestmark = pytest.mark.django_db

ITEMS = "/api/v1/items/"
SEARCH = "/services/"
MARRIAGE_GD = "11440000006940175Y2442108008000"  # 结婚登记预约, 广东省民政厅


@pytest.fixture
def demo_catalog():
    """The demo province's departments and catalog, as ``manage.py seed_demo`` seeds them."""
    for app in ("departments", "catalog"):
        apps.get_app_config(app).seed_demo(stdout=StringIO())


def slugs(result) -> list[str]:
    return [bundle.slug for bundle in result.bundles]


def codes(result) -> list[str]:
    return [item.code for item in result.items]


def main(response) -> str:
    html = response.content.decode()
    return html[html.index('<main id="main"') : html.index("</main>")]


# ---------------------------------------------------------------------------------------------
# Bundles on the demo catalog
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "slug"),
    [
        ("生孩子", "newborn"),  # colloquial: the synonym table's 出生 is in the bundle's name
        ("新生儿出生一件事", "newborn"),  # its whole name
        ("退休", "retirement"),
        ("开公司", "company-start"),  # through its life event's search words (企业设立)
        ("身后一件事", "bereavement"),
    ],
)
def test_each_demo_bundle_is_found_first(client, demo_catalog, typed, slug):
    result = search_items(text=typed)
    assert slugs(result) == [slug]
    assert result.items  # the items follow

    page = client.get(SEARCH, {"q": typed})
    assert [bundle.slug for bundle in page.context["found_bundles"]] == [slug]
    html = main(page)
    first_item = html.index(f'href="{result.items[0].get_absolute_url()}"')
    assert html.index(f'href="/services/bundles/{slug}/"') < first_item

    body = client.get(ITEMS, {"search": typed}).json()
    assert [bundle["slug"] for bundle in body["bundles"]] == [slug]
    assert [row["code"] for row in body["results"]] == codes(result)


def test_a_bundle_in_the_api_search_reads_as_in_the_bundles_api(client, demo_catalog):
    [found] = client.get(ITEMS, {"search": "生孩子"}).json()["bundles"]
    detail = client.get("/api/v1/bundles/newborn/").json()
    detail.pop("parts")
    detail.pop("eligibility")
    assert found == detail
    assert found["life_event"] == {"slug": "birth", "name": "出生"}
    assert found["url"] == "http://testserver/services/bundles/newborn/"


def test_bundles_rank_by_their_words_then_popularity(demo_catalog):
    # Every name holds 一件事: the most used first.
    result = search_items(text="一件事")
    assert slugs(result) == ["newborn", "retirement", "company-start", "bereavement"]
    # Words only in summaries: 户口 is in 新生儿出生一件事's and 身后一件事's.
    assert slugs(search_items(text="户口")) == ["newborn", "bereavement"]
    # A word nobody's bundle holds finds none; pinyin is not matched in bundles.
    assert slugs(search_items(text="结婚登记")) == []
    assert slugs(search_items(text="tuixiu")) == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["retirement"]),
        ({"audience": "citizen"}, ["retirement"]),
        ({"audience": "enterprise"}, []),
        ({"region": "330100"}, ["retirement"]),
        ({"region": "330106"}, []),
        ({"life_event": "retirement"}, ["retirement"]),
        ({"life_event": "birth"}, []),
        ({"zero_trips": "1"}, ["retirement"]),
        # Filters only items have: the visitor is looking for items.
        ({"type": "xzgf"}, []),
        ({"department": "330100-renshe"}, []),
        ({"online": "1"}, []),
        ({"theme": "retirement"}, []),
    ],
)
def test_bundles_under_filters(demo_catalog, filters, expected):
    assert slugs(search_items(text="退休", filters=filters)) == expected


def test_bundles_only_on_the_first_page_and_only_published(demo_catalog):
    assert slugs(search_items(text="退休", page_size=2)) == ["retirement"]
    assert slugs(search_items(text="退休", page=2, page_size=2)) == []
    Bundle.objects.filter(slug="retirement").update(is_active=False)
    assert slugs(search_items(text="退休")) == []
    # Browsing (no words) lists items only.
    assert slugs(search_items()) == []


def test_a_search_finding_only_a_bundle_does_not_say_nothing_was_found(client):
    city = RegionFactory(code="330100", name="杭州市", level="city", parent=RegionFactory())
    Bundle.objects.create(slug="move", name="搬家一件事", region=city)
    page = client.get(SEARCH, {"q": "搬家"}, HTTP_ACCEPT_LANGUAGE="en")
    html = main(page)
    assert page.context["result"].total == 0
    assert 'href="/services/bundles/move/"' in html
    assert "No published service matches" not in html


# ---------------------------------------------------------------------------------------------
# The searcher's region
# ---------------------------------------------------------------------------------------------


def region(code: str, name: str, level: str, parent: Region | None = None) -> Region:
    return RegionFactory(code=code, name=name, level=level, parent=parent)


def make(name: str, where: Region, *, materials=(), **fields) -> ServiceItem:
    item = ServiceItemFactory(name=name, department=DepartmentFactory(region=where), **fields)
    for order, material in enumerate(materials):
        Material.objects.create(item=item, name=material, sort_order=order)
    index_item(item)
    return item


@pytest.fixture
def provinces():
    return build_provinces()


def build_provinces() -> dict:
    """结婚登记 in Guangdong (the most used), in Ningbo, in Hangzhou's 西湖区, and a 西湖区 item
    holding the words only in its materials."""
    zhejiang = region("330000", "浙江省", "province")
    hangzhou = region("330100", "杭州市", "city", zhejiang)
    xihu = region("330106", "西湖区", "county", hangzhou)
    ningbo = region("330200", "宁波市", "city", zhejiang)
    guangdong = region("440000", "广东省", "province")
    return {
        "guangdong": make("结婚登记预约", guangdong, popularity=900),
        "ningbo": make("结婚登记服务", ningbo, popularity=500),
        "xihu": make("结婚登记（内地居民）", xihu, popularity=10),
        "elsewhere": make("户口迁移", xihu, materials=["结婚登记证明"], popularity=999),
        "hangzhou": hangzhou,
    }


def test_the_searchers_region_ranks_first_among_name_matches(provinces):
    p = provinces
    anonymous = [p["guangdong"].code, p["ningbo"].code, p["xihu"].code, p["elsewhere"].code]
    assert codes(search_items(text="结婚登记")) == anonymous
    # 西湖区's own first, then the rest of 浙江; words only in materials stay last.
    assert codes(search_items(text="结婚登记", region="330106")) == [
        p["xihu"].code,
        p["ningbo"].code,
        p["guangdong"].code,
        p["elsewhere"].code,
    ]
    # A city's services are its counties' too: as much the citizen's own as the county's, the
    # words decide between them (the shorter name first).
    hangzhou = make("结婚登记咨询", p["hangzhou"], popularity=1)
    assert codes(search_items(text="结婚登记", region="330106"))[:3] == [
        hangzhou.code,
        p["xihu"].code,
        p["ningbo"].code,
    ]
    # A Guangdong citizen: Guangdong's first.
    assert codes(search_items(text="结婚登记", region="440106"))[0] == p["guangdong"].code
    # Nothing local: as for anyone.
    assert codes(search_items(text="预约", region="330106")) == [p["guangdong"].code]
    # A region that is not a code changes nothing.
    assert codes(search_items(text="结婚登记", region="33' OR 1=1")) == [
        p["guangdong"].code,
        p["ningbo"].code,
        hangzhou.code,
        p["xihu"].code,
        p["elsewhere"].code,
    ]


def test_user_region_code():
    citizen = UserFactory()  # a 330106 (西湖区) ID number
    assert selectors.user_region_code(user=citizen) == "330106"
    first17 = "91440101MA5C00001"
    enterprise = UserFactory(
        kind=User.Kind.ENTERPRISE, id_number=None, credit_code=first17 + uscc_check_char(first17)
    )
    assert selectors.user_region_code(user=enterprise) == "440101"
    staff = UserFactory(kind=User.Kind.STAFF, id_number=None)
    assert selectors.user_region_code(user=staff) == ""
    from django.contrib.auth.models import AnonymousUser

    assert selectors.user_region_code(user=AnonymousUser()) == ""


def test_a_signed_in_citizen_sees_their_region_first_on_the_page_and_in_the_api(
    client, django_capture_on_commit_callbacks
):
    # Committed, so that answers and pages are kept: they are kept per region, the anonymous
    # one first here, then the citizen's.
    with django_capture_on_commit_callbacks(execute=True):
        p = build_provinces()
        Bundle.objects.create(slug="wedding", name="结婚登记一件事", region=p["hangzhou"])
    user = UserFactory()
    order = [p[key].get_absolute_url() for key in ("xihu", "guangdong")]

    def shown(html: str) -> list[str]:
        return sorted(order, key=lambda url: html.index(f'href="{url}"'))

    anonymous = main(client.get(SEARCH, {"q": "结婚登记"}))
    anonymous_api = client.get(ITEMS, {"search": "结婚登记"}).json()
    client.force_login(user)
    page = main(client.get(SEARCH, {"q": "结婚登记"}))
    api = client.get(ITEMS, {"search": "结婚登记"}).json()
    assert shown(anonymous) == order[::-1]
    assert shown(page) == order
    assert html_before(page, 'href="/services/bundles/wedding/"', f'href="{order[0]}"')
    assert [row["code"] for row in anonymous_api["results"]] == [
        p[key].code for key in ("guangdong", "ningbo", "xihu", "elsewhere")
    ]
    assert [row["code"] for row in api["results"]] == [
        p[key].code for key in ("xihu", "ningbo", "guangdong", "elsewhere")
    ]
    assert [b["slug"] for b in api["bundles"]] == ["wedding"]
    # Signed out again: the anonymous answer.
    client.logout()
    assert shown(main(client.get(SEARCH, {"q": "结婚登记"}))) == order[::-1]


def html_before(html: str, first: str, then: str) -> bool:
    return html.index(first) < html.index(then)


def test_real_guangdong_items_come_after_the_citizens_own(client, gd_catalog, db):
    apps.get_app_config("departments").seed_demo(stdout=StringIO())
    apps.get_app_config("catalog").seed_demo(stdout=StringIO())
    local = ServiceItem.objects.get(name="结婚登记（内地居民）")
    assert local.region.code == "330106"

    anonymous = client.get(SEARCH, {"q": "结婚登记"}).context["result"]
    assert codes(anonymous)[:2] == [MARRIAGE_GD, local.code]
    client.force_login(UserFactory())
    result = client.get(SEARCH, {"q": "结婚登记"}).context["result"]
    assert codes(result)[:2] == [local.code, MARRIAGE_GD]
    assert client.get(ITEMS, {"search": "结婚登记"}).json()["results"][0]["code"] == local.code
    # Bundles still come first, whoever searches; the items after them are the citizen's own.
    result = client.get(SEARCH, {"q": "退休"}).context["result"]
    assert slugs(result) == ["retirement"]
    assert all(item.region.code.startswith("33") for item in result.items[:3])
    # Words only Guangdong's items hold: the same as for anyone.
    only_there = client.get(SEARCH, {"q": "港澳"}).context["result"]
    client.logout()
    assert codes(client.get(SEARCH, {"q": "港澳"}).context["result"]) == codes(only_there)


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [3, 40])
def test_bundles_cost_one_query_whatever_their_number(size, django_assert_num_queries):
    city = RegionFactory(code="330100", name="杭州市", level="city", parent=RegionFactory())
    birth = LifeEvent.objects.get(slug="birth")
    department = DepartmentFactory(region=city)
    for n in range(size):
        Bundle.objects.create(
            slug=f"b{n}", name=f"出生一件事{n}", region=city, life_event=birth, popularity=n
        )
        item = ServiceItemFactory(name=f"出生事项{n}", department=department)
        index_item(item)
    # Synonyms, the search statement (finding the bundles too), the bundles, the page's items.
    with django_assert_num_queries(4):
        result = search_items(text="出生", region="330106")
    shown = min(size, MAX_BUNDLES)
    assert slugs(result) == [f"b{n}" for n in range(size - 1, size - 1 - shown, -1)]
    assert [b.part_count for b in result.bundles] == [0] * shown
    # Without bundles found (another page, or an item-only filter), as before.
    with django_assert_num_queries(3):
        assert slugs(search_items(text="出生", page=2, page_size=2)) == []
    with django_assert_num_queries(3):
        assert slugs(search_items(text="出生", filters={"online": "1"})) == []


def test_a_kept_answer_keeps_its_bundles(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        city = RegionFactory(code="330100", name="杭州市", level="city", parent=RegionFactory())
        Bundle.objects.create(slug="newborn", name="新生儿出生一件事", region=city)
        make("出生登记", city)
    first = search_items(text="出生")
    with CaptureQueriesContext(connection) as queries:
        again = search_items(text="出生")
    assert len(queries) == 1  # the page's items
    assert slugs(again) == slugs(first) == ["newborn"]
    assert again.bundles[0].region.name == "杭州市"

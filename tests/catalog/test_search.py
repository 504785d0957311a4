"""Catalog search: Chinese words, pinyin, initials, synonyms, typos, ranking, filters, facets,
highlighting and a fixed number of queries; on synthetic items and on the real Guangdong feed.

Every test runs alike on SQLite (FTS5) and PostgreSQL (tsvector + GIN): the assertions are the
same, so the two engines give the same results for these queries.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from catalog.models import LifeEvent, Material, ServiceItem, Synonym, Theme
from catalog.search import (
    FILTER_KEYS,
    Facet,
    SearchResult,
    engine,
    index_item,
    reindex_items,
    search_items,
)
from catalog.search.query import NAME, WORDS, All, Any, Term, by_place, plan_query, to_fts5
from catalog.search.text import name_pinyin, pinyin_tokens
from tests.factories import DepartmentFactory, RegionFactory, ServiceItemFactory

pytestmark = pytest.mark.django_db


def make(name: str, *, materials=(), themes=(), department=None, **fields) -> ServiceItem:
    """An item as the catalog would publish it: saved, materials and themes set, indexed."""
    if department is not None:
        fields["department"] = department
    item = ServiceItemFactory(name=name, **fields)
    for order, material in enumerate(materials):
        Material.objects.create(item=item, name=material, sort_order=order)
    if themes:
        item.themes.set(themes)
    index_item(item)
    return item


def names(result: SearchResult) -> list[str]:
    return [item.name for item in result.items]


def codes(result: SearchResult) -> list[str]:
    return [item.code for item in result.items]


def facet(result: SearchResult, key: str) -> dict[str, int]:
    return {f.value: f.count for f in result.facets[key]}


def selected(result: SearchResult, key: str) -> list[str]:
    return [f.value for f in result.facets[key] if f.selected]


# ---------------------------------------------------------------------------------------------
# Words: what is indexed, what a query becomes
# ---------------------------------------------------------------------------------------------


def test_index_holds_words_pinyin_and_initials():
    item = make("离婚登记", materials=["居民身份证", "结婚证"])
    item.refresh_from_db()
    name_tokens = item.search_name.split()
    assert {"离婚", "登记", "离", "婚", "婚登"} <= set(name_tokens)
    assert {"lihun", "dengji", "lihundengji", "lhdj", "lh", "dj"} <= set(item.search_pinyin.split())
    assert {"居民", "身份证", "结婚证"} <= set(item.search_words.split())
    assert {"示例", "局"} <= set(item.search_words.split())  # its department, 示例局<n>
    assert {"lih", "ihu", "hun"} <= set(item.search_grams.split())


def test_pinyin_of_names():
    assert name_pinyin("户口登记") == ("hukoudengji", "hkdj")
    assert name_pinyin("ICP许可证") == ("icpxukezheng", "ixkz")
    # Every word boundary starts a token: 驾驶证 can be typed without what comes before it.
    tokens = pinyin_tokens(["机动车驾驶证申领"])
    assert {"jiashizhengshenling", "jszsl", "jiashizheng", "jsz"} <= set(tokens)


def test_query_plan_segments_rewrites_and_drops_function_words():
    plan = plan_query("我要办护照怎么办", {"办护照": "护照 出入境"})
    assert plan.terms == ["护照", "出入境"]
    assert plan.expanded_from == "办护照"
    # Phrases are rewritten on word boundaries only: 离婚 is not rewritten inside 离婚证.
    plan = plan_query("离婚证", {"离婚": "离婚登记"})
    assert plan.terms == ["离婚证"]
    assert plan.expanded_from == ""
    # ASCII runs are one pinyin word whatever the spaces; full-width and capitals are folded.
    assert plan_query("Li Hun  DengJi").terms == ["lihundengji"]
    assert plan_query("ｈｋｄｊ").terms == ["hkdj"]
    assert plan_query("lihun登记").terms == ["lihun", "登记"]
    # A character jieba leaves alone may be a typo; one inside a rewritten phrase is not.
    assert plan_query("驾驶正").suspicious is True
    assert plan_query("生孩子", {"生孩子": "出生"}).suspicious is False


def test_engine_queries_render_for_both_databases():
    node = All(
        (Term("离婚", NAME + WORDS), Any((Term("lh", NAME, prefix=True), Term("证", WORDS))))
    )
    assert to_fts5(node) == (
        '({search_name search_pinyin search_words} : "离婚" AND '
        '({search_name search_pinyin} : "lh" * OR {search_words} : "证"))'
    )
    assert by_place(node) == (
        "and",
        [("or", [("n", "'离婚'"), ("w", "'离婚'")]), ("or", [("n", "'lh':*"), ("w", "'证'")])],
    )


# ---------------------------------------------------------------------------------------------
# Finding
# ---------------------------------------------------------------------------------------------


def test_chinese_words_in_any_order_and_inside_longer_names():
    make("结婚登记预约")
    make("离婚登记")
    make("户口迁出")
    assert names(search_items(text="结婚登记")) == ["结婚登记预约"]
    assert names(search_items(text="登记 结婚")) == ["结婚登记预约"]
    assert names(search_items(text="婚登")) == ["结婚登记预约", "离婚登记"]


def test_pinyin_and_initials_find_names():
    make("户口登记")
    make("护照签发")
    make("离婚登记", materials=["户口簿"])
    for typed in ("hukou", "hukoudengji", "hukou dengji", "HuKou DengJi", "hkdj", "hukou登记"):
        result = search_items(text=typed)
        assert names(result) == ["户口登记"], typed
    assert names(search_items(text="hz")) == ["护照签发"]
    assert names(search_items(text="dengji")) == ["户口登记", "离婚登记"]


def test_words_in_materials_themes_and_department_find_items():
    theme = Theme.objects.create(slug="hunyin", name="婚姻家庭")
    police = DepartmentFactory(name="示例市公安局")
    make("甲事项", materials=["户口簿复印件"])
    make("乙事项", themes=[theme])
    make("丙事项", department=police)
    make("丁事项")
    assert names(search_items(text="户口簿")) == ["甲事项"]
    assert names(search_items(text="婚姻")) == ["乙事项"]
    assert names(search_items(text="公安局")) == ["丙事项"]


def test_synonyms_rewrite_how_people_say_it():
    Synonym.objects.update_or_create(phrase="生孩子", defaults={"expansion": "出生医学证明 出生"})
    make("出生医学证明签发")
    make("出生登记")
    make("婚姻登记")
    result = search_items(text="我想生孩子")
    assert names(result) == ["出生医学证明签发", "出生登记"]
    assert result.expanded_from == "生孩子"
    assert result.terms == ["出生医学证明", "出生"]
    assert str(result.items[0].highlighted_name) == "<mark>出生医学证明</mark>签发"


def test_synonym_edits_apply_to_the_next_search():
    make("社会保障卡申领")
    Synonym.objects.filter(phrase="社保卡").delete()
    assert search_items(text="社保卡").total == 0
    synonym = Synonym.objects.create(phrase="社保卡", expansion="社会保障卡")
    assert names(search_items(text="社保卡")) == ["社会保障卡申领"]
    synonym.is_active = False
    synonym.save()
    assert search_items(text="社保卡").total == 0


def test_plus_joins_words_that_must_appear_together():
    Synonym.objects.update_or_create(
        phrase="身份证丢了", defaults={"expansion": "居民身份证+补领 居民身份证"}
    )
    make("居民身份证补领")
    make("居民身份证首次申领")
    make("结婚证补领")
    assert names(search_items(text="身份证丢了")) == ["居民身份证补领", "居民身份证首次申领"]


def test_seeded_synonym_table():
    seeded = dict(Synonym.objects.filter(is_active=True).values_list("phrase", "expansion"))
    assert len(seeded) >= 30
    assert seeded["生孩子"].split()[0] == "出生医学证明"
    assert "社会保障卡" in seeded["社保卡"]
    assert "企业设立" in seeded["开公司"]


def test_typos_are_corrected():
    make("结婚登记")
    make("离婚登记预约")
    make("机动车驾驶证申领")
    result = search_items(text="结昏登记")
    assert result.corrected == "结婚登记"
    assert result.query == "结昏登记"
    assert names(result) == ["结婚登记"]
    result = search_items(text="驾驶正")
    assert result.corrected == "驾驶证"
    assert names(result) == ["机动车驾驶证申领"]
    result = search_items(text="lihum")
    assert result.corrected == "lihun"
    assert names(result) == ["离婚登记预约"]
    # What is found as typed is not "corrected".
    assert search_items(text="结婚登记").corrected == ""


def test_no_item_with_every_word_falls_back_to_some_words():
    make("出生医学证明")
    make("新生儿落户")
    make("养老金申领")
    result = search_items(text="出生 新生儿 户籍")
    assert result.partial is True
    assert sorted(names(result)) == ["出生医学证明", "新生儿落户"]


def test_nothing_found():
    make("结婚登记")
    result = search_items(text="核电站")
    assert (result.total, result.items, result.corrected, result.partial) == (0, [], "", False)


# ---------------------------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------------------------


def test_relevance_then_popularity_then_code():
    in_materials = make("户口迁移", materials=["结婚证", "单位证明"], popularity=900)
    one_word = make("结婚登记", materials=["户籍证明"], popularity=800)
    all_words = make("开具结婚证明的申请", popularity=700)
    exact = make("结婚证明", popularity=0)
    assert codes(search_items(text="结婚 证明")) == [
        exact.code,
        all_words.code,
        one_word.code,
        in_materials.code,
    ]
    # Same relevance: popularity, then code.
    first = make("婚姻登记乙", code="11330000Z0000002", popularity=5)
    second = make("婚姻登记甲", code="11330000Z0000001", popularity=5)
    third = make("婚姻登记丙", code="11330000Z0000000", popularity=1)
    assert codes(search_items(text="婚姻登记")) == [second.code, first.code, third.code]


def test_pinyin_ranks_as_a_name_match():
    in_name = make("离婚登记", popularity=0)
    make("户口迁出", materials=["离婚证"], popularity=100)
    assert codes(search_items(text="离婚"))[0] == in_name.code
    assert codes(search_items(text="lihun")) == [in_name.code]
    assert codes(search_items(text="lhdj")) == [in_name.code]


def test_empty_query_lists_everything_by_popularity():
    low = make("甲", popularity=1)
    high = make("乙", popularity=50)
    middle = make("丙", popularity=10)
    make("丁", popularity=99, is_active=False)
    result = search_items()
    assert codes(result) == [high.code, middle.code, low.code]
    assert result.total == 3
    assert result.terms == []
    assert [str(item.highlighted_name) for item in result.items] == ["乙", "丙", "甲"]
    assert [item.snippet for item in result.items] == ["", "", ""]


def test_withdrawn_items_are_never_returned():
    make("结婚登记", is_active=False)
    make("结婚登记预约")
    make("结昏登记", is_active=False)
    result = search_items(text="结婚登记")
    assert names(result) == ["结婚登记预约"]
    assert result.total == 1
    assert sum(f.count for f in result.facets["department"]) == 1
    assert names(search_items(text="结昏登记")) == ["结婚登记预约"]  # corrected, not withdrawn
    assert names(search_items(text="lihun")) == []


# ---------------------------------------------------------------------------------------------
# Filters and facets
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def shop():
    """Four 登记 items in two departments (one withdrawn), and one item without the word."""
    province = RegionFactory()
    city = RegionFactory(code="330100", name="杭州市", level="city", parent=province)
    civil = DepartmentFactory(code="civil", name="省民政厅", region=province)
    market = DepartmentFactory(code="market", name="杭州市市场监督管理局", region=city)
    family = Theme.objects.create(slug="family", name="婚育收养")
    housing = Theme.objects.create(slug="housing", name="住房保障")
    birth = LifeEvent.objects.get(slug="birth")
    marriage = make(
        "结婚登记",
        department=civil,
        item_type=ServiceItem.ItemType.CONFIRMATION,
        themes=[family],
        online=True,
        mobile=True,
        trips=0,
        id_only=True,
    )
    marriage.life_events.set([birth])
    divorce = make(
        "离婚登记",
        department=civil,
        item_type=ServiceItem.ItemType.CONFIRMATION,
        themes=[family, housing],
        online=True,
        mobile=False,
        trips=1,
    )
    company = make(
        "企业设立登记",
        department=market,
        item_type=ServiceItem.ItemType.LICENSING,
        for_citizens=False,
        for_enterprises=True,
        online=False,
        trips=0,
    )
    make("不动产登记", department=market, themes=[housing], is_active=False, for_enterprises=True)
    make("户口迁出", department=civil)
    return {
        "civil": civil,
        "market": market,
        "province": province,
        "city": city,
        "marriage": marriage,
        "divorce": divorce,
        "company": company,
    }


def test_facets_count_the_text_matches(shop):
    result = search_items(text="登记")
    assert result.total == 3
    assert set(names(result)) == {"结婚登记", "离婚登记", "企业设立登记"}
    assert result.facets["department"] == [
        Facet("civil", "省民政厅", 2, False),
        Facet("market", "杭州市市场监督管理局", 1, False),
    ]
    assert result.facets["region"] == [
        Facet("330000", "浙江省", 2, False),
        Facet("330100", "杭州市", 1, False),
    ]
    assert facet(result, "type") == {"xzqr": 2, "xzxk": 1}
    assert [f.label for f in result.facets["type"]] == [
        str(ServiceItem.ItemType.CONFIRMATION.label),
        str(ServiceItem.ItemType.LICENSING.label),
    ]
    assert result.facets["theme"] == [
        Facet("family", "婚育收养", 2, False),
        Facet("housing", "住房保障", 1, False),
    ]
    assert facet(result, "audience") == {"citizen": 2, "enterprise": 1}
    assert facet(result, "online") == {"1": 2}
    assert facet(result, "mobile") == {"1": 1}
    assert facet(result, "zero_trips") == {"1": 2}
    assert facet(result, "id_only") == {"1": 1}


def test_facets_are_disjunctive(shop):
    result = search_items(text="登记", filters={"department": "civil"})
    assert set(names(result)) == {"结婚登记", "离婚登记"}
    assert result.total == 2
    # The chosen group still offers the others; every other group counts within the choice.
    assert facet(result, "department") == {"civil": 2, "market": 1}
    assert selected(result, "department") == ["civil"]
    assert facet(result, "type") == {"xzqr": 2}
    assert facet(result, "theme") == {"family": 2, "housing": 1}
    assert facet(result, "audience") == {"citizen": 2}
    assert facet(result, "zero_trips") == {"1": 1}

    result = search_items(text="登记", filters={"department": "civil", "online": "1"})
    assert result.total == 2
    assert facet(result, "department") == {"civil": 2}
    assert facet(result, "online") == {"1": 2}
    assert selected(result, "online") == ["1"]
    assert facet(result, "mobile") == {"1": 1}

    result = search_items(text="登记", filters={"department": "market", "online": "1"})
    assert result.total == 0
    assert result.items == []
    assert facet(result, "department") == {"civil": 2, "market": 0}
    assert facet(result, "online") == {"1": 0}


def test_browsing_facets_count_every_published_item_and_are_disjunctive(shop):
    result = search_items()
    assert result.total == 4
    assert result.facets["department"] == [
        Facet("civil", "省民政厅", 3, False),
        Facet("market", "杭州市市场监督管理局", 1, False),
    ]
    assert facet(result, "region") == {"330000": 3, "330100": 1}
    assert facet(result, "type") == {"xzqr": 2, "xzxk": 1, "ggfw": 1}
    assert result.facets["theme"] == [
        Facet("family", "婚育收养", 2, False),
        Facet("housing", "住房保障", 1, False),  # not the withdrawn item's
    ]
    assert facet(result, "audience") == {"citizen": 3, "enterprise": 1}
    assert facet(result, "online") == {"1": 3}
    assert facet(result, "mobile") == {"1": 1}
    assert facet(result, "zero_trips") == {"1": 3}
    assert facet(result, "id_only") == {"1": 1}

    result = search_items(filters={"department": "civil", "online": "1", "theme": "family"})
    assert set(names(result)) == {"结婚登记", "离婚登记"}
    assert result.total == 2
    assert facet(result, "department") == {"civil": 2}  # market has no online family item
    assert selected(result, "department") == ["civil"]
    assert facet(result, "online") == {"1": 2}
    assert facet(result, "theme") == {"family": 2, "housing": 1}
    assert facet(result, "type") == {"xzqr": 2}
    assert facet(result, "mobile") == {"1": 1}

    result = search_items(filters={"theme": "housing", "life_event": "birth"})
    assert result.total == 0
    assert facet(result, "theme") == {"family": 1, "housing": 0}
    assert facet(result, "department") == {}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"department": "market"}, {"企业设立登记"}),
        ({"region": "330100"}, {"企业设立登记"}),
        ({"region": "330000"}, {"结婚登记", "离婚登记", "户口迁出"}),
        ({"type": "xzxk"}, {"企业设立登记"}),
        ({"theme": "housing"}, {"离婚登记"}),
        ({"audience": "enterprise"}, {"企业设立登记"}),
        ({"audience": "citizen"}, {"结婚登记", "离婚登记", "户口迁出"}),
        ({"online": "1"}, {"结婚登记", "离婚登记", "户口迁出"}),
        ({"mobile": "1"}, {"结婚登记"}),
        ({"zero_trips": "1"}, {"结婚登记", "企业设立登记", "户口迁出"}),
        ({"id_only": "1"}, {"结婚登记"}),
        ({"life_event": "birth"}, {"结婚登记"}),
        ({"online": "yes", "audience": "aliens", "nonsense": "1"}, None),  # ignored
        ({"department": "nowhere"}, set()),
    ],
)
def test_each_filter(shop, filters, expected):
    everything = {"结婚登记", "离婚登记", "企业设立登记", "户口迁出"}
    result = search_items(filters=filters)
    assert set(names(result)) == (everything if expected is None else expected)
    assert result.total == len(result.items)


def test_filters_with_text(shop):
    result = search_items(text="登记", filters={"theme": "family", "mobile": "1"})
    assert names(result) == ["结婚登记"]
    assert set(FILTER_KEYS) == {
        "department",
        "region",
        "type",
        "theme",
        "audience",
        "online",
        "mobile",
        "zero_trips",
        "id_only",
        "life_event",
    }


# ---------------------------------------------------------------------------------------------
# Highlighting, pages, queries
# ---------------------------------------------------------------------------------------------


def test_highlighting_escapes_everything_else():
    make('<script>x</script>结婚<img src=x onerror="alert(1)">', materials=["<b>结婚证</b>复印件"])
    item = search_items(text="结婚").items[0]
    assert str(item.highlighted_name) == (
        "&lt;script&gt;x&lt;/script&gt;<mark>结婚</mark>"
        "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
    )
    assert str(item.snippet) == "&lt;b&gt;<mark>结婚</mark>证&lt;/b&gt;复印件"
    assert str(search_items(text="script").items[0].highlighted_name).startswith(
        "&lt;<mark>script</mark>&gt;"
    )


def test_highlighting_pinyin_and_snippets():
    make("离婚登记预约", materials=["户口簿", "离婚协议书"], acceptance_conditions="夫妻双方自愿")
    make("户口迁出", acceptance_conditions="申请人持居民户口簿到派出所办理户口迁出手续。" * 3)
    result = search_items(text="lhdj")
    assert str(result.items[0].highlighted_name) == "<mark>离婚登记</mark>预约"
    assert str(result.items[0].snippet) == ""
    result = search_items(text="户口簿")
    by_name = {item.name: item for item in result.items}
    assert str(by_name["离婚登记预约"].snippet) == "<mark>户口簿</mark>；离婚协议书"
    snippet = str(by_name["户口迁出"].snippet)
    assert snippet.startswith("申请人持居民<mark>户口簿</mark>到派出所")
    assert snippet.endswith("…")


def test_pages():
    department = DepartmentFactory()
    made = [make(f"公证事项{n:02d}", department=department, popularity=n) for n in range(25)]
    pages = [search_items(text="公证", page=n, page_size=10) for n in (1, 2, 3, 4)]
    assert [len(p.items) for p in pages] == [10, 10, 5, 0]
    assert {p.total for p in pages} == {25}
    assert {p.pages for p in pages} == {3}
    seen = [item.code for p in pages for item in p.items]
    assert seen == [item.code for item in sorted(made, key=lambda i: -i.popularity)]


@pytest.mark.parametrize("size", [10, 300])
def test_query_count_does_not_grow_with_the_catalog(size, django_assert_num_queries):
    department = DepartmentFactory()
    theme = Theme.objects.create(slug="t", name="主题")
    for n in range(size):
        item = ServiceItemFactory(name=f"示例登记事项{n}", department=department)
        Material.objects.create(item=item, name="居民身份证")
        item.themes.add(theme)
    reindex_items()
    # Synonyms, the search statement (with the page's materials), the page's items.
    with django_assert_num_queries(3):
        result = search_items(text="登记", filters={"theme": "t"})
    assert result.total == size
    assert len(result.items) == 10 if size == 10 else 20
    # Browsing: the page, the counts of the items with the filter (by department, region, type
    # and feature; by theme) and of all items (the feature's own count), the page's items.
    with django_assert_num_queries(5):
        result = search_items(filters={"online": "1"})
    assert result.total == size
    # A typo: the first statement, the correction, the corrected statement, then as above.
    with django_assert_num_queries(5):
        result = search_items(text="示列登记")
    assert result.corrected == "示例登记"


def test_candidates_are_bounded(monkeypatch):
    department = DepartmentFactory()
    for n in range(6):
        make(f"公证事项{n}", department=department)
    monkeypatch.setattr(engine, "MAX_CANDIDATES", 4)
    result = search_items(text="公证")
    assert result.capped is True
    assert 4 <= result.total <= 6
    monkeypatch.setattr(engine, "MAX_CANDIDATES", 7)
    assert search_items(text="公证").capped is False


def test_reindex_in_bulk_matches_one_by_one():
    theme = Theme.objects.create(slug="t", name="户籍办理")
    item = make("户口迁出登记", materials=["居民户口簿"], themes=[theme])
    item.refresh_from_db()
    one_by_one = [getattr(item, f) for f in ("search_name", "search_pinyin", "search_grams")]
    one_by_one.append(item.search_words)
    ServiceItem.objects.filter(pk=item.pk).update(search_name="", search_pinyin="", search_words="")
    out = StringIO()
    call_command("reindex_search", stdout=out)
    assert out.getvalue().startswith("Indexed 1 items")
    item.refresh_from_db()
    assert [item.search_name, item.search_pinyin, item.search_grams, item.search_words] == (
        one_by_one
    )
    assert names(search_items(text="hkqc")) == ["户口迁出登记"]
    assert reindex_items(ServiceItem.objects.filter(pk=item.pk)) == 1


# ---------------------------------------------------------------------------------------------
# The real catalog: searching as a citizen would
# ---------------------------------------------------------------------------------------------

PASSPORT = "11440100007483172Q3440106042001"  # 办理及加注普通护照
DIVORCE = "11440000006940175Y2442108007000"  # 离婚登记预约
MARRIAGE = "11440000006940175Y2442108008000"  # 结婚登记预约
BIRTH_CERTIFICATE = "11440000006940132H2442120018000"  # 出生医学证明信息查询
FIRST_LICENCE = "11440100007483172Q344010602900502"  # 机动车驾驶证初次申领(…小型汽车准驾车型)
DISABILITY_REISSUE = "13440000455857174Y2442169058000"  # 《…残疾人证》挂失补办
RESIDENCE_PERMIT = "11440000006940140C2442106285009"  # 居住证办理进度查询
LOW_INCOME = "11440000006940175Y2442108006000"  # 最低生活保障业务申请预约


@pytest.mark.parametrize(
    ("typed", "intended"),
    [
        # Colloquial words, through the seeded synonyms.
        ("生孩子", BIRTH_CERTIFICATE),
        ("我要办护照", PASSPORT),
        ("离婚", DIVORCE),
        ("考驾照", FIRST_LICENCE),
        ("残疾证补办", DISABILITY_REISSUE),
        ("低保", LOW_INCOME),
        ("暂住证", RESIDENCE_PERMIT),
        # Pinyin.
        ("huzhao", PASSPORT),
        ("lihun", DIVORCE),
        ("lihun dengji", DIVORCE),
        ("jiehundengji", MARRIAGE),
        # Initials.
        ("lhdj", DIVORCE),
        ("jhdj", MARRIAGE),
        ("jzz", RESIDENCE_PERMIT),
        # Mixed.
        ("lihun登记", DIVORCE),
        # Typos.
        ("结昏登记", MARRIAGE),
        ("居住正", RESIDENCE_PERMIT),
        ("出生医学证朋", BIRTH_CERTIFICATE),
        ("lihum", DIVORCE),
    ],
)
def test_real_catalog_puts_the_intended_item_in_the_top_three(gd_catalog, db, typed, intended):
    result = search_items(text=typed)
    assert intended in codes(result)[:3], (typed, names(result)[:5])


def test_real_catalog_corrections_and_rewrites(gd_catalog, db):
    result = search_items(text="结昏登记")
    assert (result.corrected, codes(result)[:1]) == ("结婚登记", [MARRIAGE])
    result = search_items(text="驾驶正")
    assert result.corrected == "驾驶证"
    assert all("驾驶证" in item.name + item.main_name for item in result.items[:3])
    result = search_items(text="生孩子")
    assert result.expanded_from == "生孩子"
    assert codes(result)[0] == BIRTH_CERTIFICATE
    assert str(result.items[0].highlighted_name) == "<mark>出生医学证明</mark>信息查询"


def test_real_catalog_facets_add_up(gd_catalog, db):
    result = search_items(text="护照")
    assert result.total == sum(f.count for f in result.facets["department"])
    assert result.total == sum(f.count for f in result.facets["type"])
    assert result.capped is False
    only = result.facets["department"][0]
    narrowed = search_items(text="护照", filters={"department": only.value})
    assert narrowed.total == only.count

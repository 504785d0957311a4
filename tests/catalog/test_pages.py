"""Catalog pages: what each shows, and that each runs a fixed number of queries at 100 and at
10,000 items."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import services, views
from catalog.models import (
    Bundle,
    BundleItem,
    JointStage,
    LifeEvent,
    Material,
    ServiceItem,
    Theme,
)
from catalog.search import index_item, reindex_items, search_items
from tests.factories import DepartmentFactory, RegionFactory, ServiceItemFactory, UserFactory

pytestmark = pytest.mark.django_db


@dataclass
class World:
    police: object
    health: object
    social: object
    city: object
    theme: Theme
    birth: LifeEvent
    guide: ServiceItem
    instant: ServiceItem
    bundle: Bundle
    items: list[ServiceItem] = field(default_factory=list)


def english(client):
    client.cookies["zhb_lang"] = "en"
    return client


def build_world() -> World:
    """A small province: three departments, a theme, the 出生 life event, a bundle of three
    items and a fully described guide published twice."""
    province = RegionFactory()
    city = RegionFactory(code="330100", name="杭州市", level="city", parent=province)
    police = DepartmentFactory(code="hz-police", name="杭州市公安局", region=city)
    health = DepartmentFactory(code="hz-health", name="杭州市卫生健康委员会", region=city)
    social = DepartmentFactory(code="hz-social", name="杭州市人力资源和社会保障局", region=city)
    theme = Theme.objects.create(slug="hukou", name="户籍办理", name_en="Household registration")
    birth, _ = LifeEvent.objects.get_or_create(
        slug="birth",
        defaults={"name": "出生", "name_en": "Having a baby", "keywords": "出生 新生儿"},
    )
    LifeEvent.objects.filter(pk=birth.pk).update(description="孩子出生后要办的事。")
    birth.refresh_from_db()

    guide = ServiceItemFactory.build(
        code="330100-GA-0001",
        name="出生登记",
        main_name="户口登记",
        department=police,
        region=city,
        item_type=ServiceItem.ItemType.CONFIRMATION,
        statutory_days=20,
        promised_days=5,
        trips=0,
        online=True,
        mobile=True,
        counter=True,
        courier=True,
        id_only=True,
        fee_fen=1250,
        fee_note="工本费",
        consult_phone="0571-87280000；12345",
        complaint_phone="0571-12345678",
        location="杭州市行政服务中心一楼",
        legal_basis="《中华人民共和国户口登记条例》第七条",
        acceptance_conditions="婴儿出生后一个月以内申报。",
        summary="为新生儿办理户口登记。",
        popularity=900,
    )
    services.item_publish(
        actor=None,
        item=guide,
        materials=[{"name": "出生医学证明", "source": "applicant", "form": "original"}],
        note="首次发布",
    )
    guide.name = "新生儿出生登记"
    services.item_publish(
        actor=None,
        item=guide,
        materials=[
            {"name": "出生医学证明", "source": "shared", "form": "electronic"},
            {"name": "父母身份证", "source": "applicant", "form": "original", "copies": 2},
            {"name": "结婚证", "source": "issued", "form": "copy", "required": False},
        ],
        note="出生医学证明改为共享获取",
    )
    guide.themes.add(theme)
    guide.life_events.add(birth)
    JointStage.objects.create(item=guide, department=police, stage=JointStage.Stage.ACCEPT)
    JointStage.objects.create(item=guide, department=health, stage=JointStage.Stage.REVIEW)

    instant = ServiceItemFactory(
        code="330100-WJ-0001",
        name="出生医学证明签发",
        department=health,
        region=city,
        statutory_days=None,
        promised_days=0,
        trips=1,
        online=False,
        fee_fen=0,
        popularity=800,
    )
    Material.objects.create(item=instant, name="父母身份证", source="applicant", form="original")
    Material.objects.create(item=instant, name="出生医学证明", source="shared")
    insurance = ServiceItemFactory(
        code="330100-RS-0001",
        name="新生儿参保登记",
        department=social,
        region=city,
        statutory_days=None,
        promised_days=None,
        item_type=ServiceItem.ItemType.PUBLIC_SERVICE,
        popularity=700,
    )
    Material.objects.create(item=insurance, name="出生医学证明", source="applicant")
    for item in (instant, insurance):
        item.life_events.add(birth)
        index_item(item)

    bundle = Bundle.objects.create(
        slug="newborn",
        name="新生儿出生一件事",
        summary="出生医学证明、户口登记、参保登记一次办。",
        life_event=birth,
        region=city,
        promised_days=5,
        trips=0,
        popularity=50,
    )
    for order, item in enumerate((instant, guide, insurance)):
        BundleItem.objects.create(bundle=bundle, item=item, sort_order=order)
    guide.refresh_from_db()
    return World(
        police=police,
        health=health,
        social=social,
        city=city,
        theme=theme,
        birth=birth,
        guide=guide,
        instant=instant,
        bundle=bundle,
        items=[guide, instant, insurance],
    )


INDEXED_FILLER = 300


def fill_catalog(world: World, total: int) -> None:
    """Bring the catalog to ``total`` items with plain rows (bulk-created and bulk-indexed), spread
    over the departments, types, themes and the life event."""
    start = ServiceItem.objects.count()
    departments = [world.police, world.health, world.social]
    types = ServiceItem.ItemType.values
    rows = []
    for n in range(start, total):
        department = departments[n % 3]
        name = f"出生相关事项{n:05d}" if n % 4 == 0 else f"普通事项{n:05d}"
        rows.append(
            ServiceItem(
                code=f"FILL{n:07d}",
                name=name,
                department=department,
                region=world.city,
                item_type=types[n % len(types)],
                statutory_days=20,
                promised_days=n % 6,
                trips=n % 2,
                online=n % 3 != 0,
                mobile=n % 5 == 0,
                popularity=n % 500,
                search_words=f"{name} {department.name}",
            )
        )
    created = ServiceItem.objects.bulk_create(rows, batch_size=1000)
    themed = [ServiceItem.themes.through(serviceitem=i, theme=world.theme) for i in created[::3]]
    ServiceItem.themes.through.objects.bulk_create(themed, batch_size=1000)
    events = ServiceItem.life_events.through
    born = [events(serviceitem=i, lifeevent=world.birth) for i in created[::5]]
    events.objects.bulk_create(born, batch_size=1000)
    Material.objects.bulk_create(
        [Material(item=i, name=f"材料{i.code}") for i in created[::2]], batch_size=1000
    )
    # Indexing is the engine's cost (word segmentation), not the pages': a few hundred rows are
    # searchable by their words, the rest count for filters and facets only.
    reindex_items(ServiceItem.objects.filter(pk__in=[i.pk for i in created[:INDEXED_FILLER]]))
    assert ServiceItem.objects.count() == total


def search_queries(**kwargs) -> int:
    """How many queries the search engine itself runs for these arguments (warmed once)."""
    search_items(**kwargs)
    with CaptureQueriesContext(connection) as queries:
        search_items(**kwargs)
    return len(queries)


# Queries each page runs besides the search engine's own.
OWN_QUERIES = {
    "search": 0,
    "search_filtered": 0,
    "search_page_2": 0,
    # Whether the item is published; then (its guide not cached yet) the item with department
    # and region, its materials, stages, themes, events, versions and bundles; and the summary
    # of its ratings (not cached: ratings come in between catalog changes).
    "item": 9,
    "item_version": 1,
    "theme": 1,
    "life_event": 2,  # the event and its bundles
    "themes": 2,
    "bundle": 3,  # bundle, parts with items and departments, materials
    "bundles": 1,
    "shop": 4,  # department, its locations, its popular items, its counts
    "home": 3,  # life events, popular bundles, popular services
}


def page_urls(world: World) -> dict[str, str]:
    return {
        "search": "/services/?q=出生",
        "search_filtered": "/services/?q=出生&type=xzqr",
        "search_page_2": "/services/?q=事项&page=2",
        "item": world.guide.get_absolute_url(),
        "item_version": f"/services/items/{world.guide.code}/versions/1/",
        "theme": world.theme.get_absolute_url(),
        "life_event": world.birth.get_absolute_url(),
        "themes": "/services/themes/",
        "bundle": world.bundle.get_absolute_url(),
        "bundles": "/services/bundles/",
        "shop": world.police.get_absolute_url(),
        "home": "/",
    }


def engine_queries(world: World) -> dict[str, int]:
    return {
        "search": search_queries(text="出生"),
        "search_filtered": search_queries(text="出生", filters={"type": "xzqr"}),
        "search_page_2": search_queries(text="事项", page=2),
        "theme": search_queries(filters={"theme": world.theme.slug}),
        "life_event": search_queries(filters={"life_event": world.birth.slug}),
    }


def test_every_page_runs_the_same_queries_at_100_and_at_10000_items(
    client, django_assert_num_queries
):
    world = build_world()
    fill_catalog(world, 100)
    urls = page_urls(world)
    engine = engine_queries(world)
    expected = {name: OWN_QUERIES[name] + engine.get(name, 0) for name in urls}

    # A full page of hits costs no more than a few (no query per hit); the first page also
    # reads the bundle its words find (新生儿出生一件事), in one query.
    assert engine["search"] == engine["search_page_2"] + 1

    for size in (100, 10_000):
        fill_catalog(world, size)
        for name, url in urls.items():
            client.get(url)  # anything the engine keeps warm is warm
            with django_assert_num_queries(expected[name]):
                response = client.get(url)
            assert response.status_code == 200, (size, name)
        # The engine's own share does not grow with the catalog either.
        assert engine_queries(world) == engine, size


def test_search_shows_results_facets_and_pages(client):
    world = build_world()
    fill_catalog(world, 60)
    english(client)

    response = client.get("/services/", {"q": "出生"})
    html = response.content.decode()
    result = response.context["result"]
    assert result.total >= 3
    assert f"{result.total} services" in html
    assert f'href="{world.guide.get_absolute_url()}"' in html
    # Facets are links that keep the words; each shows its count.
    type_group = next(g for g in response.context["facet_groups"] if g.key == "type")
    options = type_group.options + type_group.more
    confirmation = next(o for o in options if o.label == "Administrative confirmation")
    assert parse_qs(urlparse(confirmation.url).query) == {"q": ["出生"], "type": ["xzqr"]}
    assert f'<span class="facet-count">{confirmation.count}</span>' in html
    assert '<details class="facets" id="filters">' in html

    narrowed = client.get("/services/" + confirmation.url)
    assert narrowed.context["result"].total == confirmation.count
    assert all(i.item_type == "xzqr" for i in narrowed.context["result"].items)
    assert narrowed.context["filters"] == {"type": "xzqr"}
    [chip] = narrowed.context["active_filters"]
    assert chip.title == "Item type"
    assert chip.label == "Administrative confirmation"
    assert chip.remove_url == "?q=%E5%87%BA%E7%94%9F"
    group = next(g for g in narrowed.context["facet_groups"] if g.key == "type")
    [selected] = [o for o in group.options + group.more if o.selected]
    assert selected.label == "Administrative confirmation"
    assert selected.url == chip.remove_url  # choosing it again removes it
    # Another type replaces the chosen one (one type at a time).
    for other in group.options + group.more:
        if not other.selected:
            assert parse_qs(urlparse(other.url).query)["type"] != ["xzqr"]
    body = narrowed.content.decode()
    assert 'aria-current="true"' in body
    # The search box keeps the filter for the next words.
    assert '<input type="hidden" name="type" value="xzqr">' in body


def test_search_pages_keep_the_words_and_filters(client):
    world = build_world()
    fill_catalog(world, 80)
    response = english(client).get("/services/", {"q": "事项", "online": "1", "page": "2"})
    result = response.context["result"]
    assert result.page == 2 and result.pages >= 2
    html = response.content.decode()
    assert 'aria-current="page"' in html
    previous = parse_qs(urlparse(response.context["previous_url"]).query)
    assert previous == {"q": ["事项"], "online": ["1"], "page": ["1"]}
    [chip] = response.context["active_filters"]
    assert chip.title == ""  # a yes/no feature says what it is in its label alone
    assert parse_qs(urlparse(chip.remove_url).query) == {"q": ["事项"]}
    assert [link.number for link in response.context["page_links"] if link][:2] == [1, 2]


def test_search_with_a_department_filter_names_the_department(client):
    world = build_world()
    response = english(client).get("/services/", {"department": world.police.code})
    assert response.context["result"].total == 1
    [chip] = response.context["active_filters"]
    assert (chip.title, chip.label) == ("Department", world.police.name)


def test_empty_search_offers_the_hotline(client):
    build_world()
    html = english(client).get("/services/", {"q": "没有这种事项"}).content.decode()
    assert "0 services" in html
    assert "No published service matches" in html
    assert 'href="tel:12345"' in html


def test_search_says_when_it_searched_other_words(client, monkeypatch):
    build_world()

    def corrected_search(**kwargs):
        result = search_items(**kwargs)
        result.corrected = "出生登记"
        return result

    monkeypatch.setattr(views, "search_items", corrected_search)
    html = english(client).get("/services/", {"q": "chusheng"}).content.decode()
    assert "Showing results for “出生登记”." in html
    assert "You typed “chusheng”." in html


def test_guide_shows_everything_a_citizen_needs_before_applying(client):
    world = build_world()
    response = english(client).get(world.guide.get_absolute_url())
    html = response.content.decode()
    guide = world.guide
    assert '<h1 id="guide-heading">新生儿出生登记</h1>' in html
    assert f'href="{world.police.get_absolute_url()}"' in html
    assert "杭州市" in html
    assert "Administrative confirmation" in html
    assert "Statutory limit: 20 working days; promised: 5 working days; 75% shorter" in html
    assert "Zero trips: no need to go to the hall" in html
    assert "¥12.50" in html and "工本费" in html
    assert "ID card only (one-certificate service)" in html
    for channel in ("Online", "On a phone", "At the counter", "Results by courier"):
        assert f">{channel}</li>" in html
    # Materials: the shared one needs nothing from the citizen.
    assert html.count('<tr role="row" class="is-shared">') == 1
    assert "Fetched by data sharing — nothing to bring" in html
    assert "父母身份证" in html and "No, optional" in html
    assert "《中华人民共和国户口登记条例》第七条" in html
    assert "婴儿出生后一个月以内申报。" in html
    assert "杭州市行政服务中心一楼" in html
    assert '<a href="tel:057187280000">0571-87280000</a>；<a href="tel:12345">12345</a>' in html
    assert '<a href="tel:057112345678">0571-12345678</a>' in html
    assert "杭州市卫生健康委员会</span> — Review" in html
    assert f'href="{world.theme.get_absolute_url()}"' in html
    assert f'href="{world.birth.get_absolute_url()}"' in html
    assert f'href="{world.bundle.get_absolute_url()}"' in html
    # No online address: the button leads to the guide's own "How to apply".
    assert f'href="/apply/item/{guide.code}/">Apply online</a>' in html
    assert 'id="how-to-apply"' in html
    assert "Version 2 of this guide" in html
    assert f'href="/services/items/{guide.code}/versions/1/"' in html
    assert "出生医学证明改为共享获取" not in html.split("See earlier versions")[1]
    assert "首次发布" in html


def test_guide_limits_when_instant_or_not_given(client):
    world = build_world()
    english(client)
    html = client.get(world.instant.get_absolute_url()).content.decode()
    assert "Statutory limit: not given; promised: handled on the spot" in html
    assert ">Handled on the spot</li>" in html
    assert "1 trip to the hall" in html
    assert "Free" in html
    assert 'href="/services/items/330100-WJ-0001/#how-to-apply">How to apply</a>' in html
    html = client.get("/services/items/330100-RS-0001/").content.decode()
    assert "Statutory limit: not given; promised: not given" in html


def test_guide_with_an_online_address_links_to_it(client):
    world = build_world()
    ServiceItem.objects.filter(pk=world.guide.pk).update(online_url="https://zwfw.example.cn/a")
    html = english(client).get(world.guide.get_absolute_url()).content.decode()
    assert '<a class="button primary-button" href="https://zwfw.example.cn/a"' in html


def test_earlier_version_reads_as_it_was(client):
    world = build_world()
    english(client)
    html = client.get(f"/services/items/{world.guide.code}/versions/1/").content.decode()
    assert '<h1 id="guide-heading">出生登记</h1>' in html
    assert "This is version 1 of the guide" in html
    assert "What changed: 首次发布" in html
    assert "Read the current guide (version 2)" in html
    assert "Fetched by data sharing" not in html  # the material was still brought then
    assert "出生医学证明" in html
    assert "Statutory limit: 20 working days; promised: 5 working days; 75% shorter" in html
    assert client.get(f"/services/items/{world.guide.code}/versions/9/").status_code == 404


def test_withdrawn_or_unknown_items_are_not_found(client):
    world = build_world()
    ServiceItem.objects.filter(pk=world.guide.pk).update(is_active=False)
    assert client.get(world.guide.get_absolute_url()).status_code == 404
    assert client.get(f"/services/items/{world.guide.code}/versions/1/").status_code == 404
    assert client.get("/services/items/NOPE/").status_code == 404
    assert client.get("/services/themes/nope/").status_code == 404
    assert client.get("/services/life-events/nope/").status_code == 404
    assert client.get("/services/bundles/nope/").status_code == 404


def test_theme_page_lists_its_items_with_facets(client):
    world = build_world()
    fill_catalog(world, 30)
    response = english(client).get(world.theme.get_absolute_url())
    html = response.content.decode()
    assert "<h1>Household registration</h1>" in html
    expected = ServiceItem.objects.filter(themes=world.theme, is_active=True).count()
    assert response.context["result"].total == expected
    # Facet links stay on the theme's page; the theme itself is not offered as a filter.
    assert all(g.key != "theme" for g in response.context["facet_groups"])
    assert all(o.url.startswith("?") for g in response.context["facet_groups"] for o in g.options)
    assert 'action="/services/themes/hukou/"' in html


def test_life_event_page_shows_its_bundles_and_items(client):
    world = build_world()
    response = english(client).get(world.birth.get_absolute_url())
    html = response.content.decode()
    assert "<h1>Having a baby</h1>" in html
    assert "孩子出生后要办的事。" in html
    assert f'href="{world.bundle.get_absolute_url()}"' in html
    assert "3 services in one application" in html
    assert response.context["result"].total == 3


def test_life_event_without_linked_items_finds_services_by_its_words(client):
    build_world()
    event = LifeEvent.objects.create(slug="newborn-words", name="新生儿", keywords="出生")
    response = english(client).get(event.get_absolute_url())
    assert response.context["found_by_words"] == "出生"
    assert response.context["result"].total >= 2
    assert "found by the words “出生”" in response.content.decode()


def test_themes_index_lists_themes_and_life_events(client):
    world = build_world()
    html = english(client).get("/services/themes/").content.decode()
    assert f'href="{world.theme.get_absolute_url()}"' in html
    assert f'href="{world.birth.get_absolute_url()}"' in html
    assert "3 services" in html  # 出生 has three linked items


def test_bundle_page_shows_parts_in_order_and_materials_once(client):
    world = build_world()
    response = english(client).get(world.bundle.get_absolute_url())
    html = response.content.decode()
    assert '<h1 id="bundle-heading">新生儿出生一件事</h1>' in html
    assert [p.item.code for p in response.context["parts"]] == [
        "330100-WJ-0001",
        "330100-GA-0001",
        "330100-RS-0001",
    ]
    assert [d.code for d in response.context["departments"]] == [
        "hz-health",
        "hz-police",
        "hz-social",
    ]
    materials = {m.name: m for m in response.context["materials"]}
    assert sorted(materials) == ["出生医学证明", "父母身份证", "结婚证"]
    # 出生医学证明 is shared for two parts but the insurance part still asks for it.
    assert materials["出生医学证明"].source == "applicant"
    assert materials["结婚证"].required is False
    assert "Promised time limit" in html and "5 working days" in html
    assert 'id="apply-bundle" href="/apply/bundle/newborn/"' in html
    positions = [
        html.index(name) for name in ("出生医学证明签发", "新生儿出生登记", "新生儿参保登记")
    ]
    assert positions == sorted(positions)


def test_bundle_materials_shared_by_every_part_are_marked_shared(client):
    world = build_world()
    Material.objects.filter(name="出生医学证明").update(source="shared")
    html = english(client).get(world.bundle.get_absolute_url()).content.decode()
    assert '<li class="is-shared">' in html
    assert "Fetched by data sharing — nothing to bring" in html


def test_bundles_index(client):
    world = build_world()
    html = english(client).get("/services/bundles/").content.decode()
    assert f'href="{world.bundle.get_absolute_url()}"' in html


def test_shop_shows_the_departments_popular_items_and_counts(client):
    world = build_world()
    fill_catalog(world, 60)
    response = english(client).get(world.police.get_absolute_url())
    html = response.content.decode()
    published = ServiceItem.objects.filter(department=world.police, is_active=True)
    total = published.count()
    assert f'<span class="stat-figure">{total}</span>' in html
    online = published.filter(online=True).count()
    assert f'<span class="stat-figure">{online}</span> can be done online' in html
    zero = published.filter(trips=0).count()
    assert f'<span class="stat-figure">{zero}</span> need zero trips' in html
    assert f'href="/services/?department={world.police.code}"' in html
    assert f"See all {total} services of this department" in html
    # The most used first, ten at most.
    assert html.index(world.guide.name) < html.index("相关事项")
    assert html.count('<li><a href="/services/items/') == 10


def test_home_shows_popular_bundles_and_services(client):
    world = build_world()
    html = english(client).get("/").content.decode()
    assert f'href="{world.bundle.get_absolute_url()}"' in html
    assert f'href="{world.guide.get_absolute_url()}"' in html
    assert html.index(world.guide.name) < html.index(world.instant.name)


# ---------------------------------------------------------------------------------------------
# Pages kept for the catalog's generation
# ---------------------------------------------------------------------------------------------


def main(response) -> str:
    """The page's own content (the frame around it carries a CSRF token of each request)."""
    html = response.content.decode()
    return html[html.index('<main id="main"') : html.index("</main>")]


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what is written inside as committed: its on-commit callbacks run at the end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_a_search_page_is_rendered_once_per_generation_and_language(
    client, committed, django_assert_num_queries
):
    with committed():
        world = build_world()
    first = client.get("/services/", {"q": "出生"})
    with django_assert_num_queries(0):
        again = client.get("/services/", {"q": "出生"})
    assert main(again) == main(first)
    assert f'href="{world.guide.get_absolute_url()}"' in main(again)
    # Another language is another page.
    assert "services</h2>" in main(english(client).get("/services/", {"q": "出生"}))
    client.cookies.pop("zhb_lang")
    assert "services</h2>" not in main(client.get("/services/", {"q": "出生"}))
    with committed():
        item = ServiceItemFactory(name="出生证明补办", department=world.police)
        services.item_publish(actor=None, item=item)
    assert f'href="{item.get_absolute_url()}"' in main(client.get("/services/", {"q": "出生"}))


def test_a_guide_is_rendered_once_per_generation(client, committed, django_assert_num_queries):
    with committed():
        world = build_world()
    url = world.guide.get_absolute_url()
    first = client.get(url)
    # Kept whole: the catalog's and the item's ratings generations are read from the cache.
    with django_assert_num_queries(0):
        again = client.get(url)
    assert main(again) == main(first)
    with committed():
        world.police.name = "杭州市公安局户政科"
        world.police.save()
    assert "杭州市公安局户政科" in client.get(url).content.decode()
    assert f'href="{url}versions/2/"' not in main(again)  # the current version
    with committed():
        services.item_publish(actor=None, item=world.guide, note="提速")
    assert f'href="{url}versions/2/"' in main(client.get(url))
    with committed():
        services.items_set_published(
            actor=UserFactory(is_superuser=True),
            items=ServiceItem.objects.filter(pk=world.guide.pk),
            published=False,
        )
    assert client.get(url).status_code == 404

"""The catalog REST API: search, guides, versions, CPSV-AP JSON-LD, themes, events, bundles."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from catalog import services
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
from catalog.search.engine import MAX_CANDIDATES
from departments.models import Department
from tests.factories import CityFactory, DepartmentFactory, ServiceItemFactory

pytestmark = pytest.mark.django_db

ITEMS = "/api/v1/items/"


@pytest.fixture
def catalog():
    return build_catalog()


def build_catalog() -> dict:
    city = CityFactory(code="330100", name="杭州市")
    police = DepartmentFactory(
        code="330100-gongan", name="杭州市公安局", kind=Department.Kind.PUBLIC_SECURITY, region=city
    )
    health = DepartmentFactory(
        code="330100-weijian", name="杭州市卫生健康委员会", kind=Department.Kind.HEALTH, region=city
    )
    hukou = Theme.objects.create(slug="hukou", name="户籍办理", name_en="Household registration")
    Theme.objects.create(slug="yiliao", name="医疗卫生", sort_order=200)
    birth = LifeEvent.objects.get(slug="birth")  # the life events come with the migrations
    item = ServiceItemFactory.build(
        code="330100HK0001",
        basic_code="HK0001",
        name="出生登记",
        main_name="户口登记",
        department=police,
        region=city,
        item_type=ServiceItem.ItemType.CONFIRMATION,
        summary="为新生儿办理出生户口登记。",
        legal_basis="《中华人民共和国户口登记条例》第七条\n\n《浙江省户口登记管理规定》",
        acceptance_conditions="婴儿出生一个月以内。",
        statutory_days=20,
        promised_days=5,
        trips=0,
        online=True,
        mobile=True,
        counter=True,
        id_only=False,
        fee_fen=1050,
        fee_note="工本费",
        consult_phone="0571-12345",
        complaint_phone="12345",
        location="杭州市市民中心",
        online_url="https://zwfw.example.gov.cn/apply/hk0001",
        form_fields=[{"name": "baby_name", "label": "婴儿姓名", "type": "text", "required": True}],
        popularity=100,
    )
    services.item_publish(
        actor=None,
        item=item,
        materials=[
            {
                "name": "出生医学证明",
                "source": Material.Source.ISSUED,
                "form": Material.Form.ORIGINAL,
                "issuer": health,
            },
            {
                "name": "居民户口簿",
                "source": Material.Source.SHARED,
                "required": False,
                "note": "共享获取",
            },
        ],
        note="首次发布",
    )
    item.themes.add(hukou)
    item.life_events.add(birth)
    JointStage.objects.create(item=item, department=health, stage=JointStage.Stage.REVIEW)
    item.promised_days = 3
    services.item_publish(actor=None, item=item, note="压缩时限")
    vaccine = ServiceItemFactory(
        code="330100WJ0002",
        name="预防接种证办理",
        department=health,
        item_type=ServiceItem.ItemType.PUBLIC_SERVICE,
        online=False,
        trips=1,
        statutory_days=None,
        promised_days=0,
        popularity=50,
    )
    withdrawn = ServiceItemFactory(code="330100HK0009", name="出生登记（旧）", department=police)
    withdrawn.is_active = False
    withdrawn.save()
    for each in (vaccine, withdrawn):
        index_item(each)
    bundle = Bundle.objects.create(
        slug="newborn",
        name="新生儿出生一件事",
        summary="出生登记与预防接种一次办。",
        life_event=birth,
        region=city,
        promised_days=5,
        trips=0,
        popularity=10,
    )
    BundleItem.objects.create(bundle=bundle, item=vaccine, sort_order=2)
    BundleItem.objects.create(bundle=bundle, item=item, sort_order=1)
    Bundle.objects.create(slug="old", name="下线的一件事", region=city, is_active=False)
    item.refresh_from_db()
    return {"item": item, "vaccine": vaccine, "police": police, "health": health}


def codes(body) -> list[str]:
    return [row["code"] for row in body["results"]]


def test_search_lists_published_items_with_facets(client, catalog):
    response = client.get(ITEMS)
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert codes(body) == ["330100HK0001", "330100WJ0002"]
    assert body["results"][0] == {
        "code": "330100HK0001",
        "name": "出生登记",
        "highlighted_name": "出生登记",
        "department": {"code": "330100-gongan", "name": "杭州市公安局"},
        "region": {"code": "330100", "name": "杭州市"},
        "item_type": "xzqr",
        "for_citizens": True,
        "for_enterprises": False,
        "statutory_days": 20,
        "promised_days": 3,
        "trips": 0,
        "online": True,
        "mobile": True,
        "id_only": False,
        "fee_fen": 1050,
        "url": "http://testserver/services/items/330100HK0001/",
        "api_url": "http://testserver/api/v1/items/330100HK0001/",
    }
    assert body["results"][1]["statutory_days"] is None
    type_facet = {f["value"]: f for f in body["facets"]["type"]}
    assert {value: f["count"] for value, f in type_facet.items()} == {"xzqr": 1, "ggfw": 1}
    assert type_facet["xzqr"]["selected"] is False
    assert set(type_facet["xzqr"]) == {"value", "label", "count", "selected"}
    assert body["terms"] == []
    assert (body["corrected"], body["expanded_from"], body["partial"]) == ("", "", False)


def test_search_finds_words_and_keeps_highlighting_safe(client, catalog):
    body = client.get(ITEMS, {"search": "出生登记"}).json()
    assert codes(body) == ["330100HK0001"]
    assert body["terms"]
    assert "出生" in "".join(body["terms"])
    row = body["results"][0]
    assert row["highlighted_name"].replace("<mark>", "").replace("</mark>", "") == "出生登记"
    assert client.get(ITEMS, {"search": "没有这种事项"}).json()["count"] == 0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"type": "ggfw"}, ["330100WJ0002"]),
        ({"type": ""}, ["330100HK0001", "330100WJ0002"]),
        ({"online": "1"}, ["330100HK0001"]),
        ({"online": "true"}, ["330100HK0001"]),  # a boolean as clients send it
        ({"online": "True"}, ["330100HK0001"]),
        ({"online": "0"}, ["330100HK0001", "330100WJ0002"]),
        ({"online": "false"}, ["330100HK0001", "330100WJ0002"]),
        ({"mobile": "1"}, ["330100HK0001"]),
        ({"zero_trips": "1"}, ["330100HK0001"]),
        ({"id_only": "1"}, []),
        ({"department": "330100-weijian"}, ["330100WJ0002"]),
        ({"department": "no-such-department"}, []),
        ({"region": "330100"}, ["330100HK0001", "330100WJ0002"]),
        ({"theme": "hukou"}, ["330100HK0001"]),
        ({"life_event": "birth"}, ["330100HK0001"]),
        ({"audience": "citizen"}, ["330100HK0001", "330100WJ0002"]),
        ({"audience": "enterprise"}, []),
        ({"type": "xzqr", "online": "1", "theme": "hukou"}, ["330100HK0001"]),
    ],
)
def test_search_filters(client, catalog, query, expected):
    response = client.get(ITEMS, query)
    assert response.status_code == 200
    assert codes(response.json()) == expected


def test_selected_facet_is_marked(client, catalog):
    body = client.get(ITEMS, {"type": "ggfw"}).json()
    assert [f["value"] for f in body["facets"]["type"] if f["selected"]] == ["ggfw"]


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ({"type": "permit"}, "type", "invalid_choice"),
        ({"online": "2"}, "online", "invalid_choice"),
        ({"online": "maybe"}, "online", "invalid_choice"),
        ({"zero_trips": "on"}, "zero_trips", "invalid_choice"),
        ({"audience": "both"}, "audience", "invalid_choice"),
        ({"region": "3301"}, "region", "invalid"),
        ({"region": "３３０１００"}, "region", "invalid"),
        ({"department": "公安局"}, "department", "invalid"),
        ({"theme": "户籍"}, "theme", "invalid"),
        ({"search": "出" * 101}, "search", "max_length"),
        ({"search": "a\x00b"}, "search", "control_character"),
        ({"page_size": "0"}, "page_size", "page_size_invalid"),
        ({"page_size": "101"}, "page_size", "page_size_invalid"),
    ],
)
def test_bad_query_is_refused_with_a_clear_message(client, catalog, query, field, code):
    response = client.get(ITEMS, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert list(error["fields"]) == [field]
    assert error["message"] == error["fields"][field][0]


@pytest.mark.parametrize("page", ["0", "-1", "abc", "3", "1.5", "²", "99999999999999999999"])
def test_page_out_of_range_is_404(client, catalog, page):
    response = client.get(ITEMS, {"page": page})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_pages_link_to_each_other(client, catalog):
    first = client.get(ITEMS, {"page_size": "1", "online": "0"}).json()
    assert codes(first) == ["330100HK0001"]
    assert first["next"] == "http://testserver/api/v1/items/?online=0&page=2&page_size=1"
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    assert codes(second) == ["330100WJ0002"]
    assert second["next"] is None
    assert second["previous"] == "http://testserver/api/v1/items/?online=0&page_size=1"
    empty = client.get(ITEMS, {"search": "没有这种事项"}).json()
    assert (empty["count"], empty["results"], empty["next"]) == (0, [], None)


def test_item_detail_has_the_whole_guide(client, catalog):
    response = client.get(f"{ITEMS}330100HK0001/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    updated_at = body.pop("updated_at")
    assert updated_at.startswith(str(catalog["item"].updated_at.year))
    versions = body.pop("versions")
    assert [(v["number"], v["note"], v["url"]) for v in versions] == [
        (2, "压缩时限", "http://testserver/api/v1/items/330100HK0001/versions/2/"),
        (1, "首次发布", "http://testserver/api/v1/items/330100HK0001/versions/1/"),
    ]
    assert all(v["published_at"] for v in versions)
    assert body == {
        "code": "330100HK0001",
        "basic_code": "HK0001",
        "main_code": "",
        "main_name": "户口登记",
        "sub_name": "",
        "name": "出生登记",
        "item_type": "xzqr",
        "for_citizens": True,
        "for_enterprises": False,
        "department": {"code": "330100-gongan", "name": "杭州市公安局"},
        "region": {"code": "330100", "name": "杭州市"},
        "summary": "为新生儿办理出生户口登记。",
        "legal_basis": "《中华人民共和国户口登记条例》第七条\n\n《浙江省户口登记管理规定》",
        "acceptance_conditions": "婴儿出生一个月以内。",
        "statutory_days": 20,
        "promised_days": 3,
        "compression": 0.85,
        "trips": 0,
        "online": True,
        "mobile": True,
        "counter": True,
        "courier": False,
        "appointment": False,
        "id_only": False,
        "fee_fen": 1050,
        "fee_note": "工本费",
        "consult_phone": "0571-12345",
        "complaint_phone": "12345",
        "location": "杭州市市民中心",
        "online_url": "https://zwfw.example.gov.cn/apply/hk0001",
        "form_fields": [
            {"name": "baby_name", "label": "婴儿姓名", "type": "text", "required": True}
        ],
        "materials": [
            {
                "name": "出生医学证明",
                "source": "issued",
                "form": "verified_online",  # stored as original; the item needs no trip
                "required": True,
                "copies": 1,
                "issuer": {"code": "330100-weijian", "name": "杭州市卫生健康委员会"},
                "note": "",
            },
            {
                "name": "居民户口簿",
                "source": "shared",
                "form": "electronic",
                "required": False,
                "copies": 1,
                "issuer": None,
                "note": "共享获取",
            },
        ],
        "joint_stages": [
            {
                "department": {"code": "330100-weijian", "name": "杭州市卫生健康委员会"},
                "stage": "review",
            }
        ],
        "themes": [{"slug": "hukou", "name": "户籍办理"}],
        "life_events": [{"slug": "birth", "name": "出生"}],
        "bundles": [{"slug": "newborn", "name": "新生儿出生一件事"}],
        "version": 2,
        "links": {
            "self": "http://testserver/api/v1/items/330100HK0001/",
            "web": "http://testserver/services/items/330100HK0001/",
            "jsonld": "http://testserver/api/v1/items/330100HK0001/jsonld/",
            "department": "http://testserver/api/v1/departments/330100-gongan/",
        },
    }


@pytest.mark.parametrize(
    "path",
    [
        "330100HK0009/",  # withdrawn
        "NO-SUCH-ITEM/",
        "330100HK0009/jsonld/",
        "NO-SUCH-ITEM/jsonld/",
        "330100HK0009/versions/1/",
        "330100HK0001/versions/3/",
        "330100HK0001/versions/0/",
        "NO-SUCH-ITEM/?format=jsonld",
    ],
)
def test_unknown_or_withdrawn_items_are_404_json(client, catalog, path):
    response = client.get(f"{ITEMS}{path}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_a_version_is_the_stored_snapshot(client, catalog):
    body = client.get(f"{ITEMS}330100HK0001/versions/1/").json()
    assert (body["code"], body["number"], body["note"]) == ("330100HK0001", 1, "首次发布")
    snapshot = body["snapshot"]
    assert (snapshot["name"], snapshot["promised_days"]) == ("出生登记", 5)
    assert [m["name"] for m in snapshot["materials"]] == ["出生医学证明", "居民户口簿"]
    assert snapshot["themes"] == []
    latest = client.get(f"{ITEMS}330100HK0001/versions/2/").json()["snapshot"]
    assert (latest["promised_days"], latest["themes"]) == (3, ["户籍办理"])


def in_chinese(label) -> str:
    with translation.override("zh-hans"):
        return str(label)


EXPECTED_JSONLD = {
    "@id": "http://testserver/services/items/330100HK0001/",
    "@type": "cpsv:PublicService",
    "dct:identifier": "330100HK0001",
    "dct:title": "出生登记",
    "dct:description": "为新生儿办理出生户口登记。",
    "dct:audience": ["zb:audience-citizen"],
    "cv:hasCompetentAuthority": {
        "@id": "http://testserver/departments/330100-gongan/",
        "@type": "cv:PublicOrganisation",
        "dct:identifier": "330100-gongan",
        "skos:prefLabel": "杭州市公安局",
        "dct:spatial": {
            "@type": "dct:Location",
            "dct:identifier": "330100",
            "skos:prefLabel": "杭州市",
        },
    },
    "dct:spatial": {
        "@type": "dct:Location",
        "dct:identifier": "330100",
        "skos:prefLabel": "杭州市",
    },
    "zb:itemType": {
        "@id": "zb:type-xzqr",
        "@type": "skos:Concept",
        "skos:prefLabel": in_chinese(ServiceItem.ItemType.CONFIRMATION.label),
    },
    "cv:thematicArea": {
        "@id": "zb:kind-gongan",
        "@type": "skos:Concept",
        "skos:prefLabel": in_chinese(Department.Kind.PUBLIC_SECURITY.label),
    },
    "cv:isClassifiedBy": [
        {
            "@id": "http://testserver/services/themes/hukou/",
            "@type": "skos:Concept",
            "dct:identifier": "hukou",
            "skos:prefLabel": "户籍办理",
        }
    ],
    "cv:isGroupedBy": [
        {
            "@id": "http://testserver/services/life-events/birth/",
            "@type": "cv:LifeEvent",
            "dct:identifier": "birth",
            "dct:title": "出生",
        }
    ],
    "cpsv:hasInput": [
        {
            "@type": "cv:Evidence",
            "dct:identifier": "330100HK0001-1",
            "dct:title": "出生医学证明",
            "zb:source": "issued",
            "zb:form": "verified_online",  # stored as original; the item needs no trip
            "zb:required": True,
            "zb:copies": 1,
            "zb:issuer": {
                "@id": "http://testserver/departments/330100-weijian/",
                "@type": "cv:PublicOrganisation",
                "dct:identifier": "330100-weijian",
                "skos:prefLabel": "杭州市卫生健康委员会",
            },
        },
        {
            "@type": "cv:Evidence",
            "dct:identifier": "330100HK0001-2",
            "dct:title": "居民户口簿",
            "zb:source": "shared",
            "zb:form": "electronic",
            "zb:required": False,
            "zb:copies": 1,
            "dct:description": "共享获取",
        },
    ],
    "cv:hasCost": [
        {
            "@type": "cv:Cost",
            "cv:hasValue": "10.50",
            "cv:currency": "http://publications.europa.eu/resource/authority/currency/CNY",
            "dct:description": "工本费",
        }
    ],
    "cv:hasChannel": [
        {
            "@type": "cv:Channel",
            "dct:type": "zb:channel-online",
            "schema:url": "https://zwfw.example.gov.cn/apply/hk0001",
        },
        {"@type": "cv:Channel", "dct:type": "zb:channel-mobile"},
        {
            "@type": "cv:Channel",
            "dct:type": "zb:channel-counter",
            "dct:description": "杭州市市民中心",
        },
    ],
    "cv:hasLegalResource": [
        {"@type": "eli:LegalResource", "dct:title": "《中华人民共和国户口登记条例》第七条"},
        {"@type": "eli:LegalResource", "dct:title": "《浙江省户口登记管理规定》"},
    ],
    "cv:hasParticipation": [
        {
            "@type": "cv:Participation",
            "cv:role": "zb:stage-review",
            "dct:description": in_chinese(JointStage.Stage.REVIEW.label),
            "cv:hasParticipant": {
                "@id": "http://testserver/departments/330100-weijian/",
                "@type": "cv:PublicOrganisation",
                "dct:identifier": "330100-weijian",
                "skos:prefLabel": "杭州市卫生健康委员会",
            },
        }
    ],
    "cv:contactPoint": [
        {
            "@type": "cv:ContactPoint",
            "schema:contactType": "consultation",
            "cv:telephone": "0571-12345",
        },
        {"@type": "cv:ContactPoint", "schema:contactType": "complaint", "cv:telephone": "12345"},
    ],
    "cv:processingTime": "P3D",
    "zb:workingDays": True,
    "zb:statutoryDays": 20,
    "zb:promisedDays": 3,
    "zb:compression": "0.85",
    "zb:trips": 0,
    "zb:online": True,
    "zb:mobile": True,
    "zb:idOnly": False,
    "zb:version": 2,
}


def used_prefixes(node) -> set[str]:
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if ":" in key and not key.startswith("@"):
                found.add(key.split(":", 1)[0])
            if key in ("@type", "dct:type", "cv:role") and isinstance(value, str):
                found.add(value.split(":", 1)[0])
            found |= used_prefixes(value)
    elif isinstance(node, list):
        for value in node:
            found |= used_prefixes(value)
    return found


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("330100HK0001/jsonld/", {}),
        ("330100HK0001/jsonld/", {"HTTP_ACCEPT": "application/json"}),
        ("330100HK0001/?format=jsonld", {}),
        ("330100HK0001/", {"HTTP_ACCEPT": "application/ld+json"}),
        ("330100HK0001/jsonld/", {"HTTP_ACCEPT_LANGUAGE": "en"}),
    ],
)
def test_item_as_cpsv_ap_jsonld(client, catalog, path, headers):
    response = client.get(f"{ITEMS}{path}", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/ld+json"
    document = json.loads(response.content.decode("utf-8"))
    context = document.pop("@context")
    assert document == EXPECTED_JSONLD
    assert context["cpsv"] == "http://purl.org/vocab/cpsv#"
    assert context["cv"] == "http://data.europa.eu/m8g/"
    assert context["dct"] == "http://purl.org/dc/terms/"
    assert context["zb"] == "https://zheliban.example.gov.cn/ns#"
    assert context["cv:processingTime"] == {"@type": "xsd:duration"}
    assert used_prefixes(document) <= {
        key for key, value in context.items() if isinstance(value, str)
    }


def test_jsonld_of_a_plain_item_leaves_out_what_it_lacks(client, catalog):
    document = client.get(f"{ITEMS}330100WJ0002/jsonld/").json()
    assert document["cv:processingTime"] == "P0D"
    assert document["zb:promisedDays"] == 0
    for absent in (
        "zb:statutoryDays",
        "zb:compression",
        "cv:hasCost",
        "cv:hasLegalResource",
        "cv:isGroupedBy",
        "dct:description",
    ):
        assert absent not in document
    assert document["cv:hasChannel"] == [{"@type": "cv:Channel", "dct:type": "zb:channel-counter"}]
    assert document["cpsv:hasInput"] == []


def test_themes_and_life_events(client, catalog):
    themes = client.get("/api/v1/themes/").json()
    assert themes["count"] == 2
    assert themes["results"][0] == {
        "slug": "hukou",
        "name": "户籍办理",
        "name_en": "Household registration",
        "audience": "both",
        "url": "http://testserver/services/themes/hukou/",
        "items_url": "http://testserver/api/v1/items/?theme=hukou",
    }
    events = client.get("/api/v1/life-events/").json()
    assert events["count"] == 10
    assert events["results"][0] == {
        "slug": "birth",
        "name": "出生",
        "name_en": "Having a baby",
        "audience": "citizen",
        "description": "",
        "url": "http://testserver/services/life-events/birth/",
        "items_url": "http://testserver/api/v1/items/?life_event=birth",
    }
    enterprise = client.get("/api/v1/life-events/", {"audience": "enterprise"}).json()
    assert [e["slug"] for e in enterprise["results"]] == [
        "company-start",
        "company-change",
        "company-close",
    ]
    assert client.get("/api/v1/life-events/", {"audience": "aliens"}).status_code == 400


def test_bundles_list_and_detail_with_parts_in_order(client, catalog):
    bundles = client.get("/api/v1/bundles/").json()
    assert bundles["count"] == 1
    summary = {
        "slug": "newborn",
        "name": "新生儿出生一件事",
        "audience": "citizen",
        "summary": "出生登记与预防接种一次办。",
        "life_event": {"slug": "birth", "name": "出生"},
        "region": {"code": "330100", "name": "杭州市"},
        "promised_days": 5,
        "trips": 0,
        "url": "http://testserver/services/bundles/newborn/",
        "api_url": "http://testserver/api/v1/bundles/newborn/",
    }
    assert bundles["results"] == [summary]
    detail = client.get("/api/v1/bundles/newborn/").json()
    assert detail == {
        **summary,
        "parts": [
            {
                "sort_order": 1,
                "item": {
                    "code": "330100HK0001",
                    "name": "出生登记",
                    "department": {"code": "330100-gongan", "name": "杭州市公安局"},
                    "api_url": "http://testserver/api/v1/items/330100HK0001/",
                },
            },
            {
                "sort_order": 2,
                "item": {
                    "code": "330100WJ0002",
                    "name": "预防接种证办理",
                    "department": {"code": "330100-weijian", "name": "杭州市卫生健康委员会"},
                    "api_url": "http://testserver/api/v1/items/330100WJ0002/",
                },
            },
        ],
        "eligibility": [],
    }
    assert client.get("/api/v1/bundles/old/").status_code == 404


def test_the_api_is_read_only(client, catalog):
    for path in (ITEMS, f"{ITEMS}330100HK0001/", "/api/v1/bundles/newborn/", "/api/v1/themes/"):
        assert client.post(path, {}).status_code == 405
    assert ServiceItem.objects.count() == 3


def test_api_root_lists_the_catalog(client):
    endpoints = client.get("/api/v1/").json()["endpoints"]
    assert endpoints["items"] == "http://testserver/api/v1/items/"
    assert endpoints["themes"] == "http://testserver/api/v1/themes/"
    assert endpoints["life_events"] == "http://testserver/api/v1/life-events/"
    assert endpoints["bundles"] == "http://testserver/api/v1/bundles/"


# Query counts: the same at two catalog sizes.


def grow(catalog, total: int) -> None:
    """Add published items until the catalog has ``total``, spread over both departments, in
    the theme and the bundle, each indexed for search."""
    departments = [catalog["police"], catalog["health"]]
    start = ServiceItem.objects.count()
    created = ServiceItem.objects.bulk_create(
        ServiceItem(
            code=f"330100GR{n:06d}",
            name=f"出生证明补办{n}",
            department=departments[n % 2],
            region=departments[n % 2].region,
            item_type=ServiceItem.ItemType.values[n % len(ServiceItem.ItemType.values)],
            online=n % 3 == 0,
            trips=n % 2,
            popularity=n,
        )
        for n in range(start, total)
    )
    theme = Theme.objects.get(slug="hukou")
    theme.items.add(*created)
    bundle = Bundle.objects.get(slug="newborn")
    BundleItem.objects.bulk_create(
        BundleItem(bundle=bundle, item=item, sort_order=10 + i)
        for i, item in enumerate(created[: total // 10])
    )
    Material.objects.bulk_create(
        Material(item=catalog["item"], name=f"材料{n}", sort_order=10 + n)
        for n in range(total // 10)
    )
    reindex_items(ServiceItem.objects.filter(pk__in=[i.pk for i in created]))


REQUESTS = {
    "search": f"{ITEMS}?page_size=100",
    "search_words": f"{ITEMS}?search=出生&online=1&theme=hukou&page=2&page_size=5",
    "detail": f"{ITEMS}330100HK0001/",
    "jsonld": f"{ITEMS}330100HK0001/jsonld/",
    "version": f"{ITEMS}330100HK0001/versions/1/",
    "themes": "/api/v1/themes/",
    "life_events": "/api/v1/life-events/",
    "bundles": "/api/v1/bundles/",
    "bundle": "/api/v1/bundles/newborn/",
}
ENGINE_ARGUMENTS = {
    "search": {"text": "", "filters": {}, "page": 1, "page_size": 100},
    "search_words": {
        "text": "出生",
        "filters": {"online": "1", "theme": "hukou"},
        "page": 2,
        "page_size": 5,
    },
}
MAX_QUERIES = {
    "detail": 8,
    "jsonld": 8,
    "version": 1,
    "themes": 2,
    "life_events": 2,
    "bundles": 2,
    "bundle": 2,
}


def count_queries(client) -> dict[str, int]:
    counts = {}
    for name, path in REQUESTS.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, (name, response.content[:300])
        counts[name] = len(queries)
    return counts


def test_queries_do_not_grow_with_the_catalog(client, catalog):
    grow(catalog, 20)
    small = count_queries(client)
    grow(catalog, 500)
    # Every one of the 500 matches, up to the engine's bound on ranked candidates.
    assert client.get(f"{ITEMS}?search=出生&theme=hukou").json()["count"] >= min(
        480, MAX_CANDIDATES
    )
    large = count_queries(client)
    assert large == small
    assert {name: n for name, n in large.items() if n > MAX_QUERIES.get(name, n)} == {}
    # The search API adds no query to the engine's own.
    for name, arguments in ENGINE_ARGUMENTS.items():
        with CaptureQueriesContext(connection) as engine:
            search_items(**arguments)
        assert large[name] == len(engine), name


def test_a_search_page_is_answered_once_per_generation(
    client, django_capture_on_commit_callbacks, django_assert_num_queries
):
    def committed():
        return django_capture_on_commit_callbacks(execute=True)

    with committed():
        catalog = build_catalog()
    path = f"{ITEMS}?search=出生&page_size=5"
    first = client.get(path)
    with django_assert_num_queries(0):
        again = client.get(path)
    assert again.json() == first.json()
    assert codes(again.json()) == ["330100HK0001"]
    # Another address (its links differ) or language is another answer, from the engine's
    # cached one: only the page's items are read.
    with django_assert_num_queries(1):
        assert client.get(f"{path}&page=1").json()["count"] == 1
    english = client.get(path, HTTP_ACCEPT_LANGUAGE="en").json()
    assert {f["label"] for f in english["facets"]["type"]} == {"Administrative confirmation"}
    with committed():
        item = ServiceItemFactory(
            code="330100WJ0003", name="出生医学证明", department=catalog["health"]
        )
        services.item_publish(actor=None, item=item)
    assert codes(client.get(path).json()) == ["330100HK0001", "330100WJ0003"]

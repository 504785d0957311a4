"""The demo province's catalog: realistic items and bundles, seeded idempotently."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Max

from catalog import demo, services
from catalog.models import (
    Bundle,
    BundleItem,
    LifeEvent,
    Material,
    ServiceItem,
    ServiceItemVersion,
    Theme,
)
from zheliban.core.identity import validate_uscc

pytestmark = pytest.mark.django_db

BUNDLE_PARTS = {
    "newborn": [
        ("出生医学证明办理", "weijian"),
        ("出生登记（户口登记）", "gongan"),
        ("新生儿社会保障卡申领", "renshe"),
        ("新生儿城乡居民基本医疗保险参保登记", "yibao"),
        ("预防接种证办理", "weijian"),
    ],
    "company-start": [
        ("企业设立登记", "shichang"),
        ("公章刻制备案", "gongan"),
        ("新办纳税人“套餐式”服务（发票申领）", "shuiwu"),
        ("单位参保登记", "renshe"),
        ("住房公积金单位缴存登记（单位开户）", "zhujian"),
    ],
    "retirement": [
        ("职工退休申请（基本养老金申领）", "renshe"),
        ("职工基本医疗保险退休人员待遇核定", "yibao"),
        ("住房公积金提取（离休、退休）", "zhujian"),
        ("浙江省老年人优待证办理", "minzheng"),
    ],
    "bereavement": [
        ("居民死亡医学证明（推断）书办理", "weijian"),
        ("死亡户口注销", "gongan"),
        ("丧葬补助金、抚恤金申领", "renshe"),
        ("基本殡葬服务费用减免", "minzheng"),
    ],
}
BUNDLE_EVENTS = {
    "newborn": "birth",
    "company-start": "company-start",
    "retirement": "retirement",
    "bereavement": "bereavement",
}


def catalog_state():
    return {
        "items": ServiceItem.objects.count(),
        "versions": ServiceItemVersion.objects.count(),
        "materials": sorted(Material.objects.values_list("pk", flat=True)),
        "themes": Theme.objects.count(),
        "item_themes": ServiceItem.themes.through.objects.count(),
        "item_life_events": ServiceItem.life_events.through.objects.count(),
        "bundles": Bundle.objects.count(),
        "bundle_parts": sorted(BundleItem.objects.values_list("pk", "sort_order")),
        "items_changed": ServiceItem.objects.aggregate(at=Max("updated_at"))["at"],
        "bundles_changed": Bundle.objects.aggregate(at=Max("updated_at"))["at"],
    }


def test_seeding_twice_changes_nothing_and_publishes_each_item_once(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    state = catalog_state()
    call_command("seed_demo")
    second = capsys.readouterr().out

    assert catalog_state() == state
    n = len(demo.ITEMS)
    assert n >= 40
    assert state["items"] == n
    assert state["versions"] == n
    assert state["bundles"] == len(demo.BUNDLES) == 4
    assert len(state["bundle_parts"]) == 18
    assert set(ServiceItem.objects.values_list("version", flat=True)) == {1}
    assert set(ServiceItemVersion.objects.values_list("item_id", "number")) == {
        (pk, 1) for pk in ServiceItem.objects.values_list("pk", flat=True)
    }
    assert f"Catalog: {n} demo items ({n} new, 0 republished), 4 bundles of 18 items" in first
    assert f"Catalog: {n} demo items (0 new, 0 republished)" in second

    # The first version is the whole item, themes and materials included.
    hukou = ServiceItem.objects.get(name="出生登记（户口登记）")
    snapshot = hukou.versions.get().snapshot
    assert snapshot["themes"] == ["户籍办理", "生育收养"]
    assert snapshot["materials"][0] == {
        "name": "出生医学证明",
        "source": "shared",
        "form": "electronic",
        "required": True,
        "copies": 1,
        "note": "通过数据共享获取，无需提交",
        "sort_order": 0,
        "issuer": "杭州市卫生健康委员会",
    }

    check_items()
    check_bundles()


def check_items():
    items = list(
        ServiceItem.objects.select_related("department__region", "region").prefetch_related(
            "materials", "themes", "life_events"
        )
    )
    codes = [item.code for item in items]
    assert len(set(codes)) == len(codes)
    for item in items:
        department = item.department
        assert department.region.code.startswith("33"), item.name
        assert item.region_id == department.region_id, item.name
        assert department.code == f"{department.region.code}-{department.kind}"
        assert item.source == "demo"
        # National code shape: the body's credit code, its level, the 12-digit basic code.
        assert len(item.code) == 31
        validate_uscc(item.code[:18])
        assert item.code[2:8] == department.region.code
        assert item.code.endswith(item.basic_code) and item.basic_code.startswith("33")
        assert item.for_citizens or item.for_enterprises
        assert item.summary and item.acceptance_conditions and item.consult_phone
        assert item.legal_basis.startswith("《"), item.name
        if item.statutory_days is not None and item.promised_days is not None:
            assert item.promised_days <= item.statutory_days, item.name
        materials = list(item.materials.all())
        assert 2 <= len(materials) <= 6, item.name
        assert [m.sort_order for m in materials] == list(range(len(materials)))
        for material in materials:
            if material.source == Material.Source.SHARED:
                assert material.note, material.name
        assert item.themes.all(), item.name
        assert item.form_fields, item.name
        for field in item.form_fields:
            assert set(field) >= {"name", "label", "type", "required"}, item.name
    regions = {item.region.code for item in items}
    assert {"330000", "330100", "330106"} <= regions
    assert sum(item.region.code in ("330100", "330106") for item in items) > len(items) * 0.8
    # 浙里办 figures: most items need no trip and work on a phone, many on the ID card alone.
    assert sum(item.trips == 0 for item in items) > len(items) * 0.75
    assert sum(item.mobile for item in items) > len(items) * 0.75
    assert sum(item.id_only for item in items) >= 20
    assert sum(item.promised_days == 0 for item in items) >= 15
    assert sum(item.compression is not None and item.compression > 0 for item in items) >= 20
    passport = next(item for item in items if item.name == "普通护照签发")
    assert (passport.fee_fen, passport.statutory_days, passport.promised_days) == (12000, 15, 7)
    # Every life event has items; so does every demo theme.
    assert set(LifeEvent.objects.filter(items__isnull=False).values_list("slug", flat=True)) >= {
        "birth",
        "school",
        "work",
        "marriage",
        "housing",
        "retirement",
        "bereavement",
        "company-start",
        "company-change",
        "company-close",
    }
    slugs = [slug for slug, *_rest in demo.THEMES]
    assert Theme.objects.filter(slug__in=slugs, items__isnull=True).count() == 0
    assert Theme.objects.filter(slug__in=slugs).count() == len(slugs)


def check_bundles():
    for slug, expected in BUNDLE_PARTS.items():
        bundle = Bundle.objects.select_related("region", "life_event").get(slug=slug)
        parts = list(
            bundle.parts.select_related("item__department").prefetch_related("item__life_events")
        )
        assert [(p.item.name, p.item.department.kind) for p in parts] == expected
        assert [p.sort_order for p in parts] == list(range(len(parts)))
        assert len({p.item.department_id for p in parts}) >= 3
        assert bundle.region.code == "330100"
        assert bundle.trips == 0 and bundle.promised_days and bundle.summary
        assert bundle.life_event.slug == BUNDLE_EVENTS[slug]
        for part in parts:
            assert bundle.life_event in part.item.life_events.all(), part.item.name
            assert part.item.promised_days is None or part.item.promised_days <= 5
        # One form: a field several parts ask for means the same thing in each.
        fields = {}
        for part in parts:
            for field in part.item.form_fields:
                seen = fields.setdefault(field["name"], (field["label"], field["type"]))
                assert seen == (field["label"], field["type"]), field["name"]
        asked = sum(len(p.item.form_fields) for p in parts)
        assert len(fields) < asked  # shared fields are asked once, not once per part
    assert Bundle.objects.get(slug="company-start").promised_days == 1


def test_seed_republishes_an_edited_item_and_reuses_an_importers_theme():
    # A theme an importer made from the same heading (slug from pinyin) is reused, not clashed.
    imported = Theme.objects.create(slug="hujibanli", name="户籍办理")
    call_command("seed_demo", stdout=StringIO())
    imported.refresh_from_db()
    assert imported.name_en == "Household registration"
    assert not Theme.objects.filter(slug="household").exists()
    hukou = ServiceItem.objects.get(name="出生登记（户口登记）")
    assert imported in hukou.themes.all()

    # Someone edits a demo item; seeding again restores it as a new version, nothing else moves.
    passport = ServiceItem.objects.get(name="普通护照签发")
    passport.promised_days = 15
    services.item_publish(actor=None, item=passport, materials=[{"name": "居民身份证"}])
    out = StringIO()
    demo.seed(stdout=out)  # the catalog's part of seed_demo; the rest is tested above
    passport.refresh_from_db()
    assert (passport.version, passport.promised_days, passport.materials.count()) == (3, 7, 4)
    assert list(passport.versions.values_list("number", flat=True)) == [3, 2, 1]
    assert passport.versions.get(number=3).snapshot["promised_days"] == 7
    assert ServiceItem.objects.exclude(pk=passport.pk).exclude(version=1).count() == 0
    assert "(0 new, 1 republished)" in out.getvalue()

"""The demo catalog's data file: it loads, its entries refer to what exists, and the loader
refuses a malformed entry with a message that names it."""

import copy
from io import StringIO

import pytest
import yaml
from django.apps import apps

from catalog import demo
from catalog.models import LifeEvent, Material, ServiceItem
from departments.models import Department


@pytest.fixture(scope="module")
def raw():
    """The data file as plain YAML, anchors resolved."""
    return yaml.safe_load(demo.DATA_FILE.read_text(encoding="utf-8"))


def write(tmp_path, data) -> str:
    path = tmp_path / "demo_catalog.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_the_data_file_loads_into_the_seeded_catalog():
    catalog = demo.load()
    assert catalog == demo.CATALOG
    assert demo.ITEMS is demo.CATALOG.items and demo.BUNDLES is demo.CATALOG.bundles
    assert demo.THEMES is demo.CATALOG.themes
    assert (len(catalog.items), len(catalog.bundles), len(catalog.themes)) == (48, 4, 19)
    assert len(catalog.form_fields) == 57
    assert sum(len(item.materials) for item in catalog.items) == 157
    assert catalog.hotline == "0571-12345"

    # One item in full: every value the file gives or leaves to a default, the code computed.
    hukou = next(item for item in catalog.items if item.key == "birth_hukou")
    assert hukou.code == demo.department_credit_code("330100-gongan") + "2" + "330701002000"
    card = next(item for item in catalog.items if item.key == "newborn_social_card")
    assert (card.basic_code, card.main_code) == ("332003003002", "332003003000")
    assert (hukou.item_type, hukou.statutory_days, hukou.promised_days) == ("xzqr", 5, 1)
    assert (hukou.trips, hukou.online, hukou.courier, hukou.id_only) == (0, True, True, True)
    assert hukou.materials[0] == {
        "name": "出生医学证明",
        "source": "shared",
        "form": "electronic",
        "required": True,
        "copies": 1,
        "note": "通过数据共享获取，无需提交",
        "issuer": "330100-weijian",
    }
    assert hukou.materials[3]["required"] is False
    fields = catalog.fields_of(hukou)
    assert [f["name"] for f in fields if not f["required"]] == ["father_name", "father_id_number"]
    assert fields[1] == {
        "name": "baby_gender",
        "label": "新生儿性别",
        "type": "choice",
        "required": True,
        "choices": ["男", "女"],
    }
    # A bare name is an applicant's electronic material; *id_card repeats the anchored one.
    company = next(item for item in catalog.items if item.key == "company_register")
    assert company.materials[1] == {
        "name": "公司章程",
        "source": "applicant",
        "form": "electronic",
        "required": True,
        "copies": 1,
        "note": "",
        "issuer": None,
    }
    pension = next(item for item in catalog.items if item.key == "retirement_pension")
    assert pension.materials[0]["name"] == "居民身份证"
    assert pension.materials[0]["form"] == "original"
    fund = next(item for item in catalog.items if item.key == "fund_account")
    assert fund.consult_phone == "0571-12329"


def test_every_entry_refers_to_what_exists():
    catalog = demo.CATALOG
    kinds = set(Department.Kind.values)
    theme_slugs = {slug for slug, *_rest in catalog.themes}
    keys = [item.key for item in catalog.items]
    assert len(set(keys)) == len(keys)
    assert len({item.code for item in catalog.items}) == len(keys)
    for item in catalog.items:
        assert item.kind in kinds and item.kind in demo.KIND_NUMBERS, item.key
        assert item.item_type in ServiceItem.ItemType.values, item.key
        assert set(item.themes) <= theme_slugs, item.key
        assert {name.rstrip("?") for name in item.fields} <= catalog.form_fields.keys(), item.key
        for material in item.materials:
            assert material["source"] in Material.Source.values, item.key
            assert material["form"] in Material.Form.values, item.key
            if material["issuer"]:
                assert material["issuer"].split("-")[1] in kinds, item.key
    assert set(catalog.department_phones) <= kinds
    for bundle in catalog.bundles:
        assert set(bundle.parts) <= set(keys), bundle.slug


@pytest.mark.django_db
def test_the_departments_and_life_events_entries_name_exist_once_departments_are_seeded():
    apps.get_app_config("departments").seed_demo(stdout=StringIO())
    catalog = demo.CATALOG
    codes = {item.department for item in catalog.items}
    codes |= {m["issuer"] for item in catalog.items for m in item.materials if m["issuer"]}
    assert Department.objects.filter(code__in=codes).count() == len(codes)
    events = {slug for item in catalog.items for slug in item.life_events}
    events |= {bundle.life_event for bundle in catalog.bundles}
    assert LifeEvent.objects.filter(slug__in=events).count() == len(events)


def item(data, key):
    return next(entry for entry in data["items"] if entry["key"] == key)


def unknown_theme(data):
    item(data, "birth_hukou")["themes"] = ["household", "helth"]


def unknown_department_kind(data):
    item(data, "birth_hukou")["department"] = "330100-police"


def malformed_department(data):
    item(data, "seal_filing")["department"] = "杭州市公安局"


def missing_summary(data):
    del item(data, "birth_certificate")["summary"]


def misspelt_field(data):
    entry = item(data, "newborn_insurance")
    entry["sumary"] = entry.pop("summary")


def popularity_in_words(data):
    item(data, "birth_hukou")["popularity"] = "很多"


def yes_in_quotes(data):
    item(data, "birth_hukou")["courier"] = "yes"


def unknown_material_source(data):
    item(data, "birth_hukou")["materials"][1] = {"name": "父母居民身份证", "source": "mail"}


def material_without_name(data):
    item(data, "company_register")["materials"][2] = {"note": "股东主体资格证明"}


def unknown_form_field(data):
    item(data, "birth_hukou")["fields"][0] = "baby_nmae"


def unknown_item_type(data):
    item(data, "birth_hukou")["item_type"] = "permit"


def second_item_with_a_key(data):
    data["items"].append({**item(data, "birth_hukou"), "seq": 99})


def second_item_with_a_code(data):
    data["items"].append({**item(data, "birth_hukou"), "key": "birth_hukou_again"})


def item_without_key(data):
    del data["items"][2]["key"]


def seq_too_long(data):
    item(data, "birth_hukou")["seq"] = 1000


def unknown_bundle_part(data):
    data["bundles"][0]["parts"].append("birth_certifcate")


def choice_without_choices(data):
    del data["form_fields"]["baby_gender"]["choices"]


def unknown_theme_audience(data):
    data["themes"][0]["audience"] = "children"


def items_not_a_list(data):
    data["items"] = {"birth_hukou": item(data, "birth_hukou")}


MALFORMED = [
    (unknown_theme, "item birth_hukou: theme: 'helth' is not in themes"),
    (
        unknown_department_kind,
        "item birth_hukou: department: 330100-police: department kind: 'police' is not one of",
    ),
    (malformed_department, "item seal_filing: department: '杭州市公安局' is not a department code"),
    (missing_summary, "item birth_certificate: missing summary"),
    (misspelt_field, "item newborn_insurance: unknown sumary (known: key, seq,"),
    (popularity_in_words, "item birth_hukou: popularity must be a whole number, not '很多'"),
    (yes_in_quotes, "item birth_hukou: courier must be true or false, not 'yes'"),
    (unknown_material_source, "item birth_hukou: material 2: source: 'mail' is not one of"),
    (material_without_name, "item company_register: material 3: missing name"),
    (unknown_form_field, "item birth_hukou: field: 'baby_nmae' is not in form_fields"),
    (unknown_item_type, "item birth_hukou: item_type: 'permit' is not one of licensing,"),
    (second_item_with_a_key, "item birth_hukou: the same key or code as item birth_hukou"),
    (second_item_with_a_code, "item birth_hukou_again: the same key or code as item birth_hukou"),
    (item_without_key, "item #3: missing key"),
    (seq_too_long, "item birth_hukou: seq must be 1 to 999"),
    (unknown_bundle_part, "bundle newborn: part: 'birth_certifcate' is not in the keys of items"),
    (choice_without_choices, "form field baby_gender: choices go with type choice"),
    (unknown_theme_audience, "theme birth-adoption: audience: 'children' is not one of"),
    (items_not_a_list, "the file: items must be a list, not {"),
]


@pytest.mark.parametrize(
    ("spoil", "message"), MALFORMED, ids=[spoil.__name__ for spoil, _ in MALFORMED]
)
def test_the_loader_refuses_a_malformed_entry_naming_it(tmp_path, raw, spoil, message):
    data = copy.deepcopy(raw)
    path = write(tmp_path, data)
    assert demo.load(path) == demo.CATALOG  # the file as written back loads the same
    spoil(data)
    path = write(tmp_path, data)
    with pytest.raises(demo.DemoDataError) as refused:
        demo.load(path)
    assert str(refused.value).startswith(f"demo_catalog.yaml: {message}")


def test_the_loader_refuses_a_name_given_twice_in_one_entry(tmp_path):
    text = demo.DATA_FILE.read_text(encoding="utf-8")
    line = "    popularity: 8600\n"  # birth_hukou's
    assert text.count(line) == 1
    path = tmp_path / "demo_catalog.yaml"
    path.write_text(text.replace(line, line + "    popularity: 86000\n"), encoding="utf-8")
    with pytest.raises(demo.DemoDataError) as refused:
        demo.load(path)
    # Plain YAML would keep the second; the message points at it by line.
    second = text[: text.index(line)].count("\n") + 2
    assert str(refused.value).startswith(
        "demo_catalog.yaml: not valid YAML: popularity given twice"
    )
    assert f'demo_catalog.yaml", line {second}, column 5' in str(refused.value)

"""A service that needs no trip to the hall never asks anyone to bring an original.

``Material.provided_form`` decides how a material is provided; the guide, its kept versions, the
bundle pages, the item API and the JSON-LD all read it. The guard goes over every item and
bundle of the demo catalog, in both languages, and compares what each shows with the rule
written out here on its own.
"""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.apps import apps

from catalog import selectors, services
from catalog.models import Bundle, Material, ServiceItem
from tests.factories import DepartmentFactory, ServiceItemFactory

pytestmark = pytest.mark.django_db

ITEMS = "/api/v1/items/"
# The form column of the materials table, in English.
FORM_CELL_RE = re.compile(r'<td role="cell" data-label="Form">([^<]*)</td>')
# What the English pages say for each stored form, where no trip is made and where one is.
ZERO_TRIP_WORDS = {
    "original": "Verified online, nothing to bring",
    "both": "Verified online, nothing to bring",
    "copy": "Copy",
    "electronic": "Electronic",
}
TRIP_WORDS = {
    "original": "Original",
    "both": "Original and copy",
    "copy": "Copy",
    "electronic": "Electronic",
}
ZERO_TRIP_VALUES = {
    "original": "verified_online",
    "both": "verified_online",
    "copy": "copy",
    "electronic": "electronic",
}


@pytest.fixture
def demo_catalog():
    """The demo province's departments and catalog, as ``manage.py seed_demo`` seeds them."""
    for app in ("departments", "catalog"):
        apps.get_app_config(app).seed_demo(stdout=StringIO())
    items = list(
        ServiceItem.objects.filter(source="demo").prefetch_related("materials").order_by("code")
    )
    bundles = list(Bundle.objects.order_by("slug"))
    # The guard must have something to guard: zero-trip items asking for originals (as the
    # demo stores them), and items with a trip asking for them too.
    stored = [(i.trips, m.form) for i in items for m in i.materials.all()]
    assert sum(trips == 0 and form == "original" for trips, form in stored) >= 20
    assert sum(trips > 0 and form == "original" for trips, form in stored) >= 5
    assert [b.slug for b in bundles] == ["bereavement", "company-start", "newborn", "retirement"]
    return items, bundles


def english(client):
    client.cookies["zhb_lang"] = "en"
    return client


def chinese(client):
    client.cookies["zhb_lang"] = "zh-hans"
    return client


def says_original(text: str) -> bool:
    return "原件" in text or "original" in text.lower()


def test_no_zero_trip_guide_or_api_response_says_original(client, demo_catalog):
    items, _bundles = demo_catalog
    zero_trip = [item for item in items if item.trips == 0]
    with_trips = [item for item in items if item.trips > 0]
    assert len(zero_trip) >= 35 and len(with_trips) >= 5
    for item in items:
        stored = [m.form for m in item.materials.all()]
        words = ZERO_TRIP_WORDS if item.trips == 0 else TRIP_WORDS
        guide = english(client).get(item.get_absolute_url()).content.decode()
        version = client.get(f"{item.get_absolute_url()}versions/1/").content.decode()
        for page in (guide, version):
            assert FORM_CELL_RE.findall(page) == [words[form] for form in stored], item.name

        detail = client.get(f"{ITEMS}{item.code}/").json()
        jsonld = client.get(f"{ITEMS}{item.code}/jsonld/").json()
        kept = client.get(f"{ITEMS}{item.code}/versions/1/").json()
        values = ZERO_TRIP_VALUES if item.trips == 0 else {f: f for f in TRIP_WORDS}
        expected = [values[f] for f in stored]
        assert [m["form"] for m in detail["materials"]] == expected
        assert [e["zb:form"] for e in jsonld["cpsv:hasInput"]] == expected
        assert [m["form"] for m in kept["snapshot"]["materials"]] == expected

        if item.trips == 0:
            zh_guide = chinese(client).get(item.get_absolute_url()).content.decode()
            zh_version = client.get(f"{item.get_absolute_url()}versions/1/").content.decode()
            for text in (guide, version, zh_guide, zh_version):
                assert not says_original(text), item.name
            for body in (detail, jsonld, kept):
                assert not says_original(json.dumps(body, ensure_ascii=False)), item.name
        elif "original" in stored:
            # Where a trip is made the original is still asked for, in the page's language.
            assert "原件" in chinese(client).get(item.get_absolute_url()).content.decode()


def test_no_zero_trip_bundle_page_or_api_response_says_original(client, demo_catalog):
    _items, bundles = demo_catalog
    # Every demo bundle needs no trip; the 身后一件事 one includes an item that needs one.
    assert {b.slug: b.trips for b in bundles} == dict.fromkeys(
        ("bereavement", "company-start", "newborn", "retirement"), 0
    )
    bereavement = selectors.bundle_get_guide(slug="bereavement")
    assert [p.item.trips for p in bereavement.parts.all()] == [1, 0, 0, 0]
    for bundle in bundles:
        page = english(client).get(bundle.get_absolute_url())
        forms = {m.name: m.forms for m in page.context["materials"]}
        assert set().union(*map(set, forms.values())) <= {
            "Verified online, nothing to bring",
            "Copy",
            "Electronic",
        }, bundle.slug
        assert "Verified online, nothing to bring" in page.content.decode(), bundle.slug
        zh_page = chinese(client).get(bundle.get_absolute_url()).content.decode()
        detail = client.get(f"/api/v1/bundles/{bundle.slug}/").content.decode()
        for text in (page.content.decode(), zh_page, detail):
            assert not says_original(text), bundle.slug
    # The part that needs a trip stores originals: inside the zero-trip bundle they are not.
    death = next(p.item for p in bereavement.parts.all() if p.item.trips == 1)
    assert "original" in {m.form for m in death.materials.all()}


def test_the_form_follows_the_trips_of_the_way_one_applies():
    item = ServiceItemFactory(trips=0, department=DepartmentFactory())
    forms = ("original", "both", "copy", "electronic")
    for order, form in enumerate(forms):
        Material.objects.create(item=item, name=f"材料{order}", form=form, sort_order=order)
    materials = list(item.materials.all())
    assert [m.provided_form() for m in materials] == [
        "verified_online",
        "verified_online",
        "copy",
        "electronic",
    ]
    assert [m.provided_form(trips=1) for m in materials] == list(forms)
    ServiceItem.objects.filter(pk=item.pk).update(trips=1)
    materials = list(ServiceItem.objects.get(pk=item.pk).materials.all())
    assert [m.provided_form() for m in materials] == list(forms)
    assert [m.provided_form(trips=0) for m in materials][:2] == ["verified_online"] * 2
    # The stored form is untouched: the rule is how it is read, not a rewrite.
    assert list(item.materials.values_list("form", flat=True)) == list(forms)


def test_a_kept_version_reads_with_the_trips_it_was_published_with():
    item = ServiceItemFactory.build(trips=0, department=DepartmentFactory())
    services.item_publish(actor=None, item=item, materials=[{"name": "身份证", "form": "both"}])
    item.trips = 1
    services.item_publish(actor=None, item=item)
    first, second = (item.versions.get(number=n) for n in (1, 2))
    assert [m["form"] for m in first.snapshot["materials"]] == ["both"]  # as stored
    assert [m["form"] for m in first.public_snapshot["materials"]] == ["verified_online"]
    assert [m["form"] for m in second.public_snapshot["materials"]] == ["both"]
    assert {k: v for k, v in first.public_snapshot.items() if k != "materials"} == {
        k: v for k, v in first.snapshot.items() if k != "materials"
    }

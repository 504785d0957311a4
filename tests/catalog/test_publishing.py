"""Publishing: every edit makes a version, the old one stays readable; scoped by department."""

import pytest
from django.core.exceptions import PermissionDenied

from catalog import services
from catalog.models import Material, ServiceItem, ServiceItemVersion
from departments.models import Membership
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    ServiceItemFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def police():
    return DepartmentFactory(name="公安局")


@pytest.fixture
def supervisor(police):
    return MembershipFactory(department=police, role=Membership.Role.SUPERVISOR).user


def test_publishing_makes_a_version_and_keeps_the_old_one(police, supervisor):
    item = ServiceItemFactory(department=police, name="护照签发")
    first = services.item_publish(
        actor=supervisor, item=item, materials=[{"name": "居民身份证"}], note="first"
    )
    item.promised_days = 3
    second = services.item_publish(
        actor=supervisor,
        item=item,
        materials=[{"name": "居民身份证"}, {"name": "照片"}],
        note="faster",
    )
    item.refresh_from_db()
    assert (first.number, second.number, item.version) == (1, 2, 2)
    assert list(item.materials.values_list("name", flat=True)) == ["居民身份证", "照片"]
    old = ServiceItemVersion.objects.get(item=item, number=1).snapshot
    assert old["promised_days"] == 5
    assert [m["name"] for m in old["materials"]] == ["居民身份证"]
    assert old["department"] == {"code": police.code, "name": "公安局"}
    assert ServiceItemVersion.objects.get(item=item, number=2).snapshot["promised_days"] == 3
    assert second.published_by == supervisor


def test_clerks_and_other_departments_cannot_publish(police):
    item = ServiceItemFactory(department=police, name="原名")
    services.item_publish(actor=None, item=item)
    clerk = MembershipFactory(department=police, role=Membership.Role.CLERK).user
    outsider = MembershipFactory(department=DepartmentFactory(), role=Membership.Role.ADMIN).user
    for actor in (clerk, outsider):
        item.name = "改名"
        with pytest.raises(PermissionDenied):
            services.item_publish(actor=actor, item=item)
    stored = ServiceItem.objects.get(pk=item.pk)
    assert (stored.name, stored.version) == ("原名", 1)
    assert ServiceItemVersion.objects.filter(item=item).count() == 1


def test_admin_edit_publishes_a_version(client, police, supervisor):
    item = ServiceItemFactory(department=police, name="居民身份证换领")
    services.item_publish(actor=None, item=item, materials=[{"name": "旧证"}])
    client.force_login(supervisor)
    page = client.get(f"/admin/catalog/serviceitem/{item.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields}
    data.update(
        {
            "name": "居民身份证换领（到期换证）",
            "promised_days": 10,
            "statutory_days": 60,
            "summary": "",
            "for_citizens": "on",
            "online": "on",
            "counter": "on",
            "is_active": "on",
            "themes": [],
            "life_events": [],
            "form_fields": "[]",
            "materials-TOTAL_FORMS": "1",
            "materials-INITIAL_FORMS": "1",
            "materials-0-id": item.materials.get().pk,
            "materials-0-item": item.pk,
            "materials-0-name": "旧证",
            "materials-0-source": "applicant",
            "materials-0-form": "original",
            "materials-0-required": "on",
            "materials-0-copies": "1",
            "materials-0-sort_order": "0",
            "joint_stages-TOTAL_FORMS": "0",
            "joint_stages-INITIAL_FORMS": "0",
            "versions-TOTAL_FORMS": "1",
            "versions-INITIAL_FORMS": "1",
            "versions-0-id": item.versions.get().pk,
            "versions-0-item": item.pk,
        }
    )
    data = {k: ("" if v is None else v) for k, v in data.items()}
    for flag in ("mobile", "courier", "appointment", "id_only", "for_enterprises"):
        data.pop(flag, None)
    data["region"] = item.region_id
    response = client.post(f"/admin/catalog/serviceitem/{item.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    item.refresh_from_db()
    assert (item.name, item.version) == ("居民身份证换领（到期换证）", 2)
    latest = item.versions.get(number=2)
    assert latest.snapshot["name"] == "居民身份证换领（到期换证）"
    assert latest.published_by == supervisor
    assert item.versions.get(number=1).snapshot["name"] == "居民身份证换领"


def test_admin_shows_only_own_departments_items(client, police, supervisor):
    own = ServiceItemFactory(department=police, name="本部门事项")
    other = ServiceItemFactory(name="别的部门事项")
    client.force_login(supervisor)
    listing = client.get("/admin/catalog/serviceitem/").content.decode()
    assert "本部门事项" in listing and "别的部门事项" not in listing
    response = client.get(f"/admin/catalog/serviceitem/{other.pk}/change/")
    assert response.status_code == 302
    assert own.pk != other.pk


def test_bulk_withdraw_is_refused_whole_outside_the_remit(client, police, supervisor):
    own = ServiceItemFactory(department=police)
    other = ServiceItemFactory()
    with pytest.raises(PermissionDenied):
        services.items_set_published(
            actor=supervisor,
            items=ServiceItem.objects.filter(pk__in=[own.pk, other.pk]),
            published=False,
        )
    assert ServiceItem.objects.filter(is_active=True).count() == 2
    client.force_login(supervisor)
    response = client.post(
        "/admin/catalog/serviceitem/", {"action": "unpublish", "_selected_action": [own.pk]}
    )
    assert response.status_code == 302
    assert ServiceItem.objects.get(pk=own.pk).is_active is False
    assert ServiceItem.objects.get(pk=other.pk).is_active is True


def test_superuser_manages_synonyms_in_admin(client):
    client.force_login(StaffFactory(is_superuser=True))
    response = client.post(
        "/admin/catalog/synonym/add/",
        {"phrase": "拿驾照", "expansion": "驾驶证 申领", "is_active": "on"},
    )
    assert response.status_code == 302
    from catalog.models import Synonym

    assert Synonym.objects.get(phrase="拿驾照").expansion == "驾驶证 申领"


def test_material_rows_belong_to_their_item():
    item = ServiceItemFactory()
    services.item_publish(actor=None, item=item, materials=[{"name": "a"}, {"name": "b"}])
    services.item_publish(actor=None, item=item, materials=[{"name": "c"}])
    assert list(Material.objects.filter(item=item).values_list("name", flat=True)) == ["c"]

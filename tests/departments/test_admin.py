import pytest

from departments.models import Department, Membership, ServiceLocation
from tests.factories import DepartmentFactory, MembershipFactory, ServiceLocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    police, health = DepartmentFactory(name="公安局"), DepartmentFactory(name="卫健委")
    police_admin = MembershipFactory(department=police, role=Membership.Role.ADMIN).user
    police_hall = ServiceLocationFactory(department=police, name="公安大厅")
    health_hall = ServiceLocationFactory(department=health, name="卫健大厅")
    return police, health, police_admin, police_hall, health_hall


def test_changelist_shows_only_own_department(client, setup):
    _police, _health, police_admin, _police_hall, _health_hall = setup
    client.force_login(police_admin)
    page = client.get("/admin/departments/servicelocation/").content.decode()
    assert "公安大厅" in page
    assert "卫健大厅" not in page
    departments = client.get("/admin/departments/department/").content.decode()
    assert "公安局" in departments and "卫健委" not in departments


def test_opening_another_departments_object_by_url_is_refused(client, setup):
    _police, health, police_admin, _police_hall, health_hall = setup
    client.force_login(police_admin)
    for url in (
        f"/admin/departments/servicelocation/{health_hall.pk}/change/",
        f"/admin/departments/department/{health.pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == "/admin/"
    response = client.post(
        f"/admin/departments/servicelocation/{health_hall.pk}/change/",
        {"department": health.pk, "name": "被改的名字", "address": "x"},
    )
    assert response.status_code == 302
    health_hall.refresh_from_db()
    assert health_hall.name == "卫健大厅"
    response = client.post(
        f"/admin/departments/servicelocation/{health_hall.pk}/delete/", {"post": "yes"}
    )
    assert ServiceLocation.objects.filter(pk=health_hall.pk).exists()


def test_cannot_create_rows_for_another_department(client, setup):
    _police, health, police_admin, _police_hall, _health_hall = setup
    client.force_login(police_admin)
    before = ServiceLocation.objects.count()
    response = client.post(
        "/admin/departments/servicelocation/add/",
        {"department": health.pk, "name": "新窗口", "address": "某路"},
    )
    assert response.status_code == 200  # the form is shown again with the error
    assert "department" in response.context["adminform"].form.errors
    assert ServiceLocation.objects.count() == before


def test_department_admin_edits_own_location(client, setup):
    police, _health, police_admin, police_hall, _health_hall = setup
    client.force_login(police_admin)
    response = client.post(
        f"/admin/departments/servicelocation/{police_hall.pk}/change/",
        {
            "department": police.pk,
            "name": "公安大厅",
            "address": "新地址 8 号",
            "windows": "",
            "opening_hours": "",
            "phone": "",
        },
    )
    assert response.status_code == 302
    police_hall.refresh_from_db()
    assert police_hall.address == "新地址 8 号"


def test_department_admin_cannot_change_code_or_region(client, setup):
    police, _health, police_admin, _police_hall, _health_hall = setup
    client.force_login(police_admin)
    original = (police.code, police.region_id)
    client.post(
        f"/admin/departments/department/{police.pk}/change/",
        {
            "name": "公安局",
            "code": "hijacked",
            "phone": "0571-1",
            "kind": "other",
            "address": "",
            "complaint_phone": "",
            "description": "",
            "is_active": "on",
            "locations-TOTAL_FORMS": "0",
            "locations-INITIAL_FORMS": "0",
        },
    )
    police.refresh_from_db()
    assert (police.code, police.region_id) == original
    assert police.phone == "0571-1"
    assert police.kind == Department.Kind.PUBLIC_SECURITY


def test_clerk_cannot_grant_roles(client, setup):
    police, _health, _police_admin, _police_hall, _health_hall = setup
    clerk = MembershipFactory(department=police, role=Membership.Role.CLERK).user
    client.force_login(clerk)
    before = Membership.objects.count()
    response = client.post(
        "/admin/departments/membership/add/",
        {"user": clerk.pk, "department": police.pk, "role": "admin"},
    )
    assert response.status_code == 403
    assert Membership.objects.count() == before


def test_memberships_of_other_departments_are_invisible(client, setup):
    _police, health, police_admin, _police_hall, _health_hall = setup
    other = MembershipFactory(department=health, role=Membership.Role.CLERK)
    client.force_login(police_admin)
    response = client.get(f"/admin/departments/membership/{other.pk}/change/")
    assert response.status_code == 302
    api = client.get("/api/v1/staff/memberships/").json()
    assert [row["department"] for row in api["results"]] == [setup[0].code]
    assert client.get(f"/api/v1/staff/memberships/{other.pk}/").status_code == 404


@pytest.mark.parametrize("size", [3, 60])
def test_admin_changelists_run_a_fixed_number_of_queries(
    client, django_assert_max_num_queries, size
):
    police = DepartmentFactory()
    admin_user = MembershipFactory(department=police, role=Membership.Role.ADMIN).user
    for _ in range(size):
        ServiceLocationFactory(department=police)
        MembershipFactory(department=police)
        ServiceLocationFactory()  # another department's, never shown
    client.force_login(admin_user)
    for url in (
        "/admin/departments/servicelocation/",
        "/admin/departments/membership/",
        "/admin/departments/department/",
    ):
        with django_assert_max_num_queries(12):
            response = client.get(url)
        assert response.status_code == 200
    listing = client.get("/admin/departments/servicelocation/")
    assert listing.context["cl"].result_count == size


def test_a_location_shared_with_one_person_is_editable_by_that_person_only(client, setup):
    from django.contrib.auth.models import Permission

    from departments.models import ServiceLocationUserPermission

    police, health, police_admin, _police_hall, health_hall = setup
    colleague = MembershipFactory(department=police, role=Membership.Role.ADMIN).user
    ServiceLocationUserPermission.objects.create(
        user=police_admin,
        permission=Permission.objects.get(codename="change_servicelocation"),
        content_object=health_hall,
    )
    form = {
        "name": "卫健大厅",
        "address": "共享后的新地址",
        "windows": "",
        "opening_hours": "",
        "phone": "",
    }
    client.force_login(colleague)
    assert (
        client.post(
            f"/admin/departments/servicelocation/{health_hall.pk}/change/", form
        ).status_code
        == 302
    )
    health_hall.refresh_from_db()
    assert health_hall.address == "示例路1号"

    client.force_login(police_admin)
    assert "卫健大厅" in client.get("/admin/departments/servicelocation/").content.decode()
    response = client.post(f"/admin/departments/servicelocation/{health_hall.pk}/change/", form)
    assert response.status_code == 302
    health_hall.refresh_from_db()
    assert (health_hall.address, health_hall.department_id) == ("共享后的新地址", health.pk)

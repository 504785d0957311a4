import pytest
from django.core.management import call_command

from departments.models import Department, Membership, Region, ServiceLocation
from tests.factories import CityFactory, DepartmentFactory, ServiceLocationFactory

pytestmark = pytest.mark.django_db


def populate(n_departments: int) -> Department:
    cities = [CityFactory() for _ in range(3)]
    departments = [DepartmentFactory(region=cities[i % 3]) for i in range(n_departments)]
    for department in departments[:: max(1, n_departments // 10)]:
        ServiceLocationFactory(department=department)
    shop = departments[0]
    for _ in range(5 if n_departments > 10 else 1):
        ServiceLocationFactory(department=shop)
    return shop


@pytest.mark.parametrize("size", [5, 200])
def test_pages_run_a_fixed_number_of_queries(client, django_assert_num_queries, size):
    shop = populate(size)
    # Home: life events, popular bundles, popular services (catalog template tags).
    with django_assert_num_queries(3):
        assert client.get("/").status_code == 200
    with django_assert_num_queries(2):
        response = client.get("/departments/")
        assert response.status_code == 200
    # Shop: the department, its locations, its popular items and item counts (catalog tag).
    with django_assert_num_queries(4):
        response = client.get(shop.get_absolute_url())
    assert response.status_code == 200
    assert shop.name in response.content.decode()
    with django_assert_num_queries(2):
        body = client.get("/api/v1/departments/?page_size=100").json()
    assert body["count"] == size
    with django_assert_num_queries(2):
        assert client.get(f"/api/v1/departments/{shop.code}/").json()["code"] == shop.code


def test_unknown_or_inactive_shop_is_404(client):
    department = DepartmentFactory(is_active=False)
    assert client.get(department.get_absolute_url()).status_code == 404
    assert client.get("/departments/no-such-dept/").status_code == 404


def test_seed_demo_is_idempotent_and_complete(capsys):
    call_command("seed_demo")
    counts = (
        Region.objects.count(),
        Department.objects.count(),
        Membership.objects.count(),
        ServiceLocation.objects.count(),
    )
    first_output = capsys.readouterr().out
    call_command("seed_demo")
    assert (
        Region.objects.count(),
        Department.objects.count(),
        Membership.objects.count(),
        ServiceLocation.objects.count(),
    ) == counts
    assert Region.objects.get(code="330000").name == "浙江省"
    assert Region.objects.filter(level="city", parent__code="330000").count() == 11
    assert Region.objects.filter(parent__code="330100").count() >= 4
    required = {
        "gongan",
        "weijian",
        "renshe",
        "yibao",
        "shichang",
        "shuiwu",
        "minzheng",
        "ziran",
        # the seven departments complaint categories are dispatched to
        "zhujian",
        "shengtai",
        "jiaotong",
        "jiaoyu",
        "shangwu",
    }
    for region in Region.objects.exclude(level=Region.Level.STREET):
        kinds = set(Department.objects.filter(region=region).values_list("kind", flat=True))
        assert required <= kinds, (region.code, required - kinds)
    # a street has its office and its law-enforcement team, where the demo seeds them
    for street in Region.objects.filter(level=Region.Level.STREET, parent__code="330106"):
        kinds = set(Department.objects.filter(region=street).values_list("kind", flat=True))
        assert kinds == {"jiedao", "zhifa"}, street.code
    roles = set(
        Membership.objects.filter(department__code="330106-gongan").values_list("role", flat=True)
    )
    assert roles == {"clerk", "supervisor", "dispatcher", "admin"}
    assert "Zheliban-demo-2026" in first_output and "330106-gongan-clerk" in first_output
    from zheliban.accounts.models import User
    from zheliban.core.identity import validate_id_number

    citizens = User.objects.filter(kind="citizen")
    assert citizens.count() == 3
    for citizen in citizens:
        validate_id_number(citizen.id_number)
    assert User.objects.get(username="admin").is_superuser

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from departments.models import Membership, ServiceLocation, ServiceLocationUserPermission
from departments.scoping import in_scope, scope_queryset
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    ServiceLocationFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_departments():
    police, health = DepartmentFactory(), DepartmentFactory()
    return (
        police,
        health,
        ServiceLocationFactory(department=police),
        ServiceLocationFactory(department=health),
    )


def test_staff_see_only_their_departments_rows(two_departments):
    police, _health, police_hall, health_hall = two_departments
    clerk = MembershipFactory(department=police).user
    assert list(scope_queryset(ServiceLocation.objects.all(), clerk)) == [police_hall]
    assert in_scope(police_hall, clerk) is True
    assert in_scope(health_hall, clerk) is False


def test_scope_is_one_sql_query(two_departments, django_assert_num_queries):
    police, _health, _a, _b = two_departments
    clerk = MembershipFactory(department=police).user
    with CaptureQueriesContext(connection) as ctx:
        rows = list(scope_queryset(ServiceLocation.objects.all(), clerk))
    assert len(rows) == 1
    assert len(ctx.captured_queries) == 1
    assert "departments_membership" in ctx.captured_queries[0]["sql"]


def test_roles_narrow_the_scope(two_departments):
    police, _health, police_hall, _ = two_departments
    clerk = MembershipFactory(department=police, role=Membership.Role.CLERK).user
    only_admins = scope_queryset(
        ServiceLocation.objects.all(), clerk, roles=[Membership.Role.ADMIN]
    )
    assert list(only_admins) == []
    assert list(
        scope_queryset(ServiceLocation.objects.all(), clerk, roles=[Membership.Role.CLERK])
    ) == [police_hall]


def test_citizens_anonymous_and_inactive_see_nothing(two_departments):
    from django.contrib.auth.models import AnonymousUser

    police, *_ = two_departments
    inactive = MembershipFactory(department=police, user=StaffFactory(is_active=False)).user
    for user in (UserFactory(), AnonymousUser(), inactive):
        assert scope_queryset(ServiceLocation.objects.all(), user).count() == 0


def test_superuser_sees_everything(two_departments):
    assert (
        scope_queryset(ServiceLocation.objects.all(), StaffFactory(is_superuser=True)).count() == 2
    )


def test_guardian_exception_shares_one_row_with_one_person(two_departments):
    police, _health, _police_hall, health_hall = two_departments
    clerk = MembershipFactory(department=police).user
    other = MembershipFactory(department=police).user
    change = Permission.objects.get(codename="change_servicelocation")
    ServiceLocationUserPermission.objects.create(
        user=clerk, permission=change, content_object=health_hall
    )
    scoped = scope_queryset(
        ServiceLocation.objects.all(), clerk, shared_model=ServiceLocationUserPermission
    )
    assert set(scoped) == set(ServiceLocation.objects.all())
    assert health_hall not in scope_queryset(
        ServiceLocation.objects.all(), other, shared_model=ServiceLocationUserPermission
    )
    # django-guardian itself answers through the same direct foreign-key table.
    assert clerk.has_perm("departments.change_servicelocation", health_hall) is True
    assert other.has_perm("departments.change_servicelocation", health_hall) is False


def test_role_backend_grants_model_permissions_by_role():
    admin = MembershipFactory(role=Membership.Role.ADMIN).user
    clerk = MembershipFactory(role=Membership.Role.CLERK).user
    assert admin.has_perm("departments.add_membership")
    assert not clerk.has_perm("departments.add_membership")
    assert clerk.has_perm("departments.view_servicelocation")
    assert not UserFactory().has_perm("departments.view_servicelocation")

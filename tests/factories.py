import factory

from departments.models import Department, Membership, Region, ServiceLocation
from zheliban.accounts.models import User
from zheliban.core.identity import id_number_check_char

PASSWORD = "Correct-Horse-Battery-9"


def make_id_number(n: int, birth: str = "19900101") -> str:
    first17 = f"330106{birth}{n % 1000:03d}"
    return first17 + id_number_check_char(first17)


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = "330000"
    name = "浙江省"
    level = Region.Level.PROVINCE
    parent = None


class CityFactory(RegionFactory):
    code = factory.Sequence(lambda n: f"33{(n % 90) + 10:02d}00")
    name = factory.Sequence(lambda n: f"示例市{n}")
    level = Region.Level.CITY
    parent = factory.SubFactory(RegionFactory)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    code = factory.Sequence(lambda n: f"dept-{n}")
    name = factory.Sequence(lambda n: f"示例局{n}")
    kind = Department.Kind.PUBLIC_SECURITY
    region = factory.SubFactory(RegionFactory)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    kind = User.Kind.CITIZEN
    real_name = factory.Sequence(lambda n: f"市民{n}")
    id_number = factory.Sequence(make_id_number)
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    kind = User.Kind.STAFF
    is_staff = True
    id_number = None
    phone = None


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(StaffFactory)
    department = factory.SubFactory(DepartmentFactory)
    role = Membership.Role.CLERK


class ServiceLocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceLocation

    department = factory.SubFactory(DepartmentFactory)
    name = factory.Sequence(lambda n: f"办事大厅{n}")
    address = "示例路1号"


class ServiceItemFactory(factory.django.DjangoModelFactory):
    """An item saved directly; call catalog.search.index_item(item) when a test searches it."""

    class Meta:
        model = "catalog.ServiceItem"

    code = factory.Sequence(lambda n: f"11330000TEST{n:08d}")
    name = factory.Sequence(lambda n: f"示例事项{n}")
    department = factory.SubFactory(DepartmentFactory)
    region = factory.SelfAttribute("department.region")
    promised_days = 5
    statutory_days = 20
    trips = 0
    online = True

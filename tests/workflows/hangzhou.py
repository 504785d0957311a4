"""A two-department newborn bundle in Hangzhou (a birth certificate by health, then the birth
registration by the police, fed the certificate's number under a data grant), for the API and
pinned-form tests; ``conftest.scenario`` is the four-department one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from catalog.models import Bundle, BundleItem, ServiceItem
from departments.models import DataGrant, Department, Membership
from tests.factories import CityFactory, DepartmentFactory, MembershipFactory, ServiceItemFactory

from .consent import save_agree_activate

BIRTH_FIELDS = [
    {"name": "baby_name", "label": "新生儿姓名", "type": "text", "required": True},
    {"name": "birth_date", "label": "出生日期", "type": "date", "required": True},
    {"name": "mother_id_number", "label": "母亲身份证号码", "type": "id_number", "required": True},
]
WORKFLOW = """\
bundle: newborn
steps:
  birth_certificate: {{item: "{birth}", by: {health}, due: 1 workday, gives: [birth_certificate_no]}}
  hukou: {{item: "{hukou}", by: {police}, after: [birth_certificate], needs: [birth_certificate_no], due: 3 workdays}}
"""  # noqa: E501


@dataclass
class Hangzhou:
    health: Department
    police: Department
    birth: ServiceItem
    hukou: ServiceItem
    bundle: Bundle


def clerk(department: Department, name: str):
    """A new clerk of ``department`` called ``name``."""
    return MembershipFactory(
        department=department, role=Membership.Role.CLERK, user__real_name=name
    ).user


def hangzhou_newborn(
    *, hukou_fields: list[dict], materials: Callable[[Hangzhou], object]
) -> Hangzhou:
    """The two departments, their items (the hukou item asking ``hukou_fields``), the bundle,
    the grant and the agreed workflow; ``materials`` gives the items their materials first."""
    city = CityFactory(code="330100", name="杭州市")
    health = DepartmentFactory(
        code="330100-weijian", name="杭州市卫生健康委员会", kind=Department.Kind.HEALTH, region=city
    )
    police = DepartmentFactory(
        code="330100-gongan", name="杭州市公安局", kind=Department.Kind.PUBLIC_SECURITY, region=city
    )
    birth = ServiceItemFactory(
        code="330100WJ0001", name="出生医学证明", department=health, form_fields=BIRTH_FIELDS
    )
    hukou = ServiceItemFactory(
        code="330100GA0001", name="出生登记", department=police, form_fields=hukou_fields
    )
    bundle = Bundle.objects.create(slug="newborn", name="新生儿出生一件事", region=city)
    built = Hangzhou(health=health, police=police, birth=birth, hukou=hukou, bundle=bundle)
    materials(built)
    BundleItem.objects.create(bundle=bundle, item=birth, sort_order=1)
    BundleItem.objects.create(bundle=bundle, item=hukou, sort_order=2)
    DataGrant.objects.create(
        owner=health,
        consumer=police,
        fields=["birth_certificate_no"],
        purpose="新生儿出生登记",
        legal_basis="《中华人民共和国户口登记条例》第七条",
        mode=DataGrant.Mode.VIEW,
    )
    save_agree_activate(
        WORKFLOW.format(birth=birth.code, hukou=hukou.code, health=health.code, police=police.code)
    )
    return built

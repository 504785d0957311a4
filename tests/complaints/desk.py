"""A small complaints-desk scenario: the 12345 desk of a city and three handling departments."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from departments.models import Department, Membership, Region
from tests.factories import DepartmentFactory, MembershipFactory, RegionFactory, UserFactory

HANDLING = ("zhujian", "shengtai", "jiaotong")


@dataclass
class Desk:
    province: Region
    city: Region
    district: Region
    desk: Department
    departments: dict[str, Department]  # kind → the city's department
    operator: object  # desk clerk: enters hotline calls, calls back
    dispatcher: object
    supervisor: object  # the desk's supervisor: the only one who may see a report's sender
    clerks: dict[str, object]  # kind → a clerk of that department
    supervisors: dict[str, object]  # kind → a supervisor of that department
    citizen: object
    other_citizen: object

    def ticket(self, **fields):
        from complaints.services import ticket_submit

        values = {
            "kind": "complaint",
            "channel": "web",
            "content": "小区门口道路施工噪音很大，晚上十一点还在施工，影响休息。",
            "title": "夜间施工噪音扰民",
            "region": self.district,
            "address": "文三路 100 号",
            "citizen": self.citizen,
        }
        values.update(fields)
        return ticket_submit(**values)


def _member(department, role, **user):
    return MembershipFactory(
        department=department,
        role=role,
        user__real_name=user.get("name", f"{department.name}{role}"),
    ).user


@pytest.fixture
def desk(db, settings, tmp_path) -> Desk:
    # no model: tickets wait for a dispatcher unless a test trains or gives one
    settings.DISPATCH_MODEL_DIR = str(tmp_path / "no-models")
    settings.DISPATCH_RULES_PATH = None
    province = RegionFactory()
    city = Region.objects.create(code="330100", name="杭州市", level="city", parent=province)
    district = Region.objects.create(code="330106", name="西湖区", level="county", parent=city)
    desk_department = DepartmentFactory(
        code="330100-rexian", name="杭州市12345热线", kind=Department.Kind.HOTLINE, region=city
    )
    names = {
        "zhujian": "杭州市住房和城乡建设局",
        "shengtai": "杭州市生态环境局",
        "jiaotong": "杭州市交通运输局",
    }
    departments = {
        kind: DepartmentFactory(code=f"330100-{kind}", name=names[kind], kind=kind, region=city)
        for kind in HANDLING
    }
    R = Membership.Role
    return Desk(
        province=province,
        city=city,
        district=district,
        desk=desk_department,
        departments=departments,
        operator=_member(desk_department, R.CLERK, name="话务员小王"),
        dispatcher=_member(desk_department, R.DISPATCHER, name="派单员小李"),
        supervisor=_member(desk_department, R.SUPERVISOR, name="热线科长"),
        clerks={k: _member(d, R.CLERK) for k, d in departments.items()},
        supervisors={k: _member(d, R.SUPERVISOR) for k, d in departments.items()},
        citizen=UserFactory(real_name="张三", phone="13912345678"),
        other_citizen=UserFactory(real_name="李四"),
    )

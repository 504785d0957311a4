"""A small joint-handling scenario built from factories: the newborn bundle of four departments."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from catalog.models import Bundle, BundleItem, Material
from departments.models import DataGrant, Department, Membership
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    ServiceItemFactory,
    UserFactory,
    make_id_number,
)
from workflows import services

from .consent import save_agree_activate

FIELDS = {
    "weijian": [
        {"name": "baby_name", "label": "新生儿姓名", "type": "text", "required": True},
        {"name": "birth_date", "label": "出生日期", "type": "date", "required": True},
        {
            "name": "mother_id_number",
            "label": "母亲身份证号码",
            "type": "id_number",
            "required": True,
        },
    ],
    "gongan": [
        {"name": "baby_name", "label": "新生儿姓名", "type": "text", "required": True},
        {"name": "hukou_address", "label": "申报户口地址", "type": "text", "required": True},
        {
            "name": "mother_id_number",
            "label": "母亲身份证号码",
            "type": "id_number",
            "required": True,
        },
    ],
    "renshe": [
        {"name": "baby_name", "label": "新生儿姓名", "type": "text", "required": True},
        {"name": "contact_phone", "label": "联系电话", "type": "phone", "required": True},
    ],
    "yibao": [
        {"name": "baby_name", "label": "新生儿姓名", "type": "text", "required": True},
        {"name": "birth_date", "label": "出生日期", "type": "date", "required": True},
    ],
}

NEWBORN = """bundle: newborn
asks: [baby_name]
steps:
  birth_certificate: {{item: "{weijian}", by: {d_weijian}, due: 1 workday, gives: [birth_certificate_no]}}
  hukou: {{item: "{gongan}", after: [birth_certificate], needs: [birth_certificate_no], due: 3 workdays, gives: [citizen_id_number]}}
  social_card: {{item: "{renshe}", after: [hukou], needs: [citizen_id_number], due: 3 workdays, gives: [social_card_no]}}
  child_insurance: {{item: "{yibao}", after: [hukou], needs: [citizen_id_number], due: 2 workdays, gives: [insurance_no]}}
"""  # noqa: E501


@dataclass
class Scenario:
    bundle: Bundle
    departments: dict[str, Department]
    clerks: dict[str, object]
    supervisors: dict[str, object]
    items: dict
    citizen: object
    workflow: object

    def answers(self, **extra):
        values = {
            "baby_name": "陈小满",
            "birth_date": "2026-11-20",
            "mother_id_number": self.citizen.id_number,
            "hukou_address": "杭州市西湖区文三路 100 号",
            "contact_phone": "13800000009",
        }
        values.update(extra)
        return values

    def submit(self, key="k-1", **extra):
        draft = services.application_start(applicant=self.citizen, bundle=self.bundle)
        app, _created = services.application_submit(
            applicant=self.citizen,
            application=draft,
            answers=self.answers(**extra),
            idempotency_key=key,
        )
        return app

    def act(self, app, step, *actions, **kwargs):
        task = app.tasks.get(step=step)
        kind = task.department.kind
        for action in actions:
            task = services.task_transition(
                actor=self.clerks[kind], task_id=task.pk, action=action, **kwargs
            )
        return task


OUTPUTS = {
    "birth_certificate": {"birth_certificate_no": "Q330100260001"},
    "hukou": {"citizen_id_number": "330106202611200021"},
    "social_card": {"social_card_no": "SB0001"},
    "child_insurance": {"insurance_no": "YB0001"},
}


@pytest.fixture
def scenario(db) -> Scenario:
    kinds = ["weijian", "gongan", "renshe", "yibao"]
    departments = {
        k: DepartmentFactory(code=f"330100-{k}", name=f"杭州市{k}局", kind=k) for k in kinds
    }
    items = {
        k: ServiceItemFactory(
            department=departments[k], form_fields=FIELDS[k], name=f"新生儿{k}事项"
        )
        for k in kinds
    }
    Material.objects.create(
        item=items["weijian"],
        name="出生医学证明",
        source=Material.Source.SHARED,
        issuer=departments["weijian"],
    )
    bundle = Bundle.objects.create(
        slug="newborn",
        name="新生儿出生一件事",
        is_active=True,
        region=departments["weijian"].region,
    )
    for n, k in enumerate(kinds):
        BundleItem.objects.create(bundle=bundle, item=items[k], sort_order=n)
    DataGrant.objects.create(
        owner=departments["weijian"],
        consumer=departments["gongan"],
        fields=["birth_certificate_no"],
        purpose="出生登记",
        legal_basis="户口登记条例",
        mode=DataGrant.Mode.VIEW,
    )
    for k in ("renshe", "yibao"):
        DataGrant.objects.create(
            owner=departments["gongan"],
            consumer=departments[k],
            fields=["citizen_id_number"],
            purpose="参保",
            legal_basis="社会保险法",
            mode=DataGrant.Mode.VIEW,
        )
    DataGrant.objects.create(
        owner=departments["gongan"],
        consumer=departments["renshe"],
        fields=["hukou_region"],
        purpose="核验户籍",
        legal_basis="社会保险经办条例",
        mode=DataGrant.Mode.VERIFY,
    )
    clerks = {
        k: MembershipFactory(
            department=departments[k], role=Membership.Role.CLERK, user__real_name=f"{k}窗口"
        ).user
        for k in kinds
    }
    supervisors = {
        k: MembershipFactory(department=departments[k], role=Membership.Role.SUPERVISOR).user
        for k in kinds
    }
    text = NEWBORN.format(
        **{k: items[k].code for k in kinds}, d_weijian=departments["weijian"].code
    )
    wf = save_agree_activate(text)
    citizen = UserFactory(real_name="张小明", id_number=make_id_number(901, "19920304"))
    return Scenario(bundle, departments, clerks, supervisors, items, citizen, wf)

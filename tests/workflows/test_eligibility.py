"""Check before you apply: a workflow's eligibility rules, validated with their lines and
evaluated on the registers before any form; an ineligible application is never accepted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from registers import services as registers
from workflows import services
from workflows.definition import DefinitionError, parse_definition
from workflows.models import Application, DataAccess
from zheliban.accounts.models import User
from zheliban.core.errors import Refused

from .fixtures import id_number, newborn_demo

pytestmark = pytest.mark.django_db

APPLY = "/apply/bundle/newborn/"


@pytest.fixture
def demo():
    return newborn_demo()


def stranger_parent(demo, *, hukou_region: str, born_days_ago: int = 3, n: int = 1) -> User:
    """A father whose hukou is ``hukou_region`` and whose wife is not in the province's
    population register, with a baby the hospital registered."""
    father_id = id_number(f"3201021989010100{n}")
    mother_id = id_number(f"3201021991020200{n}")
    user = User.objects.create_user(
        username=f"waidi{n}",
        password="x-Zheliban-2026",
        kind=User.Kind.CITIZEN,
        real_name="周建",
        id_number=father_id,
        phone=f"1380000009{n}",
    )
    registers.record_save(
        register="population",
        owner=demo.departments["gongan"],
        data={
            "id_number": father_id,
            "name": "周建",
            "sex": "男",
            "birth_date": "1989-01-01",
            "hukou_region": hukou_region,
            "hukou_address": "某地某路 1 号",
            "household_no": f"HH-WAIDI-{n}",
        },
    )
    born = timezone.localtime(timezone.now() - dt.timedelta(days=born_days_ago))
    registers.record_save(
        register="birth",
        owner=demo.departments["weijian"],
        data={
            "mother_id_number": mother_id,
            "mother_name": "吴敏",
            "father_id_number": father_id,
            "father_name": "周建",
            "born_at": born.replace(second=0, microsecond=0).isoformat(),
            "sex": "男",
            "weight_g": 3400,
            "hospital": "杭州市妇产科医院",
        },
    )
    return user


RULES = [
    {
        "says": "父母至少一方须为本市户籍。",
        "instead": "请向父母户籍所在地的派出所申报出生登记；其他事项可在浙里办分别申请。",
    },
    {
        "says": "新生儿出生一个月内可在线联办。",
        "instead": "出生超过一个月的，请到户籍所在地派出所补办出生登记。",
    },
]


def test_the_rules_show_on_the_guide_and_in_the_api(client, demo):
    assert client.get("/api/v1/bundles/newborn/").json()["eligibility"] == RULES
    guide = client.get("/services/bundles/newborn/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = guide.content.decode()
    section = body[
        body.index('id="eligibility"') : body.index("</section>", body.index('id="eligibility"'))
    ]
    assert [rule["says"] in section for rule in RULES] == [True, True]
    assert [rule["instead"] in section for rule in RULES] == [True, True]


def test_a_parent_is_told_why_before_any_form_and_refused_on_submission(client, demo):
    parent = stranger_parent(demo, hukou_region="320102")
    client.force_login(parent)
    page = client.get(APPLY, HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="ineligible"' in body
    assert "父母至少一方须为本市户籍。" in body
    assert "请向父母户籍所在地的派出所申报出生登记" in body
    assert 'class="apply-form"' not in body
    # The baby is 3 days old: that rule holds, so it is not listed.
    assert "新生儿出生一个月内可在线联办。" not in body

    # Submitted anyway (the API, a stale page): refused, nothing changed.
    draft = services.application_start(applicant=parent, bundle=demo.bundle)
    before = (Application.objects.exclude(status="draft").count(), DataAccess.objects.count())
    with pytest.raises(Refused) as refused:
        services.application_submit(
            applicant=parent, application=draft, answers={"baby_name": "周安"}, idempotency_key="k1"
        )
    assert refused.value.code == "ineligible"
    assert (Application.objects.exclude(status="draft").count(), DataAccess.objects.count()) == (
        before
    )
    draft.refresh_from_db()
    assert draft.status == Application.Status.DRAFT and draft.reference is None

    # A local parent past a month is told the other rule; citizen1 (six days) gets the form.
    late = stranger_parent(demo, hukou_region="330105", born_days_ago=45, n=2)
    client.force_login(late)
    body = client.get(APPLY, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'id="ineligible"' in body
    assert "新生儿出生一个月内可在线联办。" in body
    assert "父母至少一方须为本市户籍。" not in body
    client.force_login(demo.citizen)
    body = client.get(APPLY).content.decode()
    assert 'id="ineligible"' not in body and 'class="apply-form"' in body


@pytest.mark.django_db(False)
@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("baby.agedays <= 30", "unknown fact “baby.agedays”"),
        ("kid.age_days <= 30", "unknown subject “kid”"),
        ("baby.age_days <= '30'", "cannot be compared"),
        ("any_parent.hukou_city < region.city", "compares numbers only"),
        ("baby.age_days", "write a rule as"),
    ],
)
def test_a_wrong_rule_is_refused_with_its_line(rule, problem):
    text = (
        'item: "C1"\n'
        "eligible:\n"
        "  - baby.age_days <= 30\n"
        f'  - {{rule: "{rule}", says: "x"}}\n'
        "steps:\n"
        '  one: {item: "C1", by: d1, due: 1 workday}\n'
    )
    with translation.override("en"), pytest.raises(DefinitionError) as failed:
        parse_definition(
            text,
            resolve_item=lambda code: code,
            resolve_department=lambda ref: ref,
            item_department=lambda code: "d1",
        )
    errors = [e for e in failed.value.errors if e.code == "bad_rule"]
    assert len(errors) == 1
    assert errors[0].line == 4
    assert problem in errors[0].message

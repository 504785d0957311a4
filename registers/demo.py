"""The demo province's registers: consistent records for the demo citizens, and a baby a
hospital registered to citizen1 and his wife a few days ago. Idempotent."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone

from departments.models import Department
from zheliban.core.identity import id_number_check_char

from . import services
from .models import Record

CITY = "330100"
SPOUSE_ID = "33010619920508162" + id_number_check_char("33010619920508162")
SPOUSE_NAME = "陈静"
HOSPITAL = "浙江大学医学院附属妇产科医院"

PEOPLE = (
    # username, sex, hukou region, hukou address, household, role in it
    ("citizen1", "男", "330106", "杭州市西湖区文三路 100 号 2 幢 301 室", "HH3301060001", "户主"),
    ("citizen2", "女", "330102", "杭州市上城区清泰街 200 号 5 幢 102 室", "HH3301020002", "户主"),
    ("citizen3", "男", "330108", "杭州市滨江区江南大道 300 号 1 幢 801 室", "HH3301080003", "户主"),
)


def _dept(kind: str) -> Department:
    return Department.objects.get(code=f"{CITY}-{kind}")


def seed(*, stdout) -> None:
    User = get_user_model()
    users = {u.username: u for u in User.objects.filter(username__in=[p[0] for p in PEOPLE])}
    if len(users) < len(PEOPLE):
        stdout.write("Registers: the demo citizens are missing; nothing seeded.")
        return
    if Record.objects.filter(subject=users["citizen1"].id_number).exists():
        stdout.write("Registers: already seeded.")
        return
    gongan = _dept("gongan")
    source = "demo seed"
    for username, sex, region, address, household, role in PEOPLE:
        user = users[username]
        services.record_save(
            register="population",
            owner=gongan,
            source=source,
            data={
                "id_number": user.id_number,
                "name": user.real_name,
                "sex": sex,
                "birth_date": _birth_date(user.id_number),
                "hukou_region": region,
                "hukou_address": address,
                "household_no": household,
                "household_role": role,
            },
        )
    father = users["citizen1"]
    services.record_save(
        register="population",
        owner=gongan,
        source=source,
        data={
            "id_number": SPOUSE_ID,
            "name": SPOUSE_NAME,
            "sex": "女",
            "birth_date": _birth_date(SPOUSE_ID),
            "hukou_region": "330106",
            "hukou_address": PEOPLE[0][3],
            "household_no": PEOPLE[0][4],
            "household_role": "妻",
        },
    )
    services.record_save(
        register="marriage",
        owner=_dept("minzheng"),
        source=source,
        data={
            "party_a_id_number": father.id_number,
            "party_a_name": father.real_name,
            "party_b_id_number": SPOUSE_ID,
            "party_b_name": SPOUSE_NAME,
            "registered_on": "2020-05-20",
            "certificate_no": "J330106-2020-001234",
        },
    )
    born_at = timezone.localtime(timezone.now() - dt.timedelta(days=6)).replace(
        hour=8, minute=30, second=0, microsecond=0
    )
    services.record_save(
        register="birth",
        owner=_dept("weijian"),
        source=HOSPITAL,
        data={
            "mother_id_number": SPOUSE_ID,
            "mother_name": SPOUSE_NAME,
            "father_id_number": father.id_number,
            "father_name": father.real_name,
            "born_at": born_at.isoformat(timespec="minutes"),
            "sex": "女",
            "weight_g": 3250,
            "hospital": HOSPITAL,
            "first_doses": "乙肝疫苗第1剂、卡介苗",
        },
    )
    for username, employer in (
        ("citizen1", "杭州示例科技有限公司"),
        ("citizen3", "杭州第二棉纺厂"),
    ):
        user = users[username]
        services.record_save(
            register="social_insurance",
            owner=_dept("renshe"),
            source=source,
            data={
                "id_number": user.id_number,
                "name": user.real_name,
                "insurance_no": "SB" + user.id_number[-10:],
                "enrolled_on": "2012-07-01",
                "employer": employer,
            },
        )
        services.record_save(
            register="medical_insurance",
            owner=_dept("yibao"),
            source=source,
            data={
                "id_number": user.id_number,
                "name": user.real_name,
                "insurance_no": "YB" + user.id_number[-10:],
                "scheme": "职工",
                "enrolled_on": "2012-07-01",
            },
        )
    stdout.write(
        f"Registers: {Record.objects.count()} records; citizen1's daughter was born at "
        f"{HOSPITAL} six days ago."
    )


def _birth_date(id_number: str) -> str:
    return f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}"

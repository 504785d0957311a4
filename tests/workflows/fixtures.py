"""The demo province's newborn bundle (新生儿出生一件事), for tests that walk a case through it.

``newborn_demo()`` runs ``seed_demo`` (regions, departments and their staff, the catalog, the
data-sharing grants and the active newborn workflow) and hands back the people a journey needs.
The other helpers build state through the services, as the citizen and the clerks would.
"""

from __future__ import annotations

import importlib
import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone, translation

from catalog.models import Bundle
from departments.models import Department
from workflows import services
from workflows.models import Application, Task
from zheliban.accounts.demo import DEMO_PASSWORD
from zheliban.accounts.models import User
from zheliban.core.identity import id_number_check_char

REGION = "330100"
# The departments of the newborn workflow, by kind: 卫健, 公安, 人社, 医保.
KINDS = ("weijian", "gongan", "renshe", "yibao")
# What each step gives, as the clerk of its department would type it.
OUTPUTS = {
    "birth_certificate": {"birth_certificate_no": "Q330100269001"},
    "vaccination": {"vaccination_no": "YM2026009001"},
    "hukou": {"citizen_id_number": "330106202601010032", "hukou_no": "HK330106009001"},
    "social_card": {"social_card_no": "SB330100009001"},
    "child_insurance": {"insurance_no": "YB330100009001"},
}
# The smallest file the upload check accepts as a PDF (judged by content, not by name).
SMALL_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def id_number(first17: str) -> str:
    """A resident ID number with its right check character."""
    return first17 + id_number_check_char(first17)


# Fictitious parents; the 17th digit is even for a woman and odd for a man.
MOTHER_ID_NUMBER = id_number("33010619920514002")
FATHER_ID_NUMBER = id_number("33010619900307001")


@dataclass(frozen=True)
class NewbornDemo:
    bundle: Bundle
    citizen: User  # citizen1, 张小明: no case of his own in the demo data
    departments: dict[str, Department]  # by kind
    clerks: dict[str, User]  # by department kind, e.g. clerks["gongan"] is 330100-gongan-clerk
    password: str = DEMO_PASSWORD


def life_events_restore() -> None:
    """Put back the life events catalog migration 0002 made, which ``seed_demo`` relies on.

    A transactional test's flush removes them, and ``serialized_rollback`` cannot bring them back
    in the browser tests: once Playwright's sync API runs, the test gets a fresh database
    connection object, without the contents serialized after migrating.
    """
    importlib.import_module("catalog.migrations.0002_life_events").create(apps, None)


def newborn_demo() -> NewbornDemo:
    """Seed the demo province and return the newborn bundle's applicant, departments and clerks."""
    life_events_restore()
    call_command("seed_demo", stdout=io.StringIO())
    return NewbornDemo(
        bundle=Bundle.objects.get(slug="newborn"),
        citizen=User.objects.get(username="citizen1"),
        departments={k: Department.objects.get(code=f"{REGION}-{k}") for k in KINDS},
        clerks={k: User.objects.get(username=f"{REGION}-{k}-clerk") for k in KINDS},
    )


def newborn_answers(citizen: User, **overrides: str) -> dict[str, str]:
    """Valid answers to every question of the newborn form, born today."""
    answers = {
        "baby_name": "张小禾",
        "baby_gender": "女",
        "birth_date": timezone.localdate().isoformat(),
        "birth_hospital": "浙江大学医学院附属妇产科医院",
        "mother_name": "林晓燕",
        "mother_id_number": MOTHER_ID_NUMBER,
        "father_name": citizen.real_name,
        "father_id_number": FATHER_ID_NUMBER,
        "contact_phone": citizen.phone,
        "hukou_address": "杭州市西湖区文三路 200 号",
        "mailing_address": "杭州市西湖区文三路 200 号",
        "residence_address": "杭州市西湖区文三路 200 号",
    }
    answers.update(overrides)
    return answers


def newborn_submit(demo: NewbornDemo, *, key: str = "newborn-1", **overrides: str) -> Application:
    """The demo citizen applies for the newborn bundle (without uploads, as the API may)."""
    draft = services.application_start(applicant=demo.citizen, bundle=demo.bundle)
    app, _created = services.application_submit(
        applicant=demo.citizen,
        application=draft,
        answers=newborn_answers(demo.citizen, **overrides),
        idempotency_key=key,
    )
    return app


def step_complete(demo: NewbornDemo, app: Application, step: str) -> Task:
    """The clerk of the step's department claims, accepts and completes it with its outputs."""
    task = app.tasks.get(step=step)
    clerk = demo.clerks[task.department.kind]
    for action in ("claim", "accept", "complete"):
        task = services.task_transition(
            actor=clerk, task_id=task.pk, action=action, outputs=OUTPUTS.get(step, {})
        )
    return task


def task_snapshot(task: Task) -> dict[str, Any]:
    """What a refused move must leave untouched."""
    task.refresh_from_db()
    return {
        "state": task.state,
        "version": task.version,
        "claimed_by": task.claimed_by_id,
        "outputs": task.outputs,
        "events": task.events.count(),
    }


# Fixtures a module imports to share one seeded province and English pages:
#     from tests.workflows.fixtures import demo_seeded_once, pages_in_english


@pytest.fixture(scope="module", name="demo")
def demo_seeded_once(django_db_setup, django_db_blocker):
    """The demo province, seeded once in a transaction rolled back after the module; each test
    runs in a savepoint inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        seeded = newborn_demo()
        yield seeded
        transaction.set_rollback(True)


@pytest.fixture(autouse=True, name="_english")
def pages_in_english():
    """Messages in English, so a test's words do not follow the Chinese catalog."""
    with translation.override("en"):
        yield


@pytest.fixture(name="client")
def english_client(client):
    """Pages in English, for the same reason."""
    client.cookies["zhb_lang"] = "en"
    return client

"""An application keeps what it was filed under: the item versions and the form as it was asked.

A case is filed, then one of its items publishes a new version that renames a field's label and
its choices, removes a field, adds one, renames a material, adds another and shortens the
promised time. The case's pages, its API and its corrections still show and check the form as it
was filed; a new application gets the new one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import pytest
from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import Bundle, Material, ServiceItem, ServiceItemVersion
from catalog.services import item_publish
from departments.models import Department
from tests.factories import (
    UserFactory,
    make_id_number,
)
from workflows import selectors, services
from workflows.forms import FormSpec, Held, material_key
from workflows.models import Application, ApplicationItemVersion, Attachment, Task, TaskEvent

from .hangzhou import Hangzhou, clerk, hangzhou_newborn

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
APPLY = "/apply/bundle/newborn/"
APPLICATIONS = "/api/v1/applications/"
TASKS = "/api/v1/tasks/"

HUKOU_FIELDS = [
    {"name": "baby_name", "label": "新生儿姓名", "type": "text", "required": True},
    {"name": "hukou_address", "label": "申报户口地址", "type": "text", "required": True},
    {
        "name": "marital_status",
        "label": "婚姻状况",
        "type": "choice",
        "choices": ["已婚", "未婚"],
        "required": True,
    },
]
# The hukou item's next version: a label and the choices changed, hukou_address gone,
# father_name new.
HUKOU_FIELDS_V2 = [
    HUKOU_FIELDS[0],
    {
        "name": "marital_status",
        "label": "父母婚姻状况",
        "type": "choice",
        "choices": ["已婚", "未婚", "离异"],
        "required": True,
    },
    {"name": "father_name", "label": "父亲姓名", "type": "text", "required": True},
]
MARRIAGE = "结婚证"
MARRIAGE_V2 = "结婚证（复印件）"
MIGRATION = "户口迁移证明"
FILED_FIELDS = ["baby_name", "birth_date", "mother_id_number", "hukou_address", "marital_status"]


@dataclass
class World:
    bundle: Bundle
    birth: ServiceItem
    hukou: ServiceItem
    health: Department
    clerk_health: object
    clerk_police: object
    citizen: object

    def answers(self, **changes) -> dict:
        values = {
            "baby_name": "陈小满",
            "birth_date": "2026-03-20",
            "mother_id_number": self.citizen.id_number,
            "hukou_address": "杭州市西湖区文三路 100 号",
            "marital_status": "已婚",
        }
        values.update(changes)
        return values

    def file(self, client: Client, key: str = "filed-1") -> Application:
        """The citizen files on the web form, as the page submits it."""
        client.force_login(self.citizen)
        response = client.post(APPLY, {**self.answers(), "action": "submit", "submit_key": key})
        assert response.status_code == 302, response.content.decode()[:500]
        return Application.objects.get(idempotency_key=key)

    def edit_hukou(self) -> ServiceItemVersion:
        """The hukou item publishes version 2: fields, materials and promised time changed."""
        self.hukou.form_fields = HUKOU_FIELDS_V2
        self.hukou.promised_days = 2
        return item_publish(
            actor=None,
            item=self.hukou,
            materials=[
                {"name": MARRIAGE_V2, "required": False},
                {"name": MIGRATION, "required": False},
            ],
            note="材料与表单调整",
        )

    def ask_correction(self, app: Application, *fields: str) -> Task:
        """The police, whose hukou item asks these, ask the citizen to correct them."""
        task = birth_certificate_issued(self, app)
        for action in ("claim", "accept"):
            services.task_transition(actor=self.clerk_police, task_id=task.pk, action=action)
        return services.task_transition(
            actor=self.clerk_police,
            task_id=task.pk,
            action="correction",
            reason="请核对户口地址与婚姻状况。",
            fields=list(fields),
        )


@pytest.fixture
def world() -> World:
    def materials(built: Hangzhou) -> None:
        item_publish(
            actor=None,
            item=built.birth,
            materials=[
                {"name": "出生医学证明", "source": Material.Source.SHARED, "issuer": built.health}
            ],
        )
        item_publish(
            actor=None, item=built.hukou, materials=[{"name": MARRIAGE, "required": False}]
        )

    built = hangzhou_newborn(hukou_fields=HUKOU_FIELDS, materials=materials)
    bundle, birth, hukou = built.bundle, built.birth, built.hukou
    health, police = built.health, built.police
    return World(
        bundle=bundle,
        birth=birth,
        hukou=hukou,
        health=health,
        clerk_health=clerk(health, "王芳"),
        clerk_police=clerk(police, "赵敏"),
        citizen=UserFactory(real_name="张小明", id_number=make_id_number(901, "19920304")),
    )


def english(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def version_numbers(app: Application) -> list[tuple[str, int]]:
    return [
        (row.version.item.code, row.version.number)
        for row in ApplicationItemVersion.objects.filter(application=app).select_related(
            "version__item"
        )
    ]


def case_state(app: Application, task: Task) -> tuple:
    """What a refused correction must leave untouched."""
    app.refresh_from_db()
    task.refresh_from_db()
    return (
        app.data,
        app.status,
        task.state,
        task.version,
        task.correction_fields,
        TaskEvent.objects.count(),
        Attachment.objects.count(),
    )


# ---------------------------------------------------------------- the pin


def test_submission_pins_each_items_version_and_the_form_as_asked(world):
    app = world.file(english())
    assert version_numbers(app) == [(world.birth.code, 1), (world.hukou.code, 1)]
    spec = FormSpec.from_dict(app.form_spec)
    assert [f.name for f in spec.fields] == FILED_FIELDS
    assert spec.field("marital_status").choices == ["已婚", "未婚"]
    assert [(i.code, i.version) for i in spec.items] == [
        (world.birth.code, 1),
        (world.hukou.code, 1),
    ]
    # The birth certificate is issued by the health commission's step of this case; the
    # marriage certificate is asked of the citizen (no register holds one for them).
    held = {m.name: (m.held, m.issuer) for m in spec.materials}
    assert held == {"出生医学证明": (Held.STEP, world.health.name), MARRIAGE: ("", "")}
    assert spec.produced == {"birth_certificate_no"}
    # The JSON reads back exactly, and is what the apply page built.
    assert FormSpec.from_dict(spec.to_dict()) == spec
    built = selectors.application_prepare(
        user=world.citizen, workflow=app.definition, bundle=world.bundle
    ).spec
    assert app.form_spec == built.to_dict()


def test_a_draft_follows_the_catalog_until_it_is_submitted(world):
    client = english(world.citizen)
    page = client.get(APPLY).content.decode()
    assert 'name="hukou_address"' in page and 'name="father_name"' not in page
    draft = Application.objects.get(applicant=world.citizen, status=Application.Status.DRAFT)
    assert draft.form_spec == {} and not draft.item_versions.exists()
    world.edit_hukou()
    page = client.get(APPLY).content.decode()
    assert 'name="father_name"' in page and 'name="hukou_address"' not in page
    assert MIGRATION in page and MARRIAGE_V2 in page


# ---------------------------------------------------------------- after the item's edit


def test_the_citizen_page_shows_and_takes_the_correction_as_filed(world):
    client = english()
    app = world.file(client)
    marriage_key = material_key(MARRIAGE)
    task = world.ask_correction(app, "hukou_address", "marital_status", marriage_key)
    world.edit_hukou()

    client.force_login(world.citizen)
    page = client.get(app.get_absolute_url()).content.decode()
    assert 'name="hukou_address"' in page and "申报户口地址" in page
    assert 'name="father_name"' not in page
    assert "婚姻状况" in page and "父母婚姻状况" not in page and "离异" not in page
    assert f'name="{marriage_key}"' in page and MARRIAGE_V2 not in page and MIGRATION not in page
    assert "出生登记 (办事指南第 1 版)" in page

    url = f"/my/applications/{app.pk}/correct/{task.pk}/"
    before = case_state(app, task)
    # 离异 is a choice of the new version, not of the form this case was filed with.
    refused = client.post(url, {"hukou_address": "", "marital_status": "离异"})
    assert refused.status_code == 400
    assert case_state(app, task) == before

    sent = client.post(
        url,
        {
            "hukou_address": "杭州市西湖区文三路 200 号",
            "marital_status": "未婚",
            marriage_key: SimpleUploadedFile("marriage.pdf", PDF),
        },
    )
    assert sent.status_code == 302
    app.refresh_from_db()
    task.refresh_from_db()
    assert task.state == Task.State.ACCEPTED
    assert app.data["hukou_address"] == "杭州市西湖区文三路 200 号"
    assert app.data["marital_status"] == "未婚"
    assert list(app.attachments.values_list("material_name", "source")) == [
        ("出生医学证明", Attachment.Source.STEP),
        (MARRIAGE, Attachment.Source.UPLOAD),
    ]


def birth_certificate_issued(world: World, app: Application) -> Task:
    """The health clerk completes the first step; the hukou step is ready for the police."""
    task = app.tasks.get(step="birth_certificate")
    for action in ("claim", "accept", "complete"):
        services.task_transition(
            actor=world.clerk_health,
            task_id=task.pk,
            action=action,
            outputs={"birth_certificate_no": "Q330100260001"},
        )
    return app.tasks.get(step="hukou")


def test_the_staff_task_page_shows_the_form_as_filed(world):
    app = world.file(english())
    # The hukou answers and the marriage certificate are the hukou item's: the police see them.
    task = birth_certificate_issued(world, app)
    world.edit_hukou()
    page = english(world.clerk_police).get(f"/staff/tasks/{task.pk}/").content.decode()
    assert 'data-field="hukou_address">杭州市西湖区文三路 100 号<' in page
    assert 'data-field="father_name"' not in page
    assert "婚姻状况" in page and "父母婚姻状况" not in page
    services.task_transition(actor=world.clerk_police, task_id=task.pk, action="claim")
    page = english(world.clerk_police).get(f"/staff/tasks/{task.pk}/").content.decode()
    # The correction checkboxes offer the answers and materials as filed.
    assert f'name="fields" value="{material_key(MARRIAGE)}"' in page
    assert 'name="fields" value="hukou_address"' in page
    assert MARRIAGE_V2 not in page and MIGRATION not in page
    assert "出生登记 (办事指南第 1 版)" in page


def test_the_api_shows_and_checks_the_form_as_filed(world):
    app = world.file(english())
    task = birth_certificate_issued(world, app)
    promised = app.promised_date
    due = dict(app.tasks.values_list("step", "due_date"))
    world.edit_hukou()

    citizen, clerk = english(world.citizen), english(world.clerk_police)
    form = citizen.get(f"{APPLICATIONS}{app.pk}/").json()["form"]
    assert [(i["code"], i["version"]) for i in form["items"]] == [
        (world.birth.code, 1),
        (world.hukou.code, 1),
    ]
    assert [f["name"] for f in form["fields"]] == FILED_FIELDS
    marital = next(f for f in form["fields"] if f["name"] == "marital_status")
    assert (marital["label"], marital["choices"]) == ("婚姻状况", ["已婚", "未婚"])
    assert form["materials"] == [
        {"key": material_key(MARRIAGE), "name": MARRIAGE, "required": False, "uploaded": False}
    ]

    detail = clerk.get(f"{TASKS}{task.pk}/").json()
    # What the hukou item asked, as filed (need to know: not the birth item's questions).
    answers = [a["name"] for a in detail["answers"]]
    assert answers == ["baby_name", "hukou_address", "marital_status"]
    assert [m["name"] for m in detail["materials"]] == [MARRIAGE]

    def act(action, **body):
        return clerk.post(f"{TASKS}{task.pk}/{action}/", body, content_type="application/json")

    assert act("claim").status_code == 200
    assert act("accept").status_code == 200
    # father_name is asked by the new version only: not a field of this case.
    before = case_state(app, task)
    unknown = act("correction", reason="请补充父亲姓名。", fields=["father_name"])
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "unknown_field")
    assert case_state(app, task) == before
    asked = act("correction", reason="请核对。", fields=["hukou_address", "marital_status"])
    assert asked.status_code == 200

    def correct(**answers):
        return citizen.post(
            f"{APPLICATIONS}{app.pk}/correction/",
            {"task": task.pk, "answers": answers},
            content_type="application/json",
        )

    before = case_state(app, task)
    bad = correct(hukou_address="杭州市西湖区文三路 300 号", marital_status="离异")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_answer")
    assert "answers.marital_status" in bad.json()["error"]["fields"]
    assert case_state(app, task) == before
    good = correct(hukou_address="杭州市西湖区文三路 300 号", marital_status="未婚")
    assert good.status_code == 200, good.content
    app.refresh_from_db()
    assert app.data["hukou_address"] == "杭州市西湖区文三路 300 号"
    assert app.data["marital_status"] == "未婚"
    # The promised date and the due dates were fixed when the case was filed.
    assert app.promised_date == promised
    assert dict(app.tasks.values_list("step", "due_date")) == due
    pinned = ApplicationItemVersion.objects.get(application=app, version__item=world.hukou)
    assert pinned.version.snapshot["promised_days"] == 5


def test_a_new_application_uses_the_new_version(world):
    old = world.file(english(), key="before-edit")
    v2 = world.edit_hukou()
    citizen = english(world.citizen)

    def apply(answers, key):
        return citizen.post(
            APPLICATIONS,
            {"bundle": "newborn", "answers": answers},
            content_type="application/json",
            headers={"Idempotency-Key": key},
        )

    as_before = apply(world.answers(), "old-answers")
    assert as_before.status_code == 400
    fields = as_before.json()["error"]["fields"]
    assert "answers.hukou_address" in fields and "answers.father_name" in fields
    assert Application.objects.exclude(status="draft").count() == 1

    answers = {**world.answers(marital_status="离异", father_name="陈大满")}
    del answers["hukou_address"]
    created = apply(answers, "new-answers")
    assert created.status_code == 201, created.content
    body = created.json()
    assert [(i["code"], i["version"]) for i in body["form"]["items"]] == [
        (world.birth.code, 1),
        (world.hukou.code, 2),
    ]
    names = [f["name"] for f in body["form"]["fields"]]
    assert "father_name" in names and "hukou_address" not in names
    assert [m["name"] for m in body["form"]["materials"]] == [MARRIAGE_V2, MIGRATION]
    new = Application.objects.get(pk=body["id"])
    assert version_numbers(new) == [(world.birth.code, 1), (world.hukou.code, 2)]
    assert v2.snapshot["promised_days"] == 2
    # The case filed before the edit keeps its own.
    assert version_numbers(old) == [(world.birth.code, 1), (world.hukou.code, 1)]


# ---------------------------------------------------------------- queries


def measured(client: Client, url: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def test_the_cases_pages_read_the_pin_not_the_catalog(world):
    app = world.file(english())
    world.ask_correction(app, "hukou_address", material_key(MARRIAGE))
    task = app.tasks.get(step="hukou")
    citizen, clerk = english(world.citizen), english(world.clerk_police)
    pages = [
        (citizen, app.get_absolute_url()),
        (clerk, f"/staff/tasks/{task.pk}/"),
        (citizen, f"{APPLICATIONS}{app.pk}/"),
        (clerk, f"{TASKS}{task.pk}/"),
    ]
    # The clerk holding the claim first sees the ID numbers unmasked: that reveal is logged once.
    clerk.get(f"{TASKS}{task.pk}/")
    before = [measured(client, url) for client, url in pages]
    world.edit_hukou()
    after = [measured(client, url) for client, url in pages]
    assert [count for count, _sql in after] == [count for count, _sql in before]
    for _count, sqls in after:
        # Neither the items' materials nor their versions are read to show the form.
        assert not [sql for sql in sqls if "catalog_material" in sql]
        assert not [sql for sql in sqls if "catalog_serviceitemversion" in sql]
    # Building the form from the catalog cost 4 more queries on the case page and 5 more on
    # each read of a task; the pin is read with the case's row. A task reads one more: the
    # items of its department's steps, for what it needs to know, and its extensions (延期); the
    # page also asks whether the viewer may decide one.
    limits = [7, 11, 7, 7]
    assert all(count <= limit for (count, _sql), limit in zip(after, limits, strict=True))


# ---------------------------------------------------------------- the migration


def pin_existing():
    migration = importlib.import_module("workflows.migrations.0005_application_pinned_form")
    migration.pin_submitted(django_apps, None)


def unpin(app: Application) -> dict:
    spec = app.form_spec
    ApplicationItemVersion.objects.filter(application=app).delete()
    Application.objects.filter(pk=app.pk).update(form_spec={})
    return spec


def test_the_migration_pins_a_case_to_the_versions_published_before_it_was_filed(world):
    app = world.file(english())
    world.edit_hukou()
    filed = unpin(app)
    draft = services.application_start(applicant=UserFactory(), bundle=world.bundle)
    pin_existing()
    app.refresh_from_db()
    # The same form as submission pinned, from the versions' snapshots, as forms were built
    # before the registers: a material a department issues is marked held by it.
    for material in filed["materials"]:
        if material["held"] == Held.STEP:
            material["held"] = Held.DEPARTMENT
            del material["source"]
    assert app.form_spec == filed
    assert version_numbers(app) == [(world.birth.code, 1), (world.hukou.code, 1)]
    draft.refresh_from_db()
    assert draft.form_spec == {} and not draft.item_versions.exists()


def test_the_migration_pins_a_case_filed_before_any_version_to_the_current_one(world):
    app = world.file(english())
    unpin(app)
    ServiceItemVersion.objects.filter(item=world.hukou).update(published_at=app.submitted_at)
    ServiceItemVersion.objects.filter(item=world.birth, number=1).update(
        published_at=app.submitted_at.replace(year=app.submitted_at.year + 1)
    )
    pin_existing()
    app.refresh_from_db()
    assert version_numbers(app) == [(world.birth.code, 1), (world.hukou.code, 1)]
    assert [f["name"] for f in app.form_spec["fields"]] == FILED_FIELDS

"""Need to know on a task: a department sees only what its own steps of the case use, the
materials fetched for them with their sources, ID numbers and phones masked until it holds the
claim, and every reveal logged once per claim. One selector (``task_shown``) feeds the page, the
API and the corrections; the demo's newborn bundle is the case."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.test import Client

from departments.models import Membership
from tests.factories import MembershipFactory
from workflows import services
from workflows.forms import material_key
from workflows.models import Application, Attachment, Task, TaskEvent
from workflows.selectors import task_shown

from .fixtures import NewbornDemo, newborn_demo, newborn_submit, step_complete

pytestmark = pytest.mark.django_db

TASKS = "/api/v1/tasks/"

# What the 医保 item (新生儿城乡居民基本医疗保险参保登记) asks, in the order of the filed form.
YIBAO_FIELDS = ["baby_name", "baby_gender", "birth_date", "mother_id_number", "contact_phone"]
# Asked by other departments' items only: never shown to 医保.
NOT_YIBAO = [
    "birth_hospital",
    "mother_name",
    "father_name",
    "father_id_number",
    "hukou_address",
    "mailing_address",
    "residence_address",
]
YIBAO_MATERIALS = ["出生医学证明", "新生儿户籍信息", "监护人居民身份证"]
GUARDIAN_ID = "监护人居民身份证"
# The guardian's record in the population register, as the demo seeds it for citizen1.
GUARDIAN_CONTENT = {
    "id_number",
    "name",
    "sex",
    "birth_date",
    "hukou_region",
    "household_no",
    "household_role",
}


def masked(value: str) -> str:
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@dataclass
class Case:
    demo: NewbornDemo
    app: Application
    task: Task  # 医保's step, ready once the birth certificate and the hukou are done
    clerk: object
    colleague: object  # another 医保 clerk

    def page(self, user):
        response = client_for(user).get(f"/staff/tasks/{self.task.pk}/")
        assert response.status_code == 200
        return response

    def api(self, user) -> dict:
        response = client_for(user).get(f"{TASKS}{self.task.pk}/")
        assert response.status_code == 200, response.content[:300]
        return response.json()

    def claim(self, user) -> None:
        services.task_transition(actor=user, task_id=self.task.pk, action="claim")
        self.task.refresh_from_db()


@pytest.fixture
def case() -> Case:
    demo = newborn_demo()
    app = newborn_submit(demo)
    step_complete(demo, app, "birth_certificate")
    step_complete(demo, app, "hukou")
    task = app.tasks.get(step="child_insurance")
    assert task.state == Task.State.READY
    colleague = MembershipFactory(
        department=demo.departments["yibao"], role=Membership.Role.CLERK
    ).user
    return Case(demo, app, task, demo.clerks["yibao"], colleague)


def page_answers(response) -> dict[str, str]:
    return {f.name: value for f, value in response.context["answers"]}


def api_answers(body: dict) -> dict[str, str]:
    return {a["name"]: a["value"] for a in body["answers"]}


def api_material(body: dict, name: str) -> dict:
    return next(m for m in body["materials"] if m["name"] == name)


def page_material(response, name: str):
    return next(m for m in response.context["materials"] if m.name == name)


# ---------------------------------------------------------------- need to know


def test_yibao_sees_exactly_the_fields_and_materials_its_item_uses(case: Case):
    page, body = case.page(case.clerk), case.api(case.clerk)
    assert list(page_answers(page)) == YIBAO_FIELDS
    assert [a["name"] for a in body["answers"]] == YIBAO_FIELDS
    html = page.content.decode()
    for name in NOT_YIBAO:
        assert f'data-field="{name}"' not in html
    assert [m.name for m in page.context["materials"]] == YIBAO_MATERIALS
    assert [m["name"] for m in body["materials"]] == YIBAO_MATERIALS
    # The fetched ID card holds the guardian's hukou address: a 公安 answer, left out of it.
    hukou_address = case.app.data["hukou_address"]
    assert hukou_address not in html and hukou_address not in str(body)
    content = {c["name"] for c in api_material(body, GUARDIAN_ID)["content"]}
    assert content == GUARDIAN_CONTENT
    assert {c.name for c in page_material(page, GUARDIAN_ID).content} == GUARDIAN_CONTENT
    # What the step received from the hukou step, as the grant passes it.
    assert list(body["inputs"]) == ["citizen_id_number"]


def test_gongan_sees_what_its_item_asks_with_the_hukou_address(case: Case):
    hukou = case.app.tasks.get(step="hukou")
    body = client_for(case.demo.clerks["gongan"]).get(f"{TASKS}{hukou.pk}/").json()
    assert [a["name"] for a in body["answers"]] == [
        "baby_name",
        "baby_gender",
        "birth_date",
        "mother_name",
        "mother_id_number",
        "father_name",
        "father_id_number",
        "contact_phone",
        "hukou_address",
    ]
    assert "hukou_address" in {c["name"] for c in api_material(body, "落户方居民户口簿")["content"]}


def test_the_page_and_the_api_read_one_selector(case: Case):
    for viewer in (case.clerk, case.colleague):
        shown = task_shown(task=case.task, viewer=viewer)
        expected = {a.field.name: a.value for a in shown.answers}
        assert page_answers(case.page(viewer)) == api_answers(case.api(viewer)) == expected
    case.claim(case.clerk)
    shown = task_shown(task=case.task, viewer=case.clerk)
    assert api_answers(case.api(case.clerk)) == {a.field.name: a.value for a in shown.answers}


# ---------------------------------------------------------------- fetched materials


def test_a_fetched_material_shows_its_source_to_the_handling_clerk(case: Case):
    fetched = Attachment.objects.get(application=case.app, material_name=GUARDIAN_ID)
    assert (fetched.source, fetched.is_file) == (Attachment.Source.REGISTER, False)
    body = case.api(case.clerk)
    shown = api_material(body, GUARDIAN_ID)
    assert shown["source"] == "register"
    assert shown["source_label"] == fetched.source_label
    assert "杭州市公安局" in shown["source_label"]
    assert shown["source_department"] == "杭州市公安局"
    assert shown["fetched_at"] is not None
    assert (shown["download"], shown["uploaded"], shown["asked"]) == (None, False, False)
    assert shown["issued_during_handling"] is False
    issued = api_material(body, "出生医学证明")
    assert (issued["source"], issued["fetched_at"], issued["issued_during_handling"]) == (
        "step",
        None,
        True,
    )

    html = case.page(case.clerk).content.decode()
    row = re.search(
        rf'<li data-material="{material_key(GUARDIAN_ID)}" data-source="register">(.*?)</li>',
        html,
        re.S,
    )
    assert row is not None
    assert fetched.source_label in row.group(1)
    assert "<time datetime=" in row.group(1)
    assert f"/files/{fetched.pk}/" not in html


def test_a_non_file_attachment_download_answers_404(case: Case):
    fetched = Attachment.objects.get(application=case.app, material_name=GUARDIAN_ID)
    issued = Attachment.objects.get(application=case.app, material_name="出生医学证明")
    for user in (case.clerk, case.demo.citizen):
        for attachment in (fetched, issued):
            assert client_for(user).get(f"/files/{attachment.pk}/").status_code == 404


# ---------------------------------------------------------------- masking and reveals


def test_phones_and_id_numbers_are_masked_until_the_viewer_holds_the_claim(case: Case):
    data = case.app.data
    mother_id, phone = data["mother_id_number"], data["contact_phone"]
    citizen_id = case.task.inputs["citizen_id_number"]
    guardian_id = case.demo.citizen.id_number
    unclaimed = {
        "mother_id_number": masked(mother_id),
        "contact_phone": masked(phone),
    }

    def sensitive(body: dict) -> dict:
        answers = api_answers(body)
        content = {c["name"]: c["value"] for c in api_material(body, GUARDIAN_ID)["content"]}
        return {
            "mother_id_number": answers["mother_id_number"],
            "contact_phone": answers["contact_phone"],
            "citizen_id_number": body["inputs"]["citizen_id_number"],
            "guardian": content["id_number"],
        }

    masked_view = {
        **unclaimed,
        "citizen_id_number": masked(citizen_id),
        "guardian": masked(guardian_id),
    }
    assert masked(phone) == phone[:3] + "****" + phone[-4:]
    for viewer in (case.clerk, case.colleague):
        assert sensitive(case.api(viewer)) == masked_view
        assert {k: page_answers(case.page(viewer))[k] for k in unclaimed} == unclaimed

    case.claim(case.clerk)
    assert sensitive(case.api(case.clerk)) == {
        "mother_id_number": mother_id,
        "contact_phone": phone,
        "citizen_id_number": citizen_id,
        "guardian": guardian_id,
    }
    page = case.page(case.clerk)
    assert {k: page_answers(page)[k] for k in unclaimed} == {
        "mother_id_number": mother_id,
        "contact_phone": phone,
    }
    assert f'data-input="citizen_id_number">{citizen_id}<' in page.content.decode()
    # The colleague who does not hold the claim still sees them masked, on both.
    assert sensitive(case.api(case.colleague)) == masked_view
    page = case.page(case.colleague)
    assert {k: page_answers(page)[k] for k in unclaimed} == unclaimed
    assert phone not in page.content.decode()


def reveals(task: Task) -> list[tuple[str, int | None]]:
    return list(
        TaskEvent.objects.filter(task=task, action="reveal").values_list("action", "actor_id")
    )


def test_each_claim_logs_one_reveal_and_the_citizen_page_does_not_list_it(case: Case):
    case.page(case.clerk)
    case.api(case.colleague)
    assert reveals(case.task) == []

    case.claim(case.clerk)
    for _ in range(2):
        case.page(case.clerk)
        case.api(case.clerk)
    case.api(case.colleague)
    assert reveals(case.task) == [("reveal", case.clerk.pk)]
    event = TaskEvent.objects.get(task=case.task, action="reveal")
    assert (event.from_state, event.to_state) == ("ready", "ready")
    assert event.application_id == case.app.pk

    services.task_transition(actor=case.clerk, task_id=case.task.pk, action="release")
    case.claim(case.clerk)
    case.api(case.clerk)
    case.page(case.clerk)
    assert reveals(case.task) == [("reveal", case.clerk.pk)] * 2

    # Staff read the reveals in the task's history; the citizen's timeline lists moves only.
    history = case.page(case.clerk).content.decode().split('id="history-heading"')[1]
    assert history.count('data-action="reveal"') == 2
    page = client_for(case.demo.citizen).get(case.app.get_absolute_url())
    timeline = page.content.decode().split('id="timeline-heading"')[1].split("</ol>")[0]
    moves = TaskEvent.objects.filter(application=case.app).exclude(action="reveal").count()
    assert timeline.count("<li>") == moves
    assert "reveal" not in timeline


# ---------------------------------------------------------------- corrections


def case_state(case: Case) -> tuple:
    case.app.refresh_from_db()
    case.task.refresh_from_db()
    return (
        case.app.data,
        case.app.status,
        case.task.state,
        case.task.version,
        case.task.correction_fields,
        TaskEvent.objects.exclude(action="reveal").count(),
    )


def test_a_correction_of_what_the_department_does_not_use_is_refused(case: Case):
    case.claim(case.clerk)
    services.task_transition(actor=case.clerk, task_id=case.task.pk, action="accept")
    page = case.page(case.clerk).content.decode()
    offered = re.findall(r'name="fields" value="([^"]+)"', page)
    # 医保's questions the citizen answered only: those a register gave are corrected in the
    # register; its materials are all held by departments, none asked again.
    assert offered == ["baby_name", "contact_phone"]

    client = client_for(case.clerk)
    before = case_state(case)
    for fields in (["hukou_address"], ["contact_phone", "father_name"], ["新生儿近期免冠彩色照片"]):
        response = client.post(
            f"{TASKS}{case.task.pk}/correction/",
            {"reason": "请核对。", "fields": fields},
            content_type="application/json",
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "unknown_field"
        assert case_state(case) == before
    photo = material_key("新生儿近期免冠彩色照片")
    response = client.post(
        f"{TASKS}{case.task.pk}/correction/",
        {"reason": "请核对。", "fields": [photo]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert case_state(case) == before
    # The page's form, hand-made: the service refuses it the same way.
    forged = client.post(
        f"/staff/tasks/{case.task.pk}/act/",
        {
            "action": "correction",
            "version": case.task.version,
            "reason": "请核对。",
            "fields": ["hukou_address"],
        },
    )
    assert forged.status_code == 400
    assert case_state(case) == before

    # A value a register gave is not the citizen's to correct.
    from_register = client.post(
        f"/staff/tasks/{case.task.pk}/act/",
        {
            "action": "correction",
            "version": case.task.version,
            "reason": "请核对。",
            "fields": ["mother_id_number"],
        },
    )
    assert from_register.status_code == 400
    assert (
        "register" in from_register.content.decode()
        or "基础数据库" in from_register.content.decode()
    )
    assert case_state(case) == before

    asked = client.post(
        f"{TASKS}{case.task.pk}/correction/",
        {"reason": "请核对联系电话。", "fields": ["contact_phone"]},
        content_type="application/json",
    )
    assert asked.status_code == 200, asked.content
    case.task.refresh_from_db()
    assert (case.task.state, case.task.correction_fields) == ("correction", ["contact_phone"])

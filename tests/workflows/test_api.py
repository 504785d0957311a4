"""The applications and worklist REST API: idempotent filing, scoping, claims, moves, ratings."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import Bundle, Material
from departments.models import Department
from tests.factories import (
    ServiceItemFactory,
    UserFactory,
    make_id_number,
)
from workflows import services
from workflows.models import Application, DataAccess, Rating, Task, TaskEvent

from .hangzhou import Hangzhou, clerk, hangzhou_newborn

pytestmark = pytest.mark.django_db

APPLICATIONS = "/api/v1/applications/"
TASKS = "/api/v1/tasks/"

HUKOU_FIELDS = [
    {"name": "baby_name", "label": "新生儿姓名", "type": "text", "required": True},
    {"name": "hukou_address", "label": "申报户口地址", "type": "text", "required": True},
    {"name": "contact_phone", "label": "联系电话", "type": "phone", "required": True},
]


@dataclass
class Joint:
    health: Department
    police: Department
    bundle: Bundle
    upload_item: object
    clerk_a: object
    clerk_a2: object
    clerk_b: object
    citizen: object
    other: object

    def answers(self, **changes) -> dict:
        values = {
            "baby_name": "陈小满",
            "birth_date": "2026-03-20",
            "mother_id_number": self.citizen.id_number,
            "hukou_address": "杭州市西湖区文三路 100 号",
        }
        values.update(changes)
        return values

    def submit(self, key: str = "key-1") -> Application:
        """A case filed through the service, as the web form files it."""
        app, _created = services.application_create_and_submit(
            applicant=self.citizen,
            bundle=self.bundle,
            item=None,
            answers={**self.answers(), "contact_phone": self.citizen.phone},
            idempotency_key=key,
        )
        return app


@pytest.fixture
def joint() -> Joint:
    def materials(built: Hangzhou) -> None:
        # Fetched by data sharing: nothing for the citizen to upload.
        Material.objects.create(
            item=built.hukou,
            name="出生医学证明",
            source=Material.Source.ISSUED,
            issuer=built.health,
        )

    built = hangzhou_newborn(hukou_fields=HUKOU_FIELDS, materials=materials)
    health, police = built.health, built.police
    upload_item = ServiceItemFactory(
        code="330100GA0002", name="户口迁移", department=police, form_fields=HUKOU_FIELDS[:1]
    )
    Material.objects.create(item=upload_item, name="准予迁入证明", required=True)
    bundle = built.bundle
    return Joint(
        health=health,
        police=police,
        bundle=bundle,
        upload_item=upload_item,
        clerk_a=clerk(health, "王芳"),
        clerk_a2=clerk(health, "李强"),
        clerk_b=clerk(police, "赵敏"),
        citizen=UserFactory(real_name="张小明", id_number=make_id_number(901, "19920304")),
        other=UserFactory(real_name="李四"),
    )


def api(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def apply(client, body, key="key-1"):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(APPLICATIONS, body, content_type="application/json", headers=headers)


def act(client, task, action, **body):
    return client.post(f"{TASKS}{task.pk}/{action}/", body, content_type="application/json")


def snapshot(task: Task) -> tuple:
    task.refresh_from_db()
    return (task.state, task.version, task.claimed_by_id, TaskEvent.objects.count())


# ---------------------------------------------------------------- filing


def test_the_same_key_files_one_application(joint):
    citizen = api(joint.citizen)
    body = {"bundle": "newborn", "answers": joint.answers()}
    first = apply(citizen, body, key="6f1c2a7e-3b0d-4c8e-9f51-2d7a4b9e0c13")
    assert first.status_code == 201, first.content
    created = first.json()
    assert first["Location"] == created["url"]
    assert created["url"] == f"http://testserver{APPLICATIONS}{created['id']}/"
    assert created["status"] == "in_progress"
    assert created["bundle"] == "newborn"
    assert created["item"] is None
    assert created["reference"].startswith("ZB")
    # The phone was not sent: it comes from the citizen's profile, as the web form prefills it.
    assert created["answers"] == {**joint.answers(), "contact_phone": joint.citizen.phone}
    assert [
        (p["department"]["code"], [(t["step"], t["state"]) for t in p["tasks"]])
        for p in created["parts"]
    ] == [
        ("330100-weijian", [("birth_certificate", "ready")]),
        ("330100-gongan", [("hukou", "waiting")]),
    ]
    assert [(e["action"], e["department"], e["step"]) for e in created["timeline"]] == [
        ("ready", {"code": "330100-weijian", "name": "杭州市卫生健康委员会"}, "birth_certificate"),
        ("submit", None, None),
    ]

    again = apply(citizen, body, key="6f1c2a7e-3b0d-4c8e-9f51-2d7a4b9e0c13")
    assert again.status_code == 200
    assert again.json()["id"] == created["id"]
    assert Application.objects.count() == 1
    assert Task.objects.count() == 2

    # the same key with another body is another submission: 422, nothing filed or changed
    changed = {"bundle": "newborn", "answers": {**joint.answers(), "baby_name": "王小二"}}
    reused = apply(citizen, changed, key="6f1c2a7e-3b0d-4c8e-9f51-2d7a4b9e0c13")
    assert reused.status_code == 422, reused.content
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert Application.objects.count() == 1
    assert Task.objects.count() == 2


def test_a_retry_is_answered_even_when_the_form_changed_since(joint):
    citizen = api(joint.citizen)
    body = {"bundle": "newborn", "answers": joint.answers()}
    first = apply(citizen, body).json()
    Material.objects.create(item=joint.bundle.parts.first().item, name="新材料", required=True)
    again = apply(citizen, body)
    assert (again.status_code, again.json()["id"]) == (200, first["id"])
    assert Application.objects.count() == 1


@pytest.mark.parametrize(
    ("key", "code"),
    [
        (None, "idempotency_key_missing"),
        ("  ", "idempotency_key_missing"),
        ("k" * 65, "idempotency_key_invalid"),
        ("a key", "idempotency_key_invalid"),
    ],
)
def test_a_submission_needs_a_well_formed_key(joint, key, code):
    response = apply(api(joint.citizen), {"bundle": "newborn", "answers": joint.answers()}, key)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert "Idempotency-Key" in response.json()["error"]["message"]
    assert Application.objects.count() == 0


def test_a_wrong_id_number_is_refused_per_field(joint):
    wrong = joint.citizen.id_number[:-1] + ("0" if joint.citizen.id_number[-1] != "0" else "1")
    body = {"bundle": "newborn", "answers": joint.answers(mother_id_number=wrong, birth_date="")}
    response = apply(api(joint.citizen), body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_answer"
    assert sorted(error["fields"]) == ["answers.birth_date", "answers.mother_id_number"]
    assert error["fields"]["answers.birth_date"] == ["This field is required."]
    assert Application.objects.count() == 0
    assert Task.objects.count() == 0


def test_answers_the_form_does_not_ask_are_refused(joint):
    body = {
        "bundle": "newborn",
        # Produced by a step: a department gives it, the citizen never types it.
        "answers": joint.answers(birth_certificate_no="Q1", baby_name=["not", "text"]),
    }
    response = apply(api(joint.citizen), body)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"answers.baby_name": ["Not a valid string."]}

    body["answers"]["baby_name"] = "陈小满"
    response = apply(api(joint.citizen), body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_field"
    assert list(response.json()["error"]["fields"]) == ["answers.birth_certificate_no"]
    assert Application.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"answers": {}}, "non_field_errors"),
        ({"bundle": "newborn", "item": "330100GA0002", "answers": {}}, "non_field_errors"),
        ({"bundle": "nowhere", "answers": {}}, "bundle"),
        ({"bundle": "newborn"}, "answers"),
    ],
)
def test_one_existing_subject_is_applied_for(joint, body, field):
    response = apply(api(joint.citizen), body)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert Application.objects.count() == 0


def test_materials_to_upload_keep_an_application_off_the_api(joint):
    body = {"item": "330100GA0002", "answers": {"baby_name": "陈小满"}}
    response = apply(api(joint.citizen), body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "materials_required"
    assert error["materials"] == ["准予迁入证明"]
    assert "准予迁入证明" in error["message"]
    assert Application.objects.count() == 0


def test_anonymous_callers_are_refused(joint):
    assert apply(api(), {"bundle": "newborn", "answers": {}}).status_code == 403
    assert api().get(APPLICATIONS).json()["error"]["code"] == "not_authenticated"
    assert api().get(TASKS).status_code == 403
    assert Application.objects.count() == 0


# ---------------------------------------------------------------- following


def test_citizens_read_only_their_own_applications(joint):
    app = joint.submit()
    own = api(joint.citizen).get(f"{APPLICATIONS}{app.pk}/")
    assert own.status_code == 200
    assert own.json()["reference"] == app.reference
    assert api(joint.citizen).get(APPLICATIONS).json()["count"] == 1

    other = api(joint.other)
    response = other.get(f"{APPLICATIONS}{app.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert other.get(APPLICATIONS).json()["count"] == 0
    assert other.post(f"{APPLICATIONS}{app.pk}/rating/", {"score": 1}).status_code == 404
    assert Rating.objects.count() == 0


def test_the_citizen_sees_a_correction_and_its_reason(joint):
    app = joint.submit()
    task = app.tasks.get(step="birth_certificate")
    clerk = api(joint.clerk_a)
    act(clerk, task, "claim")
    refused = act(clerk, task, "correction", reason="姓名有误", fields=["baby_name", "nothing"])
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "unknown_field"
    asked = act(clerk, task, "correction", reason="姓名有误", fields=["baby_name"])
    assert asked.status_code == 200
    assert asked.json()["state"] == "correction"

    body = api(joint.citizen).get(f"{APPLICATIONS}{app.pk}/").json()
    assert body["status"] == "correction"
    shown = body["parts"][0]["tasks"][0]
    assert (shown["state"], shown["reason"], shown["correction_fields"]) == (
        "correction",
        "姓名有误",
        ["baby_name"],
    )


def test_the_citizen_sends_only_the_correction_asked_for(joint):
    app = joint.submit()
    task = app.tasks.get(step="birth_certificate")
    clerk = api(joint.clerk_a)
    act(clerk, task, "claim")
    act(clerk, task, "accept")
    act(clerk, task, "correction", reason="姓名有误", fields=["baby_name"])
    citizen = api(joint.citizen)
    url = f"{APPLICATIONS}{app.pk}/correction/"
    before = snapshot(task)
    not_asked = citizen.post(
        url,
        {"task": task.pk, "answers": {"birth_date": "2026-03-21"}},
        content_type="application/json",
    )
    assert not_asked.status_code == 400
    assert "answers.birth_date" in not_asked.json()["error"]["fields"]
    assert snapshot(task) == before
    stranger = api(joint.other).post(
        url, {"task": task.pk, "answers": {"baby_name": "陈小曼"}}, content_type="application/json"
    )
    assert stranger.status_code == 404
    assert snapshot(task) == before
    sent = citizen.post(
        url, {"task": task.pk, "answers": {"baby_name": "陈小曼"}}, content_type="application/json"
    )
    assert sent.status_code == 200
    assert sent.json()["status"] == "in_progress"
    task.refresh_from_db()
    app.refresh_from_db()
    assert task.state == "accepted" and app.data["baby_name"] == "陈小曼"
    again = citizen.post(
        url, {"task": task.pk, "answers": {"baby_name": "陈小曼"}}, content_type="application/json"
    )
    assert again.status_code == 400 and again.json()["error"]["code"] == "unknown_field"


# ---------------------------------------------------------------- worklist


def test_a_clerk_sees_and_moves_only_their_departments_tasks(joint):
    app = joint.submit()
    birth = app.tasks.get(step="birth_certificate")

    listed = api(joint.clerk_a).get(TASKS).json()
    assert [(t["id"], t["department"]["code"]) for t in listed["results"]] == [
        (birth.pk, "330100-weijian")
    ]
    assert listed["results"][0]["reference"] == app.reference
    assert api(joint.clerk_b).get(TASKS).json()["count"] == 0
    assert api(joint.clerk_a).get(TASKS, {"department": "330100-gongan"}).json()["count"] == 0
    assert api(joint.clerk_a).get(TASKS, {"overdue": "1"}).json()["count"] == 0
    assert api(joint.clerk_a).get(TASKS, {"state": "bogus"}).status_code == 400

    police = api(joint.clerk_b)
    before = snapshot(birth)
    assert police.get(f"{TASKS}{birth.pk}/").status_code == 404
    for action, body in [
        ("claim", {}),
        ("accept", {}),
        ("reject", {"reason": "不受理"}),
        ("complete", {"outputs": {"birth_certificate_no": "Q1"}}),
    ]:
        response = act(police, birth, action, **body)
        assert response.status_code == 404, action
        assert response.json()["error"]["code"] == "not_found"
    assert snapshot(birth) == before
    assert api(joint.clerk_a).get(f"{TASKS}999999/").status_code == 404


def test_a_citizen_has_an_empty_worklist(joint):
    task = joint.submit().tasks.get(step="birth_certificate")
    citizen = api(joint.citizen)
    response = citizen.get(TASKS)
    assert response.status_code == 200
    assert (response.json()["count"], response.json()["results"]) == (0, [])
    assert citizen.get(f"{TASKS}{task.pk}/").status_code == 404
    assert act(citizen, task, "claim").status_code == 404


def test_the_task_detail_shows_the_case(joint):
    task = joint.submit().tasks.get(step="birth_certificate")
    clerk = api(joint.clerk_a)
    body = clerk.get(f"{TASKS}{task.pk}/").json()
    answers = {a["name"]: a["value"] for a in body["answers"]}
    # Masked until the clerk holds the claim.
    assert (
        answers["mother_id_number"]
        == joint.citizen.id_number[:3] + "*" * 11 + joint.citizen.id_number[-4:]
    )
    assert (body["version"], body["claimed_by"], body["gives"]) == (
        task.version,
        None,
        ["birth_certificate_no"],
    )
    assert [e["action"] for e in body["history"]] == ["ready"]

    claimed = act(clerk, task, "claim").json()
    assert claimed["claimed_by"] == "王芳"
    assert {a["name"]: a["value"] for a in claimed["answers"]}["mother_id_number"] == (
        joint.citizen.id_number
    )
    assert [(e["action"], e["actor"]) for e in claimed["history"]] == [
        ("ready", None),
        ("claim", "王芳"),
    ]


def test_a_claim_held_by_another_answers_409_with_the_holder(joint):
    task = joint.submit().tasks.get(step="birth_certificate")
    assert act(api(joint.clerk_a), task, "claim").status_code == 200
    before = snapshot(task)

    second = api(joint.clerk_a2)
    for action in ("claim", "accept", "release"):
        response = act(second, task, action)
        assert response.status_code == 409, action
    claim = act(second, task, "claim").json()["error"]
    assert claim == {
        "code": "claimed",
        "message": "王芳 is working on this task.",
        "holder": "王芳",
    }
    assert act(second, task, "accept").json()["error"]["holder"] == "王芳"
    assert snapshot(task) == before
    assert (task.state, task.claimed_by_id) == ("ready", joint.clerk_a.pk)


def test_a_stale_version_answers_409(joint):
    task = joint.submit().tasks.get(step="birth_certificate")
    clerk = api(joint.clerk_a)
    seen = clerk.get(f"{TASKS}{task.pk}/").json()["version"]
    claimed = act(clerk, task, "claim", version=seen)
    assert claimed.status_code == 200
    assert claimed.json()["version"] == seen + 1
    before = snapshot(task)

    stale = act(clerk, task, "accept", version=seen)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale"
    assert stale.json()["error"]["holder"] == "王芳"
    assert snapshot(task) == before
    assert act(clerk, task, "accept", version=-1).status_code == 400
    assert snapshot(task) == before


def test_completing_without_the_outputs_changes_nothing(joint):
    app = joint.submit()
    task = app.tasks.get(step="birth_certificate")
    clerk = api(joint.clerk_a)
    act(clerk, task, "claim")
    act(clerk, task, "accept")
    before = snapshot(task)

    response = act(clerk, task, "complete", outputs={"birth_certificate_no": "  "})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "outputs_missing"
    assert "birth_certificate_no" in response.json()["error"]["message"]
    assert snapshot(task) == before
    assert app.tasks.get(step="hukou").state == "waiting"


def test_completing_passes_the_outputs_to_the_next_department(joint):
    app = joint.submit()
    task = app.tasks.get(step="birth_certificate")
    clerk = api(joint.clerk_a)
    act(clerk, task, "claim")
    act(clerk, task, "accept")

    done = act(clerk, task, "complete", outputs={"birth_certificate_no": "Q330100260001"})
    assert done.status_code == 200
    assert (done.json()["state"], done.json()["outputs"]) == (
        "completed",
        {"birth_certificate_no": "Q330100260001"},
    )
    hukou = app.tasks.get(step="hukou")
    assert (hukou.state, hukou.inputs) == ("ready", {"birth_certificate_no": "Q330100260001"})
    read = DataAccess.objects.get()
    assert (read.owner, read.consumer, read.field, read.outcome) == (
        joint.health,
        joint.police,
        "birth_certificate_no",
        DataAccess.Outcome.VALUE,
    )
    seen = api(joint.clerk_b).get(f"{TASKS}{hukou.pk}/").json()
    assert (seen["state"], seen["inputs"]) == ("ready", {"birth_certificate_no": "Q330100260001"})


def test_a_rejection_stops_what_depends_on_it(joint):
    app = joint.submit()
    task = app.tasks.get(step="birth_certificate")
    clerk = api(joint.clerk_a)
    act(clerk, task, "claim")
    assert act(clerk, task, "reject", reason="").status_code == 400
    rejected = act(clerk, task, "reject", reason="出生信息无法核实")
    assert (rejected.status_code, rejected.json()["reason"]) == (200, "出生信息无法核实")
    body = api(joint.citizen).get(f"{APPLICATIONS}{app.pk}/").json()
    assert body["status"] == "rejected"
    assert [t["state"] for p in body["parts"] for t in p["tasks"]] == ["rejected", "cancelled"]


# ---------------------------------------------------------------- rating


def test_a_finished_case_is_rated_once(joint):
    app = joint.submit()
    citizen = api(joint.citizen)
    rating_url = f"{APPLICATIONS}{app.pk}/rating/"
    early = citizen.post(rating_url, {"score": 5}, content_type="application/json")
    assert (early.status_code, early.json()["error"]["code"]) == (400, "not_finished")

    for staff, step, outputs in [
        (api(joint.clerk_a), "birth_certificate", {"birth_certificate_no": "Q1"}),
        (api(joint.clerk_b), "hukou", {}),
    ]:
        task = app.tasks.get(step=step)
        for action in ("claim", "accept"):
            assert act(staff, task, action).status_code == 200
        assert act(staff, task, "complete", outputs=outputs).status_code == 200
    assert citizen.get(f"{APPLICATIONS}{app.pk}/").json()["status"] == "completed"

    bad = citizen.post(rating_url, {"score": 6}, content_type="application/json")
    assert list(bad.json()["error"]["fields"]) == ["score"]
    rated = citizen.post(
        rating_url, {"score": 5, "comment": "很快"}, content_type="application/json"
    )
    assert rated.status_code == 201
    assert (rated.json()["score"], rated.json()["comment"]) == (5, "很快")
    again = citizen.post(rating_url, {"score": 1}, content_type="application/json")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "rated")
    assert Rating.objects.get().score == 5
    assert citizen.get(f"{APPLICATIONS}{app.pk}/").json()["rating"]["score"] == 5


# ---------------------------------------------------------------- query counts


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content[:300]
    return len(queries)


def test_list_queries_do_not_grow_with_the_data(joint):
    citizen, clerk = api(joint.citizen), api(joint.clerk_a)

    def grow_to(n):
        for i in range(Application.objects.count(), n):
            app = joint.submit(key=f"key-{i}")
            if i % 2:
                services.task_transition(
                    actor=joint.clerk_a,
                    task_id=app.tasks.get(step="birth_certificate").pk,
                    action="claim",
                )

    grow_to(3)
    small = (count_queries(citizen, APPLICATIONS), count_queries(clerk, TASKS))
    grow_to(30)
    assert clerk.get(TASKS).json()["count"] == 30
    large = (count_queries(citizen, APPLICATIONS), count_queries(clerk, TASKS))
    assert large == small
    # The session, its user, the page's count and the page itself.
    assert max(large) <= 5


def test_detail_queries_do_not_grow_with_the_case(joint):
    app = joint.submit()
    birth = app.tasks.get(step="birth_certificate")
    citizen, clerk = api(joint.citizen), api(joint.clerk_a)
    case_url, task_url = f"{APPLICATIONS}{app.pk}/", f"{TASKS}{birth.pk}/"
    small = (count_queries(citizen, case_url), count_queries(clerk, task_url))
    for action, body in [("claim", {}), ("release", {}), ("claim", {}), ("accept", {})]:
        assert act(clerk, birth, action, **body).status_code == 200
    act(clerk, birth, "complete", outputs={"birth_certificate_no": "Q1"})
    assert len(citizen.get(case_url).json()["timeline"]) > 6
    large = (count_queries(citizen, case_url), count_queries(clerk, task_url))
    assert large == small


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_with_one_key_leave_one_application_and_no_draft(
    postgres_required, joint
):
    from concurrent.futures import ThreadPoolExecutor

    answers = {**joint.answers(), "contact_phone": joint.citizen.phone}

    def submit(_n: int) -> tuple[str, bool]:
        try:
            app, created = services.application_create_and_submit(
                applicant=joint.citizen,
                bundle=joint.bundle,
                item=None,
                answers=answers,
                idempotency_key="one-key-for-twenty",
            )
            return str(app.pk), created
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(submit, range(20)))
    assert [created for _pk, created in results].count(True) == 1
    assert len({pk for pk, _created in results}) == 1
    assert list(Application.objects.values_list("status", flat=True)) == ["in_progress"]
    assert Task.objects.count() == 2

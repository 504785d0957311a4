"""The newborn bundle asks only what no register holds: the fields a register answers are shown to
confirm (never typed, never taken from the client), the materials a department holds are fetched
at submission with their source, and every read another department makes is logged with its
grant. On the demo province, seeded once for the module: citizen1 (张小明) is the father of a
baby girl a hospital registered six days ago; citizen2 (李晓红) has no birth record."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from catalog.models import Bundle
from departments.models import DataGrant
from registers.demo import HOSPITAL, SPOUSE_ID, SPOUSE_NAME
from registers.models import Record
from tests.workflows.fixtures import (  # noqa: F401
    FATHER_ID_NUMBER,
    SMALL_PDF,
    demo_seeded_once,
    english_client,
    newborn_demo,
    pages_in_english,
)
from workflows import selectors, services
from workflows.forms import ROLE_FIELD, material_key
from workflows.models import Application, Attachment, DataAccess
from zheliban.accounts.models import User

pytestmark = pytest.mark.django_db

APPLY = "/apply/bundle/newborn/"
BIRTH = "From the birth medical records (杭州市卫生健康委员会)"
POPULATION = "From the public security population register (杭州市公安局)"
MARRIAGE = "From the marriage records (杭州市民政局)"
BY_WEIJIAN = "Issued by 杭州市卫生健康委员会 during this application"
BY_GONGAN = "Issued by 杭州市公安局 during this application"
HUKOU_ADDRESS = "杭州市西湖区文三路 100 号 2 幢 301 室"
PHOTO = "新生儿近期免冠彩色照片"
# The questions no register answers.
ASKED = ["baby_name", "contact_phone", "mailing_address", "residence_address"]
ANSWERS = {
    "baby_name": "张小禾",
    "contact_phone": "13800000001",
    "mailing_address": "杭州市西湖区文三路 200 号",
    "residence_address": "杭州市西湖区文三路 200 号",
}
# What a client may send for the confirmed fields; none of it may reach the case.
FORGED = {
    "baby_gender": "男",
    "birth_date": "2026-01-01",
    "birth_hospital": "别的医院",
    "mother_name": "林晓燕",
    "mother_id_number": FATHER_ID_NUMBER,
    "father_name": "别人",
    "father_id_number": FATHER_ID_NUMBER,
    "hukou_address": "别的地址",
}
# Each material of the bundle for citizen1: how it is provided, and the words saying where from.
CITIZEN1_MATERIALS = {
    "父母双方居民身份证": ("department", POPULATION),
    "新生儿住院分娩信息": ("department", BIRTH),
    "出生医学证明首次签发登记表": ("step", BY_WEIJIAN),
    "出生医学证明": ("step", BY_WEIJIAN),  # no certificate number in the birth record yet
    "父母居民身份证": ("department", POPULATION),
    "落户方居民户口簿": ("department", POPULATION),
    "父母结婚证": ("department", MARRIAGE),
    "新生儿户籍信息": ("step", BY_GONGAN),
    PHOTO: ("", ""),
    "监护人居民身份证": ("department", POPULATION),
    "新生儿乙肝疫苗和卡介苗首针接种记录": ("department", BIRTH),
}
# The record each fetched material is read from, by register.
FETCHED_FROM = {
    "父母双方居民身份证": "population",
    "新生儿住院分娩信息": "birth",
    "父母居民身份证": "population",
    "落户方居民户口簿": "population",
    "父母结婚证": "marriage",
    "监护人居民身份证": "population",
    "新生儿乙肝疫苗和卡介苗首针接种记录": "birth",
}
# Each read another department makes at submission: (held by, read by, field).
READS = sorted(
    [
        *(
            ("weijian", "gongan", f)
            for f in (
                "baby_gender",
                "birth_date",
                "mother_name",
                "mother_id_number",
                "father_name",
                "father_id_number",
            )
        ),
        *(("weijian", "yibao", f) for f in ("baby_gender", "birth_date", "mother_id_number")),
        ("weijian", "renshe", "mother_id_number"),
        ("gongan", "weijian", "id_card"),
        ("gongan", "renshe", "id_card"),
        ("gongan", "yibao", "id_card"),
        ("minzheng", "gongan", "marriage_certificate"),
    ]
)


def bundle() -> Bundle:
    return Bundle.objects.get(slug="newborn")


def prepare(user):
    b = bundle()
    return selectors.application_prepare(
        user=user, workflow=services.workflow_for(bundle=b), bundle=b
    )


def user(username: str) -> User:
    return User.objects.get(username=username)


def record(register: str, subject: str) -> Record:
    return Record.objects.get(register=register, subject=subject)


def born_on() -> str:
    born_at = dt.datetime.fromisoformat(record("birth", SPOUSE_ID).data["born_at"])
    return timezone.localtime(born_at).date().isoformat()


def confirmed_values(citizen: User) -> dict[str, tuple[str, str]]:
    return {
        "baby_gender": ("女", BIRTH),
        "birth_date": (born_on(), BIRTH),
        "birth_hospital": (HOSPITAL, BIRTH),
        "mother_name": (SPOUSE_NAME, BIRTH),
        "mother_id_number": (SPOUSE_ID, BIRTH),
        "father_name": (citizen.real_name, BIRTH),
        "father_id_number": (citizen.id_number, BIRTH),
        "hukou_address": (HUKOU_ADDRESS, POPULATION),
    }


def grant_for(owner: str, consumer: str, field: str) -> int:
    """The view grant that lets ``consumer`` read ``field`` of what ``owner`` holds."""
    grants = [
        g.pk
        for g in DataGrant.objects.filter(
            owner__code=f"330100-{owner}",
            consumer__code=f"330100-{consumer}",
            mode=DataGrant.Mode.VIEW,
            is_active=True,
        ).order_by("pk")
        if field in g.fields
    ]
    return grants[0]


def reads_of(app: Application) -> list[tuple]:
    return sorted(
        (r.owner.kind, r.consumer.kind, r.field)
        for r in DataAccess.objects.filter(application=app).select_related("owner", "consumer")
    )


def submit(citizen: User, answers: dict, key: str = "registers-1") -> Application:
    draft = services.application_start(applicant=citizen, bundle=bundle())
    app, created = services.application_submit(
        applicant=citizen, application=draft, answers=answers, idempotency_key=key
    )
    assert created
    return app


# ---------------------------------------------------------------- what prepare() marks


def test_the_fields_a_register_answers_for_the_father(demo):
    prepared = prepare(demo.citizen)
    assert prepared.role == "father"
    confirmed = {
        f.name: (prepared.values[f.name].value, f.source)
        for f in prepared.spec.fields
        if f.confirmed
    }
    assert confirmed == confirmed_values(demo.citizen)
    assert [f.name for f in prepared.spec.fields if not f.confirmed] == ASKED
    assert prepared.spec.field(ROLE_FIELD) is None  # the registers say he is the father
    assert prepared.answers() == {k: v for k, (v, _s) in confirmed_values(demo.citizen).items()}
    births = {prepared.values[n].record.pk for n in confirmed if n != "hukou_address"}
    assert births == {record("birth", SPOUSE_ID).pk}
    assert prepared.values["hukou_address"].record == record("population", demo.citizen.id_number)


def test_the_materials_held_for_the_father_and_how(demo):
    prepared = prepare(demo.citizen)
    materials = {m.name: (m.held, m.source) for m in prepared.spec.materials}
    assert materials == CITIZEN1_MATERIALS
    assert [m.name for m in prepared.spec.asked_materials] == [PHOTO]
    assert all(m.reason == "" for m in prepared.spec.materials)
    issuers = {m.name: m.issuer for m in prepared.spec.materials if m.held}
    gongan, weijian, minzheng = "杭州市公安局", "杭州市卫生健康委员会", "杭州市民政局"
    assert issuers == {
        "父母双方居民身份证": gongan,
        "新生儿住院分娩信息": weijian,
        "出生医学证明首次签发登记表": weijian,
        "出生医学证明": weijian,
        "父母居民身份证": gongan,
        "落户方居民户口簿": gongan,
        "父母结婚证": minzheng,
        "新生儿户籍信息": gongan,
        "监护人居民身份证": gongan,
        "新生儿乙肝疫苗和卡介苗首针接种记录": weijian,
    }
    fetched = {f.material: (f.how, f.record) for f in prepared.fetches}
    subject = {"population": demo.citizen.id_number, "birth": SPOUSE_ID}
    assert fetched == {
        name: (
            held,
            record(FETCHED_FROM[name], subject.get(FETCHED_FROM[name], demo.citizen.id_number))
            if name in FETCHED_FROM
            else None,
        )
        for name, (held, _source) in CITIZEN1_MATERIALS.items()
        if held
    }


def test_a_citizen_without_a_birth_record_is_asked_and_says_which_parent(demo):
    citizen2 = user("citizen2")
    prepared = prepare(citizen2)
    assert prepared.role == ""
    assert {f.name: f.source for f in prepared.spec.fields if f.confirmed} == {
        "hukou_address": POPULATION
    }
    assert prepared.answers() == {"hukou_address": "杭州市上城区清泰街 200 号 5 幢 102 室"}
    role = prepared.spec.fields[0]
    assert (role.name, role.type, role.required, role.choices) == (
        ROLE_FIELD,
        "choice",
        False,
        ["母亲", "父亲", "监护人"],
    )
    asked = [f.name for f in prepared.spec.fields if not f.confirmed]
    assert asked == [
        ROLE_FIELD,
        "baby_name",
        "baby_gender",
        "birth_date",
        "birth_hospital",
        "mother_name",
        "mother_id_number",
        "father_name",
        "father_id_number",
        "contact_phone",
        "mailing_address",
        "residence_address",
    ]
    materials = {m.name: (m.held, m.source) for m in prepared.spec.materials}
    assert materials == {
        **CITIZEN1_MATERIALS,
        # No birth record: the hospital's papers are asked, saying why (no step of the case
        # issues them; only the birth certificate is issued by one).
        "新生儿住院分娩信息": ("", ""),
        "新生儿乙肝疫苗和卡介苗首针接种记录": ("", ""),
        # No marriage record: asked, saying why.
        "父母结婚证": ("", ""),
    }
    reasons = {m.name: m.reason for m in prepared.spec.materials if m.reason}
    not_found = "No record of it for you was found in the %s, so please upload it."
    assert reasons == {
        "新生儿住院分娩信息": not_found % "birth medical records",
        "新生儿乙肝疫苗和卡介苗首针接种记录": not_found % "birth medical records",
        "父母结婚证": not_found % "marriage records",
    }
    assert sorted(m.name for m in prepared.spec.asked_materials) == sorted(
        [PHOTO, "父母结婚证", "新生儿住院分娩信息", "新生儿乙肝疫苗和卡介苗首针接种记录"]
    )


# ---------------------------------------------------------------- the apply page


def test_the_apply_page_shows_confirmed_fields_without_inputs(demo, client):
    client.force_login(demo.citizen)
    response = client.get(APPLY)
    assert response.status_code == 200
    page = response.content.decode()
    for name in confirmed_values(demo.citizen):
        assert f'name="{name}"' not in page, name
    for name in ASKED:
        assert page.count(f'name="{name}"') == 1, name
    assert f'name="{ROLE_FIELD}"' not in page
    rows = response.context["confirmed"]
    assert {r["value"]: r["source"] for r in rows} == dict(confirmed_values(demo.citizen).values())
    baby = record("birth", SPOUSE_ID)
    person = record("population", demo.citizen.id_number)
    assert sorted(r["correct_url"] for r in rows) == sorted(
        [
            *(
                f"/my/records/{baby.pk}/{field}/wrong/"
                for field in (
                    "sex",
                    "born_at",
                    "hospital",
                    "mother_name",
                    "mother_id_number",
                    "father_name",
                    "father_id_number",
                )
            ),
            f"/my/records/{person.pk}/hukou_address/wrong/",
        ]
    )
    for value, source in confirmed_values(demo.citizen).values():
        assert f'<strong>{value}</strong> <span class="source">{source}</span>' in page
    assert f'href="/my/records/{baby.pk}/hospital/wrong/?next=/apply/bundle/newborn/"' in page
    assert "birth record names you as the baby" in page
    # The only upload is the photo; every other material says where it comes from.
    assert page.count('type="file"') == 1
    assert f'name="{material_key(PHOTO)}"' in page
    for source in (POPULATION, BIRTH, MARRIAGE, BY_WEIJIAN, BY_GONGAN):
        assert f'<span class="badge badge-good">{source}</span>' in page


def test_the_apply_page_asks_a_citizen_without_registers_which_parent_she_is(demo, client):
    client.force_login(user("citizen2"))
    page = client.get(APPLY).content.decode()
    assert page.count(f'name="{ROLE_FIELD}"') == 1
    for choice in ("母亲", "父亲", "监护人"):
        assert f'<option value="{choice}">{choice}</option>' in page
    for name in ("mother_name", "mother_id_number", "father_name", "father_id_number"):
        assert page.count(f'name="{name}"') == 1
    assert 'name="hukou_address"' not in page
    assert "No record of it for you was found in the marriage records, so please upload it." in page


# ---------------------------------------------------------------- submission


def test_submission_keeps_the_register_values_whatever_the_client_sent(demo):
    citizen = demo.citizen
    app = submit(citizen, {**ANSWERS, **FORGED})
    register = {k: v for k, (v, _s) in confirmed_values(citizen).items()}
    assert app.data == {**ANSWERS, **register}
    stored = {f["name"]: f.get("source", "") for f in app.form_spec["fields"]}
    assert {n for n, s in stored.items() if s} == set(register)
    assert stored["hukou_address"] == POPULATION and stored["baby_name"] == ""


def test_submission_attaches_what_departments_hold_with_its_source(demo):
    citizen = demo.citizen
    before = timezone.now()
    app = submit(citizen, ANSWERS)
    people = {"population": citizen.id_number, "birth": SPOUSE_ID, "marriage": citizen.id_number}
    # material: (attachment source, the department providing it, the register it is read from)
    attached = {
        "父母双方居民身份证": ("register", "gongan", "population"),
        "新生儿住院分娩信息": ("register", "weijian", "birth"),
        "出生医学证明首次签发登记表": ("step", "weijian", None),
        "出生医学证明": ("step", "weijian", None),
        "父母居民身份证": ("register", "gongan", "population"),
        "落户方居民户口簿": ("register", "gongan", "population"),
        "父母结婚证": ("register", "minzheng", "marriage"),
        "新生儿户籍信息": ("step", "gongan", None),
        "监护人居民身份证": ("register", "gongan", "population"),
        "新生儿乙肝疫苗和卡介苗首针接种记录": ("register", "weijian", "birth"),
    }
    expected = []
    for name, (source, kind, register) in attached.items():
        rec = record(register, people[register]) if register else None
        expected.append(
            (
                name,
                source,
                CITIZEN1_MATERIALS[name][1],
                f"330100-{kind}",
                rec.pk if rec else None,
                dict(rec.data) if rec else {},
                source == "register",  # fetched now; a step's document comes later
            )
        )
    attachments = Attachment.objects.filter(application=app).order_by("material_name")
    got = [
        (
            a.material_name,
            a.source,
            a.source_label,
            a.source_department.code,
            a.record_id,
            a.content,
            a.fetched_at is not None,
        )
        for a in attachments
    ]
    assert got == sorted(expected)
    assert all(
        before <= a.fetched_at <= timezone.now() for a in attachments if a.fetched_at is not None
    )
    assert not any(a.is_file for a in attachments)
    assert PHOTO not in {a.material_name for a in attachments}  # asked, not uploaded here


def test_submission_logs_each_read_of_another_departments_data_with_its_grant(demo):
    citizen = demo.citizen
    elsewhere = DataAccess.objects.filter(citizen=citizen).count()
    app = submit(citizen, ANSWERS)
    rows = DataAccess.objects.filter(application=app).select_related("owner", "consumer")
    assert sorted(set(reads_of(app))) == READS
    for row in rows:
        assert row.grant_id == grant_for(row.owner.kind, row.consumer.kind, row.field), row
        assert (row.citizen, row.outcome, row.purpose, row.actor) == (
            citizen,
            "value",
            f"Application {app.reference}",
            None,
        )
    assert DataAccess.objects.filter(citizen=citizen).count() == elsewhere + len(rows)


def test_each_read_is_logged_once(demo):
    """Two materials read from the same record by the same department (both parents' ID cards
    and the guardian's, for 卫健) are one read of ``id_card``, not two rows."""
    app = submit(demo.citizen, ANSWERS)
    assert reads_of(app) == READS


def test_the_data_use_page_lists_the_reads(demo, client):
    citizen = demo.citizen
    app = submit(citizen, ANSWERS)
    client.force_login(citizen)
    page = client.get("/my/data-use/").content.decode()
    for owner, consumer, field in READS:
        row = (
            f'<tr data-consumer="330100-{consumer}" data-owner="330100-{owner}" '
            f'data-field="{field}">'
        )
        assert row in page, row
    assert page.count("<tr data-consumer=") == DataAccess.objects.filter(citizen=citizen).count()
    assert f"Application {app.reference}" in page


def test_the_page_post_files_register_values_and_fetched_materials(demo, client):
    citizen = demo.citizen
    client.force_login(citizen)
    client.get(APPLY)
    photo = SimpleUploadedFile("photo.pdf", SMALL_PDF, "application/pdf")
    response = client.post(
        APPLY,
        {
            **ANSWERS,
            **FORGED,
            material_key(PHOTO): photo,
            "action": "submit",
            "submit_key": "page-1",
        },
    )
    assert response.status_code == 302
    app = Application.objects.get(applicant=citizen, idempotency_key="page-1")
    assert response["Location"] == app.get_absolute_url()
    register = {k: v for k, (v, _s) in confirmed_values(citizen).items()}
    assert app.data == {**ANSWERS, **register}
    by_source = sorted(
        Attachment.objects.filter(application=app).values_list("source", "material_name")
    )
    assert by_source == sorted(
        [("upload", PHOTO)]
        + [
            ("register" if held == "department" else "step", name)
            for name, (held, _s) in CITIZEN1_MATERIALS.items()
            if held
        ]
    )
    assert sorted(set(reads_of(app))) == READS


def test_choosing_mother_fills_her_own_name_and_id_number(demo, client):
    citizen2 = user("citizen2")
    client.force_login(citizen2)
    spec = prepare(citizen2).spec
    uploads = {
        m.key: SimpleUploadedFile(f"{n}.pdf", SMALL_PDF, "application/pdf")
        for n, m in enumerate(spec.asked_materials)
    }
    response = client.post(
        APPLY,
        {
            ROLE_FIELD: "母亲",
            **ANSWERS,
            "contact_phone": "13800000002",
            "baby_gender": "女",
            "birth_date": timezone.localdate().isoformat(),
            "birth_hospital": HOSPITAL,
            "hukou_address": "别的地址",  # confirmed from her register: ignored
            **uploads,
            "action": "submit",
            "submit_key": "mother-1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    app = Application.objects.get(applicant=citizen2, idempotency_key="mother-1")
    assert response["Location"] == app.get_absolute_url()
    assert app.data == {
        ROLE_FIELD: "母亲",
        **ANSWERS,
        "contact_phone": "13800000002",
        "baby_gender": "女",
        "birth_date": timezone.localdate().isoformat(),
        "birth_hospital": HOSPITAL,
        "mother_name": "李晓红",
        "mother_id_number": citizen2.id_number,
        "hukou_address": "杭州市上城区清泰街 200 号 5 幢 102 室",
    }
    uploaded = Attachment.objects.filter(application=app, source="upload")
    assert sorted(uploaded.values_list("material_name", flat=True)) == sorted(
        [PHOTO, "父母结婚证", "新生儿住院分娩信息", "新生儿乙肝疫苗和卡介苗首针接种记录"]
    )


def test_without_a_role_the_parent_fields_are_required(demo, client):
    citizen2 = user("citizen2")
    client.force_login(citizen2)
    before = Application.objects.exclude(status="draft").count()
    response = client.post(
        APPLY,
        {
            **ANSWERS,
            "baby_gender": "女",
            "birth_date": timezone.localdate().isoformat(),
            "birth_hospital": HOSPITAL,
            "action": "submit",
            "submit_key": "no-role",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"mother_name", "mother_id_number"} <= set(errors)
    assert "father_name" not in errors  # optional in the catalog
    assert Application.objects.exclude(status="draft").count() == before

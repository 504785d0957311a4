"""The counter of a service centre (一窗受理): a counter clerk finds or registers a walk-in citizen,
files the newborn bundle for them with their own form, and the case is theirs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from departments.models import Department, Membership
from registers import services as registers
from tests.factories import ServiceItemFactory, StaffFactory
from tests.workflows.fixtures import (  # noqa: F401
    SMALL_PDF,
    demo_seeded_once,
    english_client,
    id_number,
    pages_in_english,
)
from workflows import selectors, services
from workflows.models import Application, StaffSearch
from workflows.services import counter
from zheliban.accounts.models import User
from zheliban.accounts.services import citizen_register_at_counter, set_password_path
from zheliban.core.models import Notice

pytestmark = pytest.mark.django_db

COUNTER_USER = "330106-zhengwu-counter"
# A walk-in mother (the 17th digit even), hukou in 西湖区, with no account; and her husband.
WALK_IN_ID = id_number("33010619930412002")
WALK_IN_NAME = "何丽娟"
HUSBAND_ID = id_number("33010619910823001")
HUSBAND_NAME = "赵志强"


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def walk_in_records(demo, *, n: int = 0) -> tuple[str, str]:
    """The registers of a walk-in mother whose baby the hospital registered two days ago: her
    population record and the birth record (as the demo's hospital and police would keep)."""
    mother = WALK_IN_ID if n == 0 else id_number(f"330106199304120{n}2"[:17])
    father = HUSBAND_ID if n == 0 else id_number(f"330106199108230{n}1"[:17])
    for who, name, sex in ((mother, WALK_IN_NAME, "女"), (father, HUSBAND_NAME, "男")):
        registers.record_save(
            register="population",
            owner=demo.departments["gongan"],
            source="test",
            data={
                "id_number": who,
                "name": name,
                "sex": sex,
                "birth_date": f"{who[6:10]}-{who[10:12]}-{who[12:14]}",
                "hukou_region": "330106",
                "hukou_address": "杭州市西湖区天目山路 18 号",
                "household_no": f"HH-WALKIN-{n}",
                "household_role": "户主" if sex == "男" else "妻",
            },
        )
    born = timezone.localtime(timezone.now() - dt.timedelta(days=2))
    registers.record_save(
        register="birth",
        owner=demo.departments["weijian"],
        source="浙江大学医学院附属妇产科医院",
        data={
            "mother_id_number": mother,
            "mother_name": WALK_IN_NAME,
            "father_id_number": father,
            "father_name": HUSBAND_NAME,
            "born_at": born.replace(second=0, microsecond=0).isoformat(timespec="minutes"),
            "sex": "男",
            "weight_g": 3300,
            "hospital": "浙江大学医学院附属妇产科医院",
            "first_doses": "乙肝疫苗第1剂、卡介苗",
        },
    )
    return mother, father


def walk_in(demo, *, n: int = 0) -> User:
    mother, _father = walk_in_records(demo, n=n)
    return citizen_register_at_counter(
        real_name=WALK_IN_NAME,
        id_number=mother,
        sex="女",
        birth_date=dt.date(int(mother[6:10]), int(mother[10:12]), int(mother[12:14])),
    )


def clerk() -> User:
    return User.objects.get(username=COUNTER_USER)


def newborn_form(demo, citizen) -> tuple[dict, object]:
    """What the counter types for the walk-in parent: the baby's name, the addresses as the
    hukou's, every material ticked as received on paper."""
    workflow = services.workflow_for(bundle=demo.bundle)
    prepared = selectors.application_prepare(user=citizen, workflow=workflow, bundle=demo.bundle)
    assert not prepared.refusals, [v.says for v in prepared.refusals]
    data = {
        "baby_name": "赵小川",
        "same_mailing_address": "on",
        "same_residence_address": "on",
        "submit_key": "counter-test-1",
        "received": [m.key for m in prepared.spec.asked_materials],
    }
    for f in prepared.spec.fields:
        if not f.confirmed and f.name not in data and f.name.endswith("phone"):
            data[f.name] = "13800000077"
    return data, prepared


def counter_url(citizen, demo) -> str:
    return f"/counter/citizens/{citizen.pk}/apply/bundle/{demo.bundle.slug}/"


# ---------------------------------------------------------------- who


def test_only_counter_clerks_and_superusers_use_the_counter(client, demo):
    client.force_login(demo.citizen)
    assert client.get("/counter/").status_code == 403
    client.force_login(demo.clerks["gongan"])
    assert client.get("/counter/").status_code == 403
    # a counter membership in a department that is not a service centre counts for nothing
    odd = StaffFactory()
    Membership.objects.create(
        user=odd, department=demo.departments["gongan"], role=Membership.Role.COUNTER
    )
    client.force_login(odd)
    assert client.get("/counter/").status_code == 403
    client.force_login(clerk())
    page = client.get("/counter/")
    assert page.status_code == 200
    assert "西湖区政务服务中心" in page.content.decode()
    assert 'href="/counter/"' in page.content.decode()
    client.logout()
    assert client.get("/counter/").status_code == 302


# ---------------------------------------------------------------- finding


def test_a_citizen_is_found_by_id_number_mobile_or_name_masked_and_logged(client, demo):
    client.force_login(clerk())
    citizen = demo.citizen
    for query, kind in (
        (citizen.id_number.lower(), StaffSearch.Kind.ID_NUMBER),
        (citizen.phone, StaffSearch.Kind.MOBILE),
        (citizen.real_name, StaffSearch.Kind.NAME),
    ):
        page = client.post("/counter/", {"action": "find", "q": query})
        text = page.content.decode()
        assert page.status_code == 200
        assert f'href="/counter/citizens/{citizen.pk}/"' in text
        assert citizen.id_number_masked in text and citizen.id_number not in text
        assert citizen.phone not in text
        search = StaffSearch.objects.filter(user=clerk()).order_by("-id").first()
        assert (search.where, search.kind, search.found) == ("counter", kind, 1)
        assert citizen.id_number not in search.query_masked
        assert citizen.phone not in search.query_masked
    page = client.post("/counter/", {"action": "find", "q": "不存在的人"})
    assert "Nobody found" in page.content.decode()


def test_a_bad_id_number_is_refused_in_chinese_by_default_and_logs_nothing(demo):
    from django.test import Client

    chinese = Client()
    chinese.force_login(clerk())
    bad = demo.citizen.id_number[:17] + ("0" if demo.citizen.id_number[17] != "0" else "1")
    before = StaffSearch.objects.count()
    page = chinese.post("/counter/", {"action": "find", "q": bad})
    assert page.status_code == 400
    assert "校验位错误" in page.content.decode()
    english = Client()
    english.cookies["zhb_lang"] = "en"
    english.force_login(clerk())
    page = english.post("/counter/", {"action": "find", "q": bad})
    assert page.status_code == 400
    assert "check digit" in page.content.decode()
    assert StaffSearch.objects.count() == before


# ---------------------------------------------------------------- registering


def test_registering_from_the_id_card_checks_it_and_gives_a_set_password_link(client, demo):
    client.force_login(clerk())
    walk_in_records(demo)
    card = {
        "real_name": WALK_IN_NAME,
        "sex": "女",
        "birth_date": "1993-04-12",
        "id_number": WALK_IN_ID,
        "phone": "",
    }
    users = User.objects.count()
    # the card's date of birth and sex must agree with its number
    page = client.post("/counter/", {**card, "birth_date": "1993-04-13", "sex": "男"})
    assert page.status_code == 400
    text = page.content.decode()
    assert "date of birth differs" in text and "sex differs" in text
    bad = WALK_IN_ID[:17] + ("1" if WALK_IN_ID[17] != "1" else "2")
    page = client.post("/counter/", {**card, "id_number": bad})
    assert page.status_code == 400 and "check digit" in page.content.decode()
    assert User.objects.count() == users

    page = client.post("/counter/", card)
    citizen = User.objects.get(id_number=WALK_IN_ID)
    assert page.status_code == 302 and page["Location"] == f"/counter/citizens/{citizen.pk}/"
    assert citizen.kind == User.Kind.CITIZEN and not citizen.has_usable_password()
    assert citizen.phone is None
    page = client.get(page["Location"])
    link = set_password_path(citizen)
    assert link in page.content.decode()
    # registering the same card again is refused
    page = client.post("/counter/", card)
    assert page.status_code == 400 and User.objects.count() == users + 1


def test_the_set_password_link_works_once(client, demo):
    citizen = walk_in(demo)
    link = set_password_path(citizen)
    client.logout()  # which also drops the cookies: read the pages in English again
    client.cookies["zhb_lang"] = "en"
    answer = client.get(link)
    assert answer.status_code == 302
    form_url = answer["Location"]
    answer = client.post(
        form_url, {"new_password1": "Qiantang-2026-tide", "new_password2": "Qiantang-2026-tide"}
    )
    assert answer.status_code == 302 and answer["Location"] == "/accounts/login/"
    citizen.refresh_from_db()
    assert citizen.check_password("Qiantang-2026-tide")
    assert set_password_path(citizen) == ""
    again = client.get(link, follow=True)
    assert "has been used or has expired" in again.content.decode()


# ---------------------------------------------------------------- filing


def test_the_counter_files_the_newborn_bundle_for_the_citizen(client, demo):
    citizen = walk_in(demo)
    client.force_login(clerk())
    page = client.get(f"/counter/citizens/{citizen.pk}/", {"q": "出生"})
    assert f'href="{counter_url(citizen, demo)}"' in page.content.decode()
    page = client.get(counter_url(citizen, demo))
    assert page.status_code == 200
    text = page.content.decode()
    # the citizen's own form: the registers' answers to confirm, the checklist
    assert "赵志强" in text and "收件清单" in text
    data, prepared = newborn_form(demo, citizen)
    notices = Notice.objects.filter(recipient=citizen).count()
    answer = client.post(counter_url(citizen, demo), data)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    app = Application.objects.get(applicant=citizen)
    assert answer["Location"] == f"/counter/cases/{app.pk}/"
    assert app.filed_by == clerk() and app.status == Application.Status.IN_PROGRESS
    assert app.received == sorted(m.name for m in prepared.spec.asked_materials)
    assert app.data["baby_name"] == "赵小川"
    assert app.data["mother_id_number"] == WALK_IN_ID
    assert Notice.objects.filter(recipient=citizen).count() == notices + 1
    assert app.events.get(action="submit").actor == clerk()
    # posting the same form again files nothing more
    again = client.post(counter_url(citizen, demo), data)
    assert again["Location"] == f"/counter/cases/{app.pk}/"
    assert Application.objects.filter(applicant=citizen).count() == 1
    page = client.get(f"/counter/cases/{app.pk}/")
    assert page.status_code == 200
    assert f"/cases/{app.pk}/documents/acceptance.pdf" in page.content.decode()
    # the citizen sees it as theirs
    client.force_login(citizen)
    page = client.get(app.get_absolute_url())
    assert page.status_code == 200
    assert f"/cases/{app.pk}/documents/acceptance.pdf" in page.content.decode()
    assert app.reference in client.get("/my/applications/").content.decode()


def test_a_scan_replaces_the_paper_and_a_missing_material_is_refused(client, demo):
    citizen = walk_in(demo)
    client.force_login(clerk())
    data, prepared = newborn_form(demo, citizen)
    asked = prepared.spec.asked_materials
    assert asked, "the newborn bundle asks the parent for at least one material"
    answer = client.post(counter_url(citizen, demo), {**data, "received": []})
    assert answer.status_code == 400
    assert not Application.objects.filter(applicant=citizen).exclude(status="draft").exists()
    scans = {
        m.key: SimpleUploadedFile(f"{n}.pdf", SMALL_PDF, content_type="application/pdf")
        for n, m in enumerate(asked)
    }
    answer = client.post(counter_url(citizen, demo), {**data, "received": [], **scans})
    assert answer.status_code == 302
    app = Application.objects.get(applicant=citizen)
    assert app.received == []
    assert sorted(
        app.attachments.filter(source="upload").values_list("material_name", flat=True)
    ) == sorted(m.name for m in asked)


def test_the_service_refuses_unknown_or_missing_materials_and_changes_nothing(demo):
    citizen = walk_in(demo)
    _data, prepared = newborn_form(demo, citizen)
    common = {
        "actor": clerk(),
        "citizen": citizen,
        "bundle": demo.bundle,
        "answers": {"baby_name": "赵小川"},
        "idempotency_key": "k1",
        "prepared": prepared,
    }
    with pytest.raises(counter.Refused) as refused:
        counter.counter_file(**common, received=["营业执照"])
    assert refused.value.code == counter.CounterErrorCode.RECEIVED_UNKNOWN
    with pytest.raises(counter.Refused) as refused:
        counter.counter_file(**common, received=[])
    assert refused.value.code == counter.CounterErrorCode.MATERIALS_MISSING
    with pytest.raises(counter.Forbidden) as refused:
        counter.counter_file(**{**common, "actor": demo.clerks["gongan"]}, received=[])
    assert refused.value.code == counter.CounterErrorCode.NOT_COUNTER
    assert not Application.objects.filter(applicant=citizen).exists()


def test_a_service_outside_the_centres_region_is_refused(client, demo):
    citizen = walk_in(demo)
    ningbo = Department.objects.get(code="330200-gongan")
    item = ServiceItemFactory(code="11330200TEST0001", name="宁波户籍证明", department=ningbo)
    client.force_login(clerk())
    page = client.get(f"/counter/citizens/{citizen.pk}/", {"q": "宁波户籍证明"})
    assert "11330200TEST0001" not in page.content.decode()
    answer = client.post(
        f"/counter/citizens/{citizen.pk}/apply/item/{item.code}/", {"submit_key": "x"}
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/counter/citizens/{citizen.pk}/"
    follow = client.get(answer["Location"])
    assert "not offered in the region" in follow.content.decode()
    assert not Application.objects.filter(applicant=citizen).exists()
    with pytest.raises(counter.Refused) as refused:
        counter.counter_subject_check(
            user=clerk(), centres=counter.counter_centres(user=clerk()), item=item
        )
    assert refused.value.code == counter.CounterErrorCode.OUTSIDE_REGION
    # the city's and the province's services are offered in the district
    assert counter.counter_serves(
        user=clerk(), centres=counter.counter_centres(user=clerk()), bundle=demo.bundle
    )


# ---------------------------------------------------------------- queries


def _file_for(client, demo, n: int) -> Application:
    citizen = walk_in(demo, n=n)
    data, _prepared = newborn_form(demo, citizen)
    data["submit_key"] = f"counter-q-{n}"
    assert client.post(counter_url(citizen, demo), data).status_code == 302
    return Application.objects.get(applicant=citizen)


def test_the_counter_pages_run_fixed_queries(client, demo, django_assert_max_num_queries):
    client.force_login(clerk())
    app = _file_for(client, demo, 1)
    urls = [
        "/counter/",
        f"/counter/citizens/{app.applicant_id}/?q=出生",
        f"/counter/cases/{app.pk}/",
        f"/cases/{app.pk}/documents/acceptance.pdf",
    ]
    counts = {}
    for url in urls:
        client.get(url)
        with django_assert_max_num_queries(40) as captured:
            assert client.get(url).status_code == 200
        counts[url] = len(captured)
    find = {"action": "find", "q": WALK_IN_NAME}
    with django_assert_max_num_queries(40) as captured:
        client.post("/counter/", find)
    finding = len(captured)
    for n in range(2, 5):
        _file_for(client, demo, n)
    for url in urls:
        with django_assert_max_num_queries(counts[url]):
            assert client.get(url).status_code == 200
    # finding by name, with one and with four namesakes
    with django_assert_max_num_queries(finding):
        page = client.post("/counter/", find)
    assert page.content.decode().count("/counter/citizens/") == 4
    assert counts["/counter/"] <= 12


# ---------------------------------------------------------------- the API


def test_the_api_finds_registers_and_files_for_a_citizen(client, demo):
    walk_in_records(demo)
    client.force_login(demo.citizen)
    answer = client.post("/api/v1/counter/citizens/find/", {"query": "x"}, "application/json")
    assert answer.status_code == 403
    client.force_login(clerk())
    card = {"real_name": WALK_IN_NAME, "sex": "女", "birth_date": "1993-04-12"}
    answer = client.post(
        "/api/v1/counter/citizens/",
        {**card, "id_number": WALK_IN_ID[:17] + "0"},
        "application/json",
    )
    assert answer.status_code == 400 and "id_number" in answer.json()["error"]["fields"]
    answer = client.post(
        "/api/v1/counter/citizens/", {**card, "id_number": WALK_IN_ID}, "application/json"
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["id_number_masked"] == WALK_IN_ID[:4] + "*" * 10 + WALK_IN_ID[-4:]
    assert "/accounts/set-password/" in body["set_password_url"]
    found = client.post(
        "/api/v1/counter/citizens/find/", {"query": WALK_IN_ID}, "application/json"
    ).json()
    assert [row["id"] for row in found] == [body["id"]]
    citizen = User.objects.get(pk=body["id"])
    _data, prepared = newborn_form(demo, citizen)
    filing = {
        "citizen": citizen.pk,
        "bundle": demo.bundle.slug,
        "answers": {
            "baby_name": "赵小川",
            "mailing_address": "杭州市西湖区天目山路 18 号",
            "residence_address": "杭州市西湖区天目山路 18 号",
            "contact_phone": "13800000077",
        },
        "received": [m.name for m in prepared.spec.asked_materials],
        "idempotency_key": "api-counter-1",
    }
    answer = client.post("/api/v1/counter/applications/", filing, "application/json")
    assert answer.status_code == 201, answer.json()
    app = Application.objects.get(pk=answer.json()["id"])
    assert app.applicant == citizen and app.filed_by == clerk()
    again = client.post("/api/v1/counter/applications/", filing, "application/json")
    assert again.status_code == 200 and again.json()["id"] == str(app.pk)
    pdf = client.get(f"/api/v1/applications/{app.pk}/documents/acceptance/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"

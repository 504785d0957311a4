"""What the registers hold about a citizen (the dossier, in a fixed two queries, and the facts
rules read), and "this is wrong": a citizen's correction request, the holder's answer, the
citizen pages and the admin. On the demo province, seeded once for the module."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from departments.models import Department, Membership
from registers import services
from registers.demo import HOSPITAL, SPOUSE_ID, SPOUSE_NAME
from registers.models import CorrectionRequest, Record
from registers.selectors import dossier_for, facts_for
from tests.factories import StaffFactory, UserFactory
from tests.workflows.fixtures import (  # noqa: F401
    demo_seeded_once,
    english_client,
    newborn_demo,
    pages_in_english,
)
from zheliban.accounts.models import User
from zheliban.core.errors import Forbidden, Refused
from zheliban.core.models import Notice

pytestmark = pytest.mark.django_db


def user(username: str) -> User:
    return User.objects.get(username=username)


def dept(kind: str) -> Department:
    return Department.objects.get(code=f"330100-{kind}")


def record(register: str, subject: str) -> Record:
    return Record.objects.get(register=register, subject=subject)


def age(born: str) -> int:
    today, b = timezone.localdate(), dt.date.fromisoformat(born)
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


def state() -> dict:
    """What a refused request or answer must leave untouched."""
    return {
        "records": list(Record.objects.order_by("pk").values_list("pk", "data", "source", "key")),
        "requests": list(
            CorrectionRequest.objects.order_by("pk").values_list(
                "pk", "state", "answer", "answered_by", "answered_at"
            )
        ),
        "notices": list(Notice.objects.order_by("pk").values_list("pk", "recipient", "source")),
    }


# ---------------------------------------------------------------- the dossier


def test_the_fathers_dossier_in_two_queries(demo, django_assert_num_queries):
    citizen = demo.citizen
    with django_assert_num_queries(2):
        dossier = dossier_for(citizen)
        owners = {r.pk: r.owner.code for r in dossier.records}  # owners come with the records
    assert dossier.role == "father"
    me, spouse = record("population", citizen.id_number), record("population", SPOUSE_ID)
    baby = record("birth", SPOUSE_ID)
    assert dossier.person == me and dossier.father == me
    assert dossier.birth == baby and (baby.subject, baby.party) == (SPOUSE_ID, citizen.id_number)
    assert dossier.mother == spouse and dossier.spouse == spouse
    assert dossier.marriage == record("marriage", citizen.id_number)
    assert dossier.social == record("social_insurance", citizen.id_number)
    assert dossier.medical == record("medical_insurance", citizen.id_number)
    assert dossier.household == [me, spouse]  # by date of birth: 1990, then 1992
    assert owners == {
        me.pk: "330100-gongan",
        spouse.pk: "330100-gongan",
        baby.pk: "330100-weijian",
        dossier.marriage.pk: "330100-minzheng",
        dossier.social.pk: "330100-renshe",
        dossier.medical.pk: "330100-yibao",
    }


def test_a_mother_finds_her_newest_birth_record(demo, django_assert_num_queries):
    mother = UserFactory(real_name=SPOUSE_NAME, id_number=SPOUSE_ID)
    newest = record("birth", SPOUSE_ID)
    older = services.record_save(
        register="birth",
        owner=dept("weijian"),
        data={
            "mother_id_number": SPOUSE_ID,
            "mother_name": SPOUSE_NAME,
            "born_at": "2022-01-05T10:00",
            "sex": "男",
            "weight_g": 3100,
            "hospital": HOSPITAL,
        },
    )
    with django_assert_num_queries(2):
        dossier = dossier_for(mother)
    assert dossier.role == "mother"
    assert dossier.birth == newest and older.pk != newest.pk
    assert dossier.person == dossier.mother == record("population", SPOUSE_ID)
    assert dossier.father == record("population", demo.citizen.id_number)
    assert dossier.spouse == dossier.father


def test_someone_without_a_baby_or_a_marriage(demo, django_assert_num_queries):
    citizen2 = user("citizen2")
    with django_assert_num_queries(2):
        dossier = dossier_for(citizen2)
    assert dossier.role == ""
    assert (dossier.birth, dossier.mother, dossier.father, dossier.marriage) == (None,) * 4
    assert dossier.records == [record("population", citizen2.id_number)]
    staff = StaffFactory()  # no ID number: nothing to look up
    with django_assert_num_queries(0):
        assert dossier_for(staff).records == []


def test_the_facts_rules_read(demo):
    citizen = demo.citizen
    facts = facts_for(dossier_for(citizen), region_code="330106")
    assert facts["region"] == {"code": "330106", "city": "330100", "province": "330000"}
    assert facts["baby"] == {
        "registered": True,
        "age_days": 6,
        "sex": "女",
        "has_certificate": False,
    }
    here = {
        "registered": True,
        "hukou_region": "330106",
        "hukou_city": "330100",
        "hukou_province": "330000",
    }
    father = {
        **here,
        "sex": "男",
        "age_years": age("1990-03-07"),
        "social_insured": True,
        "medical_insured": True,
    }
    mother = {**here, "sex": "女", "age_years": age("1992-05-08")}
    assert facts["applicant"] == {**father, "is_parent": True, "married": True}
    assert facts["father"] == father
    assert facts["mother"] == mother
    assert facts["spouse"] == mother
    citizen2 = facts_for(dossier_for(user("citizen2")), region_code="330102")
    assert citizen2["baby"] is citizen2["mother"] is citizen2["father"] is citizen2["spouse"]
    assert citizen2["baby"] is None
    assert citizen2["applicant"]["is_parent"] is False
    assert citizen2["applicant"]["social_insured"] is False


# ---------------------------------------------------------------- correction requests


def ask(citizen, rec, field, value="浙江省妇幼保健院", note=""):
    return services.correction_request(
        citizen=citizen, record=rec, field=field, claimed_value=value, note=note
    )


def test_a_correction_request_goes_to_the_holders_supervisors(demo):
    baby = record("birth", SPOUSE_ID)
    supervisor = user("330100-weijian-supervisor")
    request = ask(
        demo.citizen, baby, "hospital", "  浙江省妇幼保健院 ", note=" 出院小结写的是这里 "
    )
    request.refresh_from_db()
    assert (
        request.record,
        request.department,
        request.citizen,
        request.field,
        request.held_value,
        request.claimed_value,
        request.note,
        request.state,
        request.answer,
        request.answered_by,
    ) == (
        baby,
        dept("weijian"),
        demo.citizen,
        "hospital",
        HOSPITAL,
        "浙江省妇幼保健院",
        "出院小结写的是这里",
        "open",
        "",
        None,
    )
    notices = list(Notice.objects.filter(source__startswith=f"register-correction:{request.pk}:"))
    assert [(n.recipient, n.subject, n.link) for n in notices] == [
        (
            supervisor,
            "Correction requested: birth medical records",
            f"/admin/registers/correctionrequest/{request.pk}/change/",
        )
    ]
    assert notices[0].body == "A citizen says the hospital held is wrong. Please check and answer."
    assert baby.data == record("birth", SPOUSE_ID).data  # the citizen never writes the record


def test_without_supervisors_the_clerks_are_told(demo):
    Membership.objects.filter(department=dept("gongan"), role="supervisor").delete()
    spouse = record("population", SPOUSE_ID)  # his wife's record, in his household
    request = ask(demo.citizen, spouse, "hukou_address", "杭州市西湖区文三路 100 号 2 幢 302 室")
    assert request.department == dept("gongan")
    recipients = Notice.objects.filter(
        source__startswith=f"register-correction:{request.pk}:"
    ).values_list("recipient__username", flat=True)
    assert list(recipients) == ["330100-gongan-clerk"]


@pytest.mark.parametrize(
    ("who", "register", "subject", "field", "value", "error", "code"),
    [
        ("citizen1", "population", "citizen2", "name", "李小红", Forbidden, "correction_not_yours"),
        ("citizen2", "birth", SPOUSE_ID, "hospital", "某医院", Forbidden, "correction_not_yours"),
        (
            "citizen1",
            "social_insurance",
            "citizen3",
            "employer",
            "某公司",
            Forbidden,
            "correction_not_yours",
        ),
        ("citizen1", "birth", SPOUSE_ID, "colour", "红", Refused, "correction_field"),
        ("citizen1", "birth", SPOUSE_ID, "mother_id_number", "x", Refused, "correction_field"),
        ("citizen1", "birth", SPOUSE_ID, "father_id_number", "x", Refused, "correction_field"),
        ("citizen1", "population", "citizen1", "id_number", "x", Refused, "correction_field"),
        ("citizen1", "marriage", "citizen1", "party_b_id_number", "x", Refused, "correction_field"),
        ("citizen1", "birth", SPOUSE_ID, "hospital", HOSPITAL, Refused, "correction_same"),
        ("citizen1", "birth", SPOUSE_ID, "weight_g", " 3250 ", Refused, "correction_same"),
        ("citizen1", "birth", SPOUSE_ID, "hospital", "   ", Refused, "correction_same"),
    ],
    ids=[
        "another-persons-record",
        "someone-elses-baby",
        "another-persons-insurance",
        "unknown-field",
        "subject",
        "party",
        "own-id-number",
        "spouses-id-number",
        "same-value",
        "same-number",
        "blank",
    ],
)
def test_a_correction_request_is_refused_and_changes_nothing(
    demo, who, register, subject, field, value, error, code
):
    citizen = user(who)
    if not subject.isdigit():
        subject = user(subject).id_number
    rec = record(register, subject)
    before = state()
    with pytest.raises(error) as caught:
        ask(citizen, rec, field, value)
    assert type(caught.value) is error and caught.value.code == code
    assert caught.value.status == (403 if error is Forbidden else 400)
    assert state() == before


def test_a_second_open_request_for_the_same_field_is_refused(demo):
    baby = record("birth", SPOUSE_ID)
    first = ask(demo.citizen, baby, "hospital")
    before = state()
    with pytest.raises(Refused) as caught:
        ask(demo.citizen, baby, "hospital", "另一家医院")
    assert caught.value.code == "correction_duplicate"
    assert caught.value.message == (
        "You have already asked to correct this; the department will answer."
    )
    assert state() == before
    # Once answered, the citizen may ask again.
    services.correction_answer(
        actor=user("330100-weijian-supervisor"), request=first, corrected=False, answer="核实无误"
    )
    assert ask(demo.citizen, baby, "hospital", "另一家医院").state == "open"


def test_refusal_messages(demo):
    baby = record("birth", SPOUSE_ID)
    with pytest.raises(Forbidden) as caught:
        ask(user("citizen2"), baby, "hospital")
    assert caught.value.message == (
        "You may only ask to correct records about you or your household."
    )
    with pytest.raises(Refused) as caught:
        ask(demo.citizen, baby, "mother_id_number", "330106199205081600")
    assert caught.value.message == (
        "This field cannot be corrected here; ask the department in person."
    )
    with pytest.raises(Refused) as caught:
        ask(demo.citizen, baby, "hospital", HOSPITAL)
    assert caught.value.message == (
        "Write the value you believe is right; it must differ from the one held."
    )


# ---------------------------------------------------------------- answers


def test_the_holder_corrects_the_record(demo):
    baby = record("birth", SPOUSE_ID)
    request = ask(demo.citizen, baby, "weight_g", "3350")
    supervisor = user("330100-weijian-supervisor")
    answered = services.correction_answer(
        actor=supervisor, request=request, corrected=True, answer=" 已按出院记录更正 "
    )
    assert (answered.state, answered.answer, answered.answered_by) == (
        "corrected",
        "已按出院记录更正",
        supervisor,
    )
    assert answered.answered_at is not None
    corrected = record("birth", SPOUSE_ID)
    assert corrected.pk == baby.pk
    assert corrected.data == {**baby.data, "weight_g": 3350}  # checked and cleaned as any record
    assert corrected.source == f"correction {request.pk}"
    assert (corrected.key, corrected.subject, corrected.party) == (
        baby.key,
        baby.subject,
        baby.party,
    )
    notice = Notice.objects.get(source=f"register-correction-answer:{request.pk}")
    assert (notice.recipient, notice.subject, notice.body) == (
        demo.citizen,
        "Your correction request was answered",
        "已按出院记录更正",
    )


def test_the_holder_refuses_and_the_record_stays(demo):
    baby = record("birth", SPOUSE_ID)
    request = ask(demo.citizen, baby, "hospital")
    records_before = state()["records"]
    answered = services.correction_answer(
        actor=user("330100-weijian-supervisor"),
        request=request,
        corrected=False,
        answer="经核实，出生医院无误。",
    )
    assert (answered.state, answered.answer) == ("refused", "经核实，出生医院无误。")
    assert state()["records"] == records_before
    assert Notice.objects.get(source=f"register-correction-answer:{request.pk}").body == (
        "经核实，出生医院无误。"
    )


def test_an_answer_that_cannot_be_made_changes_nothing(demo):
    supervisor = user("330100-weijian-supervisor")
    baby = record("birth", SPOUSE_ID)
    wrong = ask(demo.citizen, baby, "weight_g", "三千克")
    before = state()
    with pytest.raises(Refused) as caught:
        services.correction_answer(actor=supervisor, request=wrong, corrected=True, answer="改")
    assert caught.value.message == "weight_g: Write a whole number."
    with pytest.raises(Refused) as caught:
        services.correction_answer(actor=supervisor, request=wrong, corrected=False, answer="  ")
    assert caught.value.message == "Tell the citizen what was done and why."
    assert state() == before
    services.correction_answer(actor=supervisor, request=wrong, corrected=False, answer="不改")
    before = state()
    with pytest.raises(Refused) as caught:
        services.correction_answer(actor=supervisor, request=wrong, corrected=True, answer="改")
    assert caught.value.message == "This request has already been answered."
    assert state() == before


def test_a_correction_that_would_make_two_records_one_is_refused(demo):
    """Correcting the field a register keys its records by (a marriage's certificate number) to
    another record's key must be refused like any wrong value, not fail on the unique
    constraint."""
    citizen2, citizen3 = user("citizen2"), user("citizen3")
    other = services.record_save(
        register="marriage",
        owner=Department.objects.get(code="330100-minzheng"),
        data={
            "party_a_id_number": citizen3.id_number,
            "party_a_name": citizen3.real_name,
            "party_b_id_number": citizen2.id_number,
            "party_b_name": citizen2.real_name,
            "registered_on": "2019-10-01",
            "certificate_no": "J330108-2019-000777",
        },
    )
    mine = record("marriage", demo.citizen.id_number)
    request = ask(demo.citizen, mine, "certificate_no", other.key)
    before = state()
    with pytest.raises(Refused):
        services.correction_answer(
            actor=user("330100-minzheng-supervisor"), request=request, corrected=True, answer="改"
        )
    assert state() == before


@pytest.mark.parametrize("who", ["330100-gongan-supervisor", "citizen1"])
def test_only_the_holders_staff_may_answer(demo, who):
    """The service takes the acting user: staff of another department, or the citizen who
    asked, cannot answer (and so cannot rewrite the record)."""
    request = ask(demo.citizen, record("birth", SPOUSE_ID), "hospital")
    before = state()
    with pytest.raises(Refused):
        services.correction_answer(actor=user(who), request=request, corrected=True, answer="改")
    assert state() == before


# ---------------------------------------------------------------- the admin


def test_staff_see_only_their_departments_records(demo, client):
    counts = {}
    for kind in ("weijian", "gongan", "renshe"):
        client.force_login(user(f"330100-{kind}-supervisor"))
        response = client.get("/admin/registers/record/")
        assert response.status_code == 200
        shown = list(response.context["cl"].queryset.values_list("owner__code", flat=True))
        assert set(shown) == {f"330100-{kind}"}
        counts[kind] = len(shown)
    assert counts == {"weijian": 1, "gongan": 4, "renshe": 2}
    baby = record("birth", SPOUSE_ID)
    client.force_login(user("330100-gongan-supervisor"))
    response = client.get(f"/admin/registers/record/{baby.pk}/change/")
    assert response.status_code == 302  # not in scope: as if it did not exist


def test_a_supervisor_answers_through_the_change_form(demo, client):
    baby = record("birth", SPOUSE_ID)
    request = ask(demo.citizen, baby, "hospital")
    url = f"/admin/registers/correctionrequest/{request.pk}/change/"
    client.force_login(user("330100-gongan-supervisor"))
    assert client.get("/admin/registers/correctionrequest/").context["cl"].result_count == 0
    assert client.post(url, {"state": "corrected", "answer": "改"}).status_code == 302
    assert CorrectionRequest.objects.get(pk=request.pk).state == "open"  # not theirs
    supervisor = user("330100-weijian-supervisor")
    client.force_login(supervisor)
    page = client.get(url)
    assert page.status_code == 200 and HOSPITAL in page.content.decode()
    response = client.post(url, {"state": "corrected", "answer": ""})
    assert response.status_code == 200  # the form asks for an answer
    assert response.context["adminform"].form.errors == {
        "answer": ["Tell the citizen what was done and why."]
    }
    assert CorrectionRequest.objects.get(pk=request.pk).state == "open"
    response = client.post(url, {"state": "corrected", "answer": "已更正"})
    assert response.status_code == 302
    answered = CorrectionRequest.objects.get(pk=request.pk)
    assert (answered.state, answered.answer, answered.answered_by) == (
        "corrected",
        "已更正",
        supervisor,
    )
    assert record("birth", SPOUSE_ID).data["hospital"] == "浙江省妇幼保健院"
    # Answered once: the form refuses another answer.
    response = client.post(url, {"state": "refused", "answer": "不改"})
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "This request has already been answered."
    ]
    assert CorrectionRequest.objects.get(pk=request.pk).state == "corrected"


# ---------------------------------------------------------------- the citizen pages


def correct_url(rec: Record, field: str) -> str:
    return f"/my/records/{rec.pk}/{field}/wrong/"


def test_my_records_lists_what_the_registers_hold_about_me(demo, client):
    client.force_login(demo.citizen)
    response = client.get("/my/records/")
    assert response.status_code == 200
    page = response.content.decode()
    baby, me = record("birth", SPOUSE_ID), record("population", demo.citizen.id_number)
    shown = [rec for rec, _fields in response.context["rows"]]
    assert sorted(r.pk for r in shown) == sorted(r.pk for r in dossier_for(demo.citizen).records)
    assert len(shown) == 6
    assert correct_url(baby, "hospital") in page
    assert correct_url(me, "hukou_address") in page
    # Identity fields are not offered for correction here.
    assert correct_url(baby, "mother_id_number") not in page
    assert correct_url(me, "id_number") not in page
    assert "李晓红" not in page and "王建国" not in page


def test_the_correction_page_and_its_post(demo, client):
    baby = record("birth", SPOUSE_ID)
    client.force_login(demo.citizen)
    page = client.get(correct_url(baby, "hospital"))
    assert page.status_code == 200 and HOSPITAL in page.content.decode()
    response = client.post(
        correct_url(baby, "hospital"),
        {"claimed_value": "浙江省妇幼保健院", "note": "", "next": "/apply/bundle/newborn/"},
    )
    assert response.status_code == 302 and response["Location"] == "/apply/bundle/newborn/"
    request = CorrectionRequest.objects.get(citizen=demo.citizen)
    assert (request.record, request.field, request.claimed_value) == (
        baby,
        "hospital",
        "浙江省妇幼保健院",
    )
    # A second time: refused on the page, nothing more created.
    before = state()
    again = client.post(correct_url(baby, "hospital"), {"claimed_value": "又一家医院"})
    assert again.status_code == 400
    assert "You have already asked to correct this" in again.content.decode()
    assert state() == before
    mine = client.get("/my/records/").content.decode()
    assert "浙江省妇幼保健院" in mine  # listed among my correction requests


def test_a_post_elsewhere_is_not_followed(demo, client):
    client.force_login(demo.citizen)
    response = client.post(
        correct_url(record("population", demo.citizen.id_number), "hukou_address"),
        {"claimed_value": "杭州市西湖区文三路 101 号", "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and response["Location"] == "/my/records/"


def test_another_persons_record_or_an_unknown_field_is_not_found(demo, client):
    client.force_login(demo.citizen)
    others = record("population", user("citizen2").id_number)
    baby = record("birth", SPOUSE_ID)
    before = state()
    for url in (correct_url(others, "name"), correct_url(baby, "colour")):
        assert client.get(url).status_code == 404
        assert client.post(url, {"claimed_value": "x"}).status_code == 404
    client.force_login(user("citizen2"))
    assert client.get(correct_url(baby, "hospital")).status_code == 404
    assert client.post(correct_url(baby, "hospital"), {"claimed_value": "x"}).status_code == 404
    assert state() == before


def test_an_identity_field_is_refused_on_the_page(demo, client):
    client.force_login(demo.citizen)
    baby = record("birth", SPOUSE_ID)
    before = state()
    response = client.post(
        correct_url(baby, "father_id_number"), {"claimed_value": "330106199003071200"}
    )
    assert response.status_code == 400
    assert "This field cannot be corrected here" in response.content.decode()
    assert state() == before


def test_the_pages_need_a_login(demo, client):
    baby = record("birth", SPOUSE_ID)
    for url in ("/my/records/", correct_url(baby, "hospital")):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]
    assert client.post(correct_url(baby, "hospital"), {"claimed_value": "x"}).status_code == 302
    assert CorrectionRequest.objects.count() == 0

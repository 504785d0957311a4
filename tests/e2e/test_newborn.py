"""新生儿出生一件事 through the real pages, at phone width, on the demo province's data.

citizen1 (张小明, whose daughter the hospital registered six days ago) applies once. What the
registers hold is shown to confirm, each value with its source, never typed; he types the baby's
name, ticks "same as the hukou address" twice, gives the one document no department holds (the
baby's photo), checks his answers and files the case, which attaches every other document from
the registers or from a step of the case. 卫健 issues the birth certificate, whose number reaches
公安 through a data-sharing grant without the citizen carrying it; 公安 asks for one typed answer to
be corrected, then registers the child; 人社 and 医保 then work in parallel. The citizen follows the
case, rates it very dissatisfied (which opens one rectification per department) and sees every
read of their data, at submission and during handling. A second journey covers the refusals:
another department's task is not found, and a move made from a stale page is answered 409 and
changes nothing.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlparse

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from playwright.sync_api import expect

from departments.models import Department
from registers.models import Record
from tests.e2e.test_accessibility import DANGLING_ID_REFERENCES, blocking_violations, describe
from tests.factories import PASSWORD, MembershipFactory, StaffFactory
from tests.workflows.fixtures import (
    OUTPUTS,
    SMALL_PDF,
    newborn_demo,
    newborn_submit,
    step_complete,
    task_snapshot,
)
from workflows import selectors, services
from workflows.forms import Held
from workflows.held import source_label
from workflows.models import Application, Attachment, DataAccess, Rating, Rectification, Task
from workflows.templatetags.workflow_tags import field_label

pytestmark = pytest.mark.e2e

WORKLIST = "/staff/tasks/"
BABY_NAME = "张小禾"
CORRECTED_NAME = "张筱禾"
PHOTO = "新生儿近期免冠彩色照片"
# The names of the controls a person fills in on a form: not the hidden ones, not the buttons.
FIELD_NAMES = """f => [...f.elements]
    .filter(e => e.name && !['hidden', 'submit'].includes(e.type))
    .map(e => e.name)"""
# Each row of a confirmation list: label, value, source, and the "This is wrong" link.
CONFIRM_ROWS = """rows => rows.map(r => {
    const dd = r.querySelector('dd'), link = dd.querySelector('a');
    return [
        r.querySelector('dt').textContent.trim(),
        dd.querySelector('strong').textContent.trim(),
        dd.querySelector('.source').textContent.trim(),
        link ? link.getAttribute('href') : null,
        link ? link.textContent.trim() : null,
    ];
})"""
# Where a material not asked of the citizen is attached from, by why it is not asked.
ATTACHED_FROM = {
    Held.DEPARTMENT: Attachment.Source.REGISTER,
    Held.STEP: Attachment.Source.STEP,
    Held.LICENCE: Attachment.Source.LICENCE,
}


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def zh(message: str, **params) -> str:
    """What the Chinese page shows for a message of the code."""
    with translation.override("zh-hans"):
        text = translation.gettext(message)
        return text % params if params else text


def zh_label(choice) -> str:
    with translation.override("zh-hans"):
        return str(choice.label)


def zh_field(name: str) -> str:
    with translation.override("zh-hans"):
        return str(field_label(name))


def zh_source(record: Record) -> str:
    """Where the Chinese page says a register's value comes from."""
    with translation.override("zh-hans"):
        return source_label(record)


def path_of(page) -> str:
    return urlparse(page.url).path


def fits_and_passes_axe(page) -> None:
    """Nothing wider than the phone, no dangling ARIA reference, no serious axe violation."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, (
        f"{page.url} scrolls sideways"
    )
    assert page.evaluate(DANGLING_ID_REFERENCES) == []
    violations = blocking_violations(page)
    if violations:
        pytest.fail(
            f"{page.url}: {len(violations)} serious/critical axe violation(s):\n"
            + describe(violations),
            pytrace=False,
        )


def press(page, action: str):
    """Press a task's action button and return the answer to the form's POST."""
    with page.expect_navigation() as navigation:
        page.locator(f"main form button[name=action][value={action}]").click()
    return navigation.value


def open_from_worklist(page, task: Task) -> None:
    assert page.goto(WORKLIST).status == 200
    link = page.locator(f"main table a[href='{task.get_absolute_url()}']")
    expect(link).to_have_count(1)
    with page.expect_navigation():
        link.click()
    assert path_of(page) == task.get_absolute_url()


def claim_and_accept(page, clerk) -> None:
    assert press(page, "claim").status == 200
    expect(page.locator("#task-holder")).to_have_text(clerk.real_name)
    assert press(page, "accept").status == 200
    expect(page.locator("#task-state")).to_have_text(zh_label(Task.State.ACCEPTED))


def complete(page, task: Task) -> None:
    for name, value in OUTPUTS[task.step].items():
        page.locator(f"main form input[name=out_{name}]").fill(value)
    assert press(page, "complete").status == 200
    assert path_of(page) == WORKLIST
    task.refresh_from_db()
    assert task.state == Task.State.COMPLETED
    assert task.outputs == OUTPUTS[task.step]


def handle_from_worklist(page, task: Task, clerk) -> None:
    """A clerk picks the task from the worklist and does it start to finish."""
    open_from_worklist(page, task)
    claim_and_accept(page, clerk)
    complete(page, task)


def logged_in_page(new_context, log_in, user, password: str):
    """A page in a browser of its own, logged in through the login page."""
    page = new_context().new_page()
    log_in(page, user.username, password)
    return page


def held_for(citizen) -> dict[str, tuple[Record, str, str]]:
    """What the demo registers answer for citizen1, read from the registers themselves: each
    form field as (record, the register's field, the value the form shows)."""
    person = Record.objects.get(register="population", subject=citizen.id_number)
    birth = Record.objects.get(register="birth", party=citizen.id_number)
    born_on = timezone.localtime(dt.datetime.fromisoformat(birth.data["born_at"])).date()
    out = {
        name: (birth, key, str(birth.data[key]))
        for name, key in (
            ("baby_gender", "sex"),
            ("birth_hospital", "hospital"),
            ("mother_name", "mother_name"),
            ("mother_id_number", "mother_id_number"),
            ("father_name", "father_name"),
            ("father_id_number", "father_id_number"),
        )
    }
    out["birth_date"] = (birth, "born_at", born_on.isoformat())
    out["hukou_address"] = (person, "hukou_address", person.data["hukou_address"])
    return out


def test_newborn_bundle_from_application_to_rating_across_four_departments(new_context, log_in):
    demo = newborn_demo()
    citizen = demo.citizen
    with translation.override("zh-hans"):
        prepared = selectors.application_prepare(
            user=citizen, workflow=services.workflow_for(bundle=demo.bundle), bundle=demo.bundle
        )
    spec = prepared.spec
    held = held_for(citizen)
    # The demo's facts: the girl citizen1 and 陈静 had at the provincial maternity hospital.
    assert (held["baby_gender"][2], held["mother_name"][2], held["father_name"][2]) == (
        "女",
        "陈静",
        citizen.real_name,
    )
    assert held["birth_hospital"][2] == "浙江大学医学院附属妇产科医院"
    assert prepared.refusals == [] and prepared.role == "father"
    assert {f.name: v.value for f in spec.fields if (v := prepared.values.get(f.name))} == {
        name: value for name, (_record, _key, value) in held.items()
    }
    # Asked: what no register holds. Every document but the baby's photo is held by a
    # department or issued by a step of the case (the catalog lists the photo as the parent's).
    asked_fields = [f.name for f in spec.fields if not f.confirmed]
    assert asked_fields == ["baby_name", "contact_phone", "mailing_address", "residence_address"]
    asked_materials = spec.asked_materials
    assert [m.name for m in asked_materials] == [PHOTO]
    typed = {
        "baby_name": BABY_NAME,
        "contact_phone": citizen.phone,
        "mailing_address": held["hukou_address"][2],
        "residence_address": held["hukou_address"][2],
    }
    assert not Application.objects.filter(applicant=citizen).exists()

    # 1. The citizen applies once for the whole bundle, from its page.
    citizen_page = logged_in_page(new_context, log_in, citizen, demo.password)
    citizen_page.goto(f"/services/bundles/{demo.bundle.slug}/")
    apply_url = f"/apply/bundle/{demo.bundle.slug}/"
    check_url = f"{apply_url}check/"
    expect(citizen_page.locator("#apply-bundle")).to_have_attribute("href", apply_url)
    with citizen_page.expect_navigation() as navigation:
        citizen_page.locator("#apply-bundle").click()
    assert navigation.value.status == 200
    assert path_of(citizen_page) == apply_url
    expect(citizen_page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(citizen_page.locator("#ineligible")).to_have_count(0)
    form = citizen_page.locator("main form.apply-form")
    # Asked once each: the typed answers, "same as" for the two later addresses, the photo.
    assert sorted(form.evaluate(FIELD_NAMES)) == sorted(
        [*asked_fields, "same_mailing_address", "same_residence_address"]
        + [m.key for m in asked_materials]
    )
    expect(form.locator("[name=contact_phone]")).to_have_value(citizen.phone)
    uploads = form.locator("input[type=file]")
    assert uploads.evaluate_all("els => els.map(e => e.name)") == [m.key for m in asked_materials]
    # What the registers hold is shown to confirm: its value, its source, "This is wrong".
    confirmed = citizen_page.locator("main dl.confirm-list .confirm-row").evaluate_all(CONFIRM_ROWS)
    assert [(label, value, source, text) for label, value, source, _href, text in confirmed] == [
        (f.label, held[f.name][2], zh_source(held[f.name][0]), zh("This is wrong"))
        for f in spec.fields
        if f.confirmed
    ]
    assert [href.split("?")[0] for *_rest, href, _text in confirmed] == [
        reverse("registers:correct", args=[held[f.name][0].pk, held[f.name][1]])
        for f in spec.fields
        if f.confirmed
    ]
    fits_and_passes_axe(citizen_page)

    form.locator("[name=baby_name]").fill(BABY_NAME)
    form.locator("[name=same_mailing_address]").check()
    form.locator("[name=same_residence_address]").check()
    uploads.set_input_files(
        files=[{"name": "宝宝照片.pdf", "mimeType": "application/pdf", "buffer": SMALL_PDF}]
    )
    with citizen_page.expect_navigation():
        form.locator("button[name=action][value=review]").click()

    # 2. Check your answers: all of it, nothing filed yet; then one button files the case.
    assert path_of(citizen_page) == check_url
    assert not Application.objects.filter(applicant=citizen).exclude(status="draft").exists()
    held_rows = citizen_page.locator(
        "main section[aria-labelledby=held-heading] .confirm-row"
    ).evaluate_all(CONFIRM_ROWS)
    assert [(label, value) for label, value, *_rest in held_rows] == [
        (f.label, held[f.name][2]) for f in spec.fields if f.confirmed
    ]
    typed_rows = citizen_page.locator(
        "main section[aria-labelledby=typed-heading] .confirm-row"
    ).evaluate_all(
        "rows => rows.map(r => [r.querySelector('dt').textContent.trim(),"
        " r.querySelector('dd').firstChild.textContent.trim()])"
    )
    assert typed_rows == [[spec.field(name).label, value] for name, value in typed.items()]
    fits_and_passes_axe(citizen_page)
    with citizen_page.expect_navigation():
        citizen_page.locator("main form.check-form button[type=submit]").click()

    app = Application.objects.get(applicant=citizen)
    assert path_of(citizen_page) == f"/my/applications/{app.pk}/"
    assert app.status == Application.Status.IN_PROGRESS
    # Filed with the registers' values, whatever the form carried, and the typed answers.
    assert app.data == {**{name: value for name, (_r, _k, value) in held.items()}, **typed}
    # Every document is attached once: the photo uploaded, the rest fetched from a register
    # (with the record as read) or to be issued by a step of the case.
    attachments = {a.material_name: a for a in app.attachments.all()}
    assert {name: a.source for name, a in attachments.items()} == {
        m.name: ATTACHED_FROM[m.held] if m.held else Attachment.Source.UPLOAD
        for m in spec.materials
    }
    assert {a.source for a in attachments.values()} == {
        Attachment.Source.UPLOAD,
        Attachment.Source.REGISTER,
        Attachment.Source.STEP,
    }
    registers_read = {r.pk: r for r, _key, _value in held.values()}
    for a in attachments.values():
        if a.source == Attachment.Source.REGISTER:
            assert a.record is not None and a.content == a.record.data and a.fetched_at
            assert a.source_department_id == a.record.owner_id
            assert not a.file
        elif a.source == Attachment.Source.STEP:
            assert a.record is None and a.fetched_at is None and not a.file
        else:
            assert a.original_name == "宝宝照片.pdf" and a.file
    assert registers_read.keys() <= {
        a.record_id for a in attachments.values() if a.source == Attachment.Source.REGISTER
    }
    # Each read another department made of the registers at submission is logged.
    submission_reads = [
        (read.consumer, read.owner, read.field, DataAccess.Outcome.VALUE, None)
        for read in prepared.reads
    ]
    assert submission_reads
    reads = DataAccess.objects.filter(application=app)
    fields_read = ("consumer", "owner", "field", "outcome", "actor")
    assert sorted(reads.values_list(*fields_read)) == sorted(submission_reads)
    expect(citizen_page.locator("#case-status")).to_have_text(
        zh_label(Application.Status.IN_PROGRESS)
    )
    fits_and_passes_axe(citizen_page)
    tasks = {t.step: t for t in app.tasks.all()}
    assert {s: t.state for s, t in tasks.items()} == {
        "birth_certificate": Task.State.READY,
        "hukou": Task.State.WAITING,
        "social_card": Task.State.WAITING,
        "child_insurance": Task.State.WAITING,
        "vaccination": Task.State.WAITING,
    }

    # 3. 卫健 issues the birth certificate, then the vaccination card, from its worklist.
    weijian = logged_in_page(new_context, log_in, demo.clerks["weijian"], demo.password)
    assert weijian.goto(WORKLIST).status == 200
    fits_and_passes_axe(weijian)
    handle_from_worklist(weijian, tasks["birth_certificate"], demo.clerks["weijian"])
    handle_from_worklist(weijian, tasks["vaccination"], demo.clerks["weijian"])

    # 4. The certificate number reached 公安 through the grant, logged as a read of the data.
    hukou = tasks["hukou"]
    hukou.refresh_from_db()
    certificate_no = OUTPUTS["birth_certificate"]["birth_certificate_no"]
    assert hukou.state == Task.State.READY
    assert hukou.inputs == {"birth_certificate_no": certificate_no}
    certificate_read = (
        demo.departments["gongan"].pk,
        demo.departments["weijian"].pk,
        "birth_certificate_no",
        DataAccess.Outcome.VALUE,
        None,
    )
    assert sorted(reads.values_list(*fields_read)) == sorted([*submission_reads, certificate_read])
    gongan_clerk = demo.clerks["gongan"]
    gongan = logged_in_page(new_context, log_in, gongan_clerk, demo.password)
    open_from_worklist(gongan, hukou)
    expect(gongan.locator("[data-input=birth_certificate_no]")).to_have_text(certificate_no)
    # The hukou address 公安 registers the child at is its own register's, not a typed answer.
    expect(gongan.locator("[data-field=hukou_address]")).to_have_text(held["hukou_address"][2])
    claim_and_accept(gongan, gongan_clerk)
    fits_and_passes_axe(gongan)

    # 公安 asks for the baby's name, which the citizen typed, to be corrected, and only that.
    reason = "新生儿姓名与出生医学证明不一致，请核对后重新填写。"
    gongan.locator("main form input[name=fields][value=baby_name]").check()
    gongan.locator("main form textarea#reason-c").fill(reason)
    assert press(gongan, "correction").status == 200
    expect(gongan.locator("#task-state")).to_have_text(zh_label(Task.State.CORRECTION))
    hukou.refresh_from_db()
    assert hukou.state == Task.State.CORRECTION
    assert hukou.correction_fields == ["baby_name"]
    assert hukou.reason == reason

    # 5. The citizen sees the request on the case page, with a form for that one field.
    citizen_page.goto(app.get_absolute_url())
    expect(citizen_page.locator("#case-status")).to_have_text(
        zh_label(Application.Status.CORRECTION)
    )
    correction = citizen_page.locator("main section.correction")
    expect(correction).to_have_count(1)
    correction_form = correction.locator("form")
    assert correction_form.evaluate(FIELD_NAMES) == ["baby_name"]
    field = correction_form.locator("[name=baby_name]")
    expect(field).to_have_value(BABY_NAME)
    fits_and_passes_axe(citizen_page)

    field.fill(CORRECTED_NAME)
    with citizen_page.expect_navigation():
        correction_form.locator("button[type=submit]").click()
    assert path_of(citizen_page) == app.get_absolute_url()
    expect(citizen_page.locator("main section.correction")).to_have_count(0)
    expect(citizen_page.locator("#case-status")).to_have_text(
        zh_label(Application.Status.IN_PROGRESS)
    )
    app.refresh_from_db()
    assert app.data == {
        **{name: value for name, (_r, _k, value) in held.items()},
        **typed,
        "baby_name": CORRECTED_NAME,
    }
    hukou.refresh_from_db()
    assert hukou.state == Task.State.ACCEPTED
    assert hukou.claimed_by == gongan_clerk

    # 公安 sees the corrected name and registers the child.
    gongan.goto(hukou.get_absolute_url())
    expect(gongan.locator("[data-field=baby_name]")).to_have_text(CORRECTED_NAME)
    complete(gongan, hukou)

    # 6. 人社 and 医保 both received the child's ID number at once, and work in parallel.
    social_card, child_insurance = tasks["social_card"], tasks["child_insurance"]
    social_card.refresh_from_db()
    child_insurance.refresh_from_db()
    child_id = OUTPUTS["hukou"]["citizen_id_number"]
    for task in (social_card, child_insurance):
        assert task.state == Task.State.READY
        assert task.inputs == {"citizen_id_number": child_id}
    assert social_card.ready_at == child_insurance.ready_at

    yibao = logged_in_page(new_context, log_in, demo.clerks["yibao"], demo.password)
    handle_from_worklist(yibao, child_insurance, demo.clerks["yibao"])
    social_card.refresh_from_db()
    assert social_card.state == Task.State.READY  # 医保 did not wait for 人社, nor the reverse
    renshe = logged_in_page(new_context, log_in, demo.clerks["renshe"], demo.password)
    handle_from_worklist(renshe, social_card, demo.clerks["renshe"])

    # 7. The case is complete; the citizen rates it and sees who read which data.
    app.refresh_from_db()
    assert app.status == Application.Status.COMPLETED
    citizen_page.goto(app.get_absolute_url())
    expect(citizen_page.locator("#case-status")).to_have_text(
        zh_label(Application.Status.COMPLETED)
    )
    fits_and_passes_axe(citizen_page)
    # The lowest score: 卫健 carried out two steps, and still gets one rectification, like the
    # three other departments.
    citizen_page.locator("main input[name=score][value='1']").check()
    with citizen_page.expect_navigation():
        citizen_page.locator(f"main form[action$='{app.pk}/rate/'] button[type=submit]").click()
    assert path_of(citizen_page) == app.get_absolute_url()
    expect(citizen_page.locator("#my-rating")).to_contain_text(
        zh_label(Rating.Score.VERY_DISSATISFIED)
    )
    assert Rating.objects.get(application=app).score == 1
    assert sorted(
        Rectification.objects.filter(rating__application=app).values_list(
            "department__code", "state"
        )
    ) == [(demo.departments[k].code, "open") for k in ("gongan", "renshe", "weijian", "yibao")]

    citizen_page.goto("/my/data-use/")
    rows = citizen_page.locator("main table tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
    )
    step_reads = [
        ("gongan", "weijian", "birth_certificate_no"),
        ("renshe", "gongan", "citizen_id_number"),
        ("yibao", "gongan", "citizen_id_number"),
    ]
    name_of = dict(Department.objects.values_list("pk", "name"))
    # Columns: when, read by, held by, data, purpose, outcome.
    assert sorted((r[1], r[2], r[3]) for r in rows) == sorted(
        [(name_of[c], name_of[o], zh_field(f)) for c, o, f, _outcome, _actor in submission_reads]
        + [
            (demo.departments[c].name, demo.departments[o].name, zh_field(f))
            for c, o, f in step_reads
        ]
    )
    assert {r[5] for r in rows} == {zh_label(DataAccess.Outcome.VALUE)}


def test_other_departments_task_is_not_found_and_a_stale_claim_is_refused(new_context, log_in):
    demo = newborn_demo()
    app = newborn_submit(demo)
    step_complete(demo, app, "birth_certificate")
    hukou = app.tasks.get(step="hukou")
    vaccination = app.tasks.get(step="vaccination")
    assert (hukou.state, vaccination.state) == (Task.State.READY, Task.State.READY)
    clerk_a = demo.clerks["gongan"]
    clerk_b = MembershipFactory(
        department=demo.departments["gongan"],
        user=StaffFactory(username="330100-gongan-clerk-2", real_name="杭州市公安局窗口二"),
    ).user

    # 公安 cannot see a task of 卫健, by address or by posting to it.
    page_a = logged_in_page(new_context, log_in, clerk_a, demo.password)
    before = task_snapshot(vaccination)
    assert page_a.goto(vaccination.get_absolute_url()).status == 404
    page_a.goto(hukou.get_absolute_url())
    token = page_a.locator("main form input[name=csrfmiddlewaretoken]").first.input_value()
    answer = page_a.request.post(
        f"{vaccination.get_absolute_url()}act/",
        form={"csrfmiddlewaretoken": token, "action": "claim", "version": str(before["version"])},
    )
    assert answer.status == 404
    assert task_snapshot(vaccination) == before

    # B opens the task while nobody holds it; A claims it meanwhile.
    page_b = logged_in_page(new_context, log_in, clerk_b, PASSWORD)
    assert page_b.goto(hukou.get_absolute_url()).status == 200
    expect(page_b.locator("#task-holder")).to_have_text("—")
    assert press(page_a, "claim").status == 200
    expect(page_a.locator("#task-holder")).to_have_text(clerk_a.real_name)
    claimed = task_snapshot(hukou)
    assert claimed["claimed_by"] == clerk_a.pk

    # B's claim from the old page is refused, says who moved it, and changes nothing.
    answer = press(page_b, "claim")
    assert answer.status == 409
    expected = zh(
        "This task changed since you opened it: %(who)s moved it to “%(state)s”. Reload to see it.",
        who=clerk_a.real_name,
        state=zh_label(Task.State.READY),
    )
    expect(page_b.locator("main .form-errors[role=alert]")).to_have_text(expected)
    expect(page_b.locator("#task-holder")).to_have_text(clerk_a.real_name)
    expect(page_b.locator("main form button[name=action]")).to_have_count(0)
    assert task_snapshot(hukou) == claimed

    # Reloaded, the page shows A as the holder and offers B nothing to press.
    page_b.goto(hukou.get_absolute_url())
    expect(page_b.locator("#task-holder")).to_have_text(clerk_a.real_name)
    expect(page_b.locator("main form button[name=action]")).to_have_count(0)
    fits_and_passes_axe(page_b)

"""新生儿出生一件事 through the real pages, at phone width, on the demo province's data.

The citizen applies once; 卫健 issues the birth certificate, whose number reaches 公安 through a
data-sharing grant without the citizen carrying it; 公安 asks for one field to be corrected, then
registers the child; 人社 and 医保 then work in parallel. The citizen follows the case, rates it
very dissatisfied (which opens one rectification per department) and sees every read of their
data. A second journey covers the refusals: another department's task is not found, and a move
made from a stale page is answered 409 and changes nothing.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.utils import translation
from playwright.sync_api import expect

from tests.e2e.test_accessibility import DANGLING_ID_REFERENCES, blocking_violations, describe
from tests.factories import PASSWORD, MembershipFactory, StaffFactory
from tests.workflows.fixtures import (
    OUTPUTS,
    SMALL_PDF,
    newborn_answers,
    newborn_demo,
    newborn_submit,
    step_complete,
    task_snapshot,
)
from workflows import selectors
from workflows.models import Application, DataAccess, Rating, Rectification, Task
from workflows.templatetags.workflow_tags import field_label

pytestmark = pytest.mark.e2e

WORKLIST = "/staff/tasks/"
CORRECTED_ADDRESS = "杭州市西湖区文三路 200 号 3 幢 501 室"
# The names of the controls a person fills in on a form: not the hidden ones, not the buttons.
FIELD_NAMES = """f => [...f.elements]
    .filter(e => e.name && !['hidden', 'submit'].includes(e.type))
    .map(e => e.name)"""


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


def test_newborn_bundle_from_application_to_rating_across_four_departments(new_context, log_in):
    demo = newborn_demo()
    citizen = demo.citizen
    answers = newborn_answers(citizen)
    spec = selectors.form_spec_for(
        user=citizen,
        bundle=demo.bundle,
        produced=selectors.produced_fields(demo.bundle.workflows.get(status="active")),
    )
    required_uploads = {m.key for m in spec.asked_materials if m.required}
    assert required_uploads
    assert not Application.objects.filter(applicant=citizen).exists()

    # 1. The citizen applies once for the whole bundle, from its page.
    citizen_page = logged_in_page(new_context, log_in, citizen, demo.password)
    citizen_page.goto(f"/services/bundles/{demo.bundle.slug}/")
    apply_url = f"/apply/bundle/{demo.bundle.slug}/"
    expect(citizen_page.locator("#apply-bundle")).to_have_attribute("href", apply_url)
    with citizen_page.expect_navigation() as navigation:
        citizen_page.locator("#apply-bundle").click()
    assert navigation.value.status == 200
    assert path_of(citizen_page) == apply_url
    expect(citizen_page.locator("html")).to_have_attribute("lang", "zh-Hans")
    form = citizen_page.locator("main form.apply-form")
    # Every question of the five items is asked once; the mobile number comes from the profile.
    assert sorted(form.evaluate(FIELD_NAMES)) == sorted([*answers, *required_uploads])
    expect(form.locator("[name=contact_phone]")).to_have_value(citizen.phone)
    uploads = form.locator("input[type=file]")
    assert sorted(uploads.evaluate_all("els => els.map(e => e.name)")) == sorted(required_uploads)
    fits_and_passes_axe(citizen_page)

    for name, value in answers.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    for n in range(uploads.count()):
        uploads.nth(n).set_input_files(
            files=[{"name": f"材料{n}.pdf", "mimeType": "application/pdf", "buffer": SMALL_PDF}]
        )
    with citizen_page.expect_navigation():
        form.locator("button[name=action][value=submit]").click()

    app = Application.objects.get(applicant=citizen)
    assert path_of(citizen_page) == f"/my/applications/{app.pk}/"
    assert app.status == Application.Status.IN_PROGRESS
    assert app.data == answers
    assert sorted(app.attachments.values_list("material_name", flat=True)) == sorted(
        m.name for m in spec.asked_materials if m.required
    )
    expect(citizen_page.locator("#case-status")).to_have_text(
        zh_label(Application.Status.IN_PROGRESS)
    )
    tasks = {t.step: t for t in app.tasks.all()}
    assert {s: t.state for s, t in tasks.items()} == {
        "birth_certificate": Task.State.READY,
        "hukou": Task.State.WAITING,
        "social_card": Task.State.WAITING,
        "child_insurance": Task.State.WAITING,
        "vaccination": Task.State.WAITING,
    }

    # 2. 卫健 issues the birth certificate, then the vaccination card, from its worklist.
    weijian = logged_in_page(new_context, log_in, demo.clerks["weijian"], demo.password)
    assert weijian.goto(WORKLIST).status == 200
    fits_and_passes_axe(weijian)
    handle_from_worklist(weijian, tasks["birth_certificate"], demo.clerks["weijian"])
    handle_from_worklist(weijian, tasks["vaccination"], demo.clerks["weijian"])

    # 3. The certificate number reached 公安 through the grant, logged as a read of the data.
    hukou = tasks["hukou"]
    hukou.refresh_from_db()
    certificate_no = OUTPUTS["birth_certificate"]["birth_certificate_no"]
    assert hukou.state == Task.State.READY
    assert hukou.inputs == {"birth_certificate_no": certificate_no}
    reads = DataAccess.objects.filter(application=app)
    assert list(reads.values_list("consumer", "owner", "field", "outcome", "actor")) == [
        (
            demo.departments["gongan"].pk,
            demo.departments["weijian"].pk,
            "birth_certificate_no",
            DataAccess.Outcome.VALUE,
            None,
        )
    ]
    gongan_clerk = demo.clerks["gongan"]
    gongan = logged_in_page(new_context, log_in, gongan_clerk, demo.password)
    open_from_worklist(gongan, hukou)
    expect(gongan.locator("[data-input=birth_certificate_no]")).to_have_text(certificate_no)
    claim_and_accept(gongan, gongan_clerk)
    fits_and_passes_axe(gongan)

    # 公安 asks for the hukou address to be corrected, and only that.
    reason = "申报户口地址缺少门牌号，请补充完整。"
    gongan.locator("main form input[name=fields][value=hukou_address]").check()
    gongan.locator("main form textarea#reason-c").fill(reason)
    assert press(gongan, "correction").status == 200
    expect(gongan.locator("#task-state")).to_have_text(zh_label(Task.State.CORRECTION))
    hukou.refresh_from_db()
    assert hukou.state == Task.State.CORRECTION
    assert hukou.correction_fields == ["hukou_address"]
    assert hukou.reason == reason

    # 4. The citizen sees the request on the case page, with a form for that one field.
    citizen_page.goto(app.get_absolute_url())
    expect(citizen_page.locator("#case-status")).to_have_text(
        zh_label(Application.Status.CORRECTION)
    )
    correction = citizen_page.locator("main section.correction")
    expect(correction).to_have_count(1)
    correction_form = correction.locator("form")
    assert correction_form.evaluate(FIELD_NAMES) == ["hukou_address"]
    field = correction_form.locator("[name=hukou_address]")
    expect(field).to_have_value(answers["hukou_address"])
    fits_and_passes_axe(citizen_page)

    field.fill(CORRECTED_ADDRESS)
    with citizen_page.expect_navigation():
        correction_form.locator("button[type=submit]").click()
    assert path_of(citizen_page) == app.get_absolute_url()
    expect(citizen_page.locator("main section.correction")).to_have_count(0)
    expect(citizen_page.locator("#case-status")).to_have_text(
        zh_label(Application.Status.IN_PROGRESS)
    )
    app.refresh_from_db()
    assert app.data == {**answers, "hukou_address": CORRECTED_ADDRESS}
    hukou.refresh_from_db()
    assert hukou.state == Task.State.ACCEPTED
    assert hukou.claimed_by == gongan_clerk

    # 公安 sees the corrected address and registers the child.
    gongan.goto(hukou.get_absolute_url())
    expect(gongan.locator("[data-field=hukou_address]")).to_have_text(CORRECTED_ADDRESS)
    complete(gongan, hukou)

    # 5. 人社 and 医保 both received the child's ID number at once, and work in parallel.
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

    # 6. The case is complete; the citizen rates it and sees who read which data.
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
    names = {kind: dept.name for kind, dept in demo.departments.items()}
    # Columns: when, read by, held by, data, purpose, outcome.
    assert sorted((r[1], r[2], r[3]) for r in rows) == sorted(
        [
            (names["gongan"], names["weijian"], field_label("birth_certificate_no")),
            (names["renshe"], names["gongan"], field_label("citizen_id_number")),
            (names["yibao"], names["gongan"], field_label("citizen_id_number")),
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

"""The 12345 complaints desk through the real pages, at phone width, with the real dispatch model.

A citizen asks the assistant: a question about an item is answered from its guide, with the
source; one it cannot answer becomes a ticket. The citizen turns it into a noise complaint, checks
what will be public, and sends it. The dispatch model, trained once for the module on the labelled
messages, is unsure (it leans to education) and leaves it to the desk: the dispatcher follows the
suggestion, 教育局 returns it (退单) and the citizen sees who declined; the dispatcher sends it to
生态环境局, which is the only right choice left, signs for it (签收) and answers (答复); the desk
calls back (回访), the citizen rates it 5 and the ticket is closed, every step in its history.

A second journey covers a 举报: entered on the hotline, dispatched by the model on its own, its
sender never reaches the handling department's page; the desk supervisor sees who it is only by
giving a reason, which is logged; another department cannot open it at all; and a citizen writing
about the same matter is neither offered it as a repeat nor allowed to join it.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation
from playwright.sync_api import expect

from catalog.models import Material
from complaints import services
from complaints.dispatch.categories import CATEGORY_BY_KIND
from complaints.knowledge.services import knowledge_changed
from complaints.models import AssistantQuestion, ReporterAccess, Ticket, TicketDepartment
from complaints.templatetags.ticket_tags import ACTIONS
from departments.models import Department, Membership, Region
from tests.complaints.desk import Desk
from tests.conftest import require
from tests.e2e.test_newborn import fits_and_passes_axe, logged_in_page, path_of, zh, zh_label
from tests.factories import (
    PASSWORD,
    DepartmentFactory,
    MembershipFactory,
    RegionFactory,
    ServiceItemFactory,
    UserFactory,
)

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPARTMENT_NAMES = {
    "zhujian": "杭州市住房和城乡建设局",
    "shengtai": "杭州市生态环境局",
    "jiaotong": "杭州市交通运输局",
    "jiaoyu": "杭州市教育局",
}
STAFF_TICKETS = "/staff/tickets/"

ITEM_QUESTION = "办理夜间施工许可要什么材料？"
ITEM_MATERIALS = ["夜间施工申请表", "建筑工程施工许可证", "噪声污染防治措施说明"]
UNANSWERED_QUESTION = "楼下培训机构晚上太吵了，归谁管？"
# A training centre's noise: the model leans to education, unsure enough to leave it to the desk.
NOISE_COMPLAINT = (
    "小区底商的培训机构每天晚上上课到九点半，周末从早上八点开始，音响和喊叫声很大，"
    "楼上住户无法休息，老人孩子都受影响。希望派人来测一下噪声，督促他们整改。"
)
RETURN_REASON = "社会生活噪声扰民由生态环境部门查处，不属于我局职责。"
REPLY = (
    "我局已派执法人员夜间上门检测，噪声超标，已责令该培训机构晚上八点后停止使用音响并加装隔音设施。"
)
CALLBACK_NOTE = "市民表示晚上已经安静，对处理结果满意。"

REPORT_TITLE = "化工厂偷排废水"
REPORT_CONTENT = (
    "举报：城西工业园一家化工厂每天半夜通过暗管往河里偷排废水，河水发黑发臭，鱼都死了。"
)
CALLER_NAME = "王建国"
CALLER_PHONE = "13705710001"


def labelled_path() -> Path:
    data_dir = os.environ.get("ZHELIBAN_DATA_DIR")
    base = Path(data_dir) if data_dir else REPO_ROOT.parent / "shared" / "data"
    return base / "complaints" / "labelled_messages.jsonl"


@pytest.fixture(scope="module")
def dispatch_model_dir(tmp_path_factory) -> Path:
    """The real dispatch model, trained once for the module on the labelled messages only (the
    returned tickets it could also learn from live in a database each test empties)."""
    path = labelled_path()
    require(path.is_file(), f"needs the labelled messages at {path} (or set ZHELIBAN_DATA_DIR)")
    directory = tmp_path_factory.mktemp("dispatch-models")
    call_command("train_dispatch", data=path, out=directory, no_returns=True, stdout=io.StringIO())
    assert len(list(directory.glob("dispatch-*.joblib"))) == 1
    return directory


@pytest.fixture(autouse=True)
def _dispatch_model(settings, dispatch_model_dir):
    settings.DISPATCH_MODEL_DIR = str(dispatch_model_dir)
    settings.DISPATCH_RULES_PATH = None
    services._predictor_cache.clear()
    yield
    services._predictor_cache.clear()


def _member(department, role, name: str):
    return MembershipFactory(department=department, role=role, user__real_name=name).user


@pytest.fixture
def desk(transactional_db) -> Desk:
    """The city's 12345 desk, four handling departments (education for the wrong dispatch)."""
    province = RegionFactory()
    city = Region.objects.create(code="330100", name="杭州市", level="city", parent=province)
    district = Region.objects.create(code="330106", name="西湖区", level="county", parent=city)
    desk_department = DepartmentFactory(
        code="330100-rexian", name="杭州市12345热线", kind=Department.Kind.HOTLINE, region=city
    )
    departments = {
        kind: DepartmentFactory(code=f"330100-{kind}", name=name, kind=kind, region=city)
        for kind, name in DEPARTMENT_NAMES.items()
    }
    R = Membership.Role
    return Desk(
        province=province,
        city=city,
        district=district,
        desk=desk_department,
        departments=departments,
        operator=_member(desk_department, R.CLERK, "话务员小王"),
        dispatcher=_member(desk_department, R.DISPATCHER, "派单员小李"),
        supervisor=_member(desk_department, R.SUPERVISOR, "热线科长"),
        clerks={k: _member(d, R.CLERK, f"{d.name}窗口") for k, d in departments.items()},
        supervisors={k: _member(d, R.SUPERVISOR, f"{d.name}科长") for k, d in departments.items()},
        citizen=UserFactory(real_name="张三", phone="13912345678"),
        other_citizen=UserFactory(real_name="李四"),
    )


def zh_action(action: str) -> str:
    with translation.override("zh-hans"):
        return str(ACTIONS[action])


def staff_url(ticket: Ticket) -> str:
    return f"{STAFF_TICKETS}{ticket.pk}/"


def press(page, action: str):
    """Press one of the staff page's action buttons; the answer to the form's POST."""
    with page.expect_navigation() as navigation:
        page.locator(f"main form button[name=action][value={action}]").click()
    return navigation.value


def ask(page, question: str) -> AssistantQuestion:
    page.locator("#assistant-q").fill(question)
    with page.expect_navigation() as navigation:
        page.locator("form#ask button[type=submit]").click()
    assert navigation.value.status == 200
    record = AssistantQuestion.objects.get(question=question)
    expect(page.locator(f"#q-{record.pk}")).to_be_visible()
    return record


def history(page) -> list[str]:
    """The history's entries without their time (``2025-01-02 09:30 — what``)."""
    texts = page.locator("main ol.timeline li").all_inner_texts()
    return [" ".join(t.split(" — ", 1)[1].split()) for t in texts]


def page_text(page) -> str:
    return page.content()


def test_citizen_question_becomes_a_complaint_returned_once_then_answered_and_rated(
    desk, new_context, log_in
):
    names = {kind: d.name for kind, d in desk.departments.items()}
    shengtai, jiaoyu = desk.departments["shengtai"], desk.departments["jiaoyu"]
    item = ServiceItemFactory(
        name="夜间施工许可",
        department=desk.departments["zhujian"],
        summary="在噪声敏感建筑物集中区域夜间进行产生噪声的建筑施工作业的许可。",
    )
    for order, material in enumerate(ITEM_MATERIALS):
        Material.objects.create(item=item, name=material, sort_order=order)
    knowledge_changed()

    # 1. The citizen asks the assistant about the item: the answer lists its materials, the
    # source is the item's guide, named and linked by its code.
    citizen = logged_in_page(new_context, log_in, desk.citizen, PASSWORD)
    assert citizen.goto("/assistant/").status == 200
    answered = ask(citizen, ITEM_QUESTION)
    assert answered.answered is True
    assert answered.user == desk.citizen
    assert [(s["type"], s["code"]) for s in answered.sources] == [("item", item.code)]
    entry = citizen.locator(f"#q-{answered.pk}")
    answer = entry.locator(".bubble-answer p.prewrap")
    for material in ITEM_MATERIALS:
        expect(answer).to_contain_text(material)
    expect(entry).to_contain_text(
        zh("Confidence: %(percent)s", percent=f"{answered.confidence:.2f}")
    )
    source = entry.locator("ul.sources a")
    expect(source).to_have_count(1)
    expect(source).to_have_text(item.name)
    expect(source).to_have_attribute("href", item.get_absolute_url())
    assert item.code in item.get_absolute_url()
    expect(entry.locator("a[href*='/tickets/new/']")).to_have_count(0)

    # Something the knowledge does not say: the assistant says so and offers a ticket.
    unanswered = ask(citizen, UNANSWERED_QUESTION)
    assert unanswered.answered is False
    assert unanswered.sources == []
    entry = citizen.locator(f"#q-{unanswered.pk}")
    expect(entry).to_contain_text(
        zh("Sorry, I cannot answer this with enough confidence from what I know.")
    )
    fits_and_passes_axe(citizen)
    offer = entry.locator("a[href*='/tickets/new/']")
    expect(offer).to_have_text(zh("Send the question to the 12345 desk"))
    with citizen.expect_navigation() as navigation:
        offer.click()
    assert navigation.value.status == 200
    assert path_of(citizen) == "/tickets/new/"
    form = citizen.locator("main form#ticket-form")
    expect(form.locator("#id_kind")).to_have_value(Ticket.Kind.CONSULTATION)
    expect(form.locator("#id_content")).to_have_value(UNANSWERED_QUESTION)
    expect(form.locator("input[name=question]")).to_have_value(str(unanswered.pk))
    expect(form.locator("[name=contact_name]")).to_have_count(0)  # that is the hotline's form

    # 2. It is a complaint: the citizen writes it, picks the place, agrees to publish it, checks.
    form.locator("#id_kind").select_option(Ticket.Kind.COMPLAINT)
    form.locator("#id_content").fill(NOISE_COMPLAINT)
    form.locator("#id_region").select_option(desk.district.code)
    form.locator("#id_address").fill("文三路 100 号")
    form.locator("#id_public").check()
    with citizen.expect_navigation() as navigation:
        form.locator("button[name=step][value=check]").click()
    assert navigation.value.status == 200
    assert not Ticket.objects.exists()
    preview = citizen.locator("#ticket-preview")
    assert preview.locator("ul").nth(0).locator("li").all_inner_texts() == [
        zh("the title and the content"),
        zh("the region"),
        zh("the department's reply"),
    ]
    assert preview.locator("ul").nth(1).locator("li").all_inner_texts() == [
        zh("the title and the content"),
        zh("the place"),
        zh("the attachments"),
        zh("your name and phone number, partly hidden"),
    ]
    expect(citizen.locator("#duplicates")).to_have_count(0)  # nothing like it was sent before
    # What was written is kept, the question's link too.
    expect(form.locator("#id_kind")).to_have_value(Ticket.Kind.COMPLAINT)
    expect(form.locator("#id_content")).to_have_value(NOISE_COMPLAINT)
    expect(form.locator("input[name=question]")).to_have_value(str(unanswered.pk))
    fits_and_passes_axe(citizen)
    with citizen.expect_navigation() as navigation:
        form.locator("button[name=step][value=send]").click()
    assert navigation.value.status == 200

    # 3. The model is unsure (it leans to education): the ticket waits for a dispatcher.
    ticket = Ticket.objects.get()
    assert path_of(citizen) == ticket.get_absolute_url()
    assert (ticket.kind, ticket.channel, ticket.citizen, ticket.region) == (
        Ticket.Kind.COMPLAINT,
        Ticket.Channel.WEB,
        desk.citizen,
        desk.district,
    )
    assert ticket.content == NOISE_COMPLAINT
    assert ticket.is_public is True
    assert ticket.state == Ticket.State.QUEUED
    assert ticket.department is None
    assert ticket.dispatched_automatically is False
    assert ticket.category == CATEGORY_BY_KIND["jiaoyu"].name
    assert 0 < ticket.dispatch_confidence < services.predictor_get().threshold
    assert ticket.dispatch_model == services.predictor_get().version
    queued = ticket.events.get(action="queue")
    assert queued.data["suggested"] == jiaoyu.code
    unanswered.refresh_from_db()
    assert unanswered.ticket == ticket
    expect(citizen.locator("#ticket-state")).to_have_text(zh_label(Ticket.State.QUEUED))
    expect(citizen.locator("#ticket-department")).to_have_text("—")

    # The dispatcher follows the model's suggestion: education.
    dispatcher = logged_in_page(new_context, log_in, desk.dispatcher, PASSWORD)
    assert dispatcher.goto(staff_url(ticket)).status == 200
    lead = dispatcher.locator("input#d-lead")
    expect(lead).to_have_value(names["jiaoyu"])  # typed by name, the suggestion filled in
    offered = dispatcher.locator("#d-departments option")
    offered_names = offered.evaluate_all("os => os.map(o => o.value)")
    assert sorted(offered_names) == sorted(d.name for d in desk.departments.values())
    fits_and_passes_axe(dispatcher)
    assert press(dispatcher, "dispatch").status == 200
    # the next ticket of the queue opens (or the queue, when none is left)
    assert path_of(dispatcher) != staff_url(ticket)
    assert dispatcher.goto(staff_url(ticket)).status == 200
    expect(dispatcher.locator("#ticket-state")).to_have_text(zh_label(Ticket.State.DISPATCHED))
    expect(dispatcher.locator("#ticket-department")).to_have_text(names["jiaoyu"])
    ticket.refresh_from_db()
    assert (ticket.state, ticket.department) == (Ticket.State.DISPATCHED, jiaoyu)

    # 教育局 says it is not theirs (退单), and then no longer sees it.
    education = logged_in_page(new_context, log_in, desk.clerks["jiaoyu"], PASSWORD)
    assert education.goto(staff_url(ticket)).status == 200
    expect(education.locator("main form button[name=action][value=sign]")).to_have_count(1)
    education.locator("textarea#r-note").fill(RETURN_REASON)
    assert press(education, "return").status == 200
    assert path_of(education) == STAFF_TICKETS
    assert education.goto(staff_url(ticket)).status == 404
    ticket.refresh_from_db()
    assert (ticket.state, ticket.department, ticket.return_count) == (
        Ticket.State.QUEUED,
        None,
        1,
    )
    returned = TicketDepartment.objects.get(ticket=ticket, department=jiaoyu)
    assert (returned.state, returned.return_reason) == (
        TicketDepartment.State.RETURNED,
        RETURN_REASON,
    )

    # The citizen sees who declined it, and why.
    citizen.reload()
    expect(citizen.locator("#ticket-state")).to_have_text(zh_label(Ticket.State.QUEUED))
    expect(citizen.locator("#ticket-department")).to_have_text("—")
    assert history(citizen)[-1] == f"{zh_action('return')} · {names['jiaoyu']} ({RETURN_REASON})"

    # The dispatcher is no longer offered education, and sends it to ecology.
    assert dispatcher.goto(staff_url(ticket)).status == 200
    expect(dispatcher.locator("#ticket-state")).to_have_text(zh_label(Ticket.State.QUEUED))
    expect(dispatcher.locator(f"[data-part='{jiaoyu.code}']")).to_contain_text(RETURN_REASON)
    offered_names = offered.evaluate_all("os => os.map(o => o.value)")
    assert names["jiaoyu"] not in offered_names
    assert sorted(offered_names) == sorted(
        d.name for kind, d in desk.departments.items() if kind != "jiaoyu"
    )
    lead.fill(names["shengtai"])
    assert press(dispatcher, "dispatch").status == 200
    assert dispatcher.goto(staff_url(ticket)).status == 200
    expect(dispatcher.locator("#ticket-department")).to_have_text(names["shengtai"])
    ticket.refresh_from_db()
    assert (ticket.state, ticket.department) == (Ticket.State.DISPATCHED, shengtai)

    # 4. 生态环境局 signs for it and answers.
    ecology = logged_in_page(new_context, log_in, desk.clerks["shengtai"], PASSWORD)
    assert ecology.goto(staff_url(ticket)).status == 200
    expect(ecology.locator("#ticket-content")).to_have_text(NOISE_COMPLAINT)
    assert press(ecology, "sign").status == 200
    expect(ecology.locator("#ticket-state")).to_have_text(zh_label(Ticket.State.HANDLING))
    fits_and_passes_axe(ecology)
    ecology.locator("textarea#a-note").fill(REPLY)
    assert press(ecology, "answer").status == 200
    expect(ecology.locator("#ticket-state")).to_have_text(zh_label(Ticket.State.ANSWERED))
    expect(ecology.locator("main form button[name=action]")).to_have_count(0)

    # The desk calls the citizen back.
    operator = logged_in_page(new_context, log_in, desk.operator, PASSWORD)
    assert operator.goto(staff_url(ticket)).status == 200
    operator.locator("textarea#cb-note").fill(CALLBACK_NOTE)
    assert press(operator, "callback").status == 200
    expect(operator.locator("#ticket-state")).to_have_text(zh_label(Ticket.State.CALLED_BACK))

    # The citizen reads the answer and rates it 5: the ticket is closed.
    citizen.reload()
    expect(citizen.locator("#ticket-state")).to_have_text(zh_label(Ticket.State.CALLED_BACK))
    expect(citizen.locator("#ticket-department")).to_have_text(names["shengtai"])
    expect(citizen.locator("#ticket-reply")).to_have_text(REPLY)
    fits_and_passes_axe(citizen)
    citizen.locator("main input[name=satisfaction][value='5']").check()
    with citizen.expect_navigation() as navigation:
        citizen.locator(f"main form[action$='/{ticket.pk}/rate/'] button[type=submit]").click()
    assert navigation.value.status == 200
    assert path_of(citizen) == ticket.get_absolute_url()
    expect(citizen.locator("#ticket-state")).to_have_text(zh_label(Ticket.State.CLOSED))
    expect(citizen.locator("main input[name=satisfaction]")).to_have_count(0)
    expect(citizen.locator("main")).to_contain_text(f"{zh('Your rating')}: 5/5")
    assert history(citizen) == [
        zh_action("receive"),
        zh_action("queue"),
        f"{zh_action('dispatch')} · {names['jiaoyu']}",
        f"{zh_action('return')} · {names['jiaoyu']} ({RETURN_REASON})",
        f"{zh_action('dispatch')} · {names['shengtai']}",
        f"{zh_action('sign')} · {names['shengtai']}",
        f"{zh_action('answer')} · {names['shengtai']} ({REPLY})",
        zh_action("callback"),
        zh_action("rate"),
    ]

    ticket.refresh_from_db()
    assert ticket.state == Ticket.State.CLOSED
    assert (ticket.satisfaction, ticket.reply, ticket.callback_note) == (5, REPLY, CALLBACK_NOTE)
    assert ticket.closed_at is not None
    # The citizen's own steps name nobody in the history staff read.
    assert list(ticket.events.values_list("action", "actor")) == [
        ("receive", None),
        ("queue", None),
        ("dispatch", desk.dispatcher.pk),
        ("return", desk.clerks["jiaoyu"].pk),
        ("dispatch", desk.dispatcher.pk),
        ("sign", desk.clerks["shengtai"].pk),
        ("answer", desk.clerks["shengtai"].pk),
        ("callback", desk.operator.pk),
        ("rate", None),
    ]
    assert [e.data.get("by") for e in ticket.events.filter(action__in=["receive", "rate"])] == [
        "citizen",
        "citizen",
    ]
    assert list(
        ticket.parts.order_by("id").values_list("department__code", "is_lead", "state")
    ) == [
        (jiaoyu.code, True, TicketDepartment.State.RETURNED),
        (shengtai.code, True, TicketDepartment.State.REPLIED),
    ]


def test_report_sender_is_hidden_from_the_department_and_revealed_to_the_supervisor_with_a_reason(
    desk, new_context, log_in
):
    shengtai = desk.departments["shengtai"]
    masked_phone = f"{CALLER_PHONE[:3]}****{CALLER_PHONE[-4:]}"

    # The hotline operator enters a caller's 举报 on the desk's form.
    operator = logged_in_page(new_context, log_in, desk.operator, PASSWORD)
    assert operator.goto("/tickets/new/").status == 200
    form = operator.locator("main form#ticket-form")
    expect(operator.locator("main h1")).to_have_text(zh("Enter a hotline call"))
    form.locator("#id_kind").select_option(Ticket.Kind.REPORT)
    form.locator("#id_title").fill(REPORT_TITLE)
    form.locator("#id_content").fill(REPORT_CONTENT)
    form.locator("#id_region").select_option(desk.district.code)
    form.locator("#id_contact_name").fill(CALLER_NAME)
    form.locator("#id_contact_phone").fill(CALLER_PHONE)
    form.locator("#id_public").check()  # a report is never public, whatever is ticked
    with operator.expect_navigation():
        form.locator("button[name=step][value=check]").click()
    preview = operator.locator("#ticket-preview")
    expect(preview).to_contain_text(
        zh("Nothing: the ticket stays between you, the desk and the department.")
    )
    expect(preview.locator("ul li").last).to_have_text(
        zh("not who you are: a report's sender is hidden from the department")
    )
    fits_and_passes_axe(operator)
    with operator.expect_navigation() as navigation:
        form.locator("button[name=step][value=send]").click()
    assert navigation.value.status == 200

    # Sure enough, the model sends it to 生态环境局 on its own.
    report = Ticket.objects.get()
    assert path_of(operator) == staff_url(report)
    assert (report.kind, report.channel, report.citizen, report.entered_by) == (
        Ticket.Kind.REPORT,
        Ticket.Channel.HOTLINE,
        None,
        desk.operator,
    )
    assert (report.contact_name, report.contact_phone, report.is_public) == (
        CALLER_NAME,
        CALLER_PHONE,
        False,
    )
    assert report.state == Ticket.State.DISPATCHED
    assert report.department == shengtai
    assert report.dispatched_automatically is True
    assert report.dispatch_confidence >= services.predictor_get().threshold
    # The desk's operator sees the caller masked, and may not unmask them.
    expect(operator.locator("#ticket-sender")).to_contain_text(masked_phone)
    expect(operator.locator("main form[action$='/reporter/']")).to_have_count(0)

    # The handling department's clerk sees the matter, and nothing of who reported it.
    clerk = logged_in_page(new_context, log_in, desk.clerks["shengtai"], PASSWORD)
    assert clerk.goto(staff_url(report)).status == 200
    expect(clerk.locator("#ticket-content")).to_have_text(REPORT_CONTENT)
    expect(clerk.locator("#ticket-sender")).to_have_text(
        zh("Hidden: the sender of a report is known only to the desk.")
    )
    expect(clerk.locator("main form[action$='/reporter/']")).to_have_count(0)
    for secret in (CALLER_NAME, CALLER_NAME[0] + "*", CALLER_PHONE, masked_phone):
        assert secret not in page_text(clerk), f"the department's page shows {secret!r}"
    fits_and_passes_axe(clerk)
    assert press(clerk, "sign").status == 200
    expect(clerk.locator("#ticket-state")).to_have_text(zh_label(Ticket.State.HANDLING))
    for secret in (CALLER_NAME, CALLER_PHONE, masked_phone):
        assert secret not in page_text(clerk), f"the department's page shows {secret!r}"

    # Another department cannot open it, nor act on it.
    transport = logged_in_page(new_context, log_in, desk.clerks["jiaotong"], PASSWORD)
    assert transport.goto(staff_url(report)).status == 404
    assert transport.goto(STAFF_TICKETS).status == 200
    token = transport.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    version = Ticket.objects.get(pk=report.pk).version
    answer = transport.request.post(
        f"{staff_url(report)}act/",
        form={"csrfmiddlewaretoken": token, "action": "answer", "version": str(version)},
    )
    assert answer.status == 404
    answer = transport.request.post(
        f"{staff_url(report)}reporter/", form={"csrfmiddlewaretoken": token, "reason": "看看"}
    )
    assert answer.status == 404
    assert Ticket.objects.get(pk=report.pk).version == version
    assert not ReporterAccess.objects.exists()

    # The desk's supervisor sees who reported it only after saying why, and the look is logged.
    supervisor = logged_in_page(new_context, log_in, desk.supervisor, PASSWORD)
    assert supervisor.goto(staff_url(report)).status == 200
    expect(supervisor.locator("#revealed")).to_have_count(0)
    assert CALLER_PHONE not in page_text(supervisor)
    reason = "举报人要求反馈查处结果，需核实联系方式。"
    supervisor.locator("#reveal-reason").fill(reason)
    with supervisor.expect_navigation() as navigation:
        supervisor.locator("main form[action$='/reporter/'] button[type=submit]").click()
    assert navigation.value.status == 200
    revealed = supervisor.locator("#revealed")
    expect(revealed).to_contain_text(CALLER_NAME)
    expect(revealed).to_contain_text(CALLER_PHONE)
    fits_and_passes_axe(supervisor)
    assert list(ReporterAccess.objects.values_list("ticket", "user", "reason")) == [
        (report.pk, desk.supervisor.pk, reason)
    ]

    # The department's page still shows nothing of the sender after the supervisor looked.
    clerk.reload()
    for secret in (CALLER_NAME, CALLER_PHONE, masked_phone):
        assert secret not in page_text(clerk), f"the department's page shows {secret!r}"

    # A citizen writing about the same matter is not offered the report as a repeat, and a
    # form that names it anyway is refused like an unknown ticket, storing nothing.
    citizen = logged_in_page(new_context, log_in, desk.citizen, PASSWORD)
    assert citizen.goto("/tickets/new/").status == 200
    form = citizen.locator("main form#ticket-form")
    form.locator("#id_kind").select_option(Ticket.Kind.COMPLAINT)
    form.locator("#id_content").fill(REPORT_CONTENT)
    form.locator("#id_region").select_option(desk.district.code)
    with citizen.expect_navigation():
        form.locator("button[name=step][value=check]").click()
    expect(citizen.locator("#ticket-preview")).to_have_count(1)
    expect(citizen.locator("#duplicates")).to_have_count(0)
    for secret in (report.number, REPORT_TITLE):
        assert secret not in page_text(citizen), f"the citizen's form shows {secret!r}"
    token = citizen.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    refused = citizen.request.post(
        "/tickets/new/",
        form={
            "csrfmiddlewaretoken": token,
            "kind": Ticket.Kind.COMPLAINT,
            "content": REPORT_CONTENT,
            "region": desk.district.code,
            "step": "send",
            "link_to": str(report.pk),
        },
    )
    assert refused.status == 400
    assert (
        zh(
            "No ticket you can join has this number: choose one of the tickets offered as the "
            "same matter, or send yours on its own."
        )
        in refused.text()
    )
    assert report.number not in refused.text()
    assert list(Ticket.objects.values_list("pk", flat=True)) == [report.pk]


def test_a_desk_operator_is_not_offered_the_dispatchers_moves(desk, new_context, log_in):
    """Dispatching, linking and closing without a rating are the dispatcher's and the
    supervisor's (``services._h_dispatch``, ``_h_link``, ``_h_close``): an operator's page must
    not offer buttons that can only be refused."""
    queued = desk.ticket(title="", content=NOISE_COMPLAINT)
    assert queued.state == Ticket.State.QUEUED
    waiting = desk.ticket(title="", content=REPORT_CONTENT, department_kind="shengtai")
    for actor, action in (
        (desk.clerks["shengtai"], "sign"),
        (desk.clerks["shengtai"], "answer"),
        (desk.operator, "callback"),
    ):
        services.ticket_transition(actor=actor, ticket=waiting, action=action, note=REPLY)
    waiting.refresh_from_db()
    assert waiting.state == Ticket.State.CALLED_BACK

    dispatcher = logged_in_page(new_context, log_in, desk.dispatcher, PASSWORD)
    dispatcher.goto(staff_url(queued))
    expect(dispatcher.locator("main button[name=action][value=dispatch]")).to_have_count(1)
    dispatcher.goto(staff_url(waiting))
    expect(dispatcher.locator("main button[name=action][value=close]")).to_have_count(1)

    operator = logged_in_page(new_context, log_in, desk.operator, PASSWORD)
    assert operator.goto(staff_url(queued)).status == 200
    expect(operator.locator("#ticket-state")).to_have_text(zh_label(Ticket.State.QUEUED))
    expect(operator.locator("main button[name=action][value=dispatch]")).to_have_count(0)
    expect(operator.locator("main button[name=action][value=link]")).to_have_count(0)
    assert operator.goto(staff_url(waiting)).status == 200
    expect(operator.locator("#ticket-state")).to_have_text(zh_label(Ticket.State.CALLED_BACK))
    expect(operator.locator("main button[name=action][value=close]")).to_have_count(0)

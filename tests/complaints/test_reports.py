"""A 举报 (report) is invisible wherever its sender could be learned, and the assistant's log and
feedback belong to whoever asked.

- one rule for "may this viewer learn who sent this ticket" (``ticket_sender_visible``), the same
  in Python and in SQL (``sender_visible_q``), across every ticket and every kind of viewer;
- a report is never offered as a repeat nor accepted as a link target, on the web form, in the
  API or by the desk: refused with a clear message, nothing changed;
- a report about an application shows the handling department the application's facts, never
  its reference or its applicant, on the staff page, in the API and in admin;
- the assistant's log in admin: scoped by region, askers shown to the desk only (masked) and
  never next to a report;
- feedback on an answer only from whoever asked: their account or their session; anyone else
  404, nothing changed.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from complaints.knowledge import services as knowledge
from complaints.knowledge.selectors import question_asker_visible, questions_for_staff
from complaints.models import AssistantQuestion, ReporterAccess, Ticket, TicketEvent
from complaints.selectors import (
    duplicates_find,
    is_desk,
    sender_visible_q,
    ticket_sender_visible,
    tickets_for_staff,
    tickets_sender_visible,
)
from complaints.services import TicketInvalid, ticket_transition
from departments.models import Membership, Region
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    ServiceItemFactory,
    StaffFactory,
    UserFactory,
)
from workflows.services import application_start, application_submit
from zheliban.core.errors import Refused
from zheliban.core.models import Notice

NOISE = "文三路工地每天晚上十一点以后还在施工，噪音很大，附近居民无法休息，请尽快查处。"
BRIBE = "文三路工地负责人收受好处，夜间违规施工，噪音很大，附近居民无法休息，请查处。"
LINK_REFUSED = (
    "No ticket you can join has this number: choose one of the tickets offered as the same "
    "matter, or send yours on its own."
)
NOT_YOURS = (
    "No question of yours has this number: only the person who asked may say whether the "
    "answer helped."
)


def english(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        client.force_login(user)
    return client


def world() -> dict[str, list]:
    """Every row a refused submission or move could have written."""
    return {
        "tickets": list(Ticket.objects.order_by("pk").values()),
        "events": list(TicketEvent.objects.order_by("pk").values()),
        "notices": list(Notice.objects.order_by("pk").values()),
        "accesses": list(ReporterAccess.objects.order_by("pk").values()),
        "questions": list(AssistantQuestion.objects.order_by("pk").values()),
    }


def report_of_other_citizen(desk, **fields) -> Ticket:
    """李四's report about the same matter, from the same place."""
    values = {
        "kind": "report",
        "title": "举报工地负责人收受好处",
        "content": BRIBE,
        "citizen": desk.other_citizen,
        "contact_phone": "13700001111",
    }
    values.update(fields)
    return desk.ticket(**values)


def form(desk, **extra) -> dict:
    return {
        "kind": "complaint",
        "title": "夜间施工噪音",
        "content": NOISE,
        "region": desk.district.code,
        "address": "文三路 100 号",
        **extra,
    }


# ---------------------------------------------------------------- one rule for the sender


def test_the_sender_rule_is_the_same_in_python_and_in_sql_for_every_viewer(desk):
    complaint = desk.ticket(content=NOISE)
    report = report_of_other_citizen(desk)
    anonymous_report = desk.ticket(kind="report", citizen=None, is_anonymous=True, content=BRIBE)
    for ticket in (complaint, report):
        ticket_transition(
            actor=desk.dispatcher,
            ticket=ticket,
            action="dispatch",
            department=desk.departments["zhujian"],
        )
    tickets = [complaint, report, anonymous_report]
    superuser = StaffFactory(is_superuser=True)
    expected = {
        desk.operator: set(tickets),
        desk.dispatcher: set(tickets),
        desk.supervisor: set(tickets),
        superuser: set(tickets),
        desk.clerks["zhujian"]: {complaint},
        desk.supervisors["zhujian"]: {complaint},
        desk.clerks["shengtai"]: set(),
        desk.citizen: set(),
    }
    for viewer, visible in expected.items():
        reachable = list(tickets_for_staff(viewer))
        by_python = {t for t in reachable if ticket_sender_visible(viewer=viewer, ticket=fresh(t))}
        by_sql = set(tickets_sender_visible(viewer=viewer))
        assert by_python == by_sql == visible, viewer
        desk_flag = is_desk(viewer)
        for t in tickets:
            assert ticket_sender_visible(viewer=viewer, ticket=fresh(t), desk=desk_flag) == (
                Ticket.objects.filter(sender_visible_q(viewer=viewer), pk=t.pk).exists()
            ), (viewer, t)


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_related("citizen").get(pk=ticket.pk)


# ---------------------------------------------------------------- repeats and link targets


def test_a_report_is_never_offered_as_a_repeat_anywhere(desk):
    report = report_of_other_citizen(desk)
    complaint = desk.ticket(content=NOISE, citizen=desk.other_citizen)
    fields = {"content": NOISE, "region": desk.district, "address": "文三路 100 号"}
    assert [m.ticket for m in duplicates_find(**fields)] == [complaint]

    # the web form's check step
    page = english(desk.citizen).post(reverse("complaints:ticket-new"), form(desk))
    assert page.status_code == 200
    assert [m.ticket for m in page.context["duplicates"]] == [complaint]
    text = page.content.decode()
    assert f'name="link_to" value="{complaint.pk}"' in text
    assert complaint.number not in text  # its sender did not make it public
    for secret in (report.number, report.title, f'name="link_to" value="{report.pk}"'):
        assert secret not in text

    # the API, open to anyone
    rows = english().get(
        "/api/v1/tickets/duplicates/", {"content": NOISE, "region": desk.district.code}
    )
    assert [row["id"] for row in rows.json()] == [complaint.pk]

    # the desk's dispatcher, on a new ticket about the same matter
    mine = desk.ticket(content=NOISE)
    staff_page = english(desk.dispatcher).get(reverse("complaints:staff-ticket", args=[mine.pk]))
    assert [m.ticket for m in staff_page.context["duplicates"]] == [complaint]


def test_a_new_ticket_is_not_held_back_for_a_report_about_the_same_matter(desk):
    from complaints.models import DispatchRule

    DispatchRule.objects.create(keyword="噪音", kind="zhujian")
    report_of_other_citizen(desk)
    ticket = desk.ticket(content=NOISE)
    assert fresh(ticket).state == Ticket.State.DISPATCHED  # no open repeat to link to


@pytest.mark.parametrize("target", ["report", "unknown"])
def test_the_web_form_refuses_a_report_as_link_to_like_an_unknown_ticket(desk, target):
    report = report_of_other_citizen(desk)
    chosen = report.pk if target == "report" else 999_999
    client = english(desk.citizen)
    before = world()
    response = client.post(
        reverse("complaints:ticket-new"), form(desk, step="send", link_to=chosen)
    )
    assert response.status_code == 400
    assert response.context["link_errors"] == [LINK_REFUSED]
    text = response.content.decode()
    assert LINK_REFUSED in text
    for secret in (report.number, report.title, "李四", "13700001111"):
        assert secret not in text
    assert world() == before
    # nothing of the report reaches the citizen's own pages either
    listing = client.get(reverse("complaints:my-tickets")).content.decode()
    assert report.number not in listing and report.title not in listing


def test_the_web_form_still_joins_an_open_complaint_and_the_page_names_only_it(desk):
    earlier = desk.ticket(content=NOISE, citizen=desk.other_citizen)
    client = english(desk.citizen)
    response = client.post(
        reverse("complaints:ticket-new"), form(desk, step="send", link_to=earlier.pk)
    )
    assert response.status_code == 302
    mine = Ticket.objects.get(citizen=desk.citizen)
    assert (mine.state, mine.duplicate_of) == (Ticket.State.LINKED, earlier)
    page = client.get(reverse("complaints:ticket", args=[mine.pk])).content.decode()
    assert earlier.number in page


def test_the_api_refuses_a_report_as_link_to_exactly_like_an_unknown_id(desk):
    report = report_of_other_citizen(desk)
    client = english(desk.citizen)
    body = {"kind": "complaint", "content": NOISE, "region": "330106"}
    before = world()
    answers = [
        client.post("/api/v1/tickets/", {**body, "link_to": pk}, content_type="application/json")
        for pk in (report.pk, 999_999)
    ]
    assert [a.status_code for a in answers] == [400, 400]
    assert (
        answers[0].json()
        == answers[1].json()
        == {
            "error": {
                "code": "invalid",
                "message": LINK_REFUSED,
                "fields": {"link_to": [LINK_REFUSED]},
            }
        }
    )
    assert world() == before


def test_the_service_refuses_a_report_as_link_to_whoever_calls_it(desk):
    report = report_of_other_citizen(desk)
    before = world()
    for link_to in (report, report.pk):
        with pytest.raises(TicketInvalid) as info:
            desk.ticket(content=NOISE, link_to=link_to)
        assert info.value.fields == {"link_to": [LINK_REFUSED]}
    assert world() == before


def test_the_desk_cannot_link_a_ticket_to_a_report(desk):
    report = report_of_other_citizen(desk)
    mine = desk.ticket(content=NOISE)
    message = (
        "A report cannot be linked to: its sender and its subject stay with the desk, and the "
        "other ticket's sender would be told its number."
    )
    before = world()
    with pytest.raises(Refused) as info:
        ticket_transition(actor=desk.dispatcher, ticket=mine, action="link", target=report)
    assert (info.value.code, info.value.message) == ("target_report", message)
    assert world() == before

    # the staff page and the API say the same and change nothing
    page = english(desk.dispatcher).post(
        reverse("complaints:staff-act", args=[mine.pk]),
        {"action": "link", "target": report.number, "version": fresh(mine).version},
    )
    assert page.status_code == 400
    assert page.context["refusal"] == message
    answer = english(desk.supervisor).post(
        f"/api/v1/tickets/{mine.pk}/actions/",
        {"action": "link", "target": report.pk},
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == {"code": "target_report", "message": message}
    assert world() == before
    assert fresh(mine).state == Ticket.State.QUEUED


# ---------------------------------------------------------------- a report about an application


@pytest.fixture
def application(desk):
    item = ServiceItemFactory(
        department=desk.departments["zhujian"], name="建筑工程施工许可", form_fields=[]
    )
    draft = application_start(applicant=desk.citizen, item=item)
    app, _created = application_submit(
        applicant=desk.citizen, application=draft, answers={}, idempotency_key="k-report"
    )
    return app


SECRETS_OF_THE_SENDER = ("张三", "张*", "13912345678", "139****5678")


def _secrets(desk, application) -> tuple[str, ...]:
    return (
        *SECRETS_OF_THE_SENDER,
        desk.citizen.username,
        application.reference,
        str(application.pk),
        f"/admin/workflows/application/{application.pk}",
    )


def test_a_report_about_an_application_shows_its_facts_never_who_applied(desk, application):
    report = desk.ticket(kind="report", application=application, content=BRIBE)
    report.refresh_from_db()
    # sent on to the department that holds the application, with nothing naming it
    assert report.department == desk.departments["zhujian"]
    assert report.dispatch_reasons == ["application"]
    (task,) = application.tasks.all()
    for user in (desk.clerks["zhujian"], desk.supervisors["zhujian"]):
        client = english(user)
        page = client.get(reverse("complaints:staff-ticket", args=[report.pk]))
        assert page.status_code == 200
        facts = page.context["application"]
        assert facts.reference == ""
        assert facts.subject == "建筑工程施工许可"
        assert [(s.label, s.department, s.state) for s in facts.steps] == [
            (task.label or task.step, "杭州市住房和城乡建设局", task.state)
        ]
        text = page.content.decode()
        assert "建筑工程施工许可" in text and "杭州市住房和城乡建设局" in text
        assert "Who applied is not shown" in text

        detail = client.get(f"/api/v1/tickets/{report.pk}/").json()
        assert detail["application"] == {
            "reference": "",
            "subject": "建筑工程施工许可",
            "status": "in_progress",
            "status_display": "In progress",
            "submitted_on": str(facts.submitted_on),
            "promised_date": str(application.promised_date),
            "steps": [
                {
                    "label": task.label or task.step,
                    "department": "杭州市住房和城乡建设局",
                    "state": task.state,
                    "state_display": str(task.get_state_display()),
                    "ready_on": str(facts.steps[0].ready_on),
                    "due_date": str(task.due_date),
                    "finished_on": None,
                }
            ],
        }

        change = client.get(f"/admin/complaints/ticket/{report.pk}/change/")
        assert change.status_code == 200
        admin_text = change.content.decode()
        assert "建筑工程施工许可" in admin_text  # the facts are there
        for response in (page, client.get(f"/api/v1/tickets/{report.pk}/"), change):
            text = response.content.decode()
            for secret in _secrets(desk, application):
                assert secret not in text, (user, response.request["PATH_INFO"], secret)
        # whether the sender chose to stay anonymous is not shown either
        assert 'id="id_is_anonymous"' not in admin_text and "anonymous" not in admin_text.lower()


def test_the_desk_sees_the_applications_reference_and_its_supervisor_reveals_the_sender(
    desk, application
):
    report = desk.ticket(kind="report", application=application, content=BRIBE)
    page = english(desk.operator).get(reverse("complaints:staff-ticket", args=[report.pk]))
    assert page.context["application"].reference == application.reference
    assert page.context["reporter"].name == "张*"
    before = ReporterAccess.objects.count()
    revealed = english(desk.supervisor).post(
        f"/api/v1/tickets/{report.pk}/reporter/",
        {"reason": "核实线索"},
        content_type="application/json",
    )
    assert revealed.status_code == 200
    assert revealed.json()["name"] == "张三"
    assert ReporterAccess.objects.count() == before + 1


def test_a_complaint_about_an_application_shows_the_department_its_reference(desk, application):
    complaint = desk.ticket(application=application, content=NOISE)
    page = english(desk.clerks["zhujian"]).get(
        reverse("complaints:staff-ticket", args=[complaint.pk])
    )
    assert page.context["application"].reference == application.reference
    assert page.context["reporter"].name == "张*"
    change = english(desk.clerks["zhujian"]).get(f"/admin/complaints/ticket/{complaint.pk}/change/")
    assert f"/admin/workflows/application/{application.pk}/change/" in change.content.decode()


def test_application_admin_shows_the_applicant_masked_and_never_linked(desk, application):
    client = english(desk.clerks["zhujian"])
    listing = client.get("/admin/workflows/application/").content.decode()
    change = client.get(f"/admin/workflows/application/{application.pk}/change/")
    assert change.status_code == 200
    for text in (listing, change.content.decode()):
        assert "张*" in text
        assert "张三" not in text and desk.citizen.username not in text
        assert "/admin/accounts/user/" not in text


# ---------------------------------------------------------------- the assistant's log in admin


@pytest.fixture
def log(desk):
    """Questions from 西湖区 (one became 张三's report), from 宁波, and from nowhere."""
    ningbo = Region.objects.create(code="330200", name="宁波市", level="city", parent=desk.province)
    ningbo_department = DepartmentFactory(
        code="330200-zhujian", name="宁波市住房和城乡建设局", kind="zhujian", region=ningbo
    )
    ningbo_supervisor = MembershipFactory(
        department=ningbo_department, role=Membership.Role.SUPERVISOR
    ).user
    plain = knowledge.assistant_ask(
        question="施工噪音投诉打什么电话", region_code="330106", user=desk.citizen
    )
    reported = knowledge.assistant_ask(
        question="工地负责人收受好处找谁", region_code="330106", user=desk.citizen
    )
    report = desk.ticket(kind="report", content=BRIBE, question=reported)
    ticket_transition(
        actor=desk.dispatcher,
        ticket=report,
        action="dispatch",
        department=desk.departments["zhujian"],
    )
    elsewhere = knowledge.assistant_ask(
        question="宁波公积金怎么提取", region_code="330200", user=desk.other_citizen
    )
    nowhere = knowledge.assistant_ask(question="社保卡丢了怎么办", user=desk.other_citizen)
    return {
        "plain": plain,
        "reported": reported,
        "report": report,
        "elsewhere": elsewhere,
        "nowhere": nowhere,
        "ningbo_supervisor": ningbo_supervisor,
    }


def _rows(client) -> dict[str, str]:
    """The changelist as {question: the row's text}."""
    html = client.get("/admin/complaints/assistantquestion/").content.decode()
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.S)
    found = {}
    for row in rows:
        text = re.sub(r"<[^>]+>", " ", row)
        for question in AssistantQuestion.objects.values_list("question", flat=True):
            if question in text:
                found[question] = " ".join(text.split())
    return found


def test_the_desk_reads_the_whole_log_with_askers_masked_and_never_next_to_a_report(desk, log):
    for user in (desk.supervisor, desk.dispatcher):
        rows = _rows(english(user))
        assert set(rows) == {log[k].question for k in ("plain", "reported", "elsewhere", "nowhere")}
        assert "张* 139****5678" in rows[log["plain"].question]
        assert "李*" in rows[log["elsewhere"].question]
        reported = rows[log["reported"].question]
        assert log["report"].number in reported
        assert "张" not in reported.replace(log["reported"].question, "")
        page = english(user).get(
            f"/admin/complaints/assistantquestion/{log['reported'].pk}/change/"
        )
        assert page.status_code == 200
        text = page.content.decode()
        for secret in ("张三", "张*", "139****5678", "13912345678", desk.citizen.username):
            assert secret not in text


def test_other_staff_read_only_their_regions_questions_and_never_an_asker(desk, log):
    zhujian = english(desk.supervisors["zhujian"])
    rows = _rows(zhujian)
    assert set(rows) == {log["plain"].question, log["reported"].question}
    for text in rows.values():
        for secret in ("张", "李", "139****5678"):
            assert secret not in text.replace(log["plain"].question, "").replace(
                log["reported"].question, ""
            )
    # the report is theirs to handle: its number, but nobody next to it
    assert log["report"].number in rows[log["reported"].question]
    for key in ("elsewhere", "nowhere"):
        page = zhujian.get(f"/admin/complaints/assistantquestion/{log[key].pk}/change/")
        assert page.status_code == 302  # "does not exist" (Django's answer for out of scope)
    assert set(_rows(english(log["ningbo_supervisor"]))) == {log["elsewhere"].question}
    # a department with no part in the report sees the question, not which ticket it became
    shengtai = _rows(english(desk.supervisors["shengtai"]))
    assert "a ticket outside your departments" in shengtai[log["reported"].question]
    assert log["report"].number not in shengtai[log["reported"].question]


def test_the_logs_asker_rule_is_the_same_row_by_row_and_in_sql(desk, log):
    for user in (desk.supervisor, desk.supervisors["zhujian"], log["ningbo_supervisor"]):
        at_desk = is_desk(user)
        for row in questions_for_staff(user, desk=at_desk):
            assert row.asker_visible == question_asker_visible(row, desk=at_desk), (user, row)
    assert questions_for_staff(desk.citizen, desk=False).count() == 0
    assert questions_for_staff(StaffFactory(), desk=False).count() == 0


@pytest.mark.parametrize("size", [1, 12])
def test_the_log_changelist_runs_a_fixed_number_of_queries(
    desk, log, size, django_assert_max_num_queries
):
    for n in range(size):
        knowledge.assistant_ask(question=f"问题{n}", region_code="330106", user=desk.citizen)
    for user in (desk.supervisor, desk.supervisors["zhujian"]):
        client = english(user)
        client.get("/admin/complaints/assistantquestion/")  # warm the session
        with django_assert_max_num_queries(13):
            assert client.get("/admin/complaints/assistantquestion/").status_code == 200


# ---------------------------------------------------------------- feedback: only whoever asked


API = "/api/v1/assistant/"


def _ask(client, question="社保卡丢了怎么办") -> int:
    response = client.get(API, {"q": question})
    assert response.status_code == 200
    return response.json()["question_id"]


def _helpful(client, pk, value=True):
    return client.post(f"{API}{pk}/helpful/", {"helpful": value}, content_type="application/json")


def test_an_anonymous_answer_is_rated_only_by_the_session_that_asked(db):
    asker = english()
    pk = _ask(asker)
    record = AssistantQuestion.objects.get(pk=pk)
    session_key = asker.session.session_key
    assert record.user is None
    assert re.fullmatch(r"[0-9a-f]{64}", record.asker_session)
    assert session_key not in record.asker_session

    before = world()
    for stranger in (english(), english(UserFactory()), english(StaffFactory())):
        refused = _helpful(stranger, pk)
        assert refused.status_code == 404
        assert refused.json()["error"] == {"code": "not_found", "message": NOT_YOURS}
        page = stranger.post(reverse("complaints:assistant-helpful", args=[pk]), {"helpful": "no"})
        assert page.status_code == 404
        assert NOT_YOURS in page.content.decode()
    # a question that does not exist says the same
    assert _helpful(english(), pk + 1000).json()["error"]["message"] == NOT_YOURS
    assert world() == before

    answer = _helpful(asker, pk, False)
    assert answer.status_code == 200
    assert answer.json() == {"question_id": pk, "helpful": False, "flagged": False}
    assert AssistantQuestion.objects.get(pk=pk).helpful is False


def test_walking_the_sequential_ids_without_the_session_changes_nothing(db):
    asker = english()
    ids = [_ask(asker, f"问题{n}") for n in range(5)]
    before = world()
    prober = english()
    assert [_helpful(prober, pk).status_code for pk in range(1, max(ids) + 3)] == [404] * (
        max(ids) + 2
    )
    assert world() == before


def test_a_signed_in_askers_answer_is_rated_by_their_account_only(db):
    owner = UserFactory()
    pk = _ask(english(owner))
    assert AssistantQuestion.objects.get(pk=pk).asker_session == ""
    before = world()
    for stranger in (english(), english(UserFactory())):
        assert _helpful(stranger, pk).status_code == 404
    assert world() == before
    # the same account from another device
    assert _helpful(english(owner), pk).status_code == 200
    assert AssistantQuestion.objects.get(pk=pk).helpful is True


def test_the_page_asker_keeps_their_questions_after_logging_in(db):
    client = english()
    assert (
        client.post(reverse("complaints:assistant"), {"q": "社保卡丢了怎么办"}).status_code == 302
    )
    record = AssistantQuestion.objects.get()
    assert record.user is None and record.asker_session
    client.force_login(UserFactory())  # the session key changes; the conversation stays
    response = client.post(
        reverse("complaints:assistant-helpful", args=[record.pk]), {"helpful": "yes"}
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.helpful is True


def test_a_link_to_a_report_made_before_the_rule_names_it_to_the_desk_only(desk):
    report = report_of_other_citizen(desk)
    mine = desk.ticket(content=NOISE)
    # as such a link was stored before reports stopped being link targets
    Ticket.objects.filter(pk=mine.pk).update(duplicate_of=report, state=Ticket.State.LINKED)
    client = english(desk.citizen)
    page = client.get(reverse("complaints:ticket", args=[mine.pk]))
    assert page.context["linked_to"] is None
    assert report.number not in page.content.decode()
    detail = client.get(f"/api/v1/tickets/{mine.pk}/")
    assert detail.json()["linked_to"] is None
    assert report.number not in detail.content.decode()
    desk_page = english(desk.dispatcher).get(reverse("complaints:staff-ticket", args=[mine.pk]))
    assert desk_page.context["linked_to"] == report
    assert english(desk.dispatcher).get(f"/api/v1/tickets/{mine.pk}/").json()["linked_to"] == (
        report.pk
    )


def test_the_facts_of_an_application_cost_one_query(desk, application):
    """The same page and API answer of a ticket without an application, plus one query for the
    application's steps."""
    report = desk.ticket(kind="report", application=application, content=BRIBE)
    complaint = desk.ticket(content=NOISE)
    ticket_transition(
        actor=desk.dispatcher,
        ticket=complaint,
        action="dispatch",
        department=desk.departments["zhujian"],
    )
    client = english(desk.clerks["zhujian"])
    client.get(reverse("complaints:staff-tickets"))  # the session, once

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    for url in ("/staff/tickets/{}/", "/api/v1/tickets/{}/"):
        assert queries(url.format(report.pk)) == queries(url.format(complaint.pk)) + 1

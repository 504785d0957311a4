"""The desk's new moves through the staff page's forms and the API: answering a consultation from
the knowledge base, merging tickets (合并), 延期 and 挂起 with the desk's decision, 下派 to a
street, assisting departments named as a person names them, the next queued ticket after a
desk move, who may do what, and what the lead's page costs in queries.

Every state is built through the services, as people would; every refusal is checked to change
nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from complaints.knowledge.services import article_save
from complaints.models import Article, Ticket, TicketDelay, TicketDepartment, TicketEvent
from complaints.services import ticket_transition
from departments.models import Membership, Region
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory
from zheliban.core.models import Notice

S = Ticket.State
QUEUE = "/staff/tickets/?view=queue"
DELAYS = "/staff/tickets/?view=delays"
API = "/api/v1/tickets/"

NIGHT_WORK = [
    "文三路100号工地每天晚上十一点后还在打桩施工，噪音很大无法入睡。",
    "文三路工地夜间打桩施工噪音扰民，晚上十二点还在施工。",
    "文三路100号建筑工地晚上十一点后还在打桩，噪音很大，请管一管。",
    "文三路100号工地每天半夜还在打桩施工，噪音太大，孩子无法入睡。",
]
FUND_QUESTION = "我在杭州上班五年了，想提取住房公积金付房租，公积金提取要带什么材料？"
FUND_ANSWER = "租房提取住房公积金：携带身份证和租房合同到公积金中心窗口办理，或在浙里办申请提取。"


# ---------------------------------------------------------------- helpers


def staff(user) -> Client:
    """A browser of this member of staff, reading the pages in English (the msgids)."""
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(user)
    return client


def api(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def page_of(ticket: Ticket) -> str:
    return reverse("complaints:staff-ticket", kwargs={"pk": ticket.pk})


def version_of(ticket: Ticket) -> int:
    return Ticket.objects.values_list("version", flat=True).get(pk=ticket.pk)


def act(client: Client, ticket: Ticket, action: str, **fields):
    """Submit one of the staff page's forms, with the version the page showed."""
    data = {"action": action, "version": version_of(ticket), **fields}
    return client.post(reverse("complaints:staff-act", kwargs={"pk": ticket.pk}), data)


def api_act(client: Client, ticket: Ticket, action: str, **body):
    return client.post(
        f"{API}{ticket.pk}/actions/",
        {"action": action, "version": version_of(ticket), **body},
        content_type="application/json",
    )


def api_merge(client: Client, into: Ticket, tickets: list[Ticket]):
    return client.post(
        f"{API}{into.pk}/merge/",
        {"tickets": [t.pk for t in tickets]},
        content_type="application/json",
    )


def snapshot() -> tuple:
    """Everything a move could change, of every ticket."""
    return (
        list(
            Ticket.objects.order_by("pk").values_list(
                "pk",
                "state",
                "version",
                "department_id",
                "category",
                "reply",
                "article_id",
                "duplicate_of_id",
                "closed_at",
                "node_due_date",
                "delay_count",
            )
        ),
        list(TicketEvent.objects.order_by("pk").values_list("pk", "action")),
        list(TicketDelay.objects.order_by("pk").values_list("pk", "state", "decided_by")),
        list(TicketDepartment.objects.order_by("pk").values_list("pk", "state", "department")),
        Notice.objects.count(),
    )


def text(response) -> str:
    return response.content.decode()


def queue_rows(client: Client, view: str) -> list[int]:
    response = client.get(f"/staff/tickets/?view={view}")
    assert response.status_code == 200
    return [t.pk for t, *_rest in response.context["rows"]]


def notices(user) -> list[tuple[str, str]]:
    return list(Notice.objects.filter(recipient=user).order_by("id").values_list("subject", "body"))


def dispatched(desk, to: str = "zhujian", **fields) -> Ticket:
    ticket = desk.ticket(**fields)
    department = desk.departments[to]
    ticket_transition(
        actor=desk.dispatcher, ticket=ticket, action="dispatch", department=department
    )
    ticket.refresh_from_db()
    return ticket


def handling(desk, lead=None, lead_clerk=None, assisting=(), **fields) -> Ticket:
    """A ticket its lead department signed for (the city's 住建局 unless another is given)."""
    ticket = desk.ticket(**fields)
    lead = lead or desk.departments["zhujian"]
    ticket_transition(
        actor=desk.dispatcher,
        ticket=ticket,
        action="dispatch",
        department=lead,
        assisting=list(assisting),
    )
    ticket_transition(actor=lead_clerk or desk.clerks["zhujian"], ticket=ticket, action="sign")
    ticket.refresh_from_db()
    assert ticket.state == S.HANDLING
    return ticket


def ask_for_time(ticket: Ticket, clerk, kind: str, until: dt.date, reason: str) -> TicketDelay:
    ticket_transition(
        actor=clerk,
        ticket=ticket,
        action="delay",
        note=reason,
        data={"kind": kind, "until": until},
    )
    return TicketDelay.objects.filter(ticket=ticket).latest("id")


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def fund_article(desk) -> Article:
    """The 住建局's knowledge-base article on drawing the housing fund, indexed as in admin."""
    return article_save(
        article=Article(
            code="gongjijin-zufang-tiqu",
            scope=Article.Scope.DEPARTMENT,
            department=desk.departments["zhujian"],
            question="租房怎么提取住房公积金？",
            answer=FUND_ANSWER,
            keywords="公积金 提取 租房 材料",
        )
    )


@pytest.fixture
def streets(desk):
    """西湖区's own 住建局, two street offices of 西湖区 and one of 拱墅区, with their clerks."""
    district = desk.district
    lead = DepartmentFactory(
        code="330106-zhujian", name="西湖区住房和城乡建设局", kind="zhujian", region=district
    )
    beishan = Region.objects.create(
        code="330106004", name="北山街道", level=Region.Level.STREET, parent=district
    )
    xixi = Region.objects.create(
        code="330106005", name="西溪街道", level=Region.Level.STREET, parent=district
    )
    gongshu = Region.objects.create(code="330105", name="拱墅区", level="county", parent=desk.city)
    mishixiang = Region.objects.create(
        code="330105001", name="米市巷街道", level=Region.Level.STREET, parent=gongshu
    )
    offices = {
        "beishan": DepartmentFactory(
            code="330106004-zhifa", name="北山街道综合行政执法队", kind="zhifa", region=beishan
        ),
        "xixi": DepartmentFactory(
            code="330106005-zhifa", name="西溪街道综合行政执法队", kind="zhifa", region=xixi
        ),
        "mishixiang": DepartmentFactory(
            code="330105001-zhifa",
            name="米市巷街道综合行政执法队",
            kind="zhifa",
            region=mishixiang,
        ),
    }
    clerk = {
        key: MembershipFactory(
            department=d, role=Membership.Role.CLERK, user__real_name=f"{d.name}队员"
        ).user
        for key, d in {"lead": lead, **offices}.items()
    }
    return lead, offices, clerk


# ---------------------------------------------------------------- the knowledge base's answer


def test_the_desk_answers_a_consultation_from_the_knowledge_base_on_its_page(desk, fund_article):
    consultation = desk.ticket(kind="consultation", title="公积金提取", content=FUND_QUESTION)
    following = desk.ticket(content="西溪路公交站的站牌被撞坏了，一直没人修，晚上看不清。")
    assert (consultation.state, following.state) == (S.QUEUED, S.QUEUED)
    dispatcher = staff(desk.dispatcher)

    page = dispatcher.get(page_of(consultation))
    assert page.status_code == 200
    assert page.context["articles"] == [fund_article]
    assert f'name="article" value="{fund_article.code}" checked' in text(page)
    assert 'name="action" value="resolve"' in text(page)

    answered = act(
        dispatcher, consultation, "resolve", article=fund_article.code, note="您好，答复如下。"
    )
    # the dispatcher goes on with the next ticket of the queue
    assert answered.status_code == 302
    assert answered.url == page_of(following)

    consultation.refresh_from_db()
    assert consultation.state == S.CLOSED
    assert (consultation.department, consultation.parts.count()) == (None, 0)  # never dispatched
    assert consultation.article == fund_article
    assert (consultation.category, consultation.category_guessed) == ("城乡建设", "")
    url = fund_article.get_absolute_url()
    source = f"Source: the knowledge base, “租房怎么提取住房公积金？” ({url})"
    assert consultation.reply == f"您好，答复如下。\n\n{FUND_ANSWER}\n\n{source}"
    assert consultation.closed_at is not None
    assert list(consultation.events.values_list("action", "from_state", "to_state", "actor")) == [
        ("receive", "", S.RECEIVED, None),
        ("queue", S.RECEIVED, S.QUEUED, None),
        ("resolve", S.QUEUED, S.CLOSED, desk.dispatcher.pk),
    ]
    assert consultation.events.get(action="resolve").data == {"article": fund_article.code}
    subject, body = notices(desk.citizen)[-1]
    assert subject == f"Ticket {consultation.number} answered"
    assert body == consultation.reply

    # its page now shows the answer with its source, and no form of the desk's
    shown = dispatcher.get(page_of(consultation))
    assert fund_article.get_absolute_url() in text(shown)
    assert 'value="resolve"' not in text(shown)
    assert 'value="dispatch"' not in text(shown)


def test_the_last_consultation_of_the_queue_answered_leads_back_to_the_queue(desk, fund_article):
    consultation = desk.ticket(kind="consultation", title="公积金提取", content=FUND_QUESTION)
    answered = act(staff(desk.dispatcher), consultation, "resolve", article=fund_article.code)
    assert (answered.status_code, answered.url) == (302, QUEUE)
    consultation.refresh_from_db()
    assert consultation.reply == (
        f"{FUND_ANSWER}\n\nSource: the knowledge base, “租房怎么提取住房公积金？” "
        f"({fund_article.get_absolute_url()})"
    )


def test_the_desk_answers_a_consultation_from_the_knowledge_base_through_the_api(
    desk, fund_article
):
    consultation = desk.ticket(kind="consultation", title="公积金提取", content=FUND_QUESTION)
    complaint = desk.ticket()
    client = api(desk.dispatcher)

    # only a consultation, and only with an article that exists
    before = snapshot()
    refused = api_act(client, complaint, "resolve", article=fund_article.code)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "not_consultation"
    refused = api_act(client, consultation, "resolve", article="no-such-article")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "not_found"
    assert list(refused.json()["error"]["fields"]) == ["article"]
    refused = api_act(client, consultation, "resolve")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "article_missing"
    assert snapshot() == before

    answered = api_act(client, consultation, "resolve", article=fund_article.code)
    assert answered.status_code == 200
    body = answered.json()
    assert (body["id"], body["state"], body["department"], body["parts"]) == (
        consultation.pk,
        "closed",
        None,
        [],
    )
    assert body["category"] == "城乡建设"
    assert body["reply"].startswith(FUND_ANSWER)
    assert body["reply"].endswith(f"({fund_article.get_absolute_url()})")
    assert [e["action"] for e in body["history"]] == ["receive", "queue", "resolve"]
    consultation.refresh_from_db()
    assert (consultation.state, consultation.article) == (S.CLOSED, fund_article)


# ---------------------------------------------------------------- merging (合并)


def test_the_desk_merges_three_tickets_into_one_from_the_page_and_every_sender_is_told(desk):
    senders = [
        desk.citizen,
        desk.other_citizen,
        UserFactory(real_name="王五"),
        UserFactory(real_name="赵六"),
    ]
    into, *others = [
        desk.ticket(citizen=sender, content=content, title="夜间施工扰民")
        for sender, content in zip(senders, NIGHT_WORK, strict=True)
    ]
    dispatcher = staff(desk.dispatcher)
    page = dispatcher.get(page_of(into))
    assert page.status_code == 200
    assert {m.ticket.pk for m in page.context["duplicates"]} == {t.pk for t in others}
    for other in others:
        assert f'name="merge" value="{other.pk}"' in text(page)
    told_before = notices(senders[0])

    merged = act(dispatcher, into, "merge", merge=[t.pk for t in others])
    assert (merged.status_code, merged.url) == (302, page_of(into))

    for other in others:
        other.refresh_from_db()
        assert (other.state, other.duplicate_of_id) == (S.LINKED, into.pk)
        assert other.closed_at is not None
        link = other.events.get(action="link")
        assert (link.from_state, link.to_state, link.actor, link.note) == (
            S.QUEUED,
            S.LINKED,
            desk.dispatcher,
            into.number,
        )
    into.refresh_from_db()
    assert into.state == S.QUEUED  # the one merged into waits for its dispatch as before
    assert list(into.events.filter(action="linked").values_list("note", flat=True)) == [
        o.number for o in others
    ]
    # each merged ticket's sender is told which ticket it follows; the other sender, nothing
    for sender, other in zip(senders[1:], others, strict=True):
        subject, body = notices(sender)[-1]
        assert subject == f"Ticket {other.number} linked"
        assert into.number in body
    assert notices(senders[0]) == told_before

    # the answer reaches every sender, each under their own number
    ticket_transition(
        actor=desk.dispatcher,
        ticket=into,
        action="dispatch",
        department=desk.departments["zhujian"],
    )
    ticket_transition(actor=desk.clerks["zhujian"], ticket=into, action="sign")
    reply = "经查，该工地未办理夜间施工许可，已责令停止夜间打桩施工。"
    ticket_transition(actor=desk.clerks["zhujian"], ticket=into, action="answer", note=reply)
    assert notices(senders[0])[-1][0] == f"Ticket {into.number} answered"
    for sender, other in zip(senders[1:], others, strict=True):
        subject, body = notices(sender)[-1]
        assert subject == f"Ticket {other.number} answered"
        assert into.number in body and reply in body


def test_the_desk_merges_tickets_through_the_api(desk):
    into, first, second = [
        desk.ticket(citizen=UserFactory(), content=content) for content in NIGHT_WORK[:3]
    ]
    client = api(desk.dispatcher)

    before = snapshot()
    refused = api_merge(client, into, [first, into])
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "target_invalid"
    refused = api_merge(client, into, [])
    assert refused.status_code == 400
    assert list(refused.json()["error"]["fields"]) == ["tickets"]
    assert snapshot() == before

    merged = api_merge(client, into, [first, second])
    assert merged.status_code == 200
    body = merged.json()
    assert (body["id"], body["state"]) == (into.pk, "queued")
    assert [e["action"] for e in body["history"]] == ["receive", "queue", "linked", "linked"]
    for other in (first, second):
        other.refresh_from_db()
        assert (other.state, other.duplicate_of_id) == (S.LINKED, into.pk)
        assert notices(other.citizen)[-1][0] == f"Ticket {other.number} linked"


def test_merging_across_regions_is_refused_on_the_page_and_in_the_api_and_changes_nothing(desk):
    shangcheng = Region.objects.create(
        code="330102", name="上城区", level="county", parent=desk.city
    )
    into = desk.ticket(content=NIGHT_WORK[0])
    same = desk.ticket(content=NIGHT_WORK[1], citizen=desk.other_citizen)
    foreign = desk.ticket(
        content=NIGHT_WORK[2], region=shangcheng, address="清泰街 100 号", citizen=UserFactory()
    )
    dispatcher = staff(desk.dispatcher)
    # the page offers only the same region's tickets
    offered = dispatcher.get(page_of(into)).context["duplicates"]
    assert [m.ticket.pk for m in offered] == [same.pk]

    message = (
        f"Ticket {foreign.number} is about 上城区 and {into.number} about 西湖区: only tickets of "
        "the same region are one matter."
    )
    before = snapshot()
    refused = act(dispatcher, into, "merge", merge=[same.pk, foreign.pk])
    assert refused.status_code == 400
    assert message in text(refused)
    assert snapshot() == before  # all or nothing: the same region's ticket stays as it was

    refused = api_merge(api(desk.dispatcher), into, [same, foreign])
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "region_mismatch"
    assert refused.json()["error"]["message"] == message
    assert snapshot() == before


# ---------------------------------------------------------------- 延期 and 挂起


def test_an_extension_asked_on_the_page_is_listed_for_the_desk_and_approved(desk):
    ticket = handling(desk)
    other = handling(desk, content="文二路人行道上的井盖松动，踩上去晃，担心有人掉下去。")
    lead = staff(desk.clerks["zhujian"])
    supervisor = staff(desk.supervisor)
    due = ticket.node_due_date
    until = due + dt.timedelta(days=7)

    page = lead.get(page_of(ticket))
    for field in ('id="y-kind"', 'id="y-until"', 'id="y-note"', 'value="delay"'):
        assert field in text(page)
    assert [value for value, _label in page.context["delay_kinds"]] == ["extension", "suspension"]
    asked = act(
        lead,
        ticket,
        "delay",
        kind="extension",
        until=until.isoformat(),
        note="需要等待第三方检测机构出具噪声检测报告",
    )
    assert (asked.status_code, asked.url) == (302, page_of(ticket))
    delay = TicketDelay.objects.get(ticket=ticket)
    assert (delay.kind, delay.state, delay.until, delay.department) == (
        "extension",
        "pending",
        until,
        desk.departments["zhujian"],
    )
    ticket.refresh_from_db()
    assert (ticket.state, ticket.node_due_date) == (S.HANDLING, due)  # nothing moves yet
    # the lead cannot ask twice: the form is gone while the desk decides
    assert 'id="y-kind"' not in text(lead.get(page_of(ticket)))

    # the desk's list of requests to decide shows it, and only it
    assert queue_rows(supervisor, "delays") == [ticket.pk]
    page = supervisor.get(page_of(ticket))
    assert page.context["pending_delay"] == delay
    assert 'name="approve" value="yes"' in text(page)
    assert 'name="approve" value="no"' in text(page)
    decided = act(supervisor, ticket, "decide", approve="yes")
    assert (decided.status_code, decided.url) == (302, page_of(ticket))

    delay.refresh_from_db()
    ticket.refresh_from_db()
    assert (delay.state, delay.decided_by) == ("approved", desk.supervisor)
    assert (ticket.state, ticket.node_due_date, ticket.delay_count) == (S.HANDLING, until, 1)
    assert list(ticket.events.values_list("action", flat=True))[-2:] == ["delay", "decide"]
    assert queue_rows(supervisor, "delays") == []
    assert other.pk in queue_rows(supervisor, "all")
    assert notices(desk.clerks["zhujian"])[-1][0] == (
        f"Extension (延期) for ticket {ticket.number} approved"
    )


def test_a_refusal_on_the_page_needs_a_reason_and_takes_the_request_off_the_list(desk):
    ticket = handling(desk)
    clerk = desk.clerks["zhujian"]
    ask_for_time(
        ticket, clerk, "extension", ticket.node_due_date + dt.timedelta(days=5), "人手不足"
    )
    dispatcher = staff(desk.dispatcher)
    assert queue_rows(dispatcher, "delays") == [ticket.pk]

    before = snapshot()
    refused = act(dispatcher, ticket, "decide", approve="no")
    assert refused.status_code == 400
    assert "Say why the request is refused." in text(refused)
    assert snapshot() == before

    decided = act(dispatcher, ticket, "decide", approve="no", note="人手不足不是延期的理由")
    assert decided.status_code == 302
    delay = TicketDelay.objects.get(ticket=ticket)
    assert (delay.state, delay.decision_note) == ("refused", "人手不足不是延期的理由")
    ticket.refresh_from_db()
    assert (ticket.state, ticket.delay_count) == (S.HANDLING, 0)
    assert queue_rows(dispatcher, "delays") == []
    assert notices(clerk)[-1][0] == f"Extension (延期) for ticket {ticket.number} refused"
    # the lead may ask again, and the page offers it
    assert 'id="y-kind"' in text(staff(clerk).get(page_of(ticket)))


def test_a_suspension_approved_on_the_page_is_resumed_by_the_lead_from_its_page(desk):
    ticket = handling(desk)
    lead = staff(desk.clerks["zhujian"])
    until = timezone.localdate() + dt.timedelta(days=20)
    act(lead, ticket, "delay", kind="suspension", until=until.isoformat(), note="等待法院判决")
    assert act(staff(desk.supervisor), ticket, "decide", approve="yes").status_code == 302
    ticket.refresh_from_db()
    assert (ticket.state, ticket.node_due_date) == (S.SUSPENDED, None)

    page = lead.get(page_of(ticket))
    assert 'value="resume"' in text(page)
    assert 'value="answer"' not in text(page)
    resumed = act(lead, ticket, "resume", note="法院已判决")
    assert (resumed.status_code, resumed.url) == (302, page_of(ticket))
    ticket.refresh_from_db()
    assert ticket.state == S.HANDLING and ticket.node_due_date is not None
    assert TicketDelay.objects.get(ticket=ticket).state == "ended"
    resume = ticket.events.get(action="resume")
    assert (resume.actor, resume.note) == (desk.clerks["zhujian"], "法院已判决")


def test_a_request_for_time_does_not_stay_on_the_desks_list_once_the_lead_has_answered(desk):
    ticket = handling(desk)
    clerk = desk.clerks["zhujian"]
    ask_for_time(ticket, clerk, "extension", ticket.node_due_date + dt.timedelta(days=5), "等检测")
    ticket_transition(actor=clerk, ticket=ticket, action="answer", note="已处理完毕。")
    supervisor = staff(desk.supervisor)
    # nothing is left to decide: the request is moot once the answer is sent
    assert TicketDelay.objects.get(ticket=ticket).state == "withdrawn"
    assert queue_rows(supervisor, "delays") == []
    assert 'name="approve"' not in text(supervisor.get(page_of(ticket)))


# ---------------------------------------------------------------- 下派 to a street


def test_the_lead_sub_dispatches_to_its_own_street_from_the_page(desk, streets):
    lead, offices, clerk = streets
    ticket = handling(desk, lead=lead, lead_clerk=clerk["lead"])
    lead_page = staff(clerk["lead"])

    page = lead_page.get(page_of(ticket))
    # its own district's streets only, by street code
    assert page.context["streets"] == [offices["beishan"], offices["xixi"]]
    assert 'id="s-street"' in text(page)
    assert offices["mishixiang"].code not in text(page)

    # another district's street, crafted into the form, is refused and nothing changes
    before = snapshot()
    refused = act(
        lead_page, ticket, "subdispatch", department=offices["mishixiang"].code, note="请核实"
    )
    assert refused.status_code == 400
    assert "米市巷街道综合行政执法队 is not a street or township office of 西湖区." in text(refused)
    assert snapshot() == before

    sent = act(
        lead_page,
        ticket,
        "subdispatch",
        department=offices["beishan"].code,
        note="请到文三路100号现场核实夜间施工情况",
    )
    assert (sent.status_code, sent.url) == (302, page_of(ticket))
    part = TicketDepartment.objects.get(ticket=ticket, department=offices["beishan"])
    assert (part.is_lead, part.state, part.parent.department) == (False, "dispatched", lead)
    event = ticket.events.get(action="subdispatch")
    assert (event.department, event.note, event.data) == (
        lead,
        "请到文三路100号现场核实夜间施工情况",
        {"street": offices["beishan"].code},
    )

    # the street signs and gives its opinion from its page; then the lead answers
    street = staff(clerk["beishan"])
    assert 'value="sign"' in text(street.get(page_of(ticket)))
    assert act(street, ticket, "sign").status_code == 302
    assert act(street, ticket, "opinion", note="已到现场，责令夜间停工").status_code == 302
    answered = act(lead_page, ticket, "answer", note="经街道核实，已责令该工地夜间停工。")
    assert answered.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == S.ANSWERED
    assert list(ticket.events.values_list("action", "department__code"))[-4:] == [
        ("subdispatch", lead.code),
        ("sign", offices["beishan"].code),
        ("opinion", offices["beishan"].code),
        ("answer", lead.code),
    ]


def test_only_the_lead_sub_dispatches(desk, streets):
    lead, offices, clerk = streets
    ticket = handling(desk, lead=lead, lead_clerk=clerk["lead"])
    ticket_transition(
        actor=clerk["lead"],
        ticket=ticket,
        action="subdispatch",
        department=offices["beishan"],
        note="请核实",
    )
    before = snapshot()
    # the street it was sent to is not the lead: it cannot send it on to another street
    refused = act(
        staff(clerk["beishan"]),
        ticket,
        "subdispatch",
        department=offices["xixi"].code,
        note="请西溪街道协助",
    )
    assert refused.status_code == 403
    assert 'id="s-street"' not in text(refused)
    refused = api_act(
        api(clerk["beishan"]), ticket, "subdispatch", department=offices["xixi"].code, note="请协助"
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_lead"
    # a department with no part in it does not even see it
    other = staff(desk.clerks["shengtai"])
    refused = act(other, ticket, "subdispatch", department=offices["xixi"].code, note="请核实")
    assert refused.status_code == 404
    refused = api_act(
        api(desk.clerks["shengtai"]),
        ticket,
        "subdispatch",
        department=offices["xixi"].code,
        note="请核实",
    )
    assert refused.status_code == 404
    assert snapshot() == before


# ---------------------------------------------------------------- dispatching by name


def test_assisting_departments_are_named_as_the_dispatcher_names_them(desk):
    ticket = desk.ticket(
        content="文一路快速路高架施工，渣土车晚上进出掉土，路面全是泥，噪音也很大。",
        title="高架施工渣土车扰民",
    )
    following = desk.ticket(content="西溪路公交站的站牌被撞坏了，一直没人修，晚上看不清。")
    dispatcher = staff(desk.dispatcher)
    page = dispatcher.get(page_of(ticket))
    names = [d.name for d in page.context["departments"]]
    assert sorted(names) == sorted(d.name for d in desk.departments.values())
    assert '<datalist id="d-departments">' in text(page)

    # a name that is no department's refuses the lot, with the name
    before = snapshot()
    for lead, assisting, unknown in (
        ("杭州市住房和城乡建设局", "杭州市生态环境局、杭州市环保局", "杭州市环保局"),
        ("住房和城乡建设", "", "住房和城乡建设"),  # part of a name is not a name
    ):
        refused = act(dispatcher, ticket, "dispatch", department=lead, assisting=assisting)
        assert refused.status_code == 400
        assert f"No active department has the code or name {unknown}." in text(refused)
        assert snapshot() == before

    sent = act(
        dispatcher,
        ticket,
        "dispatch",
        department="杭州市住房和城乡建设局",
        assisting="杭州市生态环境局、杭州市交通运输局",
    )
    assert (sent.status_code, sent.url) == (302, page_of(following))
    ticket.refresh_from_db()
    zhujian, shengtai, jiaotong = (desk.departments[k] for k in ("zhujian", "shengtai", "jiaotong"))
    assert (ticket.state, ticket.department, ticket.category) == (
        S.DISPATCHED,
        zhujian,
        "城乡建设",
    )
    assert list(ticket.parts.order_by("id").values_list("department", "is_lead", "state")) == [
        (zhujian.pk, True, "dispatched"),
        (shengtai.pk, False, "dispatched"),
        (jiaotong.pk, False, "dispatched"),
    ]
    event = ticket.events.get(action="dispatch")
    assert event.data["assisting"] == [shengtai.code, jiaotong.code]
    assert (event.actor, event.department) == (desk.dispatcher, zhujian)


def test_the_dispatcher_may_name_the_category_on_the_page(desk):
    ticket = desk.ticket(content="西溪路公交站的站牌被撞坏了，一直没人修，晚上看不清。")
    page = staff(desk.dispatcher).get(page_of(ticket))
    assert 'id="d-category"' in text(page)
    sent = act(
        staff(desk.dispatcher),
        ticket,
        "dispatch",
        department=desk.departments["zhujian"].code,
        category="交通运输",
    )
    assert (sent.status_code, sent.url) == (302, QUEUE)
    ticket.refresh_from_db()
    assert (ticket.department, ticket.category) == (desk.departments["zhujian"], "交通运输")
    assert ticket.events.get(action="dispatch").data["category"] == "交通运输"


def test_each_desk_move_from_a_queued_tickets_page_opens_the_next_queued_ticket(desk):
    first, second, third = (
        desk.ticket(content=content)
        for content in (
            "西溪路公交站的站牌被撞坏了，一直没人修，晚上看不清。",
            "文二路人行道上的井盖松动，踩上去晃，担心有人掉下去。",
            "古墩路口的红绿灯时间太短，老人过马路走不到一半就变红灯。",
        )
    )
    repeat = desk.ticket(content="古墩路口红绿灯时间太短了，老人过马路走不到一半就变红灯了。")
    dispatcher = staff(desk.dispatcher)
    jiaotong = desk.departments["jiaotong"].code

    # a refused move stays on the page, saying why
    refused = act(dispatcher, first, "dispatch", department="")
    assert refused.status_code == 400
    assert "Choose the department that leads." in text(refused)

    sent = act(dispatcher, first, "dispatch", department=jiaotong)
    assert (sent.status_code, sent.url) == (302, page_of(second))
    sent = act(dispatcher, second, "dispatch", department=desk.departments["zhujian"].code)
    assert (sent.status_code, sent.url) == (302, page_of(third))
    linked = act(dispatcher, repeat, "link", target=third.pk)  # from the repeat's own page
    assert (linked.status_code, linked.url) == (302, page_of(third))
    sent = act(dispatcher, third, "dispatch", department=jiaotong)
    assert (sent.status_code, sent.url) == (302, QUEUE)  # none is left
    assert queue_rows(dispatcher, "queue") == []
    # a move on a ticket out of the queue stays on its page
    ticket_transition(actor=desk.clerks["jiaotong"], ticket=third, action="sign")
    asked = act(
        staff(desk.clerks["jiaotong"]),
        third,
        "delay",
        kind="extension",
        until=(timezone.localdate() + dt.timedelta(days=20)).isoformat(),
        note="需要和公安交警部门会商",
    )
    decided = act(dispatcher, third, "decide", approve="yes")
    assert (asked.url, decided.url) == (page_of(third), page_of(third))


# ---------------------------------------------------------------- who may do what


def test_a_department_clerk_can_neither_decide_resolve_nor_merge(desk, fund_article):
    clerk = desk.clerks["zhujian"]
    # a request of the clerk's own department, waiting for the desk
    waiting = handling(desk)
    ask_for_time(
        waiting, clerk, "extension", waiting.node_due_date + dt.timedelta(days=5), "等待检测报告"
    )
    # a consultation, and two repeats, all with the clerk's department
    consultation = dispatched(desk, kind="consultation", title="公积金提取", content=FUND_QUESTION)
    into = dispatched(desk, content=NIGHT_WORK[0])
    repeat = dispatched(desk, content=NIGHT_WORK[1], citizen=desk.other_citizen)
    page = staff(clerk)
    for ticket in (waiting, consultation, into):
        shown = text(page.get(page_of(ticket)))
        for form in ('name="approve"', 'value="resolve"', 'value="merge"'):
            assert form not in shown

    before = snapshot()
    for ticket, action, fields in (
        (waiting, "decide", {"approve": "yes"}),
        (consultation, "resolve", {"article": fund_article.code}),
        (into, "merge", {"merge": [repeat.pk]}),
    ):
        refused = act(page, ticket, action, **fields)
        assert refused.status_code == 403, action
        assert "Only the complaints desk can do this." in text(refused)
        assert snapshot() == before

    client = api(clerk)
    for response in (
        api_act(client, waiting, "decide", approve=True),
        api_act(client, consultation, "resolve", article=fund_article.code),
        api_merge(client, into, [repeat]),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_desk"
    assert snapshot() == before

    # nor may the desk's operator, who is not a dispatcher
    operator = staff(desk.operator)
    queued = desk.ticket(kind="consultation", title="公积金提取", content=FUND_QUESTION)
    before = snapshot()
    assert act(operator, queued, "resolve", article=fund_article.code).status_code == 403
    assert act(operator, waiting, "decide", approve="yes").status_code == 403
    assert snapshot() == before


# ---------------------------------------------------------------- what the lead's page costs


def _busy_handling_ticket(desk, streets, *, delays: int, assisting: int, street_parts: int):
    """A ticket 西湖区住建局 leads and handles, with refused requests for time, assisting
    departments and streets it was sub-dispatched to."""
    lead, offices, clerk = streets
    helpers = [desk.departments[k] for k in ("shengtai", "jiaotong")][:assisting]
    ticket = handling(desk, lead=lead, lead_clerk=clerk["lead"], assisting=helpers)
    for n in range(delays):
        ask_for_time(
            ticket,
            clerk["lead"],
            "extension",
            ticket.node_due_date + dt.timedelta(days=n + 3),
            f"第{n + 1}次：等待检测报告",
        )
        ticket_transition(
            actor=desk.supervisor,
            ticket=ticket,
            action="decide",
            note="理由不足",
            data={"approve": False},
        )
    for key in ("beishan", "xixi")[:street_parts]:
        ticket_transition(
            actor=clerk["lead"],
            ticket=ticket,
            action="subdispatch",
            department=offices[key],
            note="请现场核实",
        )
    ticket.refresh_from_db()
    assert ticket.delays.count() == delays
    assert ticket.parts.count() == 1 + assisting + street_parts
    return ticket


# What the lead's page of a handling ticket costs: the session, the user, the user's roles and
# whether they are at the desk, the ticket with its events, parts and attachments, the desk's
# roles, the lead's own part and its district, the streets of that district, the requests for
# time. None of these grows with the ticket's requests or parts.
LEAD_PAGE_QUERIES = 13


def test_the_leads_page_of_a_handling_ticket_does_not_cost_more_with_more_delays_and_parts(
    desk, streets, django_assert_num_queries
):
    _lead, _offices, clerk = streets
    small = _busy_handling_ticket(desk, streets, delays=1, assisting=0, street_parts=0)
    large = _busy_handling_ticket(desk, streets, delays=4, assisting=2, street_parts=2)
    client = staff(clerk["lead"])
    client.get(page_of(small))  # the session and the translations, once
    for ticket in (small, large):
        with django_assert_num_queries(LEAD_PAGE_QUERIES):
            response = client.get(page_of(ticket))
        assert response.status_code == 200
        assert 'id="s-street"' in text(response)
        assert len(response.context["delays"]) == ticket.delays.count()

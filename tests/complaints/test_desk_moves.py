"""The desk's own answers, 延期 and 挂起, 下派 to a street and merging tickets: each move's history,
its notices and its refusals, which change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from complaints.models import Article, Ticket, TicketDelay, TicketDepartment, TicketEvent
from complaints.services import ticket_transition, tickets_sweep
from departments.models import Department, Membership, Region
from tests.factories import DepartmentFactory, MembershipFactory
from zheliban.core.errors import Conflict, Refused
from zheliban.core.models import Notice
from zheliban.core.workdays import add_workdays

S = Ticket.State


def _state(ticket: Ticket) -> tuple:
    ticket = Ticket.objects.get(pk=ticket.pk)
    return (
        ticket.state,
        ticket.version,
        ticket.node_due_date,
        ticket.category,
        ticket.reply,
        ticket.delay_count,
        ticket.duplicate_of_id,
        TicketEvent.objects.filter(ticket=ticket).count(),
        TicketDelay.objects.filter(ticket=ticket).count(),
        TicketDepartment.objects.filter(ticket=ticket).count(),
        Notice.objects.count(),
    )


def _refused(error_type, call, ticket: Ticket, code: str):
    before = _state(ticket)
    with pytest.raises(error_type) as caught:
        call()
    assert caught.value.code == code
    assert _state(ticket) == before
    return caught.value


def _handling(desk, **fields) -> Ticket:
    ticket = desk.ticket(**fields)
    lead = desk.departments["zhujian"]
    ticket_transition(actor=desk.dispatcher, ticket=ticket, action="dispatch", department=lead)
    ticket_transition(actor=desk.clerks["zhujian"], ticket=ticket, action="sign")
    ticket.refresh_from_db()
    assert ticket.state == S.HANDLING
    return ticket


def _notices(user) -> list[str]:
    return list(
        Notice.objects.filter(recipient=user).order_by("id").values_list("subject", flat=True)
    )


# ---------------------------------------------------------------- the desk's own answers


@pytest.fixture
def article(desk):
    lead = desk.departments["zhujian"]
    return Article.objects.create(
        code="gongjijin-tiqu",
        scope=Article.Scope.DEPARTMENT,
        department=lead,
        question="住房公积金怎么提取？",
        answer="携带身份证到公积金中心窗口或在浙里办申请提取。",
    )


def test_desk_answers_a_consultation_from_the_knowledge_base(desk, article):
    ticket = desk.ticket(kind="consultation", title="公积金提取", content="公积金怎么提取？")
    assert ticket.state == S.QUEUED
    ticket_transition(
        actor=desk.dispatcher, ticket=ticket, action="resolve", article=article, note="您好。"
    )
    ticket.refresh_from_db()
    assert ticket.state == S.CLOSED
    assert ticket.article == article
    assert ticket.department is None  # never dispatched
    assert ticket.parts.count() == 0
    assert ticket.category == "城乡建设"  # the article's department's matter
    assert ticket.reply.startswith("您好。\n\n携带身份证")
    assert article.get_absolute_url() in ticket.reply
    assert ticket.closed_at is not None and ticket.replied_at is not None
    event = ticket.events.get(action="resolve")
    assert (event.from_state, event.to_state) == (S.QUEUED, S.CLOSED)
    assert event.actor == desk.dispatcher
    assert event.data == {"article": "gongjijin-tiqu"}
    notice = Notice.objects.filter(recipient=desk.citizen).latest("id")
    assert notice.subject == f"Ticket {ticket.number} answered"
    assert "gongjijin-tiqu" in notice.body and "携带身份证" in notice.body


def test_only_a_consultation_is_answered_by_the_desk(desk, article):
    ticket = desk.ticket(kind="complaint")
    _refused(
        Refused,
        lambda: ticket_transition(
            actor=desk.dispatcher, ticket=ticket, action="resolve", article=article
        ),
        ticket,
        "not_consultation",
    )
    consultation = desk.ticket(kind="consultation")
    _refused(
        Refused,
        lambda: ticket_transition(actor=desk.dispatcher, ticket=consultation, action="resolve"),
        consultation,
        "article_missing",
    )
    # a department's clerk is not the desk
    _refused(
        Exception,
        lambda: ticket_transition(
            actor=desk.clerks["zhujian"], ticket=consultation, action="resolve", article=article
        ),
        consultation,
        "not_desk",
    )


# ---------------------------------------------------------------- 延期


def test_extension_approved_moves_the_due_date_and_tells_everyone(desk):
    ticket = _handling(desk)
    due = ticket.node_due_date
    until = due + dt.timedelta(days=10)
    clerk = desk.clerks["zhujian"]
    ticket_transition(
        actor=clerk,
        ticket=ticket,
        action="delay",
        note="需要等待第三方检测报告",
        data={"kind": "extension", "until": until},
    )
    delay = TicketDelay.objects.get(ticket=ticket)
    assert (delay.kind, delay.state, delay.until, delay.due_before) == (
        "extension",
        "pending",
        until,
        due,
    )
    ticket.refresh_from_db()
    assert ticket.node_due_date == due  # nothing moves until the desk decides
    ticket_transition(actor=desk.supervisor, ticket=ticket, action="decide", data={"approve": True})
    ticket.refresh_from_db()
    delay.refresh_from_db()
    assert delay.state == "approved" and delay.decided_by == desk.supervisor
    assert ticket.state == S.HANDLING
    assert ticket.node_due_date == until
    assert ticket.delay_count == 1
    actions = list(ticket.events.values_list("action", flat=True))
    assert actions[-2:] == ["delay", "decide"]
    decide = ticket.events.get(action="decide")
    assert decide.data == {"kind": "extension", "until": until.isoformat(), "approve": True}
    assert _notices(desk.citizen)[-1] == f"Ticket {ticket.number}: Extension (延期)"
    assert _notices(clerk)[-1] == f"Extension (延期) for ticket {ticket.number} approved"


def test_extension_refused_changes_no_date(desk):
    ticket = _handling(desk)
    due = ticket.node_due_date
    clerk = desk.clerks["zhujian"]
    ticket_transition(
        actor=clerk,
        ticket=ticket,
        action="delay",
        note="人手不足",
        data={"kind": "extension", "until": due + dt.timedelta(days=5)},
    )
    # a refusal needs its reason
    _refused(
        Refused,
        lambda: ticket_transition(
            actor=desk.supervisor, ticket=ticket, action="decide", data={"approve": False}
        ),
        ticket,
        "reason_missing",
    )
    citizen_before = _notices(desk.citizen)
    ticket_transition(
        actor=desk.supervisor,
        ticket=ticket,
        action="decide",
        note="人手不足不是延期的理由",
        data={"approve": False},
    )
    ticket.refresh_from_db()
    delay = TicketDelay.objects.get(ticket=ticket)
    assert delay.state == "refused" and delay.decision_note == "人手不足不是延期的理由"
    assert ticket.node_due_date == due and ticket.delay_count == 0
    assert ticket.events.get(action="decide").data["approve"] is False
    assert _notices(desk.citizen) == citizen_before  # nothing changed for the citizen
    assert _notices(clerk)[-1] == f"Extension (延期) for ticket {ticket.number} refused"


def test_bad_delay_requests_change_nothing(desk):
    ticket = _handling(desk)
    clerk = desk.clerks["zhujian"]
    due = ticket.node_due_date
    later = due + dt.timedelta(days=3)

    def ask(**kw):
        return lambda: ticket_transition(actor=clerk, ticket=ticket, action="delay", **kw)

    _refused(Refused, ask(data={"kind": "extension", "until": later}), ticket, "reason_missing")
    _refused(
        Refused, ask(note="x", data={"kind": "later", "until": later}), ticket, "delay_kind_invalid"
    )
    _refused(Refused, ask(note="x", data={"kind": "extension"}), ticket, "date_invalid")
    _refused(
        Refused,
        ask(note="x", data={"kind": "extension", "until": due}),
        ticket,
        "date_out_of_range",
    )
    _refused(
        Refused,
        ask(note="x", data={"kind": "suspension", "until": timezone.localdate()}),
        ticket,
        "date_out_of_range",
    )
    # only the lead asks; the desk decides only what was asked
    _refused(
        Exception,
        lambda: ticket_transition(
            actor=desk.clerks["shengtai"],
            ticket=ticket,
            action="delay",
            note="x",
            data={"kind": "extension", "until": later},
        ),
        ticket,
        "not_your_department",
    )
    _refused(
        Conflict,
        lambda: ticket_transition(
            actor=desk.supervisor, ticket=ticket, action="decide", data={"approve": True}
        ),
        ticket,
        "delay_none",
    )
    ticket_transition(
        actor=clerk,
        ticket=ticket,
        action="delay",
        note="x",
        data={"kind": "extension", "until": later},
    )
    _refused(
        Conflict,
        ask(note="y", data={"kind": "extension", "until": later}),
        ticket,
        "delay_pending",
    )
    # the lead does not decide its own request
    _refused(
        Exception,
        lambda: ticket_transition(
            actor=clerk, ticket=ticket, action="decide", data={"approve": True}
        ),
        ticket,
        "not_desk",
    )


# ---------------------------------------------------------------- 挂起


def test_suspension_stops_the_clock_and_the_sweep_resumes_it(desk):
    ticket = _handling(desk)
    today = timezone.localdate()
    due = ticket.node_due_date
    until = today + dt.timedelta(days=30)
    clerk = desk.clerks["zhujian"]
    ticket_transition(
        actor=clerk,
        ticket=ticket,
        action="delay",
        note="等待法院判决",
        data={"kind": "suspension", "until": until},
    )
    ticket_transition(actor=desk.supervisor, ticket=ticket, action="decide", data={"approve": True})
    ticket.refresh_from_db()
    delay = TicketDelay.objects.get(ticket=ticket)
    assert ticket.state == S.SUSPENDED and ticket.is_open
    assert ticket.node_due_date is None  # never overdue while suspended
    from zheliban.core.workdays import workdays_between

    left = workdays_between(today, due)[0]
    assert delay.remaining_workdays == left
    # a sweep before the end date leaves it alone, and the lead cannot answer meanwhile
    assert "resumed" not in tickets_sweep(today=until - dt.timedelta(days=1))
    _refused(
        Conflict,
        lambda: ticket_transition(actor=clerk, ticket=ticket, action="answer", note="答复"),
        ticket,
        "wrong_state",
    )
    result = tickets_sweep(today=until)
    assert result["resumed"] == 1
    ticket.refresh_from_db()
    delay.refresh_from_db()
    assert ticket.state == S.HANDLING
    assert delay.state == "ended" and delay.ended_at is not None
    assert ticket.node_due_date == add_workdays(until, left).date
    resume = ticket.events.filter(action="resume").get()
    assert (resume.from_state, resume.to_state, resume.actor) == (S.SUSPENDED, S.HANDLING, None)
    assert _notices(desk.citizen)[-1] == f"Ticket {ticket.number} resumed"


def test_the_lead_may_resume_before_the_end_date(desk):
    ticket = _handling(desk)
    clerk = desk.clerks["zhujian"]
    ticket_transition(
        actor=clerk,
        ticket=ticket,
        action="delay",
        note="等待供电公司",
        data={"kind": "suspension", "until": timezone.localdate() + dt.timedelta(days=20)},
    )
    ticket_transition(actor=desk.dispatcher, ticket=ticket, action="decide", data={"approve": True})
    ticket_transition(actor=clerk, ticket=ticket, action="resume", note="供电公司已答复")
    ticket.refresh_from_db()
    assert ticket.state == S.HANDLING and ticket.node_due_date is not None
    assert TicketDelay.objects.get(ticket=ticket).state == "ended"
    assert tickets_sweep(today=timezone.localdate() + dt.timedelta(days=20)).get("resumed") is None
    ticket_transition(actor=clerk, ticket=ticket, action="answer", note="已修复")
    ticket.refresh_from_db()
    assert ticket.state == S.ANSWERED


# ---------------------------------------------------------------- 下派 to a street


@pytest.fixture
def streets(desk):
    district = desk.district
    lead = DepartmentFactory(
        code="330106-zhujian", name="西湖区住房和城乡建设局", kind="zhujian", region=district
    )
    lead_clerk = MembershipFactory(department=lead, role=Membership.Role.CLERK).user
    own = Region.objects.create(
        code="330106004", name="北山街道", level=Region.Level.STREET, parent=district
    )
    other_district = Region.objects.create(
        code="330105", name="拱墅区", level="county", parent=desk.city
    )
    other = Region.objects.create(
        code="330105001", name="米市巷街道", level=Region.Level.STREET, parent=other_district
    )
    office = DepartmentFactory(
        code="330106004-zhifa", name="北山街道综合行政执法队", kind="zhifa", region=own
    )
    foreign = DepartmentFactory(
        code="330105001-zhifa", name="米市巷街道综合行政执法队", kind="zhifa", region=other
    )
    office_clerk = MembershipFactory(department=office, role=Membership.Role.CLERK).user
    return lead, lead_clerk, office, office_clerk, foreign


def test_street_sub_dispatch_round_trip(desk, streets):
    lead, lead_clerk, office, office_clerk, _foreign = streets
    ticket = desk.ticket()
    ticket_transition(actor=desk.dispatcher, ticket=ticket, action="dispatch", department=lead)
    ticket_transition(actor=lead_clerk, ticket=ticket, action="sign")
    ticket_transition(
        actor=lead_clerk,
        ticket=ticket,
        action="subdispatch",
        department=office,
        note="请到文三路现场核实夜间施工",
    )
    part = TicketDepartment.objects.get(ticket=ticket, department=office)
    assert (part.is_lead, part.state, part.parent.department) == (False, "dispatched", lead)
    # the district cannot answer before the street has answered up to it
    with pytest.raises(Conflict) as caught:
        ticket_transition(actor=lead_clerk, ticket=ticket, action="answer", note="已处理")
    assert caught.value.code == "opinions_missing"
    ticket_transition(actor=office_clerk, ticket=ticket, action="sign")
    ticket_transition(
        actor=office_clerk, ticket=ticket, action="opinion", note="已到现场，责令夜间停工"
    )
    part.refresh_from_db()
    assert part.state == "replied" and part.opinion == "已到现场，责令夜间停工"
    ticket_transition(
        actor=lead_clerk, ticket=ticket, action="answer", note="经街道核实，已责令夜间停工。"
    )
    ticket.refresh_from_db()
    assert ticket.state == S.ANSWERED
    actions = list(ticket.events.values_list("action", "department__code"))
    assert actions[-4:] == [
        ("subdispatch", "330106-zhujian"),
        ("sign", "330106004-zhifa"),
        ("opinion", "330106004-zhifa"),
        ("answer", "330106-zhujian"),
    ]
    assert ticket.events.get(action="subdispatch").data == {"street": "330106004-zhifa"}
    assert _notices(desk.citizen)[-1] == f"Ticket {ticket.number} answered"


def test_sub_dispatch_to_another_districts_street_is_refused(desk, streets):
    lead, lead_clerk, office, _office_clerk, foreign = streets
    ticket = desk.ticket()
    ticket_transition(actor=desk.dispatcher, ticket=ticket, action="dispatch", department=lead)
    ticket_transition(actor=lead_clerk, ticket=ticket, action="sign")
    error = _refused(
        Refused,
        lambda: ticket_transition(
            actor=lead_clerk, ticket=ticket, action="subdispatch", department=foreign, note="x"
        ),
        ticket,
        "street_invalid",
    )
    assert str(error.message) == (
        "米市巷街道综合行政执法队 is not a street or township office of 西湖区."
    )
    # a district department is not a street either; and a note is needed
    _refused(
        Refused,
        lambda: ticket_transition(
            actor=lead_clerk, ticket=ticket, action="subdispatch", department=lead, note="x"
        ),
        ticket,
        "street_invalid",
    )
    _refused(
        Refused,
        lambda: ticket_transition(
            actor=lead_clerk, ticket=ticket, action="subdispatch", department=office
        ),
        ticket,
        "note_missing",
    )


# ---------------------------------------------------------------- merging


def test_merge_three_tickets_and_every_sender_is_told(desk):
    from tests.factories import UserFactory

    senders = [desk.citizen, desk.other_citizen, UserFactory(real_name="王五")]
    # the same night-time building site in three citizens' own words
    texts = [
        "文三路地铁口附近的工地每天晚上十一点以后还在施工，噪音很大，附近居民无法休息。",
        "晚上12点了文三路地铁站那个工地还在打桩，吵得睡不着，能不能管管？",
        "文三路和学院路交叉口的建筑工地，连续一周凌晨还在施工，噪音太大了。",
    ]
    tickets = [
        desk.ticket(citizen=s, content=t, title="夜间施工扰民")
        for s, t in zip(senders, texts, strict=True)
    ]
    lead_ticket, *others = tickets
    from complaints.selectors import duplicates_find

    for other in others:
        found = duplicates_find(
            content=other.content, title=other.title, region=desk.district, exclude=other.pk
        )
        assert lead_ticket.pk in [m.ticket.pk for m in found]
    # another road's site at night is another matter, however alike the words
    elsewhere = duplicates_find(
        content="西溪路的工地晚上十一点还在施工，噪音很大，附近居民无法休息。",
        title="夜间施工噪音扰民",
        region=desk.district,
    )
    assert elsewhere == []
    for other in others:
        ticket_transition(actor=desk.dispatcher, ticket=other, action="link", target=lead_ticket)
    for other in others:
        other.refresh_from_db()
        assert (other.state, other.duplicate_of_id) == (S.LINKED, lead_ticket.pk)
    assert list(lead_ticket.events.filter(action="linked").values_list("note", flat=True)) == [
        o.number for o in others
    ]
    lead = desk.departments["zhujian"]
    ticket_transition(actor=desk.dispatcher, ticket=lead_ticket, action="dispatch", department=lead)
    ticket_transition(actor=desk.clerks["zhujian"], ticket=lead_ticket, action="sign")
    ticket_transition(
        actor=desk.clerks["zhujian"], ticket=lead_ticket, action="answer", note="已责令停止夜间施工"
    )
    for sender, ticket in zip(senders, tickets, strict=True):
        assert _notices(sender)[-1] == f"Ticket {ticket.number} answered"
    assert "已责令停止夜间施工" in Notice.objects.filter(recipient=senders[2]).latest("id").body


def test_merge_across_regions_is_refused(desk):
    other_district = Region.objects.create(
        code="330102", name="上城区", level="county", parent=desk.city
    )
    first = desk.ticket()
    second = desk.ticket(region=other_district, citizen=desk.other_citizen)
    error = _refused(
        Refused,
        lambda: ticket_transition(
            actor=desk.dispatcher, ticket=second, action="link", target=first
        ),
        second,
        "region_mismatch",
    )
    assert "上城区" in str(error.message) and "西湖区" in str(error.message)


def test_dispatcher_may_name_the_category(desk):
    ticket = desk.ticket()
    lead = desk.departments["zhujian"]
    _refused(
        Refused,
        lambda: ticket_transition(
            actor=desk.dispatcher,
            ticket=ticket,
            action="dispatch",
            department=lead,
            data={"category": "没有这类"},
        ),
        ticket,
        "category_unknown",
    )
    ticket_transition(
        actor=desk.dispatcher,
        ticket=ticket,
        action="dispatch",
        department=lead,
        data={"category": "交通运输"},
    )
    ticket.refresh_from_db()
    assert ticket.category == "交通运输"
    assert Department.objects.filter(pk=ticket.department_id).exists()

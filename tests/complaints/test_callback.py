"""The automatic callback (智能回访): the answer comes with a one-tap rating link that needs no
login, serves once, expires, and names only its own answer; unrated tickets go to the desk."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django.test import Client

from complaints.models import Ticket, TicketEvent
from complaints.services import ticket_transition
from complaints.services.callback import RATING_SALT, rating_token
from zheliban.core.models import Notice, NoticeDelivery

S = Ticket.State
LINK_RE = re.compile(r"https://zheliban\.example/tickets/rate/([^/\s]+)/")


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://zheliban.example"


def _answered(desk, note="已责令施工单位夜间停工。") -> Ticket:
    ticket = desk.ticket()
    ticket_transition(
        actor=desk.dispatcher,
        ticket=ticket,
        action="dispatch",
        department=desk.departments["zhujian"],
    )
    ticket_transition(actor=desk.clerks["zhujian"], ticket=ticket, action="sign")
    ticket_transition(actor=desk.clerks["zhujian"], ticket=ticket, action="answer", note=note)
    ticket.refresh_from_db()
    assert ticket.state == S.ANSWERED
    return ticket


def _link(desk) -> str:
    notice = Notice.objects.filter(recipient=desk.citizen).latest("id")
    match = LINK_RE.search(notice.body)
    assert match, notice.body
    return f"/tickets/rate/{match.group(1)}/"


def _state(ticket) -> tuple:
    ticket = Ticket.objects.get(pk=ticket.pk)
    return (
        ticket.state,
        ticket.satisfaction,
        ticket.version,
        TicketEvent.objects.filter(ticket=ticket).count(),
    )


def _english(client: Client) -> Client:
    client.cookies["zhb_lang"] = "en"
    return client


def test_the_answer_brings_a_one_tap_link_by_sms_and_inbox(desk):
    ticket = _answered(desk)
    notice = Notice.objects.filter(recipient=desk.citizen).latest("id")
    assert notice.subject == f"Ticket {ticket.number} answered"
    assert "已责令施工单位夜间停工" in notice.body
    assert "no login needed" in notice.body
    assert NoticeDelivery.objects.filter(notice=notice, channel="sms").exists()
    client = _english(Client())  # nobody logged in
    page = client.get(_link(desk))
    assert page.status_code == 200
    body = page.content.decode()
    assert "已责令施工单位夜间停工" in body and ticket.number in body
    assert desk.citizen.real_name not in body


def test_rating_by_the_link_closes_the_ticket_and_the_link_serves_once(desk):
    ticket = _answered(desk)
    link = _link(desk)
    client = _english(Client())
    rated = client.post(link, {"satisfaction": "5", "comment": "很快"})
    assert rated.status_code == 200
    assert "you rated the answer 5/5" in rated.content.decode()
    ticket.refresh_from_db()
    assert (ticket.state, ticket.satisfaction, ticket.satisfaction_comment) == (
        S.CLOSED,
        5,
        "很快",
    )
    rate = ticket.events.get(action="rate")
    assert (rate.from_state, rate.to_state, rate.actor, rate.data) == (
        S.ANSWERED,
        S.CLOSED,
        None,
        {"satisfaction": 5, "by": "citizen"},
    )
    before = _state(ticket)
    again = client.post(link, {"satisfaction": "1"})
    assert again.status_code == 410
    assert "already been rated" in again.content.decode()
    assert _state(ticket) == before
    assert client.get(link).status_code == 410


def test_a_low_rating_reopens_and_the_old_link_dies_with_its_answer(desk):
    ticket = _answered(desk)
    first = _link(desk)
    client = _english(Client())
    assert client.post(first, {"satisfaction": "2"}).status_code == 200
    ticket.refresh_from_db()
    assert (ticket.state, ticket.reopen_count) == (S.HANDLING, 1)
    ticket_transition(
        actor=desk.clerks["zhujian"],
        ticket=ticket,
        action="answer",
        note="已复查，施工单位已整改。",
    )
    before = _state(ticket)
    assert client.post(first, {"satisfaction": "5"}).status_code == 410
    assert _state(ticket) == before
    second = _link(desk)
    assert second != first
    assert client.post(second, {"satisfaction": "4"}).status_code == 200
    assert Ticket.objects.get(pk=ticket.pk).state == S.CLOSED


def test_expired_tampered_and_bad_ratings_change_nothing(desk, monkeypatch):
    ticket = _answered(desk)
    link = _link(desk)
    client = _english(Client())
    before = _state(ticket)
    token = link.split("/")[-2]
    tampered = client.post(f"/tickets/rate/{token[:-2]}xx/", {"satisfaction": "5"})
    assert tampered.status_code == 410
    assert "This link is not valid." in tampered.content.decode()
    other = signing.dumps({"t": ticket.pk + 999, "r": 0}, salt=RATING_SALT)
    assert client.post(f"/tickets/rate/{other}/", {"satisfaction": "5"}).status_code == 410
    bad = client.post(link, {"satisfaction": "9"})
    assert bad.status_code == 400
    assert "Give a rating from 1 to 5." in bad.content.decode()
    monkeypatch.setattr("complaints.services.callback.RATING_LINK_DAYS", -1)
    expired = client.post(link, {"satisfaction": "5"})
    assert expired.status_code == 410
    assert "This link has expired." in expired.content.decode()
    assert _state(ticket) == before
    # a token signed for another purpose is not a rating link
    assert rating_token(ticket) != signing.dumps({"t": ticket.pk, "r": 0})
    foreign = signing.dumps({"t": ticket.pk, "r": 0})
    assert client.post(f"/tickets/rate/{foreign}/", {"satisfaction": "5"}).status_code == 410
    assert _state(ticket) == before


def test_unrated_tickets_go_to_the_desks_callback_list(desk):
    from django.utils import timezone

    waiting = _answered(desk)
    recent = _answered(desk, note="已处理。")
    Ticket.objects.filter(pk=waiting.pk).update(node_due_date=timezone.localdate())
    dispatcher = Client()
    dispatcher.force_login(desk.dispatcher)
    page = dispatcher.get("/staff/tickets/?view=callbacks")
    listed = [t.pk for t, *_rest in page.context["rows"]]
    assert listed == [waiting.pk]
    assert recent.pk not in listed
    ticket_transition(
        actor=desk.operator, ticket=waiting, action="callback", note="市民表示满意", satisfaction=5
    )
    page = dispatcher.get("/staff/tickets/?view=callbacks")
    assert [t.pk for t, *_rest in page.context["rows"]] == []

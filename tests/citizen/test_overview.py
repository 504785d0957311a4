"""/my/: a citizen's applications, tickets, notices, e-licences and the uses of their data, what
waits for them first; never another citizen's; empty sections say what to do; a fixed number of
queries whatever the number of entries."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape

from tests.factories import UserFactory
from workflows.models import Application, DataAccess, ELicence
from zheliban.core.models import Notice

from .world import (
    BIRTH_CERTIFICATE,
    CITIZEN_ID,
    OTHER_BIRTH_CERTIFICATE,
    complete,
    seed_me,
    seed_other,
    submit_for,
)

OVERVIEW = "/my/"
CITIZEN_ID_MASKED = "3301**********0021"
# session, user; applications and their tally; tickets and theirs; the newest notices and the
# unread count; e-licences; data uses
QUERIES = 10


def section(html: str, section_id: str) -> str:
    found = re.search(rf'<section[^>]* id="{section_id}".*?</section>', html, re.S)
    return found.group(0) if found else ""


def cards(html: str) -> list[str]:
    return re.findall(r'<li class="card[^"]*".*?</li>', html, re.S)


def unread(user) -> int:
    return Notice.objects.filter(recipient=user, read_at__isnull=True).count()


@pytest.fixture
def client(client):
    """Pages are in Chinese unless the visitor chose English: the assertions read the msgids."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def world(scenario, desk):
    return SimpleNamespace(me=seed_me(scenario, desk), other=seed_other(scenario, desk))


def test_each_section_shows_the_citizens_newest_entries_what_waits_for_them_first(
    client, world, scenario, django_assert_num_queries
):
    me, other = world.me, world.other
    correction, finished, draft = (me.applications[k] for k in ("correction", "finished", "draft"))
    assert (correction.status, finished.status, draft.status) == (
        "correction",
        "completed",
        "draft",
    )
    to_rate, queued = me.tickets["to_rate"], me.tickets["queued"]
    unread_before = unread(me.user)
    client.force_login(me.user)

    with django_assert_num_queries(QUERIES):
        response = client.get(OVERVIEW)

    assert response.status_code == 200
    html = response.content.decode()
    waiting = section(html, "my-waiting")
    assert "1 application waits for your correction" in waiting
    assert "1 answer waits for your rating" in waiting
    assert f"{unread_before} unread notices" in waiting

    # the case waiting for a correction first, although older; then the newest first
    applications = section(html, "my-applications")
    assert re.findall(r'<li class="card" data-status="(\w+)"', applications) == [
        "correction",
        "draft",
        "completed",
    ]
    assert f'data-awaiting="correct" href="{correction.get_absolute_url()}"' in applications
    draft_url = reverse("workflows:apply-item", args=[scenario.items["gongan"].code])
    assert f'data-awaiting="submit" href="{draft_url}"' in applications
    assert f'data-awaiting="rate" href="{finished.get_absolute_url()}#rating-heading"' in (
        applications
    )
    assert correction.reference in applications and finished.reference in applications
    assert "See all 3 applications" in applications

    # the answer waiting for the rating first, then the newer ticket still with the desk
    tickets = section(html, "my-tickets")
    assert re.findall(r'<li class="card" data-state="(\w+)"', tickets) == [
        "called_back",
        queued.state,
    ]
    assert f'data-awaiting="rate-ticket" href="{to_rate.get_absolute_url()}#rate-heading"' in (
        tickets
    )
    assert to_rate.number in tickets and queued.number in tickets
    assert "杭州市生态环境局" in tickets
    assert "See all 2 tickets" in tickets and "2 still open" in tickets

    notices = section(html, "my-notices")
    newest = Notice.objects.filter(recipient=me.user).order_by("-created_at", "-id")[:3]
    assert len(cards(notices)) == 3
    assert all(escape(n.subject) in notices for n in newest)
    assert f'href="{reverse("workflows:notices")}"' in notices

    # the four results of the finished case, the resident ID number masked
    licences = section(html, "my-licences")
    assert ELicence.objects.filter(holder=me.user).count() == 4
    assert len(cards(licences)) == 4
    for shown in (BIRTH_CERTIFICATE, CITIZEN_ID_MASKED, "SB0001", "YB0001"):
        assert shown in licences
    assert CITIZEN_ID not in html
    assert licences.count(f'href="{finished.get_absolute_url()}"') == 4

    # who read which of my data, newest first
    uses = section(html, "my-data-use")
    read = list(
        DataAccess.objects.filter(citizen=me.user)
        .order_by("-at", "-id")
        .values_list("consumer__code", "field")
    )
    assert sorted(read) == [
        ("330100-gongan", "birth_certificate_no"),
        ("330100-renshe", "citizen_id_number"),
        ("330100-yibao", "citizen_id_number"),
    ]
    assert re.findall(r'data-consumer="([^"]+)" data-field="([^"]+)"', uses) == read
    assert f'href="{reverse("workflows:data-uses")}"' in uses

    # nothing of the other citizen's; looking changes nothing
    for secret in (
        other.applications["in_progress"].reference,
        other.tickets["queued"].title,
        other.tickets["queued"].number,
        OTHER_BIRTH_CERTIFICATE,
    ):
        assert secret not in html
    assert unread(me.user) == unread_before


def test_another_citizen_sees_only_their_own(client, world):
    me, other = world.me, world.other
    client.force_login(other.user)

    response = client.get(OVERVIEW)

    assert response.status_code == 200
    html = response.content.decode()
    assert other.applications["in_progress"].reference in section(html, "my-applications")
    assert other.tickets["queued"].title in section(html, "my-tickets")
    assert OTHER_BIRTH_CERTIFICATE in section(html, "my-licences")
    uses = response.context["data_uses"]
    assert len(uses) == DataAccess.objects.filter(citizen=other.user).count() == 1
    assert uses[0].citizen_id == other.user.pk
    notices = response.context["notices"]
    assert notices and {n.recipient_id for n in notices} == {other.user.pk}
    for secret in (
        *(app.reference for app in me.applications.values() if app.reference),
        *(ticket.title for ticket in me.tickets.values()),
        *(ticket.number for ticket in me.tickets.values()),
        BIRTH_CERTIFICATE,
        CITIZEN_ID_MASKED,
        "SB0001",
    ):
        assert secret not in html
    assert 'data-awaiting="correct"' not in html
    assert 'data-awaiting="rate-ticket"' not in html


def test_a_citizen_with_nothing_yet_is_told_what_to_do(client, db):
    client.force_login(UserFactory())

    response = client.get(OVERVIEW)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="my-waiting"' not in html
    find_a_service = f'<a href="{reverse("catalog:search")}">Find a service</a>'
    applications = section(html, "my-applications")
    assert "You have not applied for anything yet." in applications
    assert find_a_service in applications
    tickets = section(html, "my-tickets")
    assert "You have not written to us yet." in tickets
    assert f'href="{reverse("complaints:ticket-new")}"' in tickets
    assert "No notices yet." in section(html, "my-notices")
    licences = section(html, "my-licences")
    assert "No e-licences yet" in licences and find_a_service in licences
    assert "No department has used your data yet." in section(html, "my-data-use")
    assert not re.findall(r'<li class="card', html)


def test_an_anonymous_visitor_is_sent_to_log_in_and_the_link_is_for_those_logged_in(client, db):
    response = client.get(OVERVIEW)
    assert response.status_code == 302
    assert response.headers["Location"] == f"{reverse('accounts:login')}?next={OVERVIEW}"
    assert f'href="{OVERVIEW}"' not in client.get("/").content.decode()
    client.force_login(UserFactory())
    assert f'href="{OVERVIEW}"' in client.get("/").content.decode()


def test_staff_see_their_own_citizen_side_not_the_cases_they_handle(client, world, scenario):
    clerk = scenario.clerks["weijian"]
    client.force_login(clerk)

    response = client.get(OVERVIEW)

    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{OVERVIEW}"' in html
    assert not re.findall(r'<li class="card', section(html, "my-applications"))
    for app in world.me.applications.values():
        if app.reference:
            assert app.reference not in html
    assert BIRTH_CERTIFICATE not in html


def test_the_page_only_reads(client, world):
    client.force_login(world.me.user)
    applications = list(Application.objects.values_list("pk", "status", "updated_at"))
    unread_before = unread(world.me.user)

    assert client.post(OVERVIEW).status_code == 405

    assert list(Application.objects.values_list("pk", "status", "updated_at")) == applications
    assert unread(world.me.user) == unread_before


@pytest.mark.parametrize("size", [1, 30])
def test_the_page_runs_a_fixed_number_of_queries(
    client, scenario, desk, size, django_assert_num_queries
):
    citizen = scenario.citizen
    for i in range(size):
        app = submit_for(scenario, citizen, f"bulk-{i}")
        complete(scenario, app, "birth_certificate")
        desk.ticket(citizen=citizen, title=f"噪音扰民{i}", address=f"文三路 {i} 号")
    assert Application.objects.filter(applicant=citizen).count() == size
    assert ELicence.objects.filter(holder=citizen).count() == size
    assert DataAccess.objects.filter(citizen=citizen).count() == size
    assert citizen.tickets.count() == size
    client.force_login(citizen)

    with django_assert_num_queries(QUERIES):
        response = client.get(OVERVIEW)

    assert response.status_code == 200
    shown = min(size, 5)
    html = response.content.decode()
    assert len(cards(section(html, "my-applications"))) == shown
    assert len(cards(section(html, "my-tickets"))) == shown
    assert len(cards(section(html, "my-licences"))) == shown
    assert len(cards(section(html, "my-data-use"))) == shown
    assert len(cards(section(html, "my-notices"))) == 3

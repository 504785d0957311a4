"""The one rule for what the public may see of the board, tested against every public URL.

Every page, download and API operation of the board open to a visitor who is not logged in is
fetched for every department and every figure, in every format, after seeding cases (completed
and rejected), rated cases, tickets with private titles, a report (举报), names and phones: none
of their numbers, titles, names or phones may appear. A new URL of the board fails
``test_every_board_url_is_public_or_staff_only`` until it joins one of the two lists here.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, reverse

from complaints.models import Ticket
from scoreboard import urls as page_urls
from scoreboard.api import urls as api_urls
from scoreboard.metrics import METRICS
from scoreboard.models import Snapshot
from workflows.models import Application

CASE_OR_TICKET_NUMBER = re.compile(r"ZB\d{8}")  # tickets ZB + 8 digits, cases ZB + date + hex

# Every named URL of the board, by who may open it.
PUBLIC_PAGES = {"board", "department", "drilldown"}
PUBLIC_API = {"scoreboard", "scoreboard-department", "scoreboard-breakdown"}
STAFF_ONLY = {"staff", "staff-drilldown"}


def test_every_board_url_is_public_or_staff_only():
    pages = {p.name for p in page_urls.urlpatterns if isinstance(p, URLPattern)}
    api = {p.name for p in api_urls.urlpatterns if isinstance(p, URLPattern)}
    assert pages == PUBLIC_PAGES | STAFF_ONLY
    assert api == PUBLIC_API


def secrets_of(world) -> list[str]:
    found = set()
    for reference in Application.objects.exclude(reference=None).values_list(
        "reference", flat=True
    ):
        found.add(reference)
    for ticket in Ticket.objects.all():
        found |= {ticket.number, ticket.title, ticket.contact_name, ticket.contact_phone}
        found |= {sentence for sentence in re.split("[。.]", ticket.content) if sentence}
    found |= {world.citizen.real_name, world.citizen.phone, world.citizen.id_number}
    return sorted(s for s in found if s)


def public_urls(world) -> list[tuple[str, dict]]:
    period = Snapshot.objects.get(period="month")
    dated = {"period": "month", "start": period.start.isoformat()}
    urls: list[tuple[str, dict]] = []
    for query in ({}, {"format": "csv"}, {"format": "json"}, {"regions": "1"}):
        for level in ("province", "city", "county"):
            urls.append((reverse("scoreboard:board"), {**query, "level": level}))
    urls.append((reverse("scoreboard:board"), {"q": "公安"}))
    urls.append((reverse("api:scoreboard"), {"regions": "1"}))
    for level in ("province", "city", "county"):
        urls.append((reverse("api:scoreboard"), {"level": level}))
    for department in world.departments.values():
        code = department.code
        for query in ({}, {"format": "csv"}, {"format": "json"}):
            urls.append((reverse("scoreboard:department", args=[code]), query))
        urls.append((reverse("api:scoreboard-department", args=[code]), {}))
        for metric in METRICS:
            if metric.by_region:
                continue
            for query in ({}, {"format": "csv"}, {"format": "json"}, dated):
                urls.append((reverse("scoreboard:drilldown", args=[code, metric.key]), query))
            urls.append((reverse("api:scoreboard-breakdown", args=[code, metric.key]), {}))
    return urls


@pytest.fixture
def seeded(board_world):
    world = board_world(1)
    world.compute()
    return world


def test_no_public_url_of_the_board_shows_a_case_a_ticket_or_a_person(client, seeded):
    secrets = secrets_of(seeded)
    # The seed holds what must stay hidden: rejected cases, a report, private titles, a phone.
    assert Application.objects.filter(status=Application.Status.REJECTED).exists()
    assert Ticket.objects.filter(kind=Ticket.Kind.REPORT, is_public=False).exists()
    assert {"举报王五收受红包", "路灯不亮", "张三", "13912345678", "张小明"} <= set(secrets)
    urls = public_urls(seeded)
    covered = {reverse("scoreboard:board"), reverse("api:scoreboard")}
    for url, query in urls:
        response = client.get(url, query)
        assert response.status_code == 200, (url, query)
        body = response.content.decode("utf-8")
        leaked = [s for s in secrets if s in body]
        assert not leaked, (url, query, leaked)
        assert not CASE_OR_TICKET_NUMBER.search(body), (url, query)
        covered.add(url)
    # departments × figures (HTML, CSV, JSON, dated) + the API, the departments' pages, the board
    departments = len(seeded.departments)
    figures = sum(1 for m in METRICS if not m.by_region)
    assert len(urls) == 12 + 1 + 4 + departments * (3 + 1 + figures * 5)


def test_the_same_urls_answer_the_same_when_logged_in_as_a_citizen(client, seeded):
    """Logged in or not, a citizen gets the public board: the rows stay staff-only."""
    client.force_login(seeded.citizen)
    secrets = secrets_of(seeded)
    for url, query in public_urls(seeded)[::7]:
        body = client.get(url, query).content.decode("utf-8")
        assert not [s for s in secrets if s in body], (url, query)
        assert 'id="staff-rows"' not in body

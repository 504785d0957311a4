"""One resolver for what a form or a request names: departments by code, the ticket to link to.

The staff page and the API resolve the same inputs through ``complaints.selectors``; a refusal
reads the same on both and changes nothing.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from complaints import selectors
from complaints.models import Ticket, TicketDepartment, TicketEvent
from complaints.services import ticket_transition
from tests.factories import DepartmentFactory
from zheliban.core.models import Notice

pytestmark = pytest.mark.django_db


def english(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(user)
    return client


def world() -> dict[str, list]:
    return {
        "tickets": list(Ticket.objects.order_by("pk").values()),
        "parts": list(TicketDepartment.objects.order_by("pk").values()),
        "events": list(TicketEvent.objects.order_by("pk").values()),
        "notices": list(Notice.objects.order_by("pk").values()),
    }


def refusal(error: ValidationError) -> tuple[str, str, str]:
    ((field, (detail,)),) = error.error_dict.items()
    return field, detail.code, detail.messages[0]


# ---------------------------------------------------------------- the resolvers


@pytest.mark.parametrize(
    ("reference", "pk"),
    [
        (42, 42),
        ("42", 42),
        ("ZB00000042", 42),
        ("zb00000042", 42),
        (" 00042 ", 42),
        ("ZB", None),
        ("0", None),
        (0, None),
        (-3, None),
        (True, None),
        ("４２", None),  # full-width digits are not a number a form sends
        ("42abc", None),
        ("1" * 19, None),
        ("", None),
        (None, None),
    ],
)
def test_a_ticket_reference_is_its_id_or_its_number(reference, pk):
    assert selectors.ticket_pk_of(reference) == pk


def test_departments_resolve_in_the_order_given_once_each_in_one_query(
    desk, django_assert_num_queries
):
    zhujian, shengtai = desk.departments["zhujian"], desk.departments["shengtai"]
    with django_assert_num_queries(1):
        found = selectors.departments_for_codes([shengtai.code, " ", zhujian.code, shengtai.code])
    assert found == [shengtai, zhujian]
    with django_assert_num_queries(0):
        assert selectors.departments_for_codes([]) == []
        assert selectors.department_for_code("") is None
    assert selectors.department_for_code(zhujian.code) == zhujian


def test_an_unknown_or_inactive_code_is_refused_on_its_field(desk):
    DepartmentFactory(code="330100-old", kind="zhujian", region=desk.city, is_active=False)
    with pytest.raises(ValidationError) as error:
        selectors.departments_for_codes(["330100-old", "330100-zhujian", "nowhere"])
    assert refusal(error.value) == (
        "assisting",
        "department_unknown",
        "No active department has the code or name 330100-old, nowhere.",
    )
    with pytest.raises(ValidationError) as error:
        selectors.department_for_code("nowhere")
    assert refusal(error.value)[:2] == ("department", "department_unknown")


def test_a_link_target_is_one_of_the_staff_members_scope(desk):
    mine = desk.ticket()
    ticket_transition(
        actor=desk.dispatcher,
        ticket=mine,
        action="dispatch",
        department=desk.departments["zhujian"],
    )
    report = desk.ticket(kind="report", citizen=desk.other_citizen, content="某工地违规验收。")
    # the desk sees every ticket, a report among them (the link move refuses it by name)
    assert selectors.link_target_for(mine.number, staff=desk.dispatcher) == mine
    assert selectors.link_target_for(report.pk, staff=desk.dispatcher) == report
    # a department only those it has a part in
    assert selectors.link_target_for(mine.pk, staff=desk.clerks["zhujian"]) == mine
    assert selectors.link_target_for(mine.pk, staff=desk.clerks["jiaotong"]) is None
    with pytest.raises(ValidationError) as error:
        selectors.link_target_get(mine.pk, staff=desk.clerks["jiaotong"])
    assert refusal(error.value) == ("target", "not_found", "No ticket has this id.")
    assert selectors.link_target_get("", staff=desk.dispatcher) is None


def test_a_sender_joining_never_reaches_a_report(desk):
    complaint = desk.ticket()
    report = desk.ticket(kind="report", citizen=desk.other_citizen, content="某工地违规验收。")
    assert selectors.link_target_for(complaint.pk) == complaint
    assert selectors.link_target_for(f"ZB{complaint.pk:08d}") == complaint
    # a report answers exactly like a number that names nothing
    assert selectors.link_target_for(report.pk) is None
    assert selectors.link_target_for(999_999) is None


# ---------------------------------------------------------------- the same answer on both surfaces


@pytest.mark.parametrize(
    ("page_fields", "api_fields", "code"),
    [
        ({"department": "nowhere"}, {"department": "nowhere"}, "department_unknown"),
        ({"department": "330100-old"}, {"department": "330100-old"}, "department_unknown"),
        (
            {"department": "330100-zhujian", "assisting": "330100-shengtai, nowhere"},
            {"department": "330100-zhujian", "assisting": ["330100-shengtai", "nowhere"]},
            "department_unknown",
        ),
    ],
)
def test_the_page_and_the_api_refuse_a_department_alike(desk, page_fields, api_fields, code):
    DepartmentFactory(code="330100-old", kind="zhujian", region=desk.city, is_active=False)
    ticket = desk.ticket()
    before = world()
    page = english(desk.dispatcher).post(
        reverse("complaints:staff-act", args=[ticket.pk]),
        {"action": "dispatch", "version": ticket.version, **page_fields},
    )
    answer = english(desk.dispatcher).post(
        f"/api/v1/tickets/{ticket.pk}/actions/",
        {"action": "dispatch", "version": ticket.version, **api_fields},
        content_type="application/json",
    )
    assert (page.status_code, answer.status_code) == (400, 400)
    assert answer.json()["error"]["code"] == code
    assert page.context["refusal"] == answer.json()["error"]["message"]
    assert world() == before


def test_the_page_and_the_api_refuse_an_unknown_link_target_alike(desk):
    ticket = desk.ticket()
    before = world()
    page = english(desk.dispatcher).post(
        reverse("complaints:staff-act", args=[ticket.pk]),
        {"action": "link", "version": ticket.version, "target": "ZB00999999"},
    )
    answer = english(desk.dispatcher).post(
        f"/api/v1/tickets/{ticket.pk}/actions/",
        {"action": "link", "version": ticket.version, "target": 999_999},
        content_type="application/json",
    )
    assert (page.status_code, answer.status_code) == (400, 400)
    assert answer.json()["error"] == {
        "code": "not_found",
        "message": "No ticket has this id.",
        "fields": {"target": ["No ticket has this id."]},
    }
    assert page.context["refusal"] == "No ticket has this id."
    assert world() == before


def test_the_page_dispatches_with_assisting_departments_as_the_api_does(desk):
    by_page, by_api = desk.ticket(), desk.ticket(content="工地夜间施工噪音，渣土车很吵。")
    english(desk.dispatcher).post(
        reverse("complaints:staff-act", args=[by_page.pk]),
        {
            "action": "dispatch",
            "version": by_page.version,
            "department": "330100-zhujian",
            "assisting": "330100-shengtai 330100-jiaotong,330100-shengtai",
        },
    )
    english(desk.dispatcher).post(
        f"/api/v1/tickets/{by_api.pk}/actions/",
        {
            "action": "dispatch",
            "version": by_api.version,
            "department": "330100-zhujian",
            "assisting": ["330100-shengtai", "330100-jiaotong", "330100-shengtai"],
        },
        content_type="application/json",
    )

    def parts(ticket):
        return list(
            TicketDepartment.objects.filter(ticket=ticket)
            .order_by("-is_lead", "department__code")
            .values_list("department__code", "is_lead")
        )

    assert (
        parts(by_page)
        == parts(by_api)
        == [
            ("330100-zhujian", True),
            ("330100-jiaotong", False),
            ("330100-shengtai", False),
        ]
    )

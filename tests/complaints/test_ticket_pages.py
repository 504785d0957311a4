"""Ticket pages: writing one (check, then send), following it, and working on it as staff."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from complaints.models import ReporterAccess, Ticket, TicketAttachment, TicketEvent
from complaints.services import ticket_transition

NOISE = "文三路工地每天晚上十一点以后还在施工，噪音很大，附近居民无法休息，请尽快查处。"


def _counts():
    return (Ticket.objects.count(), TicketEvent.objects.count(), TicketAttachment.objects.count())


def _form(desk, **extra):
    data = {
        "kind": "complaint",
        "title": "夜间施工噪音",
        "content": NOISE,
        "region": desk.district.code,
        "address": "文三路 100 号",
    }
    data.update(extra)
    return data


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), "red")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (30.0, 16.0, 12.0), 3: "E", 4: (120.0, 8.0, 30.0)}  # GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_the_form_is_prefilled_from_the_assistant(client, desk):
    client.force_login(desk.citizen)
    response = client.get(
        reverse("complaints:ticket-new"), {"kind": "consultation", "content": "公积金怎么提取？"}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["kind"] == "consultation"
    assert form.initial["content"] == "公积金怎么提取？"


def test_check_shows_what_is_public_and_duplicates_and_stores_nothing(client, desk):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # pages read the chosen language
    earlier = desk.ticket(content=NOISE, title="夜间施工噪音")
    client.force_login(desk.other_citizen)
    before = _counts()
    response = client.post(reverse("complaints:ticket-new"), _form(desk, public="on"))
    assert response.status_code == 200
    assert _counts() == before
    preview = response.context["preview"]
    assert "the title and the content" in preview["public"]
    assert "your name and phone number, partly hidden" in preview["department"]
    assert [m.ticket.pk for m in response.context["duplicates"]] == [earlier.pk]
    assert 'id="ticket-preview"' in response.content.decode()


def test_a_report_is_never_public_and_the_preview_says_the_sender_is_hidden(client, desk):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # pages read the chosen language
    client.force_login(desk.citizen)
    response = client.post(
        reverse("complaints:ticket-new"), _form(desk, kind="report", public="on")
    )
    preview = response.context["preview"]
    assert preview["public"] == []
    assert (
        "not who you are: a report's sender is hidden from the department" in preview["department"]
    )


def test_send_creates_the_ticket_with_a_photo_without_its_metadata(client, desk):
    client.force_login(desk.citizen)
    photo = SimpleUploadedFile("现场.jpg", _jpeg_with_gps(), content_type="image/jpeg")
    response = client.post(
        reverse("complaints:ticket-new"), {**_form(desk), "step": "send", "attachments": photo}
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("complaints:ticket", args=[ticket.pk])
    assert (ticket.channel, ticket.citizen, ticket.state) == ("web", desk.citizen, "queued")
    (attachment,) = ticket.attachments.all()
    assert attachment.metadata_removed
    with attachment.file.open("rb") as stored, Image.open(stored) as image:
        assert dict(image.getexif()) == {}
        assert image.size == (40, 30)


def test_send_links_to_a_duplicate_the_citizen_chose(client, desk):
    earlier = desk.ticket()
    client.force_login(desk.other_citizen)
    client.post(
        reverse("complaints:ticket-new"), {**_form(desk), "step": "send", "link_to": earlier.pk}
    )
    mine = Ticket.objects.exclude(pk=earlier.pk).get()
    assert (mine.state, mine.duplicate_of_id) == ("linked", earlier.pk)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"content": ""}, "content"),
        ({"content": "很" * 100_000}, "content"),
        ({"region": "", "address": ""}, "region"),
        ({"latitude": "30.2"}, "longitude"),
        ({"kind": "gossip"}, "kind"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_stored(client, desk, change, field):
    client.force_login(desk.citizen)
    before = _counts()
    response = client.post(
        reverse("complaints:ticket-new"), {**_form(desk, **change), "step": "send"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert _counts() == before


def test_a_non_image_named_jpg_is_refused_and_nothing_stored(client, desk):
    client.force_login(desk.citizen)
    before = _counts()
    fake = SimpleUploadedFile("photo.jpg", b"MZ\x90\x00" + b"\x00" * 200)
    response = client.post(
        reverse("complaints:ticket-new"), {**_form(desk), "step": "send", "attachments": fake}
    )
    assert response.status_code == 400
    # Chinese by default: the page speaks the visitor's language, not the test's
    assert response.context["attachment_errors"] == ["不能上传程序或脚本文件。"]
    assert _counts() == before


def test_the_desk_enters_a_hotline_call(client, desk):
    client.force_login(desk.operator)
    client.post(
        reverse("complaints:ticket-new"),
        {**_form(desk), "step": "send", "contact_name": "王先生", "contact_phone": "13700001111"},
    )
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.entered_by, ticket.citizen) == ("hotline", desk.operator, None)
    assert (ticket.contact_name, ticket.contact_phone) == ("王先生", "13700001111")


def test_a_citizen_sees_only_their_own_tickets(client, desk):
    ticket = desk.ticket()
    client.force_login(desk.other_citizen)
    assert client.get(reverse("complaints:ticket", args=[ticket.pk])).status_code == 404
    assert list(client.get(reverse("complaints:my-tickets")).context["page"].object_list) == []
    response = client.post(reverse("complaints:ticket-rate", args=[ticket.pk]), {"satisfaction": 5})
    assert response.status_code == 404


def _dispatched(desk, to="shengtai", **fields):
    ticket = desk.ticket(**fields)
    return ticket_transition(
        actor=desk.dispatcher,
        ticket=ticket,
        action="dispatch",
        department=desk.departments[to],
    )


def test_a_department_sees_only_its_tickets_and_cannot_move_anothers(client, desk):
    theirs = _dispatched(desk, "shengtai")
    client.force_login(desk.clerks["zhujian"])
    listing = client.get(reverse("complaints:staff-tickets"))
    assert list(listing.context["page"].object_list) == []
    assert client.get(reverse("complaints:staff-ticket", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("complaints:staff-act", args=[theirs.pk]), {"action": "sign"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.state, theirs.version) == ("dispatched", 1)
    client.force_login(desk.clerks["shengtai"])
    listing = client.get(reverse("complaints:staff-tickets"))
    assert [t.pk for t in listing.context["page"].object_list] == [theirs.pk]


def test_the_loop_through_the_staff_pages(client, desk):
    ticket = desk.ticket()
    act = reverse("complaints:staff-act", args=[ticket.pk])
    client.force_login(desk.dispatcher)
    page = client.get(reverse("complaints:staff-ticket", args=[ticket.pk]))
    assert page.status_code == 200 and "departments" in page.context
    client.post(act, {"action": "dispatch", "department": "330100-jiaotong", "version": 0})
    client.force_login(desk.clerks["jiaotong"])
    response = client.post(act, {"action": "return", "note": "属于环保部门职责", "version": 1})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.state, ticket.return_count) == ("queued", 1)
    client.force_login(desk.dispatcher)
    page = client.get(reverse("complaints:staff-ticket", args=[ticket.pk]))
    assert desk.departments["jiaotong"].pk in page.context["declined"]
    client.post(
        act, {"action": "dispatch", "department": "330100-shengtai", "version": ticket.version}
    )
    client.force_login(desk.clerks["shengtai"])
    client.post(act, {"action": "sign"})
    client.post(act, {"action": "answer", "note": "已责令工地夜间停工。"})
    client.force_login(desk.operator)
    client.post(act, {"action": "callback", "note": "市民表示已安静。"})
    client.force_login(desk.citizen)
    citizen_page = client.get(reverse("complaints:ticket", args=[ticket.pk])).content.decode()
    assert "杭州市交通运输局" in citizen_page and "属于环保部门职责" in citizen_page
    client.post(reverse("complaints:ticket-rate", args=[ticket.pk]), {"satisfaction": "5"})
    ticket.refresh_from_db()
    assert (ticket.state, ticket.satisfaction, ticket.department.code) == (
        "closed",
        5,
        "330100-shengtai",
    )
    assert list(ticket.events.values_list("action", flat=True)) == [
        "receive",
        "queue",
        "dispatch",
        "return",
        "dispatch",
        "sign",
        "answer",
        "callback",
        "rate",
    ]


def test_a_stale_page_is_refused_with_409_and_nothing_changes(client, desk):
    ticket = _dispatched(desk)
    client.force_login(desk.clerks["shengtai"])
    response = client.post(
        reverse("complaints:staff-act", args=[ticket.pk]), {"action": "sign", "version": 0}
    )
    assert response.status_code == 409
    assert "派单员小李" in response.context["refusal"]
    ticket.refresh_from_db()
    assert (ticket.state, ticket.version) == ("dispatched", 1)


def test_a_report_sender_never_reaches_the_handling_department(client, desk):
    report = _dispatched(desk, "zhujian", kind="report", content="某工地负责人收受好处，违规验收。")
    client.force_login(desk.clerks["zhujian"])
    page = client.get(reverse("complaints:staff-ticket", args=[report.pk])).content.decode()
    assert "张" not in page.split('id="ticket-sender"')[1].split("</dd>")[0]
    for secret in ("张三", "13912345678", "139****5678", desk.citizen.username):
        assert secret not in page
    refused = client.post(
        reverse("complaints:staff-reporter", args=[report.pk]), {"reason": "核实"}
    )
    assert refused.status_code == 403
    client.force_login(desk.supervisors["zhujian"])
    assert (
        client.post(
            reverse("complaints:staff-reporter", args=[report.pk]), {"reason": "核实"}
        ).status_code
        == 403
    )
    assert ReporterAccess.objects.count() == 0
    client.force_login(desk.supervisor)
    revealed = client.post(
        reverse("complaints:staff-reporter", args=[report.pk]), {"reason": "需要回访核实"}
    )
    assert revealed.context["revealed"]["phone"] == "13912345678"
    (access,) = ReporterAccess.objects.all()
    assert (access.user, access.reason) == (desk.supervisor, "需要回访核实")


def test_the_desk_sees_the_sender_masked(client, desk):
    ticket = desk.ticket()
    client.force_login(desk.operator)
    page = client.get(reverse("complaints:staff-ticket", args=[ticket.pk])).content.decode()
    assert "139****5678" in page and "13912345678" not in page


def _many(desk, n):
    for i in range(n):
        ticket = desk.ticket(content=f"{NOISE} 第{i}次", address=f"文三路 {i} 号")
        ticket_transition(
            actor=desk.dispatcher,
            ticket=ticket,
            action="dispatch",
            department=desk.departments["shengtai"],
        )


@pytest.mark.parametrize("size", [1, 12])
def test_pages_run_a_fixed_number_of_queries(client, desk, size, django_assert_num_queries):
    _many(desk, size)
    ticket = Ticket.objects.first()
    client.force_login(desk.clerks["shengtai"])
    with django_assert_num_queries(7):
        assert client.get(reverse("complaints:staff-tickets")).status_code == 200
    with django_assert_num_queries(11):  # … and its requests for 延期 or 挂起
        assert client.get(reverse("complaints:staff-ticket", args=[ticket.pk])).status_code == 200
    client.force_login(desk.citizen)
    client.force_login(desk.dispatcher)
    with django_assert_num_queries(6):
        assert client.get(reverse("complaints:staff-tickets")).status_code == 200
    client.force_login(desk.citizen)
    with django_assert_num_queries(4):
        assert client.get(reverse("complaints:my-tickets")).status_code == 200
    with django_assert_num_queries(6):
        assert client.get(reverse("complaints:ticket", args=[ticket.pk])).status_code == 200


def test_a_link_to_that_is_not_a_ticket_number_is_ignored(client, desk):
    client.force_login(desk.citizen)
    response = client.post(
        reverse("complaints:ticket-new"), {**_form(desk), "step": "send", "link_to": "x'1"}
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert (ticket.state, ticket.duplicate_of) == ("queued", None)


def test_the_dispatcher_sends_selected_queued_tickets_to_their_suggestions(desk):
    """The queue shows each ticket's suggestion by department name with its confidence; the
    selected ones go to their suggestions in one request, each through the chokepoint; one
    without a suggestion, or not in the queue, is named and left as it was."""
    from django.test import Client

    from complaints.models import Ticket, TicketEvent

    zhujian, shengtai = desk.departments["zhujian"], desk.departments["shengtai"]
    first, second, bare = desk.ticket(), desk.ticket(), desk.ticket()
    for ticket, department in ((first, zhujian), (second, shengtai)):
        TicketEvent.objects.filter(ticket=ticket, action="queue").update(
            data={"suggested": department.code}
        )
    Ticket.objects.filter(pk=first.pk).update(dispatch_confidence=0.62)
    TicketEvent.objects.filter(ticket=bare, action="queue").update(data={})
    client = Client()
    client.cookies["zhb_lang"] = "en"
    client.force_login(desk.dispatcher)
    page = client.get("/staff/tickets/?view=queue").content.decode()
    assert f'<span data-suggested="{zhujian.code}">{zhujian.name}</span> · 0.62' in page
    assert f'name="tickets" value="{bare.pk}"' not in page  # nothing to send it to

    operator = Client()
    operator.force_login(desk.operator)
    before = list(Ticket.objects.order_by("pk").values_list("state", "department_id"))
    operator.post("/staff/tickets/dispatch/", {"tickets": [first.pk]})
    assert list(Ticket.objects.order_by("pk").values_list("state", "department_id")) == before

    answer = client.post(
        "/staff/tickets/dispatch/", {"tickets": [first.pk, second.pk, bare.pk, 999999]}, follow=True
    )
    body = answer.content.decode()
    assert "2 tickets dispatched to their suggestions." in body
    assert f"{Ticket.objects.get(pk=bare.pk).number}: no suggestion" in body
    assert "No such ticket in the queue." in body
    assert Ticket.objects.get(pk=first.pk).department == zhujian
    assert Ticket.objects.get(pk=second.pk).department == shengtai
    assert Ticket.objects.get(pk=bare.pk).state == Ticket.State.QUEUED

"""The tickets API: sending, repeats, reading by scope, the work-order loop, the sender's identity.

Without a trained model every ticket waits in the desk's queue (``queued``); the desk's
dispatcher then sends it on through the ``actions/`` endpoint, as a person would.
"""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import Resolver404, resolve
from PIL import Image

from complaints.models import ReporterAccess, Ticket, TicketAttachment, TicketEvent
from complaints.services import ticket_transition
from tests.factories import ServiceItemFactory, StaffFactory
from workflows.services import application_start

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"
DUPLICATES = "/api/v1/tickets/duplicates/"
NOISE = "小区门口道路施工噪音很大，晚上十一点还在施工，影响休息。"


def api(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def send(client, **fields):
    body = {
        "kind": "complaint",
        "title": "夜间施工噪音扰民",
        "content": NOISE,
        "region": "330106",
        "address": "文三路 100 号",
        **fields,
    }
    return client.post(TICKETS, body, content_type="application/json")


def act(client, ticket, action, **body):
    return client.post(
        f"{TICKETS}{ticket.pk}/actions/",
        {"action": action, **body},
        content_type="application/json",
    )


def snapshot(ticket: Ticket) -> tuple:
    ticket.refresh_from_db()
    return (
        ticket.state,
        ticket.version,
        ticket.department_id,
        ticket.parts.count(),
        TicketEvent.objects.filter(ticket=ticket).count(),
    )


def dispatched(desk, kind="zhujian", **fields) -> Ticket:
    """A ticket the desk's dispatcher sent to the city department of that kind."""
    ticket = desk.ticket(**fields)
    return ticket_transition(
        actor=desk.dispatcher, ticket=ticket, action="dispatch", department=desk.departments[kind]
    )


def photo_with_exif(colour="red") -> bytes:
    image = Image.new("RGB", (16, 16), colour)
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0132] = "2026:01:02 03:04:05"  # DateTime
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


# ---------------------------------------------------------------- sending


def test_a_citizen_sends_a_ticket_in_json(desk):
    response = send(api(desk.citizen), contact_phone="13912345678", public=True)
    assert response.status_code == 201, response.content
    body = response.json()
    ticket = Ticket.objects.get()
    assert response["Location"] == body["url"] == f"http://testserver{TICKETS}{ticket.pk}/"
    assert ticket.citizen == desk.citizen
    assert ticket.channel == "api"
    assert ticket.is_public is True
    assert body["id"] == ticket.pk
    assert body["number"] == ticket.number
    assert body["kind"] == "complaint"
    assert body["channel"] == "api"
    assert body["state"] == "queued"
    assert body["title"] == "夜间施工噪音扰民"
    assert body["content"] == NOISE
    assert body["region"] == {"code": "330106", "name": "西湖区"}
    assert body["department"] is None
    assert body["public"] is True
    assert body["reporter_hidden"] is False
    # the sender sees themselves as a handling department will: masked
    assert body["reporter"] == {
        "anonymous": False,
        "name": "张*",
        "phone": "139****5678",
        "email": "",
    }
    assert [(e["action"], e["from_state"], e["to_state"]) for e in body["history"]] == [
        ("receive", "", "received"),
        ("queue", "received", "queued"),
    ]
    assert body["deadline"]["due_date"] == str(ticket.node_due_date)
    assert body["deadline"]["overdue"] is False
    assert body["dispatch"] == {
        "category": "",
        "confidence": 0.0,
        "reasons": ["no dispatch model"],
        "automatic": False,
    }
    assert body["parts"] == []
    assert body["version"] == ticket.version
    assert body["satisfaction"] is None


def test_a_multipart_retry_with_the_same_key_is_the_same_submission(desk):
    raw = photo_with_exif()

    def send(content: bytes):
        return api(desk.citizen).post(
            TICKETS,
            {
                "kind": "complaint",
                "content": NOISE,
                "region": "330106",
                "attachments": [
                    SimpleUploadedFile("scene.jpg", content, content_type="image/jpeg")
                ],
            },
            HTTP_IDEMPOTENCY_KEY="photo-1",
        )

    first = send(raw)
    assert first.status_code == 201, first.content
    again = send(raw)  # another multipart boundary, the same fields and file
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    other = send(photo_with_exif(colour=(0, 0, 255)))
    assert other.status_code == 422
    assert Ticket.objects.count() == 1
    assert TicketAttachment.objects.count() == 1


def test_a_photo_sent_in_multipart_is_kept_without_its_metadata(desk):
    raw = photo_with_exif()
    assert b"SecretCam" in raw
    response = api(desk.citizen).post(
        TICKETS,
        {
            "kind": "complaint",
            "content": NOISE,
            "region": "330106",
            "latitude": "30.274085",
            "longitude": "120.155070",
            "attachments": [SimpleUploadedFile("scene.jpg", raw, content_type="image/jpeg")],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    (attachment,) = body["attachments"]
    assert attachment["name"] == "scene.jpg"
    assert attachment["content_type"] == "image/jpeg"
    assert attachment["metadata_removed"] is True
    assert body["latitude"] == 30.274085
    assert body["longitude"] == 120.15507
    stored = TicketAttachment.objects.get()
    with stored.file.open("rb") as f:
        kept = f.read()
    assert b"SecretCam" not in kept
    assert dict(Image.open(io.BytesIO(kept)).getexif()) == {}


def test_an_anonymous_visitor_sends_only_an_anonymous_ticket(desk):
    visitor = api()
    refused = send(visitor, contact_name="王五")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_authenticated"
    assert Ticket.objects.count() == 0

    response = send(
        visitor, kind="report", anonymous=True, contact_name="王五", contact_phone="13800000000"
    )
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert ticket.citizen is None
    assert ticket.is_anonymous is True
    assert (ticket.contact_name, ticket.contact_phone) == ("", "")
    assert "Location" not in response
    body = response.json()
    assert body["kind"] == "report"
    assert "王五" not in response.content.decode()


def test_a_logged_in_citizen_may_send_anonymously(desk):
    response = send(api(desk.citizen), anonymous=True)
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert ticket.citizen is None
    assert response.json()["reporter"] == {
        "anonymous": True,
        "name": "",
        "phone": "",
        "email": "",
    }
    text = response.content.decode()
    assert "张三" not in text and "13912345678" not in text


def test_a_ticket_about_my_application_and_one_linked_to_an_open_ticket(desk):
    application = _application(desk, desk.citizen)
    response = send(api(desk.citizen), application=str(application.pk))
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().application == application

    first = Ticket.objects.get()
    linked = send(api(desk.other_citizen), link_to=first.pk)
    assert linked.status_code == 201, linked.content
    assert linked.json()["state"] == "linked"
    assert linked.json()["linked_to"] == first.pk


def _application(desk, citizen):
    item = ServiceItemFactory(department=desk.departments["zhujian"])
    return application_start(applicant=citizen, item=item)


BAD_INPUT = [
    ({"content": "长" * 100_000}, "content"),
    ({"content": "   "}, "content"),
    ({"kind": "rumour"}, "kind"),
    ({"title": "题" * 101}, "title"),
    ({"region": "999999"}, "region"),
    ({"region": "西湖区"}, "region"),
    ({"region": "", "address": ""}, "region"),
    ({"latitude": 200, "longitude": 120}, "latitude"),
    ({"latitude": 30.27}, "longitude"),
    ({"contact_phone": "call me"}, "contact_phone"),
    ({"contact_email": "zhang@"}, "contact_email"),
    ({"address": "路" * 201}, "address"),
    ({"anonymous": "perhaps"}, "anonymous"),
    ({"application": "not-a-uuid"}, "application"),
    ({"application": "OTHER"}, "application"),
    ({"application": "MINE", "anonymous": True}, "application"),
    ({"link_to": 999999}, "link_to"),
    ({"link_to": "REPORT"}, "link_to"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_INPUT)
def test_bad_input_names_the_field_and_stores_nothing(desk, fields, field):
    report = desk.ticket(kind="report", content="某单位负责人收受贿赂。")
    before = (Ticket.objects.count(), TicketEvent.objects.count())
    if fields.get("application") == "OTHER":
        fields = {"application": str(_application(desk, desk.other_citizen).pk)}
    if fields.get("application") == "MINE":
        fields = {**fields, "application": str(_application(desk, desk.citizen).pk)}
    if fields.get("link_to") == "REPORT":
        fields = {"link_to": report.pk}
    response = send(api(desk.citizen), **fields)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert list(error["fields"]) == [field], error
    assert error["message"] == error["fields"][field][0]
    assert (Ticket.objects.count(), TicketEvent.objects.count()) == before
    assert TicketAttachment.objects.count() == 0


def test_the_long_content_message_says_the_limit(desk):
    response = send(api(desk.citizen), content="长" * 100_000)
    assert response.json()["error"]["fields"]["content"] == [
        "Ensure this field has no more than 5000 characters."
    ]
    response = send(api(desk.citizen), content="   ")
    assert response.json()["error"]["fields"]["content"] == [
        "Write what happened or what you want to ask."
    ]


def test_a_linked_ticket_that_is_closed_is_refused(desk):
    first = desk.ticket()
    ticket_transition(actor=desk.dispatcher, ticket=first, action="link", target=desk.ticket())
    response = send(api(desk.citizen), link_to=first.pk)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "link_to": ["That ticket is closed; send yours on its own."]
    }
    assert Ticket.objects.count() == 2


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("notes.txt", b"just some text, not a picture", "attachments"),
        ("scene.jpg", b"%PDF-1.4\n%fake\n", "attachments"),
        ("program.jpg", b"MZ\x90\x00" + b"\x00" * 60, "attachments"),
    ],
)
def test_a_bad_upload_is_refused_and_nothing_is_stored(desk, name, content, code):
    response = api(desk.citizen).post(
        TICKETS,
        {
            "kind": "complaint",
            "content": NOISE,
            "region": "330106",
            "attachments": [SimpleUploadedFile(name, content)],
        },
    )
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == [code]
    assert Ticket.objects.count() == 0
    assert TicketAttachment.objects.count() == 0


def test_too_many_uploads_are_refused(desk):
    files = [SimpleUploadedFile(f"p{n}.jpg", photo_with_exif()) for n in range(6)]
    response = api(desk.citizen).post(
        TICKETS, {"kind": "complaint", "content": NOISE, "region": "330106", "attachments": files}
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["attachments"]
    assert Ticket.objects.count() == 0


# ---------------------------------------------------------------- repeats


def test_duplicates_name_only_public_tickets_and_show_state_and_score(desk):
    public = desk.ticket(is_public=True, contact_phone="13912345678")
    private = desk.ticket(title="夜里施工太吵", citizen=desk.other_citizen)
    desk.ticket(kind="report", title="举报施工单位", content=NOISE)
    desk.ticket(content="公交车站的站牌被撞坏了，请尽快修复。", title="站牌损坏")
    response = api().get(DUPLICATES, {"content": NOISE, "region": "330106"})
    assert response.status_code == 200, response.content
    rows = response.json()
    assert {row["id"] for row in rows} == {public.pk, private.pk}
    row = next(r for r in rows if r["id"] == private.pk)
    assert row == {
        "id": private.pk,
        "number": None,
        "title": None,
        "state": "queued",
        "state_display": "Waiting for a dispatcher",
        "created_at": row["created_at"],
        "score": row["score"],
    }
    assert 0.6 <= row["score"] <= 1
    shown = next(r for r in rows if r["id"] == public.pk)
    assert (shown["number"], shown["title"]) == (public.number, public.title)
    text = response.content.decode()
    for secret in (NOISE, "举报", "张三", "李四", "13912345678", "夜里施工太吵", private.number):
        assert secret not in text


def test_duplicates_need_content_and_a_known_region(desk):
    missing = api().get(DUPLICATES, {"region": "330106"})
    assert missing.status_code == 400
    assert list(missing.json()["error"]["fields"]) == ["content"]
    unknown = api().get(DUPLICATES, {"content": NOISE, "region": "123456"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fields"] == {"region": ["No region has the code “123456”."]}
    assert api().get(DUPLICATES, {"content": NOISE}).json() == []


# ---------------------------------------------------------------- the whole loop


def test_the_whole_loop_through_the_actions_endpoint(desk):
    response = send(api(desk.citizen))
    ticket = Ticket.objects.get(pk=response.json()["id"])
    version = response.json()["version"]

    dispatcher = api(desk.dispatcher)
    moved = act(
        dispatcher,
        ticket,
        "dispatch",
        version=version,
        department="330100-zhujian",
        assisting=["330100-shengtai"],
        note="施工噪音，住建牵头，生态环境协办",
    )
    assert moved.status_code == 200, moved.content
    body = moved.json()
    assert body["state"] == "dispatched"
    assert body["department"] == {"code": "330100-zhujian", "name": "杭州市住房和城乡建设局"}
    assert [(p["department"]["code"], p["lead"], p["state"]) for p in body["parts"]] == [
        ("330100-zhujian", True, "dispatched"),
        ("330100-shengtai", False, "dispatched"),
    ]

    zhujian = api(desk.clerks["zhujian"])
    shengtai = api(desk.clerks["shengtai"])
    steps = [
        (zhujian, "sign", {}, "handling"),
        (shengtai, "sign", {}, "handling"),
        (shengtai, "opinion", {"note": "夜间施工噪声超标"}, "handling"),
        (zhujian, "answer", {"note": "已责令施工单位停止夜间施工。"}, "answered"),
        (api(desk.operator), "callback", {"note": "市民确认已停工"}, "called_back"),
        (api(desk.citizen), "rate", {"satisfaction": 5, "note": "谢谢"}, "closed"),
    ]
    for client, action, extra, state in steps:
        version = body["version"]
        moved = act(client, ticket, action, version=version, **extra)
        assert moved.status_code == 200, (action, moved.content)
        body = moved.json()
        assert body["state"] == state, action
    assert body["satisfaction"] == 5
    assert body["reply"] == "已责令施工单位停止夜间施工。"
    assert body["deadline"]["due_date"] is None
    assert [(p["lead"], p["state"]) for p in body["parts"]] == [
        (True, "replied"),
        (False, "replied"),
    ]
    assert [e["action"] for e in body["history"]] == [
        "receive",
        "queue",
        "dispatch",
        "sign",
        "sign",
        "opinion",
        "answer",
        "callback",
        "rate",
    ]
    answer = body["history"][6]
    assert answer["department"]["code"] == "330100-zhujian"
    assert (answer["from_state"], answer["to_state"]) == ("handling", "answered")
    ticket.refresh_from_db()
    assert (ticket.state, ticket.satisfaction, ticket.version) == ("closed", 5, body["version"])


def test_a_return_and_a_link_through_the_actions_endpoint(desk):
    ticket = dispatched(desk, kind="jiaotong")
    clerk = api(desk.clerks["jiaotong"])
    returned = act(clerk, ticket, "return", note="不属于交通部门", department="330100-zhujian")
    assert returned.status_code == 200, returned.content
    # the department no longer holds the ticket but sees what it just did
    assert returned.json()["state"] == "queued"
    assert clerk.get(f"{TICKETS}{ticket.pk}/").status_code == 404

    repeat = desk.ticket(citizen=desk.other_citizen)
    linked = act(api(desk.dispatcher), repeat, "link", target=ticket.pk)
    assert linked.status_code == 200, linked.content
    assert (linked.json()["state"], linked.json()["linked_to"]) == ("linked", ticket.pk)


def test_a_stale_version_answers_409_with_who_moved_it_and_changes_nothing(desk):
    ticket = desk.ticket()
    stale = ticket.version
    ticket_transition(
        actor=desk.dispatcher,
        ticket=ticket,
        action="dispatch",
        department=desk.departments["zhujian"],
    )
    before = snapshot(ticket)
    response = act(api(desk.clerks["zhujian"]), ticket, "sign", version=stale)
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "stale",
        "message": "This ticket was changed by 派单员小李 since you opened it; reload the page.",
        "holder": "派单员小李",
    }
    assert snapshot(ticket) == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"action": "fly"}, 400, "invalid_choice"),
        ({"action": "dispatch"}, 400, "department_missing"),
        ({"action": "dispatch", "department": "nowhere"}, 400, "department_unknown"),
        ({"action": "dispatch", "department": "330100-rexian"}, 400, "department_invalid"),
        (
            {"action": "dispatch", "department": "330100-zhujian", "assisting": ["x"]},
            400,
            "department_unknown",
        ),
        ({"action": "link", "target": 999999}, 400, "not_found"),
        ({"action": "sign"}, 403, "not_your_department"),
        ({"action": "answer", "note": "x"}, 403, "not_your_department"),
        ({"action": "callback", "note": "x"}, 409, "wrong_state"),
        ({"action": "rate", "satisfaction": 9}, 400, "max_value"),
        ({"action": "dispatch", "department": "330100-zhujian", "version": -1}, 400, "min_value"),
    ],
)
def test_a_refused_move_answers_its_status_and_changes_nothing(desk, body, status, code):
    ticket = desk.ticket()
    before = snapshot(ticket)
    response = api(desk.dispatcher).post(
        f"{TICKETS}{ticket.pk}/actions/", body, content_type="application/json"
    )
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert snapshot(ticket) == before


# ---------------------------------------------------------------- who sees what


def test_a_department_sees_and_moves_only_its_own_tickets(desk):
    mine = dispatched(desk, kind="zhujian")
    theirs = dispatched(desk, kind="jiaotong", title="公交站牌损坏")
    zhujian = api(desk.clerks["zhujian"])

    listed = zhujian.get(TICKETS).json()
    assert [row["id"] for row in listed["results"]] == [mine.pk]
    assert listed["count"] == 1
    assert zhujian.get(f"{TICKETS}{mine.pk}/").status_code == 200

    before = snapshot(theirs)
    assert zhujian.get(f"{TICKETS}{theirs.pk}/").status_code == 404
    assert act(zhujian, theirs, "sign").status_code == 404
    assert act(zhujian, theirs, "answer", note="不归我们管").status_code == 404
    assert snapshot(theirs) == before

    # in scope, but a move of the desk's: 403 and unchanged
    before = snapshot(mine)
    refused = act(zhujian, mine, "callback", note="已回访")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_desk"
    assert snapshot(mine) == before

    # the desk sees every ticket
    desk_rows = api(desk.operator).get(TICKETS).json()["results"]
    assert {row["id"] for row in desk_rows} == {mine.pk, theirs.pk}


def test_an_assisting_department_may_not_answer(desk):
    ticket = desk.ticket()
    ticket_transition(
        actor=desk.dispatcher,
        ticket=ticket,
        action="dispatch",
        department=desk.departments["zhujian"],
        assisting=[desk.departments["shengtai"]],
    )
    ticket_transition(actor=desk.clerks["zhujian"], ticket=ticket, action="sign")
    before = snapshot(ticket)
    response = act(api(desk.clerks["shengtai"]), ticket, "answer", note="我们来答复")
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "not_lead",
        "message": "Only the lead department answers the citizen.",
    }
    assert snapshot(ticket) == before


def test_a_citizen_sees_only_their_own_tickets(desk):
    mine = desk.ticket()
    theirs = desk.ticket(citizen=desk.other_citizen, title="别人的工单")
    client = api(desk.citizen)
    rows = client.get(TICKETS).json()["results"]
    assert [row["id"] for row in rows] == [mine.pk]
    assert client.get(f"{TICKETS}{mine.pk}/").status_code == 200
    assert client.get(f"{TICKETS}{theirs.pk}/").status_code == 404
    before = snapshot(theirs)
    assert act(client, theirs, "rate", satisfaction=1).status_code == 404
    assert snapshot(theirs) == before
    # nor move their own ticket like staff
    refused = act(client, mine, "dispatch", department="330100-zhujian")
    assert refused.status_code == 403
    assert api().get(TICKETS).status_code == 403


def test_a_report_s_sender_is_hidden_from_the_handling_department(desk):
    ticket = desk.ticket(kind="report", title="举报违规施工", contact_phone="13912345678")
    ticket_transition(
        actor=desk.dispatcher,
        ticket=ticket,
        action="dispatch",
        department=desk.departments["zhujian"],
    )
    for user in (desk.clerks["zhujian"], desk.supervisors["zhujian"]):
        client = api(user)
        detail = client.get(f"{TICKETS}{ticket.pk}/")
        assert detail.status_code == 200
        body = detail.json()
        assert body["reporter"] is None
        assert body["reporter_hidden"] is True
        for response in (detail, client.get(TICKETS)):
            text = response.content.decode()
            for secret in ("张三", "张*", "13912345678", "139****5678", desk.citizen.username):
                assert secret not in text, (secret, user)
    # the desk sees the sender, masked
    seen = api(desk.operator).get(f"{TICKETS}{ticket.pk}/").json()
    assert seen["reporter"] == {
        "anonymous": False,
        "name": "张*",
        "phone": "139****5678",
        "email": "",
    }
    assert "13912345678" not in str(seen)


def test_a_complaint_s_sender_is_masked_for_the_department(desk):
    ticket = dispatched(desk, kind="zhujian", contact_email="zhangsan@example.com")
    body = api(desk.clerks["zhujian"]).get(f"{TICKETS}{ticket.pk}/").json()
    assert body["reporter"] == {
        "anonymous": False,
        "name": "张*",
        "phone": "139****5678",
        "email": "z***@example.com",
    }


# ---------------------------------------------------------------- unmasking the sender


def reveal(user, ticket, reason="核实举报线索"):
    return api(user).post(
        f"{TICKETS}{ticket.pk}/reporter/", {"reason": reason}, content_type="application/json"
    )


def test_only_a_desk_supervisor_unmasks_the_sender_and_it_is_logged(desk):
    ticket = desk.ticket(kind="report", contact_phone="13912345678")
    ticket_transition(
        actor=desk.dispatcher,
        ticket=ticket,
        action="dispatch",
        department=desk.departments["zhujian"],
    )
    for user in (
        desk.clerks["zhujian"],
        desk.supervisors["zhujian"],
        desk.operator,
        desk.dispatcher,
        desk.citizen,
    ):
        response = reveal(user, ticket)
        assert response.status_code == 403, user
        assert response.json()["error"]["message"] == (
            "Only the desk's supervisors may see who sent a ticket."
        )
        assert "13912345678" not in response.content.decode()
    assert ReporterAccess.objects.count() == 0

    missing = reveal(desk.supervisor, ticket, reason="   ")
    assert missing.status_code == 400
    assert missing.json()["error"] == {
        "code": "reason_missing",
        "message": "Say why you need to see the reporter.",
    }
    assert ReporterAccess.objects.count() == 0

    response = reveal(desk.supervisor, ticket)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "name": "张三",
        "phone": "13912345678",
        "email": "",
        "username": desk.citizen.username,
    }
    (access,) = ReporterAccess.objects.all()
    assert (access.ticket, access.user, access.reason) == (ticket, desk.supervisor, "核实举报线索")
    assert reveal(desk.supervisor, Ticket(pk=999999)).status_code == 404


# ---------------------------------------------------------------- lists and their queries


def test_list_filters(desk):
    queued = desk.ticket()
    handled = dispatched(desk, kind="zhujian")
    ticket_transition(actor=desk.clerks["zhujian"], ticket=handled, action="sign")
    other = dispatched(desk, kind="jiaotong")
    client = api(desk.dispatcher)

    def ids(**query):
        response = client.get(TICKETS, query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(queue="1") == [queued.pk]
    assert ids(state="handling") == [handled.pk]
    assert ids(department="330100-jiaotong") == [other.pk]
    assert set(ids()) == {queued.pk, handled.pk, other.pk}
    assert ids(overdue="1") == []
    assert ids(state="closed") == []

    for query, field in [
        ({"state": "sleeping"}, "state"),
        ({"queue": "maybe"}, "queue"),
        ({"department": "no/such"}, "department"),
        ({"department": "nowhere"}, "department"),
        ({"page_size": "1000"}, "page_size"),
    ]:
        response = client.get(TICKETS, query)
        assert response.status_code == 400, query
        assert list(response.json()["error"]["fields"]) == [field]

    mine = api(desk.citizen).get(TICKETS, {"state": "queued"}).json()["results"]
    assert [row["id"] for row in mine] == [queued.pk]


def _tickets(desk, n: int) -> None:
    for i in range(n):
        ticket = desk.ticket(title=f"施工噪音 {i}")
        if i % 2:
            ticket_transition(
                actor=desk.dispatcher,
                ticket=ticket,
                action="dispatch",
                department=desk.departments["zhujian"],
            )


@pytest.mark.parametrize(
    ("who", "query", "queries"),
    [
        # session, user, count, page
        ("citizen", {}, 4),
        # session, user, is the user at the desk, count, page
        ("dispatcher", {}, 5),
        ("dispatcher", {"queue": "1"}, 5),
        # session, user, is the user at the desk, count, page
        ("clerk", {}, 5),
        # ... and the department of the filter
        ("dispatcher", {"department": "330100-zhujian"}, 6),
    ],
)
def test_lists_run_a_fixed_number_of_queries(desk, django_assert_num_queries, who, query, queries):
    user = {"citizen": desk.citizen, "dispatcher": desk.dispatcher}.get(who) or desk.clerks[
        "zhujian"
    ]
    client = api(user)
    for size in (2, 12):
        _tickets(desk, size - Ticket.objects.count())
        with django_assert_num_queries(queries):
            response = client.get(TICKETS, query)
        assert response.status_code == 200
        assert response.json()["count"] > 0


def test_duplicates_run_a_fixed_number_of_queries(desk, django_assert_num_queries):
    client = api()
    for size in (2, 12):
        _tickets(desk, size - Ticket.objects.count())
        # the region, the candidates
        with django_assert_num_queries(2):
            response = client.get(DUPLICATES, {"content": NOISE, "region": "330106"})
        assert len(response.json()) == min(size, 5)


def test_a_ticket_s_detail_runs_a_fixed_number_of_queries(desk, django_assert_num_queries):
    small = dispatched(desk, kind="zhujian")
    big = desk.ticket()
    ticket_transition(
        actor=desk.dispatcher,
        ticket=big,
        action="dispatch",
        department=desk.departments["zhujian"],
        assisting=[desk.departments["shengtai"], desk.departments["jiaotong"]],
    )
    ticket_transition(actor=desk.clerks["shengtai"], ticket=big, action="sign")
    ticket_transition(actor=desk.clerks["jiaotong"], ticket=big, action="sign")
    client = api(desk.clerks["zhujian"])
    # session, user, is the user at the desk (scope), the ticket, events, parts, attachments,
    # is the user at the desk (what they may see of the sender)
    for ticket in (small, big):
        with django_assert_num_queries(8):
            assert client.get(f"{TICKETS}{ticket.pk}/").status_code == 200
    # session, user, the ticket, events, parts, attachments
    citizen = api(desk.citizen)
    for ticket in (small, big):
        with django_assert_num_queries(6):
            assert citizen.get(f"{TICKETS}{ticket.pk}/").status_code == 200


# ---------------------------------------------------------------- routes


def test_ticket_ids_are_digits_so_sibling_routes_are_not_swallowed():
    try:
        match = resolve(f"{TICKETS}stats/")
    except Resolver404:
        match = None
    assert match is None or match.url_name != "ticket-detail"
    assert resolve(f"{TICKETS}12/").url_name == "ticket-detail"
    assert resolve(DUPLICATES).url_name == "ticket-duplicates"


def test_staff_of_no_department_get_an_empty_list(desk):
    assert api(StaffFactory()).get(TICKETS).json()["results"] == []


@pytest.mark.parametrize("value", [12345, 1.5, True, ["施工噪音"], {"text": "施工噪音"}])
def test_text_must_be_sent_as_text(desk, value):
    response = api(desk.citizen).post(
        TICKETS,
        {"kind": "complaint", "content": value, "region": "330106"},
        content_type="application/json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == ["content"]
    assert error["fields"]["content"] == ["Not a valid string."]
    assert Ticket.objects.count() == 0


def test_a_retry_with_the_same_idempotency_key_answers_with_the_first_ticket(desk):
    client = api(desk.citizen)
    first = client.post(
        TICKETS,
        {"kind": "complaint", "content": NOISE, "region": "330106"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="retry-key-1",
    )
    assert first.status_code == 201, first.content
    notices = desk.citizen.notices.count()
    events = TicketEvent.objects.count()

    again = client.post(
        TICKETS,
        {"region": "330106", "content": NOISE, "kind": "complaint"},  # the same, reordered
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="retry-key-1",
    )
    assert again.status_code == 200, again.content
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["content"] == NOISE
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().idempotency_key == "retry-key-1"
    assert desk.citizen.notices.count() == notices
    assert TicketEvent.objects.count() == events

    # the same key with another body is another submission: refused, nothing changes
    other = client.post(
        TICKETS,
        {"kind": "complaint", "content": NOISE + "（重发）", "region": "330106"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="retry-key-1",
    )
    assert other.status_code == 422, other.content
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Ticket.objects.count() == 1
    assert desk.citizen.notices.count() == notices
    assert TicketEvent.objects.count() == events

    other = client.post(
        TICKETS,
        {"kind": "complaint", "content": NOISE, "region": "330106"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="retry-key-2",
    )
    assert other.status_code == 201
    assert Ticket.objects.count() == 2


def test_an_idempotency_key_is_kept_per_sender_and_ignored_for_an_anonymous_ticket(desk):
    mine = api(desk.citizen).post(
        TICKETS,
        {"kind": "complaint", "content": NOISE, "region": "330106"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="shared-key",
    )
    assert mine.status_code == 201
    anonymous = [
        api().post(
            TICKETS,
            {"kind": "complaint", "content": NOISE, "region": "330106", "anonymous": True},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="shared-key",
        )
        for _ in range(2)
    ]
    assert [answer.status_code for answer in anonymous] == [201, 201]
    assert Ticket.objects.count() == 3
    assert Ticket.objects.filter(idempotency_key="shared-key").count() == 1


@pytest.mark.parametrize(
    ("key", "code"), [("x" * 65, "idempotency_key_invalid"), ("ключ", "idempotency_key_invalid")]
)
def test_a_malformed_idempotency_key_is_refused_and_nothing_is_stored(desk, key, code):
    answer = api(desk.citizen).post(
        TICKETS,
        {"kind": "complaint", "content": NOISE, "region": "330106"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code
    assert Ticket.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_with_one_key_take_one_ticket_in(postgres_required, desk):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from complaints.services import ticket_submit_once
    from departments.models import Region

    region = Region.objects.get(code="330106")

    def submit(_n: int) -> tuple[int, bool]:
        try:
            ticket, created = ticket_submit_once(
                idempotency_key="one-key-for-twenty",
                kind="complaint",
                channel=Ticket.Channel.API,
                content=NOISE,
                region=region,
                citizen=desk.citizen,
            )
            return ticket.pk, created
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(submit, range(20)))
    assert [created for _pk, created in results].count(True) == 1
    assert len({pk for pk, _created in results}) == 1
    assert Ticket.objects.count() == 1
    assert TicketEvent.objects.filter(action="receive").count() == 1

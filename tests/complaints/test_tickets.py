"""The complaints desk's ticket services: taking a ticket in, attachments, duplicates, dispatch,
the work-order loop, deadlines, identity of a 举报's reporter and what staff may see.

Every refused action is checked to have changed nothing at all: the tickets, their parts,
history, attachments, notices, deliveries, outbox and reporter-access rows are compared whole
before and after (``world``). Time is fixed, where a date matters, by setting Django's clock
(``django.utils.timezone.now``) for the test; the calendar itself is the real one.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import runpy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, PngImagePlugin

from complaints import services
from complaints.dispatch.text import ticket_text
from complaints.models import (
    DispatchRule,
    ReporterAccess,
    Ticket,
    TicketAttachment,
    TicketDepartment,
    TicketEvent,
)
from complaints.selectors import (
    duplicates_find,
    is_desk,
    public_preview,
    reporter_for,
    staff_tickets,
    ticket_for_citizen,
    ticket_for_staff,
    tickets_for_staff,
)
from complaints.services import (
    TicketInvalid,
    reporter_reveal,
    returned_examples,
    ticket_transition,
    tickets_sweep,
)
from departments.models import Membership, Region
from tests.core.services import reset_broker_connections
from tests.factories import DepartmentFactory, MembershipFactory
from zheliban import celery_app
from zheliban.core.errors import Conflict, Forbidden, Refused
from zheliban.core.models import Notice, NoticeDelivery, OutboxMessage
from zheliban.core.workdays import add_workdays

S = Ticket.State
P = TicketDepartment.State
SHANGHAI = ZoneInfo("Asia/Shanghai")

ENVIRONMENT_TITLE = "化工厂偷排污水"
ENVIRONMENT = "西湖区某化工厂夜间偷排污水，河道发黑发臭，空气中有刺鼻气味，请环保部门查处"


# ---------------------------------------------------------------- helpers


def world() -> dict[str, list[dict]]:
    """Every row the ticket services write, to compare whole before and after a refusal."""
    return {
        "tickets": list(Ticket.objects.order_by("pk").values()),
        "parts": list(TicketDepartment.objects.order_by("pk").values()),
        "events": list(TicketEvent.objects.order_by("pk").values()),
        "attachments": list(TicketAttachment.objects.order_by("pk").values()),
        "notices": list(Notice.objects.order_by("pk").values()),
        "deliveries": list(NoticeDelivery.objects.order_by("pk").values()),
        "outbox": list(OutboxMessage.objects.order_by("created_at", "pk").values()),
        "accesses": list(ReporterAccess.objects.order_by("pk").values()),
    }


def refused(error_type, code: str, call, *args, **kwargs):
    """Run ``call``; it must raise exactly ``error_type`` with ``code`` and change nothing."""
    before = world()
    with pytest.raises(error_type) as info:
        call(*args, **kwargs)
    assert type(info.value) is error_type
    assert info.value.code == code
    assert world() == before
    return info.value


def act(ticket, actor, action, **kwargs) -> Ticket:
    return ticket_transition(actor=actor, ticket=ticket, action=action, **kwargs)


def history(ticket) -> list[tuple[str, str, str]]:
    return list(
        TicketEvent.objects.filter(ticket=ticket)
        .order_by("at", "id")
        .values_list("action", "from_state", "to_state")
    )


def notices(user) -> list[tuple[str, str]]:
    return list(Notice.objects.filter(recipient=user).order_by("id").values_list("subject", "body"))


def parts(ticket) -> list[tuple[str, bool, str]]:
    return list(
        TicketDepartment.objects.filter(ticket=ticket)
        .order_by("id")
        .values_list("department__code", "is_lead", "state")
    )


def fresh(ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def due(day: dt.date, n: int) -> dt.date:
    return add_workdays(day, n).date


def today() -> dt.date:
    return timezone.localdate()


def jpeg(*, size=(40, 20), exif: Image.Exif | None = None, comment: bytes = b"", name="a.jpg"):
    image = Image.new("RGB", size, (255, 0, 0))
    # the right half blue, so that a rotation shows
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    buffer = io.BytesIO()
    options = {"exif": exif.tobytes()} if exif is not None else {}
    if comment:
        options["comment"] = comment
    image.save(buffer, "JPEG", quality=95, **options)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def gps_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = "EOS 5D"  # Model
    exif[0x0132] = "2026:05:01 10:00:00"  # DateTime
    if orientation is not None:
        exif[0x0112] = orientation
    exif[0x8825] = {  # GPSInfo: 30°15'N 120°5'E, by 西湖
        1: "N",
        2: (30.0, 15.0, 0.0),
        3: "E",
        4: (120.0, 5.0, 0.0),
    }
    return exif


def png_with_text(name="b.png"):
    image = Image.new("RGB", (16, 16), (0, 128, 0))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "张三 13912345678")
    info.add_text("Location", "30.25N 120.08E")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def pdf(name="c.pdf"):
    body = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def stored_files(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def close_loop(desk, ticket, kind="zhujian", satisfaction=5) -> Ticket:
    """Dispatch (if queued), sign, answer, call back and rate a ticket."""
    if fresh(ticket).state == S.QUEUED:
        act(ticket, desk.dispatcher, "dispatch", department=desk.departments[kind])
    act(ticket, desk.clerks[kind], "sign")
    act(ticket, desk.clerks[kind], "answer", note="已责令施工单位夜间停工。")
    act(ticket, desk.operator, "callback", note="市民确认已停工。")
    return act(ticket, desk.citizen, "rate", satisfaction=satisfaction)


@pytest.fixture
def media(settings, tmp_path):
    root = tmp_path / "private"
    settings.PRIVATE_MEDIA_ROOT = root
    return root


@pytest.fixture
def clock(monkeypatch):
    """Django's clock, fixed at a moment the test chooses (``clock.set(2026, 9, 30, 10)``)."""
    real_now = timezone.now

    class Clock:
        moment: dt.datetime | None = None

        def set(self, *args) -> dt.datetime:
            self.moment = dt.datetime(*args, tzinfo=SHANGHAI)
            return self.moment

    fixed = Clock()
    monkeypatch.setattr(timezone, "now", lambda: fixed.moment or real_now())
    return fixed


@pytest.fixture
def model(settings, trained_model):
    """The real dispatch model trained on the shared labelled messages, loaded fresh."""
    settings.DISPATCH_MODEL_DIR = str(trained_model.directory)
    services._predictor_cache.clear()
    yield json.loads(trained_model.path.with_suffix(".json").read_text(encoding="utf-8"))
    services._predictor_cache.clear()


@pytest.fixture(autouse=True)
def _no_cached_model():
    services._predictor_cache.clear()
    yield
    services._predictor_cache.clear()


# ---------------------------------------------------------------- taking a ticket in


LONG_CONTENT = "噪" * 100_000


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"content": ""}, {"content": ["Write what happened or what you want to ask."]}),
        ({"content": " \n\t "}, {"content": ["Write what happened or what you want to ask."]}),
        (
            {"content": LONG_CONTENT},
            {"content": ["Write at most 5000 characters (this has 100000)."]},
        ),
        (
            {"content": "噪" * 5001},
            {"content": ["Write at most 5000 characters (this has 5001)."]},
        ),
        ({"kind": "rumour"}, {"kind": ["Choose what kind of message this is."]}),
        ({"channel": "fax"}, {"channel": ["Unknown channel."]}),
        ({"title": "题" * 101}, {"title": ["The title can have at most 100 characters."]}),
        (
            {"latitude": "30.274", "longitude": ""},
            {"longitude": ["Give both latitude and longitude, or neither."]},
        ),
        (
            {"latitude": None, "longitude": "120.15"},
            {"latitude": ["Give both latitude and longitude, or neither."]},
        ),
        (
            {"latitude": "91", "longitude": "120.15"},
            {"latitude": ["Give a number from -90 to 90."]},
        ),
        (
            {"latitude": "30.27", "longitude": "-180.5"},
            {"longitude": ["Give a number from -180 to 180."]},
        ),
        (
            {"latitude": "NaN", "longitude": "120.15"},
            {"latitude": ["Give a number from -90 to 90."]},
        ),
        ({"latitude": "北纬30", "longitude": "120.15"}, {"latitude": ["Give a number."]}),
        (
            {"contact_phone": "1391234abcd"},
            {"contact_phone": ["Give a mobile number of 11 digits or a landline number."]},
        ),
        (
            {"contact_phone": "12912345678"},
            {"contact_phone": ["Give a mobile number of 11 digits or a landline number."]},
        ),
        ({"contact_email": "someone@"}, {"contact_email": ["Give a valid e-mail address."]}),
        (
            {"region": None, "address": "  "},
            {"region": ["Say where: choose the region or give the address."]},
        ),
        (
            {"content": "", "kind": "rumour", "contact_email": "x"},
            {
                "kind": ["Choose what kind of message this is."],
                "content": ["Write what happened or what you want to ask."],
                "contact_email": ["Give a valid e-mail address."],
            },
        ),
    ],
    ids=[
        "empty",
        "blank",
        "100000-chars",
        "5001-chars",
        "kind",
        "channel",
        "long-title",
        "lat-without-long",
        "long-without-lat",
        "lat-out-of-range",
        "long-out-of-range",
        "lat-nan",
        "lat-not-a-number",
        "phone-letters",
        "phone-12x",
        "email",
        "no-location",
        "several",
    ],
)
def test_bad_input_names_each_field_and_stores_nothing(desk, media, fields, errors):
    uploads = [jpeg(exif=gps_exif()), pdf()]
    error = refused(TicketInvalid, "invalid", desk.ticket, uploads=uploads, **fields)
    assert error.fields == errors
    assert error.message == next(iter(errors.values()))[0]
    assert Ticket.objects.count() == 0
    assert TicketEvent.objects.count() == 0
    assert TicketAttachment.objects.count() == 0
    assert Notice.objects.count() == 0
    assert stored_files(media) == []


def test_a_valid_ticket_is_received_and_queued_without_a_model(desk):
    ticket = desk.ticket(
        content="  " + "噪" * 5000 + "  ",
        title="  夜间   施工  ",
        latitude="30.2741",
        longitude=" 120.1551 ",
        contact_phone="139 1234 5678",
        contact_email=" zhang@example.cn ",
        contact_name=" 张三 ",
    )
    ticket.refresh_from_db()
    assert ticket.content == "噪" * 5000
    assert ticket.title == "夜间 施工"
    assert (str(ticket.latitude), str(ticket.longitude)) == ("30.274100", "120.155100")
    assert (ticket.contact_name, ticket.contact_phone, ticket.contact_email) == (
        "张三",
        "13912345678",
        "zhang@example.cn",
    )
    assert ticket.citizen == desk.citizen
    assert ticket.state == S.QUEUED
    assert ticket.department is None
    assert ticket.version == 0
    assert ticket.dispatch_reasons == ["no dispatch model"]
    assert ticket.dispatch_confidence == 0.0
    assert ticket.dispatched_automatically is False
    assert ticket.node_due_date == due(today(), 1)
    assert history(ticket) == [("receive", "", S.RECEIVED), ("queue", S.RECEIVED, S.QUEUED)]
    receive, queue = TicketEvent.objects.filter(ticket=ticket).order_by("id")
    # the sender is not named in the history staff read
    assert (receive.actor, receive.data) == (None, {"by": "citizen"})
    assert queue.actor is None
    assert queue.data == {"suggested": "", "confidence": 0.0, "reasons": ["no dispatch model"]}
    assert TicketDepartment.objects.count() == 0
    assert notices(desk.citizen) == [
        (
            f"Ticket {ticket.number} received",
            f"“夜间 施工” is with the desk, who will send it to the right department by "
            f"{ticket.node_due_date}.",
        )
    ]
    # the citizen has a phone and no preference: one SMS delivery through the outbox
    assert list(NoticeDelivery.objects.values_list("channel", flat=True)) == ["sms"]
    assert OutboxMessage.objects.count() == 1


@pytest.fixture
def no_broker_set(monkeypatch):
    """Celery as the settings configure it when no broker is set (the demo), with the fresh
    connection pools of a new web process; the suite's own configuration comes back after."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("CELERY_TASK_ALWAYS_EAGER", raising=False)
    configured = runpy.run_path(str(Path(__file__).parents[2] / "zheliban" / "settings.py"))
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(
        broker_url=configured["CELERY_BROKER_URL"],
        task_always_eager=configured["CELERY_TASK_ALWAYS_EAGER"],
    )
    reset_broker_connections()
    try:
        yield
    finally:
        reset_broker_connections()
        celery_app.conf.update(saved)


def test_a_ticket_sent_without_a_broker_runs_its_task_in_process_and_logs_no_broker_warning(
    desk, no_broker_set, caplog, django_capture_on_commit_callbacks
):
    assert celery_app.conf.task_always_eager is True
    caplog.set_level(logging.INFO)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = desk.ticket()
    message = OutboxMessage.objects.get()
    assert message.done_at is not None  # the notice was delivered in-process
    assert NoticeDelivery.objects.get(notice__recipient=desk.citizen).state == "sent"
    assert [r.getMessage() for r in caplog.records if r.name.startswith("kombu")] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert ticket.state == S.QUEUED


def test_title_is_taken_from_the_first_sentence(desk):
    short = desk.ticket(title="", content="路灯坏了。已经一周没人修！")
    long = desk.ticket(title="   ", content="甲" * 31 + "。第二句")
    assert fresh(short).title == "路灯坏了"
    assert fresh(long).title == "甲" * 30 + "…"


def test_an_address_alone_or_coordinates_alone_say_where(desk):
    by_address = desk.ticket(region=None, address="文三路 100 号")
    by_point = desk.ticket(region=None, address="", latitude="30.27", longitude="120.15")
    assert fresh(by_address).region is None
    assert fresh(by_point).address == ""
    assert Ticket.objects.count() == 2


def test_anonymous_submission_drops_every_contact(desk):
    ticket = desk.ticket(
        is_anonymous=True,
        contact_name="张三",
        contact_phone="13912345678",
        contact_email="zhang@example.cn",
    )
    ticket.refresh_from_db()
    assert ticket.is_anonymous is True
    assert ticket.citizen is None
    assert (ticket.contact_name, ticket.contact_phone, ticket.contact_email) == ("", "", "")
    receive = TicketEvent.objects.get(ticket=ticket, action="receive")
    assert receive.actor is None
    assert Notice.objects.count() == 0
    assert reporter_reveal(user=desk.supervisor, ticket=ticket, reason="核实") == {
        "name": "",
        "phone": "",
        "email": "",
        "username": "",
    }


def test_a_report_is_never_public(desk):
    report = desk.ticket(kind="report", is_public=True)
    complaint = desk.ticket(kind="complaint", is_public=True)
    assert fresh(report).is_public is False
    assert fresh(complaint).is_public is True
    assert public_preview(kind="report", is_public=True, anonymous=False) == {
        "public": [],
        "department": [
            "the title and the content",
            "the place",
            "the attachments",
            "not who you are: a report's sender is hidden from the department",
        ],
    }
    assert public_preview(kind="complaint", is_public=True, anonymous=True) == {
        "public": ["the title and the content", "the region", "the department's reply"],
        "department": [
            "the title and the content",
            "the place",
            "the attachments",
            "not who you are: you send this anonymously",
        ],
    }


def test_an_operator_enters_a_hotline_call(desk):
    ticket = desk.ticket(
        channel="hotline", citizen=None, entered_by=desk.operator, contact_name="王五"
    )
    ticket.refresh_from_db()
    assert (ticket.channel, ticket.entered_by, ticket.citizen) == ("hotline", desk.operator, None)
    receive = TicketEvent.objects.get(ticket=ticket, action="receive")
    assert receive.actor == desk.operator
    assert Notice.objects.count() == 0


# ---------------------------------------------------------------- attachments


def test_a_photo_is_stored_without_exif_or_gps_and_upright(desk, media):
    ticket = desk.ticket(uploads=[jpeg(exif=gps_exif(orientation=6), name="现场.jpg")])
    (attachment,) = TicketAttachment.objects.filter(ticket=ticket)
    assert (attachment.name, attachment.content_type, attachment.metadata_removed) == (
        "现场.jpg",
        "image/jpeg",
        True,
    )
    (path,) = stored_files(media)
    data = path.read_bytes()
    assert attachment.size == len(data)
    assert attachment.file.name.startswith("tickets/")
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.format == "JPEG"
        exif = stored.getexif()
        assert dict(exif) == {}
        assert exif.get_ifd(0x8825) == {}
        assert "exif" not in stored.info
        # orientation 6 (turn 90° clockwise) applied to the pixels: 40×20 became 20×40, and the
        # left (red) half is now on top
        assert stored.size == (20, 40)
        red, _green, blue = stored.convert("RGB").getpixel((10, 5))
        assert red > 200 and blue < 60
        red, _green, blue = stored.convert("RGB").getpixel((10, 35))
        assert blue > 200 and red < 60
    for marker in (b"Canon", b"EOS 5D", b"2026:05:01", b"Exif\x00\x00"):
        assert marker not in data


def test_a_photo_comment_is_removed_too(desk, media):
    desk.ticket(uploads=[jpeg(comment="张三 13912345678 文三路".encode())])
    (path,) = stored_files(media)
    data = path.read_bytes()
    assert b"13912345678" not in data
    with Image.open(io.BytesIO(data)) as stored:
        assert "comment" not in stored.info


def test_png_text_chunks_are_removed(desk, media):
    ticket = desk.ticket(uploads=[png_with_text(name="图.png")])
    (attachment,) = TicketAttachment.objects.filter(ticket=ticket)
    assert (attachment.name, attachment.content_type, attachment.metadata_removed) == (
        "图.png",
        "image/png",
        True,
    )
    (path,) = stored_files(media)
    data = path.read_bytes()
    for marker in (b"tEXt", b"iTXt", b"zTXt", b"Author", b"Location", b"30.25N"):
        assert marker not in data
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.format == "PNG"
        assert stored.size == (16, 16)
        assert stored.text == {}
        assert stored.convert("RGB").getpixel((3, 3)) == (0, 128, 0)


def test_a_pdf_is_kept_as_sent(desk, media):
    upload = pdf(name="../../证明 <1>.pdf")
    ticket = desk.ticket(uploads=[upload])
    (attachment,) = TicketAttachment.objects.filter(ticket=ticket)
    assert (attachment.name, attachment.content_type, attachment.metadata_removed) == (
        "证明 1.pdf",
        "application/pdf",
        False,
    )
    (path,) = stored_files(media)
    assert path.read_bytes() == pdf().read()
    assert attachment.size == len(pdf().read())


def test_five_files_are_accepted(desk, media):
    ticket = desk.ticket(uploads=[jpeg(name=f"{n}.jpg") for n in range(5)])
    assert TicketAttachment.objects.filter(ticket=ticket).count() == 5
    assert len(stored_files(media)) == 5


def elf():
    return b"\x7fELF\x02\x01\x01" + b"\x00" * 200


@pytest.mark.parametrize(
    ("uploads", "message"),
    [
        (
            [SimpleUploadedFile("photo.jpg", "这不是照片，只是文字。".encode() * 20)],
            "This type of file is not accepted. Accepted types: JPEG, PNG, PDF.",
        ),
        (
            [SimpleUploadedFile("photo.jpg", b"MZ\x90\x00\x03" + b"\x00" * 300)],
            "Programs and scripts cannot be uploaded.",
        ),
        ([SimpleUploadedFile("run.pdf", elf())], "Programs and scripts cannot be uploaded."),
        (
            [SimpleUploadedFile("a.jpg", b"#!/bin/sh\nrm -rf /\n")],
            "Programs and scripts cannot be uploaded.",
        ),
        (
            [png_with_text(name="photo.jpg")],
            "The file name ends in .jpg but the file is a PNG file. "
            "Please upload the original file.",
        ),
        (
            [SimpleUploadedFile("a.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 100)],
            "The picture cannot be read: send the photo again.",
        ),
        ([SimpleUploadedFile("a.jpg", b"")], "The file is empty."),
        ([jpeg(name=f"{n}.jpg") for n in range(6)], "Send at most 5 files."),
        ([jpeg(), pdf(), SimpleUploadedFile("x.exe", b"MZ" + b"\x00" * 64)], None),
    ],
    ids=[
        "text-as-jpg",
        "exe-as-jpg",
        "elf",
        "script",
        "png-as-jpg",
        "broken",
        "empty",
        "six",
        "third",
    ],
)
def test_bad_attachments_are_refused_and_nothing_is_stored(desk, media, uploads, message):
    error = refused(TicketInvalid, "invalid", desk.ticket, uploads=uploads)
    assert error.fields == {"attachments": [message or "Programs and scripts cannot be uploaded."]}
    assert Ticket.objects.count() == 0
    assert TicketEvent.objects.count() == 0
    assert TicketAttachment.objects.count() == 0
    assert stored_files(media) == []


# ---------------------------------------------------------------- duplicates


def test_duplicates_same_region_and_text_are_found_closed_ones_too(desk):
    first = desk.ticket()
    close_loop(desk, first)
    assert fresh(first).state == S.CLOSED
    open_one = desk.ticket(content="小区门口道路施工噪音很大，晚上十一点还在施工，吵得睡不着。")
    unrelated = desk.ticket(content="公交车站的站牌被撞坏了，请尽快修复。", title="站牌损坏")

    found = duplicates_find(
        content="小区门口道路施工噪音很大，晚上十一点还在施工，影响休息。",
        title="夜间施工噪音扰民",
        region=desk.district,
        address="文三路 100 号",
    )
    assert [m.ticket.pk for m in found] == [first.pk, open_one.pk]
    assert found[0].score == 1.0
    assert 0.6 <= found[1].score < 1.0
    assert unrelated.pk not in [m.ticket.pk for m in found]
    # the ticket itself can be left out
    found = duplicates_find(
        content=first.content, title=first.title, region=desk.district, exclude=first.pk
    )
    assert [m.ticket.pk for m in found] == [open_one.pk]


def test_duplicates_elsewhere_linked_or_older_than_90_days_are_not_found(desk):
    other = Region.objects.create(code="330105", name="拱墅区", level="county", parent=desk.city)
    elsewhere = desk.ticket(region=other)
    original = desk.ticket()
    linked = desk.ticket(link_to=original)
    fields = {"content": original.content, "title": original.title, "region": desk.district}

    assert [m.ticket.pk for m in duplicates_find(**fields)] == [original.pk]
    assert elsewhere.pk not in [m.ticket.pk for m in duplicates_find(**fields)]
    assert linked.pk not in [m.ticket.pk for m in duplicates_find(**fields)]
    created = fresh(original).created_at
    just_within = created + dt.timedelta(days=90)
    assert [m.ticket.pk for m in duplicates_find(**fields, now=just_within)] == [original.pk]
    too_late = created + dt.timedelta(days=90, seconds=1)
    assert duplicates_find(**fields, now=too_late) == []
    # nowhere given: nothing to compare with
    assert duplicates_find(content=original.content, title=original.title) == []


def test_a_new_ticket_linked_to_an_open_one_is_not_dispatched(desk):
    original = desk.ticket()
    ticket = desk.ticket(citizen=desk.other_citizen, link_to=original)
    ticket.refresh_from_db()
    assert ticket.state == S.LINKED
    assert ticket.duplicate_of == original
    assert ticket.department is None
    assert ticket.node_due_date is None
    assert ticket.closed_at is not None
    assert ticket.version == 1
    assert TicketDepartment.objects.count() == 0
    assert history(ticket) == [("receive", "", S.RECEIVED), ("link", S.RECEIVED, S.LINKED)]
    link = TicketEvent.objects.get(ticket=ticket, action="link")
    assert (link.actor, link.data) == (None, {"target": original.pk, "by": "citizen"})
    assert history(original)[-1] == ("linked", S.QUEUED, S.QUEUED)
    assert TicketEvent.objects.get(ticket=original, action="linked").note == ticket.number
    assert fresh(original).state == S.QUEUED


def test_linking_to_a_closed_ticket_is_refused(desk, media):
    original = desk.ticket()
    close_loop(desk, original)
    error = refused(
        TicketInvalid,
        "invalid",
        desk.ticket,
        link_to=fresh(original),
        uploads=[jpeg()],
    )
    assert error.fields == {"link_to": ["That ticket is closed; send yours on its own."]}
    assert stored_files(media) == []


def test_the_dispatcher_links_a_queued_duplicate(desk):
    original = desk.ticket()
    duplicate = desk.ticket(citizen=desk.other_citizen)
    refused(Forbidden, "not_desk", act, duplicate, desk.clerks["zhujian"], "link", target=original)
    refused(Refused, "target_invalid", act, duplicate, desk.dispatcher, "link", target=duplicate)
    refused(Refused, "target_invalid", act, duplicate, desk.dispatcher, "link")

    act(duplicate, desk.dispatcher, "link", target=original)
    duplicate.refresh_from_db()
    assert (duplicate.state, duplicate.duplicate_of, duplicate.version) == (S.LINKED, original, 1)
    assert history(duplicate)[-1] == ("link", S.QUEUED, S.LINKED)
    assert notices(desk.other_citizen)[-1] == (
        f"Ticket {duplicate.number} linked",
        f"The same matter is already being handled as ticket {original.number}; you will hear "
        "about it with that ticket.",
    )
    # a linked ticket is final: nothing more to link or dispatch
    third = desk.ticket()
    refused(Refused, "target_invalid", act, third, desk.dispatcher, "link", target=duplicate)
    refused(
        Conflict,
        "wrong_state",
        act,
        duplicate,
        desk.dispatcher,
        "dispatch",
        department=desk.departments["zhujian"],
    )


def test_a_closed_ticket_is_no_link_target(desk):
    original = desk.ticket()
    close_loop(desk, original)
    duplicate = desk.ticket()
    refused(
        Refused, "target_invalid", act, duplicate, desk.dispatcher, "link", target=fresh(original)
    )


def test_the_link_target_is_read_again_in_the_transaction(desk):
    original = desk.ticket()
    page = fresh(original)  # the dispatcher's page, opened while the original was open
    close_loop(desk, original)
    duplicate = desk.ticket()
    refused(Refused, "target_invalid", act, duplicate, desk.dispatcher, "link", target=page)


def test_linking_does_not_name_the_second_sender_in_the_first_tickets_history(desk):
    original = desk.ticket()
    act(original, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    report = desk.ticket(kind="report", citizen=desk.other_citizen, link_to=fresh(original))
    seen = ticket_for_staff(user=desk.clerks["zhujian"], pk=original.pk)
    assert [e.action for e in seen.events.all()][-1] == "linked"
    assert desk.other_citizen not in [e.actor for e in seen.events.all()]
    assert fresh(report).state == S.LINKED


# ---------------------------------------------------------------- dispatch


def test_a_staff_rule_dispatches_to_the_nearest_department_of_its_kind(desk):
    DispatchRule.objects.create(keyword="公交", kind="jiaotong", priority=5)
    DispatchRule.objects.create(keyword="噪音", kind="shengtai", priority=10)
    DispatchRule.objects.create(keyword="施工", kind="zhujian", priority=20)
    DispatchRule.objects.create(keyword="噪音", kind="jiaotong", priority=1, is_active=False)
    ticket = desk.ticket()
    ticket.refresh_from_db()
    shengtai = desk.departments["shengtai"]
    assert ticket.state == S.DISPATCHED
    assert ticket.department == shengtai
    assert ticket.dispatched_automatically is True
    assert ticket.dispatch_reasons == ["rule: 噪音"]
    assert ticket.dispatch_confidence == 1.0
    assert ticket.category == "环境保护"
    assert ticket.dispatch_model == ""
    assert ticket.version == 1
    assert ticket.node_due_date == due(today(), 1)
    assert parts(ticket) == [(shengtai.code, True, P.DISPATCHED)]
    assert history(ticket) == [
        ("receive", "", S.RECEIVED),
        ("dispatch", S.RECEIVED, S.DISPATCHED),
    ]
    dispatch = TicketEvent.objects.get(ticket=ticket, action="dispatch")
    assert (dispatch.actor, dispatch.department, dispatch.due_date, dispatch.on_time) == (
        None,
        shengtai,
        None,
        None,
    )
    assert dispatch.data == {
        "automatic": True,
        "confidence": 1.0,
        "reasons": ["rule: 噪音"],
        "assisting": [],
        "category": "环境保护",
    }
    assert notices(desk.citizen) == [
        (
            f"Ticket {ticket.number} received",
            f"“夜间施工噪音扰民” was sent to 杭州市生态环境局, who will sign for it by "
            f"{ticket.node_due_date}.",
        )
    ]


def test_a_rule_prefers_the_districts_own_department_and_a_regex_works(desk):
    own = DepartmentFactory(
        code="330106-shengtai", name="西湖区生态环境局", kind="shengtai", region=desk.district
    )
    DispatchRule.objects.create(regex=r"噪音|扰民", kind="shengtai")
    ticket = desk.ticket()
    assert (fresh(ticket).department, fresh(ticket).dispatch_reasons) == (own, ["rule: 噪音|扰民"])


def test_a_rule_without_a_department_nearby_leaves_the_ticket_queued(desk):
    DispatchRule.objects.create(keyword="噪音", kind="jiaoyu")
    ticket = desk.ticket()
    ticket.refresh_from_db()
    assert (ticket.state, ticket.department, ticket.category) == (S.QUEUED, None, "教育文体")
    assert TicketEvent.objects.get(ticket=ticket, action="queue").data == {
        "suggested": "",
        "confidence": 1.0,
        "reasons": ["rule: 噪音"],
    }


def test_the_trained_model_dispatches_a_clear_environmental_complaint(desk, model, predictor):
    ticket = desk.ticket(title=ENVIRONMENT_TITLE, content=ENVIRONMENT)
    ticket.refresh_from_db()
    (expected,) = predictor.predict([ticket_text(ENVIRONMENT_TITLE, ENVIRONMENT)])
    assert expected.category == "环境保护"
    assert ticket.category == "环境保护"
    assert ticket.dispatch_confidence == round(expected.confidence, 4)
    assert ticket.dispatch_reasons == list(expected.reasons)
    assert 1 <= len(ticket.dispatch_reasons) <= 5
    assert {"排污", "化工厂"} & set(ticket.dispatch_reasons)
    assert ticket.dispatch_model == model["version"]
    # this message is well above the model's threshold: dispatched without a human
    assert expected.confidence >= model["threshold"]
    assert ticket.state == S.DISPATCHED
    assert ticket.department == desk.departments["shengtai"]
    assert ticket.dispatched_automatically is True
    dispatch = TicketEvent.objects.get(ticket=ticket, action="dispatch")
    assert dispatch.data["automatic"] is True
    assert dispatch.data["reasons"] == list(expected.reasons)


def test_an_unsure_model_leaves_the_ticket_to_the_dispatcher(desk, model, predictor):
    title, content = "咨询", "你好，我想问一下这个事情怎么办，麻烦告诉我一下，谢谢。"
    (expected,) = predictor.predict([ticket_text(title, content)])
    assert expected.confidence < model["threshold"]
    ticket = desk.ticket(title=title, content=content)
    ticket.refresh_from_db()
    assert (ticket.state, ticket.department, ticket.dispatched_automatically) == (
        S.QUEUED,
        None,
        False,
    )
    assert ticket.dispatch_confidence == round(expected.confidence, 4)
    queue = TicketEvent.objects.get(ticket=ticket, action="queue")
    suggested = desk.departments.get(expected.department_kind)
    assert queue.data == {
        "suggested": suggested.code if suggested else "",
        "confidence": round(expected.confidence, 4),
        "reasons": list(expected.reasons),
    }


def test_a_rule_wins_over_the_model(desk, model):
    DispatchRule.objects.create(keyword="化工厂", kind="jiaotong")
    ticket = desk.ticket(title=ENVIRONMENT_TITLE, content=ENVIRONMENT)
    ticket.refresh_from_db()
    assert (ticket.department, ticket.dispatch_reasons, ticket.dispatch_model) == (
        desk.departments["jiaotong"],
        ["rule: 化工厂"],
        "",
    )


def test_a_service_code_kind_dispatches_directly(desk):
    ticket = desk.ticket(channel="open311", service_code="noise", department_kind="shengtai")
    ticket.refresh_from_db()
    assert (ticket.state, ticket.department, ticket.dispatch_reasons) == (
        S.DISPATCHED,
        desk.departments["shengtai"],
        ["service: noise"],
    )


# ---------------------------------------------------------------- the work-order loop


def test_the_full_loop_to_a_satisfied_close(desk):
    zhujian = desk.departments["zhujian"]
    clerk = desk.clerks["zhujian"]
    ticket = desk.ticket()

    act(ticket, desk.dispatcher, "dispatch", department=zhujian, note="施工归住建", version=0)
    t = fresh(ticket)
    assert (t.state, t.department, t.version, t.dispatched_automatically) == (
        S.DISPATCHED,
        zhujian,
        1,
        False,
    )
    assert t.node_due_date == due(today(), 1)
    assert parts(t) == [(zhujian.code, True, P.DISPATCHED)]
    dispatch = TicketEvent.objects.get(ticket=t, action="dispatch")
    assert (dispatch.actor, dispatch.note, dispatch.on_time) == (
        desk.dispatcher,
        "施工归住建",
        True,
    )
    assert dispatch.due_date == due(today(), 1)
    assert dispatch.data["automatic"] is False

    act(ticket, clerk, "sign", version=1)
    t = fresh(ticket)
    assert (t.state, t.version, t.signed_on_time) == (S.HANDLING, 2, True)
    assert t.node_due_date == due(today(), 10)  # a complaint is answered in 10 working days
    part = TicketDepartment.objects.get(ticket=t)
    assert (part.state, part.signed_by) == (P.SIGNED, clerk)

    act(ticket, clerk, "answer", note="已责令施工单位夜间停工。", version=2)
    t = fresh(ticket)
    assert (t.state, t.version, t.reply, t.answered_on_time) == (
        S.ANSWERED,
        3,
        "已责令施工单位夜间停工。",
        True,
    )
    assert t.node_due_date == due(today(), 3)
    assert TicketDepartment.objects.get(ticket=t).state == P.REPLIED

    act(ticket, desk.operator, "callback", note="市民确认已停工。", version=3)
    t = fresh(ticket)
    assert (t.state, t.version, t.callback_note) == (S.CALLED_BACK, 4, "市民确认已停工。")
    assert t.node_due_date == due(today(), 5)

    act(ticket, desk.citizen, "rate", satisfaction=5, note="很满意", version=4)
    t = fresh(ticket)
    assert (t.state, t.version, t.satisfaction, t.satisfaction_comment) == (
        S.CLOSED,
        5,
        5,
        "很满意",
    )
    assert t.closed_at is not None
    assert (t.node_due_date, t.reopen_count, t.return_count) == (None, 0, 0)
    assert history(t) == [
        ("receive", "", S.RECEIVED),
        ("queue", S.RECEIVED, S.QUEUED),
        ("dispatch", S.QUEUED, S.DISPATCHED),
        ("sign", S.DISPATCHED, S.HANDLING),
        ("answer", S.HANDLING, S.ANSWERED),
        ("callback", S.ANSWERED, S.CALLED_BACK),
        ("rate", S.CALLED_BACK, S.CLOSED),
    ]
    actors = list(
        TicketEvent.objects.filter(ticket=t).order_by("id").values_list("actor", flat=True)
    )
    assert actors == [
        None,
        None,
        desk.dispatcher.pk,
        clerk.pk,
        clerk.pk,
        desk.operator.pk,
        None,
    ]
    rate = TicketEvent.objects.get(ticket=t, action="rate")
    assert rate.data == {"satisfaction": 5, "by": "citizen"}
    assert rate.note == "很满意"
    assert [subject for subject, _body in notices(desk.citizen)] == [
        f"Ticket {t.number} received",
        f"Ticket {t.number} is being handled",
        f"Ticket {t.number} answered",
        f"Ticket {t.number} closed",
    ]
    assert notices(desk.citizen)[1][1] == (
        f"杭州市住房和城乡建设局 signed for your ticket and will answer by {due(today(), 10)}."
    )
    answer, rating = notices(desk.citizen)[2][1].split("\n\n")
    assert answer == "杭州市住房和城乡建设局 answered: 已责令施工单位夜间停工。"
    assert rating.startswith("Rate the answer with one tap, no login needed (valid 7 days): ")
    assert notices(desk.citizen)[3][1] == "Thank you for your rating. The ticket is closed."
    # a closed ticket moves no more
    for action, actor, extra in [
        ("rate", desk.citizen, {"satisfaction": 1}),
        ("answer", clerk, {"note": "再答"}),
        ("callback", desk.operator, {"note": "再访"}),
        ("dispatch", desk.dispatcher, {"department": desk.departments["shengtai"]}),
    ]:
        refused(Conflict, "wrong_state", act, t, actor, action, **extra)
    refused(Conflict, "signed", act, t, clerk, "sign")


def test_the_desk_rates_during_the_callback(desk):
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    act(ticket, desk.clerks["zhujian"], "sign")
    act(ticket, desk.clerks["zhujian"], "answer", note="已处理")
    refused(
        Refused,
        "satisfaction_invalid",
        act,
        ticket,
        desk.operator,
        "callback",
        note="电话回访",
        satisfaction=6,
    )
    refused(Refused, "note_missing", act, ticket, desk.operator, "callback", note="  ")
    act(ticket, desk.operator, "callback", note="电话回访，满意", satisfaction=4)
    t = fresh(ticket)
    assert (t.state, t.satisfaction) == (S.CLOSED, 4)
    assert history(t)[-2:] == [
        ("callback", S.ANSWERED, S.CALLED_BACK),
        ("rate", S.CALLED_BACK, S.CLOSED),
    ]


@pytest.mark.parametrize("value", [0, 6, True, "5", None, 2.5])
def test_a_rating_outside_1_to_5_is_refused(desk, value):
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    act(ticket, desk.clerks["zhujian"], "sign")
    act(ticket, desk.clerks["zhujian"], "answer", note="已处理")
    act(ticket, desk.operator, "callback", note="已回访")
    refused(Refused, "satisfaction_invalid", act, ticket, desk.citizen, "rate", satisfaction=value)


def test_an_unsatisfied_rating_reopens_the_ticket(desk):
    clerk = desk.clerks["zhujian"]
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    act(ticket, clerk, "sign")
    act(ticket, clerk, "answer", note="已处理")
    act(ticket, desk.operator, "callback", note="市民说还在施工")
    act(ticket, desk.citizen, "rate", satisfaction=2, note="还在施工")

    t = fresh(ticket)
    assert (t.state, t.reopen_count, t.satisfaction, t.version) == (S.HANDLING, 1, 2, 5)
    assert t.node_due_date == due(today(), 10)
    assert t.closed_at is None
    assert parts(t) == [("330100-zhujian", True, P.SIGNED)]
    assert history(t)[-1] == ("reopen", S.CALLED_BACK, S.HANDLING)
    reopen = TicketEvent.objects.get(ticket=t, action="reopen")
    assert (reopen.actor, reopen.department, reopen.note, reopen.data) == (
        None,
        desk.departments["zhujian"],
        "还在施工",
        {"satisfaction": 2, "by": "citizen"},
    )
    assert notices(desk.supervisors["zhujian"]) == [
        (
            f"Ticket {t.number} reopened",
            "The citizen was not satisfied (2/5) and the ticket is back with your department, "
            f"due {due(today(), 10)}.",
        )
    ]
    assert notices(desk.clerks["zhujian"]) == []
    assert notices(desk.supervisors["shengtai"]) == []
    assert notices(desk.citizen)[-1] == (
        f"Ticket {t.number} reopened",
        f"杭州市住房和城乡建设局 will look at it again and answer by {due(today(), 10)}.",
    )

    act(ticket, clerk, "answer", note="已查封工地")
    t = fresh(ticket)
    assert (t.state, t.reply, t.answered_on_time) == (S.ANSWERED, "已查封工地", True)
    act(ticket, desk.operator, "callback", note="已停工")
    act(ticket, desk.citizen, "rate", satisfaction=3)
    assert (fresh(ticket).state, fresh(ticket).reopen_count) == (S.CLOSED, 1)


def test_the_lead_returns_a_ticket_that_is_not_theirs(desk):
    zhujian, shengtai = desk.departments["zhujian"], desk.departments["shengtai"]
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=zhujian)

    refused(Refused, "reason_missing", act, ticket, desk.clerks["zhujian"], "return", note=" ")
    refused(
        Forbidden,
        "not_your_department",
        act,
        ticket,
        desk.clerks["shengtai"],
        "return",
        note="不归我们",
    )

    act(ticket, desk.clerks["zhujian"], "return", note="噪音属于环保部门", department=shengtai)
    t = fresh(ticket)
    assert (t.state, t.department, t.return_count, t.version) == (S.QUEUED, None, 1, 2)
    assert t.node_due_date == due(today(), 1)
    assert parts(t) == [(zhujian.code, True, P.RETURNED)]
    part = TicketDepartment.objects.get(ticket=t)
    assert part.return_reason == "噪音属于环保部门"
    assert part.returned_at is not None
    assert history(t)[-1] == ("return", S.DISPATCHED, S.QUEUED)
    event = TicketEvent.objects.get(ticket=t, action="return")
    assert (event.actor, event.department, event.note, event.on_time) == (
        desk.clerks["zhujian"],
        zhujian,
        "噪音属于环保部门",
        True,
    )
    # The category followed the dispatch to 住建 (its matter), and stays until the next one.
    assert event.data == {"suggested": shengtai.code, "category": "城乡建设"}
    assert notices(desk.citizen)[-1] == (
        f"Ticket {t.number} returned by 杭州市住房和城乡建设局",
        "杭州市住房和城乡建设局 said the ticket is not theirs (“噪音属于环保部门”). "
        "The desk is sending it to the right department.",
    )

    # the department that declined is not asked again
    error = refused(
        Refused, "department_declined", act, ticket, desk.dispatcher, "dispatch", department=zhujian
    )
    assert error.message == (
        "杭州市住房和城乡建设局 has already returned this ticket; choose another department."
    )
    act(ticket, desk.dispatcher, "dispatch", department=shengtai)
    t = fresh(ticket)
    assert (t.state, t.department, t.return_count) == (S.DISPATCHED, shengtai, 1)
    assert parts(t) == [(zhujian.code, True, P.RETURNED), (shengtai.code, True, P.DISPATCHED)]
    assert notices(desk.citizen)[-1] == (
        f"Ticket {t.number} sent on",
        "Your ticket is now with 杭州市生态环境局.",
    )
    assert history(t) == [
        ("receive", "", S.RECEIVED),
        ("queue", S.RECEIVED, S.QUEUED),
        ("dispatch", S.QUEUED, S.DISPATCHED),
        ("return", S.DISPATCHED, S.QUEUED),
        ("dispatch", S.QUEUED, S.DISPATCHED),
    ]


def test_a_signed_ticket_cannot_be_returned(desk):
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    act(ticket, desk.clerks["zhujian"], "sign")
    refused(
        Conflict,
        "return_after_sign",
        act,
        ticket,
        desk.clerks["zhujian"],
        "return",
        note="不归我们",
    )
    refused(Conflict, "signed", act, ticket, desk.clerks["zhujian"], "sign")


def test_an_automatically_dispatched_ticket_returned_goes_to_the_queue(desk):
    DispatchRule.objects.create(keyword="噪音", kind="shengtai")
    ticket = desk.ticket()
    act(ticket, desk.clerks["shengtai"], "return", note="施工噪音归住建")
    t = fresh(ticket)
    assert (t.state, t.dispatched_automatically, t.return_count) == (S.QUEUED, False, 1)
    assert TicketEvent.objects.get(ticket=t, action="return").data == {
        "suggested": "",
        "category": "环境保护",
    }


def test_joint_handling_waits_for_the_assisting_department(desk):
    zhujian, shengtai = desk.departments["zhujian"], desk.departments["shengtai"]
    lead, helper = desk.clerks["zhujian"], desk.clerks["shengtai"]
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=zhujian, assisting=[shengtai, zhujian])
    assert parts(ticket) == [
        (zhujian.code, True, P.DISPATCHED),
        (shengtai.code, False, P.DISPATCHED),
    ]
    assert TicketEvent.objects.get(ticket=ticket, action="dispatch").data["assisting"] == [
        shengtai.code
    ]
    # both departments see it
    assert list(tickets_for_staff(helper)) == [fresh(ticket)]

    refused(Conflict, "not_signed", act, ticket, helper, "opinion", note="同意")
    act(ticket, lead, "sign")
    refused(Refused, "lead_answers", act, ticket, lead, "opinion", note="意见")
    error = refused(Conflict, "opinions_missing", act, ticket, lead, "answer", note="已处理")
    assert error.message == "Waiting for the opinion of 杭州市生态环境局."

    version = fresh(ticket).version
    act(ticket, helper, "sign")
    assert fresh(ticket).state == S.HANDLING
    assert fresh(ticket).version == version
    assert history(ticket)[-1] == ("sign", S.HANDLING, S.HANDLING)
    refused(Conflict, "opinions_missing", act, ticket, lead, "answer", note="已处理")
    refused(Forbidden, "not_lead", act, ticket, helper, "answer", note="我们来答")
    refused(Refused, "opinion_missing", act, ticket, helper, "opinion", note="")

    act(ticket, helper, "opinion", note="经监测，噪音超标。")
    assert parts(ticket) == [(zhujian.code, True, P.SIGNED), (shengtai.code, False, P.REPLIED)]
    opinion = TicketEvent.objects.get(ticket=ticket, action="opinion")
    assert (opinion.actor, opinion.department, opinion.note) == (
        helper,
        shengtai,
        "经监测，噪音超标。",
    )

    act(ticket, lead, "answer", note="联合执法，已停工。")
    assert fresh(ticket).state == S.ANSWERED
    assert parts(ticket) == [(zhujian.code, True, P.REPLIED), (shengtai.code, False, P.REPLIED)]


def test_an_assisting_department_may_return_its_part(desk):
    zhujian, shengtai = desk.departments["zhujian"], desk.departments["shengtai"]
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=zhujian, assisting=[shengtai])
    act(ticket, desk.clerks["shengtai"], "return", note="与我局无关")
    t = fresh(ticket)
    assert (t.state, t.department, t.return_count, t.version) == (S.DISPATCHED, zhujian, 0, 1)
    assert parts(t) == [(zhujian.code, True, P.DISPATCHED), (shengtai.code, False, P.RETURNED)]
    assert list(tickets_for_staff(desk.clerks["shengtai"])) == []
    act(ticket, desk.clerks["zhujian"], "sign")
    act(ticket, desk.clerks["zhujian"], "answer", note="已处理")
    assert fresh(ticket).state == S.ANSWERED


def test_a_lead_return_takes_the_assisting_parts_back(desk):
    zhujian, shengtai = desk.departments["zhujian"], desk.departments["shengtai"]
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=zhujian, assisting=[shengtai])
    act(ticket, desk.clerks["shengtai"], "sign")
    act(ticket, desk.clerks["zhujian"], "return", note="不归住建")
    assert parts(ticket) == [(zhujian.code, True, P.RETURNED)]
    assert list(tickets_for_staff(desk.clerks["shengtai"])) == []
    # the helper was not the one who declined: it may now lead
    act(ticket, desk.dispatcher, "dispatch", department=shengtai)
    assert fresh(ticket).department == shengtai


@pytest.mark.parametrize("assisting", ["desk", "inactive"])
def test_the_assisting_departments_are_checked_like_the_lead(desk, assisting):
    ticket = desk.ticket()
    helper = (
        desk.desk
        if assisting == "desk"
        else DepartmentFactory(
            code="330100-old", kind="shengtai", region=desk.city, is_active=False
        )
    )
    refused(
        Refused,
        "department_invalid",
        act,
        ticket,
        desk.dispatcher,
        "dispatch",
        department=desk.departments["zhujian"],
        assisting=[helper],
    )


def test_an_assisting_department_listed_twice_is_asked_once(desk):
    shengtai = desk.departments["shengtai"]
    ticket = desk.ticket()
    act(
        ticket,
        desk.dispatcher,
        "dispatch",
        department=desk.departments["zhujian"],
        assisting=[shengtai, shengtai],
    )
    assert parts(ticket) == [
        ("330100-zhujian", True, P.DISPATCHED),
        ("330100-shengtai", False, P.DISPATCHED),
    ]


def test_dispatch_is_refused_without_a_valid_department(desk):
    ticket = desk.ticket()
    refused(Refused, "department_missing", act, ticket, desk.dispatcher, "dispatch")
    refused(
        Refused,
        "department_invalid",
        act,
        ticket,
        desk.dispatcher,
        "dispatch",
        department=desk.desk,
    )
    closed = DepartmentFactory(code="330100-old", kind="zhujian", region=desk.city, is_active=False)
    refused(
        Refused, "department_invalid", act, ticket, desk.dispatcher, "dispatch", department=closed
    )
    refused(Refused, "unknown_action", act, ticket, desk.dispatcher, "escalate")
    refused(Refused, "not_found", act, 10**9, desk.dispatcher, "dispatch")


def test_only_the_desks_dispatchers_and_supervisors_dispatch(desk):
    ticket = desk.ticket()
    zhujian = desk.departments["zhujian"]
    for actor in (desk.citizen, desk.operator, desk.clerks["zhujian"], desk.supervisors["zhujian"]):
        refused(Forbidden, "not_desk", act, ticket, actor, "dispatch", department=zhujian)
    act(ticket, desk.supervisor, "dispatch", department=zhujian)
    assert fresh(ticket).state == S.DISPATCHED


def test_the_wrong_department_and_citizens_are_forbidden(desk):
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    for action, extra in [("sign", {}), ("return", {"note": "不是我们的"})]:
        refused(
            Forbidden, "not_your_department", act, ticket, desk.clerks["jiaotong"], action, **extra
        )
        refused(Forbidden, "not_your_department", act, ticket, desk.citizen, action, **extra)
    act(ticket, desk.clerks["zhujian"], "sign")
    refused(
        Forbidden,
        "not_your_department",
        act,
        ticket,
        desk.clerks["jiaotong"],
        "answer",
        note="已处理",
    )
    refused(Forbidden, "not_your_department", act, ticket, desk.supervisor, "answer", note="已处理")
    refused(Refused, "answer_missing", act, ticket, desk.clerks["zhujian"], "answer", note="")
    refused(Refused, "too_long", act, ticket, desk.clerks["zhujian"], "answer", note="答" * 5001)
    act(ticket, desk.supervisors["zhujian"], "answer", note="科长答复")
    refused(Forbidden, "not_desk", act, ticket, desk.clerks["zhujian"], "callback", note="回访")
    refused(Forbidden, "not_desk", act, ticket, desk.citizen, "callback", note="回访")
    act(ticket, desk.operator, "callback", note="回访")
    refused(Forbidden, "not_owner", act, ticket, desk.other_citizen, "rate", satisfaction=1)
    refused(Forbidden, "not_owner", act, ticket, desk.clerks["zhujian"], "rate", satisfaction=5)
    refused(Forbidden, "not_desk", act, ticket, desk.operator, "close", note="超时未评")
    refused(Refused, "note_missing", act, ticket, desk.supervisor, "close")
    act(ticket, desk.supervisor, "close", note="市民未评价")
    assert history(ticket)[-1] == ("close", S.CALLED_BACK, S.CLOSED)
    assert fresh(ticket).satisfaction is None


def test_a_stale_page_gets_a_conflict_naming_who_changed_it(desk):
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"], version=0)
    error = refused(Conflict, "stale", act, ticket, desk.clerks["zhujian"], "sign", version=0)
    assert error.holder == "派单员小李"
    assert error.message == (
        "This ticket was changed by 派单员小李 since you opened it; reload the page."
    )
    act(ticket, desk.clerks["zhujian"], "sign", version=1)
    error = refused(
        Conflict, "stale", act, ticket, desk.clerks["zhujian"], "answer", note="已处理", version=1
    )
    assert error.holder == desk.clerks["zhujian"].real_name


def test_a_stale_page_of_an_automatic_dispatch_names_nobody_on_staff(desk):
    DispatchRule.objects.create(keyword="噪音", kind="zhujian")
    ticket = desk.ticket(citizen=None, is_anonymous=True)
    error = refused(Conflict, "stale", act, ticket, desk.clerks["zhujian"], "sign", version=0)
    assert error.holder == "someone else"


def test_a_stale_page_never_names_the_reporter_of_a_report(desk):
    DispatchRule.objects.create(keyword="噪音", kind="zhujian")
    ticket = desk.ticket(kind="report")
    error = refused(Conflict, "stale", act, ticket, desk.clerks["zhujian"], "sign", version=0)
    assert "张三" not in error.message
    assert error.holder == "someone else"


# ---------------------------------------------------------------- deadlines


def test_the_sign_deadline_is_one_working_day_after_dispatch(desk):
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    assert fresh(ticket).node_due_date == add_workdays(timezone.localdate(), 1).date
    assert fresh(ticket).node_due_provisional is False


def test_national_day_is_counted_in_working_days(desk, clock):
    clock.set(2026, 9, 30, 16, 30)  # Wednesday before the 1–7 October holiday
    ticket = desk.ticket()
    assert fresh(ticket).node_due_date == dt.date(2026, 10, 8)  # the dispatcher's deadline
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    t = fresh(ticket)
    assert (t.node_due_date, t.node_due_provisional) == (dt.date(2026, 10, 8), False)
    assert t.node_started_at == clock.moment

    clock.set(2026, 10, 8, 9, 0)
    act(ticket, desk.clerks["zhujian"], "sign")
    t = fresh(ticket)
    assert t.signed_on_time is True
    # ten working days, Saturday 10 October being one of them (调休)
    assert t.node_due_date == dt.date(2026, 10, 21)
    sign = TicketEvent.objects.get(ticket=t, action="sign")
    assert (sign.due_date, sign.on_time) == (dt.date(2026, 10, 8), True)

    clock.set(2026, 10, 22, 9, 0)
    act(ticket, desk.clerks["zhujian"], "answer", note="已处理")
    t = fresh(ticket)
    assert t.answered_on_time is False
    assert t.node_due_date == dt.date(2026, 10, 27)  # callback in 3 working days
    answer = TicketEvent.objects.get(ticket=t, action="answer")
    assert (answer.due_date, answer.on_time) == (dt.date(2026, 10, 21), False)


def test_a_late_signature_is_recorded_late(desk, clock):
    clock.set(2026, 9, 24, 10, 0)  # Thursday; Friday is the Mid-Autumn holiday
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    assert fresh(ticket).node_due_date == dt.date(2026, 9, 28)
    clock.set(2026, 9, 29, 9, 0)
    act(ticket, desk.clerks["zhujian"], "sign")
    t = fresh(ticket)
    assert t.signed_on_time is False
    assert TicketEvent.objects.get(ticket=t, action="sign").on_time is False


@pytest.mark.parametrize(
    ("kind", "days"),
    [("consultation", 2), ("help", 5), ("complaint", 10), ("report", 15), ("suggestion", 10)],
)
def test_the_answer_deadline_depends_on_the_kind(desk, clock, kind, days):
    clock.set(2026, 11, 2, 10, 0)  # a Monday
    ticket = desk.ticket(kind=kind)
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    act(ticket, desk.clerks["zhujian"], "sign")
    expected = {2: (11, 4), 5: (11, 9), 10: (11, 16), 15: (11, 23)}[days]
    assert fresh(ticket).node_due_date == dt.date(2026, *expected)


# ---------------------------------------------------------------- the sweep (督办)


def test_a_step_due_tomorrow_is_reminded_once(desk, clock):
    clock.set(2026, 11, 2, 10, 0)  # Monday
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    assert fresh(ticket).node_due_date == dt.date(2026, 11, 3)

    assert tickets_sweep(today=dt.date(2026, 11, 1)) == {"reminded": 0, "supervised": 0}
    clock.set(2026, 11, 2, 18, 0)
    assert tickets_sweep(today=dt.date(2026, 11, 2)) == {"reminded": 1, "supervised": 0}
    t = fresh(ticket)
    assert (t.reminded_at, t.supervised_at, t.supervision_count) == (clock.moment, None, 0)
    assert notices(desk.clerks["zhujian"]) == [
        (
            f"Due soon: ticket {t.number}",
            "“夜间施工噪音扰民” (Dispatched, waiting to be signed for) is due on 2026-11-03.",
        )
    ]
    for user in (desk.supervisors["zhujian"], desk.clerks["shengtai"], desk.dispatcher):
        assert notices(user) == []
    before = world()
    assert tickets_sweep(today=dt.date(2026, 11, 2)) == {"reminded": 0, "supervised": 0}
    assert tickets_sweep(today=dt.date(2026, 11, 3)) == {"reminded": 0, "supervised": 0}
    assert world() == before
    # the next step is reminded again
    act(ticket, desk.clerks["zhujian"], "sign")
    assert fresh(ticket).reminded_at is None


def test_an_overdue_step_is_supervised_once(desk, clock):
    clock.set(2026, 11, 2, 10, 0)
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    events = len(history(ticket))

    clock.set(2026, 11, 4, 8, 0)
    assert tickets_sweep(today=dt.date(2026, 11, 4)) == {"reminded": 0, "supervised": 1}
    t = fresh(ticket)
    assert (t.supervised_at, t.supervision_count, t.state, t.version) == (
        clock.moment,
        1,
        S.DISPATCHED,
        1,
    )
    assert len(history(t)) == events + 1
    supervise = TicketEvent.objects.filter(ticket=t).order_by("id").last()
    assert (supervise.action, supervise.from_state, supervise.to_state) == (
        "supervise",
        S.DISPATCHED,
        S.DISPATCHED,
    )
    assert (supervise.department, supervise.due_date, supervise.on_time, supervise.actor) == (
        desk.departments["zhujian"],
        dt.date(2026, 11, 3),
        False,
        None,
    )
    assert notices(desk.supervisors["zhujian"]) == [
        (
            f"Overdue (督办): ticket {t.number}",
            "“夜间施工噪音扰民” (Dispatched, waiting to be signed for) was due on 2026-11-03 "
            "and is not done.",
        )
    ]
    assert notices(desk.clerks["zhujian"]) == []
    assert notices(desk.supervisor) == []
    before = world()
    assert tickets_sweep(today=dt.date(2026, 11, 5)) == {"reminded": 0, "supervised": 0}
    assert world() == before

    # signing late starts a new step, which may be supervised again
    act(ticket, desk.clerks["zhujian"], "sign")
    t = fresh(ticket)
    assert (t.supervised_at, t.supervision_count, t.signed_on_time) == (None, 1, False)


def test_an_overdue_queued_ticket_is_supervised_at_the_desk(desk, clock):
    clock.set(2026, 11, 2, 10, 0)
    ticket = desk.ticket()
    ningbo = Region.objects.create(code="330200", name="宁波市", level="city", parent=desk.province)
    other_desk = DepartmentFactory(code="330200-rexian", kind="rexian", region=ningbo)
    elsewhere = MembershipFactory(department=other_desk, role=Membership.Role.SUPERVISOR).user
    assert fresh(ticket).node_due_date == dt.date(2026, 11, 3)

    assert tickets_sweep(today=dt.date(2026, 11, 3)) == {"reminded": 1, "supervised": 0}
    assert notices(desk.dispatcher) == [
        (
            f"Due soon: ticket {ticket.number}",
            "“夜间施工噪音扰民” (Waiting for a dispatcher) is due on 2026-11-03.",
        )
    ]
    assert tickets_sweep(today=dt.date(2026, 11, 4)) == {"reminded": 0, "supervised": 1}
    assert notices(desk.supervisor) == [
        (
            f"Overdue (督办): ticket {ticket.number}",
            "“夜间施工噪音扰民” (Waiting for a dispatcher) was due on 2026-11-03 and is not done.",
        )
    ]
    assert notices(elsewhere) == []
    supervise = TicketEvent.objects.get(ticket=ticket, action="supervise")
    assert (supervise.department, supervise.from_state) == (None, S.QUEUED)


def test_closed_and_linked_tickets_are_not_swept(desk, clock):
    clock.set(2026, 11, 2, 10, 0)
    ticket = desk.ticket()
    desk.ticket(link_to=ticket)
    close_loop(desk, ticket)
    before = world()
    assert tickets_sweep(today=dt.date(2027, 1, 4)) == {"reminded": 0, "supervised": 0}
    assert world() == before


# ---------------------------------------------------------------- identity of the reporter


def test_a_reports_sender_is_hidden_from_the_handling_department(desk):
    ticket = desk.ticket(kind="report", contact_email="zhang@example.cn")
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    ticket = fresh(ticket)
    for user in (desk.clerks["zhujian"], desk.supervisors["zhujian"]):
        reporter = reporter_for(ticket, user=user)
        assert (reporter.hidden, reporter.name, reporter.phone, reporter.email) == (
            True,
            "",
            "",
            "",
        )
    for user in (desk.operator, desk.dispatcher, desk.supervisor):
        reporter = reporter_for(ticket, user=user)
        assert (reporter.hidden, reporter.anonymous) == (False, False)
        assert (reporter.name, reporter.phone, reporter.email) == (
            "张*",
            "139****5678",
            "z***@example.cn",
        )
    # a complaint shows the department the masked contact
    complaint = desk.ticket(contact_name="张三丰")
    reporter = reporter_for(complaint, user=desk.clerks["zhujian"])
    assert (reporter.hidden, reporter.name, reporter.phone, reporter.email) == (
        False,
        "张**",
        "139****5678",
        "",
    )
    anonymous = desk.ticket(kind="report", is_anonymous=True)
    assert reporter_for(anonymous, user=desk.operator).anonymous is True
    assert reporter_for(anonymous, user=desk.operator).name == ""


def test_a_reports_history_does_not_name_the_reporter_to_the_department(desk):
    ticket = desk.ticket(kind="report")
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    seen = ticket_for_staff(user=desk.clerks["zhujian"], pk=ticket.pk)
    assert desk.citizen not in [event.actor for event in seen.events.all()]


def test_only_the_desk_supervisor_reveals_a_reporter_and_it_is_logged(desk):
    ticket = desk.ticket(kind="report", contact_email="zhang@example.cn")
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    for user in (
        desk.operator,
        desk.dispatcher,
        desk.clerks["zhujian"],
        desk.supervisors["zhujian"],
        desk.citizen,
    ):
        error = refused(
            Forbidden, "refused", reporter_reveal, user=user, ticket=ticket, reason="核实"
        )
        assert error.message == "Only the desk's supervisors may see who made a report."
    refused(
        Refused, "reason_missing", reporter_reveal, user=desk.supervisor, ticket=ticket, reason="  "
    )

    assert reporter_reveal(user=desk.supervisor, ticket=ticket, reason="核实举报人身份") == {
        "name": "张三",
        "phone": "13912345678",
        "email": "zhang@example.cn",
        "username": desk.citizen.username,
    }
    (access,) = ReporterAccess.objects.all()
    assert (access.ticket, access.user, access.reason) == (
        ticket,
        desk.supervisor,
        "核实举报人身份",
    )


def test_staff_see_only_tickets_they_have_a_part_in(desk):
    zhujian_ticket = desk.ticket()
    shengtai_ticket = desk.ticket()
    queued = desk.ticket()
    act(zhujian_ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    act(shengtai_ticket, desk.dispatcher, "dispatch", department=desk.departments["shengtai"])

    everything = {zhujian_ticket.pk, shengtai_ticket.pk, queued.pk}
    for user in (desk.operator, desk.dispatcher, desk.supervisor):
        assert is_desk(user) is True
        assert set(tickets_for_staff(user).values_list("pk", flat=True)) == everything
    for user in (desk.clerks["zhujian"], desk.supervisors["zhujian"]):
        assert is_desk(user) is False
        assert list(tickets_for_staff(user).values_list("pk", flat=True)) == [zhujian_ticket.pk]
    assert list(tickets_for_staff(desk.clerks["jiaotong"])) == []
    assert list(tickets_for_staff(desk.citizen)) == []
    assert list(tickets_for_staff(None)) == []

    act(zhujian_ticket, desk.clerks["zhujian"], "return", note="不归我们")
    assert list(tickets_for_staff(desk.clerks["zhujian"])) == []
    from django.http import Http404

    with pytest.raises(Http404):
        ticket_for_staff(user=desk.clerks["zhujian"], pk=zhujian_ticket.pk)
    assert ticket_for_staff(user=desk.dispatcher, pk=zhujian_ticket.pk).pk == zhujian_ticket.pk
    with pytest.raises(Http404):
        ticket_for_citizen(user=desk.other_citizen, pk=zhujian_ticket.pk)
    assert ticket_for_citizen(user=desk.citizen, pk=zhujian_ticket.pk).pk == zhujian_ticket.pk

    inactive = desk.dispatcher
    inactive.is_active = False
    inactive.save()
    assert list(tickets_for_staff(inactive)) == []


def test_returned_examples_teach_where_the_ticket_belonged(desk):
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    act(ticket, desk.clerks["zhujian"], "return", note="噪音归环保")
    act(ticket, desk.dispatcher, "dispatch", department=desk.departments["shengtai"])
    assert returned_examples() == []  # not yet signed for
    act(ticket, desk.clerks["shengtai"], "sign")
    never_returned = desk.ticket()
    close_loop(desk, never_returned)
    assert returned_examples() == [(ticket_text(ticket.title, ticket.content), "环境保护")]


# ---------------------------------------------------------------- query counts


NOISES = (
    "广场舞音响噪音扰民到深夜",
    "装修电钻噪音从早上七点开始",
    "酒吧门口噪音和醉酒喧哗",
    "菜市场凌晨卸货噪音",
    "空调外机噪音对着卧室",
    "学校广播早操噪音太大",
    "工厂冷却塔噪音日夜不停",
    "高架桥车辆噪音无隔音屏",
    "KTV低音炮噪音震动楼板",
    "施工打桩噪音超过夜间时段",
    "宠物店狗叫噪音影响休息",
    "地铁通风亭噪音持续轰鸣",
)  # different matters: none is a duplicate of another


def _tickets(desk, n: int) -> None:
    DispatchRule.objects.get_or_create(keyword="噪音", kind="zhujian")
    start = Ticket.objects.count()
    for i in range(n):
        ticket = desk.ticket(content=NOISES[start + i], title="")
        if i % 2:
            act(ticket, desk.clerks["zhujian"], "sign")


@pytest.mark.parametrize("who", ["dispatcher", "clerk"])
def test_the_staff_list_runs_a_fixed_number_of_queries(desk, django_assert_num_queries, who):
    user = desk.dispatcher if who == "dispatcher" else desk.clerks["zhujian"]
    _tickets(desk, 2)
    with django_assert_num_queries(2):
        rows = list(staff_tickets(user=user))
        assert [r.department.name for r in rows] == ["杭州市住房和城乡建设局"] * 2
        assert [r.region.name for r in rows] == ["西湖区"] * 2
    _tickets(desk, 6)
    with django_assert_num_queries(2):
        rows = list(staff_tickets(user=user))
        assert [r.department.name for r in rows] == ["杭州市住房和城乡建设局"] * 8
        assert [r.region.name for r in rows] == ["西湖区"] * 8


def test_the_staff_detail_runs_a_fixed_number_of_queries(desk, django_assert_num_queries, media):
    small = desk.ticket(uploads=[jpeg()])
    act(small, desk.dispatcher, "dispatch", department=desk.departments["zhujian"])
    big = desk.ticket(uploads=[jpeg(name=f"{n}.jpg") for n in range(5)])
    act(
        big,
        desk.dispatcher,
        "dispatch",
        department=desk.departments["zhujian"],
        assisting=[desk.departments["shengtai"], desk.departments["jiaotong"]],
    )
    act(big, desk.clerks["zhujian"], "sign")
    act(big, desk.clerks["shengtai"], "sign")
    act(big, desk.clerks["shengtai"], "opinion", note="同意")

    def read(ticket):
        seen = ticket_for_staff(user=desk.clerks["zhujian"], pk=ticket.pk)
        return (
            [
                (e.action, e.actor and e.actor.real_name, e.department and e.department.name)
                for e in seen.events.all()
            ],
            [(p.department.name, p.state) for p in seen.parts.all()],
            [a.name for a in seen.attachments.all()],
            seen.department.name,
            seen.region.name,
            seen.citizen.real_name,
        )

    with django_assert_num_queries(5):
        events, small_parts, files, *_rest = read(small)
    assert (len(events), len(small_parts), len(files)) == (3, 1, 1)
    with django_assert_num_queries(5):
        events, big_parts, files, *_rest = read(big)
    assert (len(events), len(big_parts), len(files)) == (6, 3, 5)


def test_the_category_follows_the_department_the_guess_is_kept(desk):
    """Dispatching sets the category to the lead department's matter; the model's guess on
    arrival is kept apart for measuring and training it; a return leaves it until the next
    dispatch, and the redispatch sets it again."""
    zhujian, shengtai = desk.departments["zhujian"], desk.departments["shengtai"]
    ticket = desk.ticket()
    Ticket.objects.filter(pk=ticket.pk).update(category="卫生计生", category_guessed="卫生计生")
    act(ticket, desk.dispatcher, "dispatch", department=zhujian)
    t = fresh(ticket)
    assert (t.category, t.category_guessed) == ("城乡建设", "卫生计生")
    act(t, desk.clerks["zhujian"], "return", note="噪音属于环保部门", department=shengtai)
    assert fresh(ticket).category == "城乡建设"
    act(fresh(ticket), desk.dispatcher, "dispatch", department=shengtai)
    t = fresh(ticket)
    assert (t.category, t.category_guessed) == ("环境保护", "卫生计生")


def test_the_dispatcher_reads_the_suggestion_by_department_name(desk):
    from django.test import Client

    zhujian, shengtai = desk.departments["zhujian"], desk.departments["shengtai"]
    ticket = desk.ticket()
    act(ticket, desk.dispatcher, "dispatch", department=zhujian)
    act(
        fresh(ticket),
        desk.clerks["zhujian"],
        "return",
        note="噪音属于环保部门",
        department=shengtai,
    )
    client = Client()
    client.force_login(desk.dispatcher)
    page = client.get(f"/staff/tickets/{ticket.pk}/").content.decode()
    assert '<strong id="suggested-department">杭州市生态环境局</strong>' in page
    assert shengtai.code not in page.split('id="suggested-department"')[1][:80]


def test_every_sender_of_a_linked_ticket_hears_the_answer(desk):
    """Linking promises "you will hear about it with that ticket": the answer reaches the
    sender of each ticket linked to it, under their own number, and nobody else."""
    zhujian = desk.departments["zhujian"]
    lead = desk.ticket()
    second = desk.ticket(citizen=desk.other_citizen)
    act(second, desk.dispatcher, "link", target=lead)
    anonymous = desk.ticket(citizen=None, contact_phone="13900000000")
    act(anonymous, desk.dispatcher, "link", target=lead)
    act(fresh(lead), desk.dispatcher, "dispatch", department=zhujian)
    act(fresh(lead), desk.clerks["zhujian"], "sign")
    act(fresh(lead), desk.clerks["zhujian"], "answer", note="已责令施工单位停止夜间施工。")
    subject, body = notices(desk.citizen)[-1]
    assert (subject, body.split("\n\n")[0]) == (
        f"Ticket {lead.number} answered",
        "杭州市住房和城乡建设局 answered: 已责令施工单位停止夜间施工。",
    )
    assert "/tickets/rate/" in body  # the lead's own sender rates it
    assert notices(desk.other_citizen)[-1] == (
        f"Ticket {second.number} answered",
        f"Handled together with ticket {lead.number}: 杭州市住房和城乡建设局 answered: "
        "已责令施工单位停止夜间施工。",
    )


def test_the_department_chooser_is_nearest_first_and_never_another_province_s(desk):
    from django.test import Client

    from departments.models import Department, Region
    from tests.factories import DepartmentFactory

    guangdong = Region.objects.create(code="440000", name="广东省", level="province")
    DepartmentFactory(code="440000-zhujian", name="广东省住房和城乡建设厅", region=guangdong)
    xihu = DepartmentFactory(
        code="330106-zhujian",
        name="西湖区住房和城乡建设局",
        kind=Department.Kind.HOUSING,
        region=desk.district,
    )
    ticket = desk.ticket()
    client = Client()
    client.force_login(desk.dispatcher)
    page = client.get(f"/staff/tickets/{ticket.pk}/").content.decode()
    chooser = page.split('<datalist id="d-departments">')[1].split("</datalist>")[0]
    assert "广东省住房和城乡建设厅" not in chooser
    # each option is a name a dispatcher types a part of, labelled with its region
    options = re.findall(r'<option value="([^"]+)">([^<]+)</option>', chooser)
    regions = list(dict.fromkeys(region for _name, region in options))
    assert regions[:2] == ["西湖区", "杭州市"]
    names = [name for name, _region in options]
    assert names.index(xihu.name) < names.index("杭州市住房和城乡建设局")

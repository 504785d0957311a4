"""Open311 GeoReport v2 under /open311/v2/ (the ``desk`` scenario of tests/complaints/desk.py),
driven by a small client written from the spec alone.

The client builds ``/open311/v2/<path>.<fmt>`` URLs, form-encodes POSTs with ``attribute[code]``
keys and reads JSON and XML answers into the same Python structures, so every check below runs
in both formats and also proves the two formats say the same thing.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from complaints.models import Open311Key, Ticket, TicketAttachment, TicketEvent
from complaints.open311.keys import open311_key_issue, open311_key_set_active
from complaints.services import ticket_transition
from tests.factories import StaffFactory

FORMATS = ("json", "xml")

# ---------------------------------------------------------------- a client from the spec

# Elements that hold a list in GeoReport v2 XML, and the name of their items.
XML_LISTS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
XML_BOOLEANS = {"metadata", "variable", "required"}
XML_INTEGERS = {"order"}
XML_FLOATS = {"lat", "long"}


def _xml_value(element: ET.Element, parent: str = "") -> Any:
    tag = element.tag
    if tag in XML_LISTS:
        return [_xml_value(child, tag) for child in element]
    if len(element):
        return {child.tag: _xml_value(child, tag) for child in element}
    text = element.text
    if text is None or text == "":
        return None
    if tag in XML_BOOLEANS:
        assert text in ("true", "false"), (tag, text)
        return text == "true"
    if tag in XML_INTEGERS or (tag == "code" and parent == "error"):
        return int(text)
    if tag in XML_FLOATS:
        return float(text)
    return text


@dataclass
class Reply:
    status: int
    data: Any
    content_type: str
    body: bytes


class Open311:
    base = "/open311/v2/"

    def __init__(self, client: Client) -> None:
        self.client = client

    def url(self, path: str, fmt: str) -> str:
        return f"{self.base}{path}.{fmt}"

    @staticmethod
    def parse(response, fmt: str) -> Reply:
        body = response.content
        if fmt == "xml":
            assert response["Content-Type"] == "text/xml; charset=utf-8"
            assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
            root = ET.fromstring(body)  # noqa: S314  (our own server's answer)
            data = _xml_value(root)
            if root.tag in ("discovery", "service_definition"):
                data = {child.tag: _xml_value(child, root.tag) for child in root}
        else:
            assert response["Content-Type"] == "application/json; charset=utf-8"
            data = json.loads(body)
        return Reply(response.status_code, data, response["Content-Type"], body)

    def get(self, path: str, fmt: str = "json", **params) -> Reply:
        response = self.client.get(self.url(path, fmt), params, HTTP_ACCEPT_LANGUAGE="en")
        return self.parse(response, fmt)

    def post(
        self,
        fmt: str = "json",
        *,
        attributes: dict[str, Any] | None = None,
        media=None,
        **fields,
    ) -> Reply:
        data: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        for code, value in (attributes or {}).items():
            data[code if code.startswith("attribute") else f"attribute[{code}]"] = value
        if media is not None:
            data["media"] = media  # multipart
            response = self.client.post(self.url("requests", fmt), data, HTTP_ACCEPT_LANGUAGE="en")
        else:
            from urllib.parse import urlencode

            response = self.client.post(
                self.url("requests", fmt),
                urlencode(data, doseq=True),
                content_type="application/x-www-form-urlencoded",
                HTTP_ACCEPT_LANGUAGE="en",
            )
        return self.parse(response, fmt)


def errors_of(reply: Reply) -> list[str]:
    assert isinstance(reply.data, list)
    assert all(set(e) == {"code", "description"} for e in reply.data), reply.data
    assert {e["code"] for e in reply.data} == {reply.status}
    return [e["description"] for e in reply.data]


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def api(client) -> Open311:
    return Open311(Client(enforce_csrf_checks=True))


@pytest.fixture
def key(desk) -> str:
    _row, issued = open311_key_issue(name="城市随手拍")
    return issued


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def stored() -> tuple[int, int, int, list]:
    return (
        Ticket.objects.count(),
        TicketAttachment.objects.count(),
        TicketEvent.objects.count(),
        list(Open311Key.objects.order_by("pk").values_list("last_used_at", flat=True)),
    )


def good_post(key: str, **overrides) -> dict[str, Any]:
    values = {
        "api_key": key,
        "service_code": "construction",
        "lat": "30.274085",
        "long": "120.155070",
        "address_string": "文三路 100 号",
        "email": "zhang@example.com",
        "first_name": "三",
        "last_name": "张",
        "phone": "+86 139 1234 5678",
        "device_id": "device-1",
        "account_id": "acct-9",
        "description": "小区门口道路施工噪音很大，晚上十一点还在施工，影响休息。",
        "attributes": {"kind": "complaint", "region": "330106", "public": "true"},
    }
    values.update(overrides)
    return values


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (32, 24), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2026:11:28 15:04:05"  # DateTime
    exif[0x8825] = {  # GPSInfo
        1: "N",
        2: (30.0, 16.0, 26.7),
        3: "E",
        4: (120.0, 9.0, 18.2),
    }
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the GPS block is there
    return data


# ---------------------------------------------------------------- discovery and services


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_names_the_endpoint_and_its_formats(db, api, fmt):
    reply = api.get("discovery", fmt)
    assert reply.status == 200
    data = reply.data
    assert set(data) == {"changeset", "contact", "key_service", "endpoints"}
    (endpoint,) = data["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert dt.datetime.fromisoformat(endpoint["changeset"]).tzinfo is not None


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_one_per_dispatch_category_and_a_general_one(
    db, api, fmt, django_assert_num_queries
):
    with django_assert_num_queries(0):
        reply = api.get("services", fmt)
    assert reply.status == 200
    assert [s["service_code"] for s in reply.data] == [
        "construction",
        "environment",
        "transport",
        "education",
        "labour",
        "commerce",
        "health",
        "general",
    ]
    first = reply.data[0]
    assert first == {
        "service_code": "construction",
        "service_name": "Urban and rural construction",
        "description": first["description"],
        "metadata": True,
        "type": "realtime",
        "keywords": first["keywords"],
        "group": "City and environment",
    }
    assert "housing" in first["keywords"]
    assert reply.data == api.get("services", "json" if fmt == "xml" else "xml").data


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_lists_the_attributes(db, api, fmt):
    reply = api.get("services/labour", fmt)
    assert reply.status == 200
    assert reply.data["service_code"] == "labour"
    attributes = {a["code"]: a for a in reply.data["attributes"]}
    assert list(attributes) == ["kind", "region", "public", "title"]
    kind = attributes["kind"]
    assert kind["variable"] is True
    assert kind["datatype"] == "singlevaluelist"
    assert kind["required"] is False
    assert kind["order"] == 1
    assert [v["key"] for v in kind["values"]] == [
        "consultation",
        "complaint",
        "report",
        "suggestion",
        "help",
        "praise",
    ]
    assert kind["values"][2]["name"] == "Report of wrongdoing"
    region = attributes["region"]
    assert region["datatype"] == "string"
    assert region["values"] == []
    assert "330106" in region["datatype_description"]
    assert [a["order"] for a in reply.data["attributes"]] == [1, 2, 3, 4]


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_definition_is_404(db, api, fmt):
    reply = api.get("services/potholes", fmt)
    assert reply.status == 404
    assert errors_of(reply) == ["service_code: there is no service “potholes”; see services.json."]


# ---------------------------------------------------------------- POST requests


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_request_takes_a_ticket_in_and_dispatches_it_by_service(desk, api, key, fmt):
    reply = api.post(fmt, **good_post(key))
    assert reply.status == 200, reply.data
    (answer,) = reply.data
    assert set(answer) == {"service_request_id", "token", "service_notice", "account_id"}
    assert answer["account_id"] is None
    ticket = Ticket.objects.get()
    assert answer["service_request_id"] == str(ticket.pk)
    assert answer["token"] == str(ticket.token)
    # construction → the housing department nearest the district: the city's
    department = desk.departments["zhujian"]
    assert ticket.department == department
    assert ticket.state == Ticket.State.DISPATCHED
    assert answer["service_notice"] == (
        f"Sent to {department.name}, who will sign for it by {ticket.node_due_date}."
    )
    assert ticket.channel == "open311"
    assert ticket.kind == "complaint"
    assert ticket.service_code == "construction"
    assert ticket.region == desk.district
    assert ticket.address == "文三路 100 号"
    assert str(ticket.latitude) == "30.274085"
    assert str(ticket.longitude) == "120.155070"
    assert ticket.contact_name == "张三"
    assert ticket.contact_phone == "13912345678"
    assert ticket.contact_email == "zhang@example.com"
    assert ticket.is_public is True
    assert ticket.attributes == {
        "kind": "complaint",
        "region": "330106",
        "public": "true",
        "client": {"device_id": "device-1", "account_id": "acct-9"},
    }
    key_row = Open311Key.objects.get()
    assert ticket.api_key == key_row
    assert key_row.last_used_at is not None


def test_post_general_service_waits_for_a_dispatcher_without_a_model(desk, api, key):
    reply = api.post(
        **good_post(
            key,
            service_code="general",
            lat=None,
            long=None,
            attributes={},
            address_string="杭州市西湖区文三路 100 号",
        )
    )
    assert reply.status == 200, reply.data
    ticket = Ticket.objects.get()
    assert ticket.state == Ticket.State.QUEUED
    assert ticket.department is None
    assert ticket.region == desk.district  # the address names 西湖区
    assert ticket.kind == "complaint"
    assert ticket.is_public is False
    assert reply.data[0]["service_notice"] == (
        "Received: the desk will send it to the department that handles it by "
        f"{ticket.node_due_date}."
    )


def test_general_requests_are_dispatched_by_the_model(desk, api, key, trained_model, settings):
    settings.DISPATCH_MODEL_DIR = str(trained_model.directory)
    building = "小区旁边工地夜间施工，渣土车噪音太大，严重影响休息"
    reply = api.post(**good_post(key, service_code="general", description=building))
    assert reply.status == 200, reply.data
    ticket = Ticket.objects.get()
    assert ticket.category == "城乡建设"
    assert ticket.dispatch_model
    if ticket.dispatched_automatically:
        assert ticket.department == desk.departments["zhujian"]
        assert ticket.state == Ticket.State.DISPATCHED
    else:
        assert ticket.state == Ticket.State.QUEUED
    # sent to the general service, it stays there
    (row,) = api.get(f"requests/{ticket.pk}").data
    assert row["service_code"] == "general"
    # a web ticket is listed under the service of the matter the model found
    web = desk.ticket(content=building, title="")
    (row,) = api.get(f"requests/{web.pk}").data
    assert row["service_code"] == "construction"
    assert [
        r["service_request_id"] for r in api.get("requests", service_code="construction").data
    ] == [str(web.pk)]


def test_empty_optional_attributes_count_as_not_given(desk, api, key):
    values = good_post(key)
    values["attributes"] = {"kind": "", "region": " ", "public": "", "title": ""}
    assert api.post(**values).status == 200
    ticket = Ticket.objects.get()
    assert (ticket.kind, ticket.region, ticket.is_public) == ("complaint", desk.province, False)
    assert "kind" not in ticket.attributes


def test_post_with_address_id_takes_the_region(desk, api, key):
    values = good_post(key, lat=None, long=None, address_string=None, address_id="330106")
    values["attributes"] = {"kind": "suggestion"}
    reply = api.post(**values)
    assert reply.status == 200, reply.data
    ticket = Ticket.objects.get()
    assert ticket.region == desk.district
    assert ticket.kind == "suggestion"
    assert ticket.attributes["client"]["address_id"] == "330106"


def test_post_is_exempt_from_csrf_but_needs_the_key(desk, api, key):
    # api's client enforces CSRF checks like a browser would; the key is the authentication
    assert api.post(**good_post(key)).status == 200
    assert api.post(**good_post("not-a-key")).status == 403


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_report_is_never_public_and_answers_as_if_it_did_not_exist(desk, api, key, fmt):
    values = good_post(key, description="举报：某工地负责人收受好处，违规验收。")
    values["attributes"] = {"kind": "report", "public": "true", "region": "330106"}
    (posted,) = api.post(**values).data
    ticket = Ticket.objects.get()
    assert ticket.kind == "report"
    assert ticket.is_public is False
    assert ticket.department is not None  # it is with an agency, which must not be named
    complaint = _tickets(desk, 1, is_public=True, department_kind="shengtai")[0]
    # the list: it is not there, neither by default nor asked for by its id
    listed = api.get("requests", fmt)
    assert [r["service_request_id"] for r in listed.data] == [str(complaint.pk)]
    asked = api.get("requests", fmt, service_request_id=f"{ticket.pk},{complaint.pk}")
    assert [r["service_request_id"] for r in asked.data] == [str(complaint.pk)]
    for reply in (listed, asked, api.get("requests", fmt, service_code="construction")):
        for secret in ("收受好处", ticket.department.name, ticket.title):
            assert secret.encode() not in reply.body
    # requests/<id> and tokens/<token> answer exactly as for a request that does not exist
    detail = api.get(f"requests/{ticket.pk}", fmt)
    unknown = api.get("requests/999999", fmt)
    assert (detail.status, unknown.status) == (404, 404)
    assert errors_of(detail) == [f"service_request_id: there is no request {ticket.pk}."]
    token = api.get(f"tokens/{posted['token']}", fmt)
    assert token.status == 404
    assert errors_of(token) == ["token: there is no request with this token."]
    assert token.body == api.get("tokens/3f2504e0-4f89-11d3-9a0c-0305e82c3301", fmt).body


@pytest.mark.parametrize("fmt", FORMATS)
def test_photo_media_is_stored_without_its_exif(desk, api, key, fmt):
    photo = SimpleUploadedFile("scene.jpg", jpeg_with_gps(), content_type="image/jpeg")
    reply = api.post(fmt, media=photo, **good_post(key))
    assert reply.status == 200, reply.data
    (attachment,) = TicketAttachment.objects.all()
    assert attachment.content_type == "image/jpeg"
    assert attachment.metadata_removed is True
    with attachment.file.open("rb") as f:
        data = f.read()
    image = Image.open(io.BytesIO(data))
    assert image.size == (32, 24)
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info
    assert b"Exif" not in data
    assert b"PhoneMaker" not in data
    # the photo is private: the request does not point at it
    (row,) = api.get(f"requests/{attachment.ticket_id}", fmt).data
    assert row["media_url"] is None


# ---------------------------------------------------------------- POST errors: nothing stored


def _refused(api, fmt, status, values, *, media=None) -> list[str]:
    before = stored()
    reply = api.post(fmt, media=media, **values)
    assert reply.status == status, reply.data
    assert stored() == before
    return errors_of(reply)


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_api_key_is_403(desk, api, key, fmt):
    assert _refused(api, fmt, 403, good_post("x" * 43)) == [
        "api_key: the key is missing, unknown or no longer active."
    ]
    values = good_post(key)
    del values["api_key"]
    assert _refused(api, fmt, 403, values)
    # the key is checked first, whatever else is wrong
    assert _refused(api, fmt, 403, good_post("nope", service_code="potholes"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_code_is_404_a_missing_one_400(desk, api, key, fmt):
    # GeoReport v2: "404 - service_code or service_request_id not found".
    assert _refused(api, fmt, 404, good_post(key, service_code="potholes")) == [
        "service_code: there is no service “potholes”; see services.json."
    ]
    assert _refused(api, fmt, 400, good_post(key, service_code=None)) == [
        "service_code: give the code of a service; see services.json."
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_location_is_400(desk, api, key, fmt):
    values = good_post(key, lat=None, long=None, address_string=None)
    assert _refused(api, fmt, 400, values) == [
        "missing location: give lat and long, address_string or address_id (a region code)."
    ]
    # half a position
    assert _refused(api, fmt, 400, good_post(key, long=None, address_string=None)) == [
        "long: Give both latitude and longitude, or neither."
    ]
    assert _refused(api, fmt, 400, good_post(key, lat="91")) == [
        "lat: Give a number from -90 to 90."
    ]
    assert _refused(api, fmt, 400, good_post(key, address_id="3301")) == [
        "address_id: “3301” is not a region code of six digits, or nine for a street (GB/T 2260)."
    ]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"attribute[]": "x"}, "attribute[]: not an attribute key;"),
        ({"attribute[kind][sub]": "x"}, "attribute[kind][sub]: not an attribute key;"),
        ({"attribute": "x"}, "attribute: not an attribute key;"),
        ({"attribute[kind": "x"}, "attribute[kind: not an attribute key;"),
        ({"attribute[kind][]": "complaint"}, "attribute[kind][]: give one value."),
        ({"attribute[colour]": "red"}, "attribute[colour]: the service “construction” has no "),
        ({"kind": "rant"}, "attribute[kind]: “rant” is not one of consultation, complaint, "),
        ({"public": "maybe"}, "attribute[public]: “maybe” is not one of true, false."),
        ({"region": "3301061000"}, "attribute[region]: at most 9 characters"),
        ({"region": "3301061"}, "attribute[region]: “3301061” is not a region code"),
        ({"region": "33010x"}, "attribute[region]: “33010x” is not a region code"),
        ({"region": "990000"}, "attribute[region]: there is no region 990000."),
        ({"title": "长" * 101}, "attribute[title]: at most 100 characters."),
    ],
)
def test_malformed_attributes_are_400_naming_the_key(desk, api, key, fmt, attributes, message):
    (description,) = _refused(api, fmt, 400, good_post(key, attributes=attributes))
    assert description.startswith(message), description


def test_two_values_for_one_attribute_are_400(desk, api, key):
    (description,) = _refused(
        api, "json", 400, good_post(key, attributes={"kind": ["complaint", "help"]})
    )
    assert description == "attribute[kind]: give one value."


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_and_overlong_descriptions_are_400(desk, api, key, fmt):
    assert _refused(api, fmt, 400, good_post(key, description="   ")) == [
        "description: Write what happened or what you want to ask."
    ]
    assert _refused(api, fmt, 400, good_post(key, description="长" * 100_000)) == [
        "description: write at most 4000 characters (this has 100000)."
    ]


def test_an_oversized_form_is_413(desk, api, key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    assert _refused(api, "xml", 413, good_post(key, description="长" * 1_000)) == [
        "The request is too large: send a shorter form or a smaller file."
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_several_problems_come_back_together(desk, api, key, fmt):
    values = good_post(key, lat=None, long=None, address_string=None, description="x" * 4001)
    values["attributes"] = {"kind": "rant"}
    descriptions = _refused(api, fmt, 400, values)
    assert [d.split(":")[0] for d in descriptions] == [
        "missing location",
        "description",
        "attribute[kind]",
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_contact_details_are_worded_in_open311_names(desk, api, key, fmt):
    assert _refused(api, fmt, 400, good_post(key, phone="12", email="not-an-address")) == [
        "phone: Give a mobile number of 11 digits or a landline number.",
        "email: Give a valid e-mail address.",
    ]
    assert _refused(api, fmt, 400, good_post(key, media_url="javascript:alert(1)")) == [
        "media_url: give an http or https address of at most 500 characters."
    ]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.txt", b"just some text, not a picture"),
        ("scan.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
        ("photo.jpg", b"MZ\x90\x00 a program dressed as a photo"),
    ],
)
def test_media_that_is_not_a_photo_is_400(desk, api, key, fmt, name, content):
    upload = SimpleUploadedFile(name, content, content_type="image/jpeg")
    (description,) = _refused(api, fmt, 400, good_post(key), media=upload)
    assert description.startswith("media: ")


def test_wrong_jurisdiction_is_400_and_ours_is_accepted(desk, api, key, settings):
    assert _refused(api, "json", 400, good_post(key, jurisdiction_id="sfgov.org")) == [
        "jurisdiction_id: unknown jurisdiction “sfgov.org”; this endpoint serves "
        f"“{settings.OPEN311_JURISDICTION}”."
    ]
    assert api.get("services", jurisdiction_id="sfgov.org").status == 400
    ok = api.post(**good_post(key, jurisdiction_id=settings.OPEN311_JURISDICTION))
    assert ok.status == 200
    assert api.get("services", jurisdiction_id=settings.OPEN311_JURISDICTION).status == 200


# ---------------------------------------------------------------- tokens and requests/<id>


@pytest.mark.parametrize("fmt", FORMATS)
def test_token_gives_the_request_id(desk, api, key, fmt):
    (posted,) = api.post(**good_post(key)).data
    reply = api.get(f"tokens/{posted['token']}", fmt)
    assert reply.status == 200
    assert reply.data == [
        {"service_request_id": posted["service_request_id"], "token": posted["token"]}
    ]
    for unknown in ("3f2504e0-4f89-11d3-9a0c-0305e82c3301", "not-a-uuid"):
        missing = api.get(f"tokens/{unknown}", fmt)
        assert missing.status == 404
        assert errors_of(missing) == ["token: there is no request with this token."]


@pytest.mark.parametrize("fmt", FORMATS)
def test_public_request_shows_its_place_description_and_answer(desk, api, key, fmt):
    (posted,) = api.post(**good_post(key, media_url="https://example.com/p/1.jpg")).data
    ticket = Ticket.objects.get()
    clerk = desk.clerks["zhujian"]
    ticket_transition(actor=clerk, ticket=ticket, action="sign")
    ticket_transition(actor=clerk, ticket=ticket, action="answer", note="已责令工地夜间停工。")
    ticket.refresh_from_db()

    reply = api.get(f"requests/{posted['service_request_id']}", fmt)
    assert reply.status == 200
    (row,) = reply.data
    local = timezone.localtime
    assert row == {
        "service_request_id": str(ticket.pk),
        "status": "open",
        "status_notes": "Answered, waiting for the callback. Answer: 已责令工地夜间停工。",
        "service_name": "Urban and rural construction",
        "service_code": "construction",
        "description": ticket.content,
        "agency_responsible": desk.departments["zhujian"].name,
        "service_notice": None,
        "requested_datetime": local(ticket.created_at).isoformat(timespec="seconds"),
        "updated_datetime": local(ticket.updated_at).isoformat(timespec="seconds"),
        "expected_datetime": f"{ticket.node_due_date.isoformat()}T23:59:59+08:00",
        "address": "文三路 100 号",
        "address_id": "330106",
        "zipcode": None,
        "lat": 30.274085,
        "long": 120.15507,
        "media_url": "https://example.com/p/1.jpg",
    }
    assert row["requested_datetime"].endswith("+08:00")
    # nothing personal anywhere in the answer
    for secret in ("zhang@example.com", "13912345678", "张三", "device-1", "acct-9"):
        assert secret.encode() not in reply.body


@pytest.mark.parametrize("fmt", FORMATS)
def test_private_request_shows_no_content_and_only_its_region(desk, api, key, fmt):
    values = good_post(key, media_url="https://example.com/p/2.jpg")
    values["attributes"] = {"kind": "help", "region": "330106"}
    (posted,) = api.post(**values).data
    (row,) = api.get(f"requests/{posted['service_request_id']}", fmt).data
    assert row["description"] is None
    assert row["address"] == "西湖区"
    assert row["address_id"] == "330106"
    assert row["lat"] is None and row["long"] is None
    assert row["media_url"] is None
    assert row["status"] == "open"
    assert row["status_notes"] == "Dispatched, waiting to be signed for"


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_request_id_is_404(desk, api, fmt):
    for unknown in ("999999", "abc"):
        reply = api.get(f"requests/{unknown}", fmt)
        assert reply.status == 404
        assert errors_of(reply) == [f"service_request_id: there is no request {unknown}."]


@pytest.mark.parametrize("path", ["services.html", "services.csv", "requests/1.yaml", "services"])
def test_unsupported_format_is_404(db, client, path):
    response = client.get(f"/open311/v2/{path}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert [e["code"] for e in json.loads(response.content)] == [404]


def test_other_methods_are_refused(db, client):
    response = client.delete("/open311/v2/requests.json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    response = client.post("/open311/v2/services.xml")
    assert response.status_code == 405
    assert ET.fromstring(response.content).tag == "errors"  # noqa: S314


def test_xml_escapes_what_citizens_write(desk, api, key):
    # control characters never get in (the input check refuses them with a 400 everywhere)
    text = "工地 <script>alert('x')</script> & “噪音” ]]> 扰民"
    (posted,) = api.post(**good_post(key, description=text)).data
    reply = api.get(f"requests/{posted['service_request_id']}", "xml")
    assert b"<script>" not in reply.body
    (row,) = reply.data
    assert row["description"] == text
    assert (
        api.get(f"requests/{posted['service_request_id']}", "json").data[0]["description"] == text
    )


# ---------------------------------------------------------------- GET requests


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


def _tickets(desk, count: int, **fields) -> list[Ticket]:
    made = []
    for n in range(count):
        values = {
            "kind": "complaint",
            "channel": "web",
            "title": NOISES[n],  # each its own matter, in its title too
            "content": NOISES[n],
            "region": desk.district,
            "address": f"文三路 {n} 号",
            "citizen": desk.citizen,
            "contact_phone": "13912345678",
        }
        values.update(fields)
        made.append(desk.ticket(**values))
    return made


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_lists_the_last_90_days_newest_first(desk, api, key, fmt):
    web = _tickets(desk, 2, is_public=True, department_kind="shengtai")
    old = _tickets(desk, 1)[0]
    Ticket.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=91))
    (posted,) = api.post(**good_post(key)).data

    reply = api.get("requests", fmt)
    assert reply.status == 200
    assert [r["service_request_id"] for r in reply.data] == [
        posted["service_request_id"],
        str(web[1].pk),
        str(web[0].pk),
    ]
    # a web ticket is listed under the service of its department's matter
    assert reply.data[1]["service_code"] == "environment"
    assert reply.data[1]["agency_responsible"] == desk.departments["shengtai"].name
    assert reply.data[1]["description"] == web[1].content
    assert b"13912345678" not in reply.body
    assert reply.data == api.get("requests", "json" if fmt == "xml" else "xml").data


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_filters(desk, api, key, fmt):
    queued = _tickets(desk, 1, kind="consultation")[0]  # general: no model → queued
    env = _tickets(desk, 1, department_kind="shengtai")[0]
    linked = _tickets(desk, 1)[0]
    ticket_transition(actor=desk.dispatcher, ticket=linked, action="link", target=queued)
    (posted,) = api.post(**good_post(key)).data
    construction = posted["service_request_id"]

    def ids(**params) -> list[str]:
        reply = api.get("requests", fmt, **params)
        assert reply.status == 200, reply.data
        return [r["service_request_id"] for r in reply.data]

    assert ids(service_code="environment") == [str(env.pk)]
    assert ids(service_code="construction,environment") == [construction, str(env.pk)]
    assert ids(service_code="general") == [str(linked.pk), str(queued.pk)]
    assert ids(status="closed") == [str(linked.pk)]
    assert ids(status="open", service_code="general") == [str(queued.pk)]
    assert ids(status="open,closed") == [construction, str(linked.pk), str(env.pk), str(queued.pk)]
    # service_request_id overrides the other parameters
    assert sorted(ids(service_request_id=f"{env.pk}, {queued.pk},999999", status="closed")) == (
        sorted([str(env.pk), str(queued.pk)])
    )
    now = timezone.localtime()
    assert ids(start_date=(now + dt.timedelta(hours=1)).isoformat(timespec="seconds")) == []
    assert len(ids(start_date=(now - dt.timedelta(hours=1)).isoformat(timespec="seconds"))) == 4
    assert len(ids(end_date=(now + dt.timedelta(hours=1)).isoformat(timespec="seconds"))) == 4
    assert ids(end_date=(now - dt.timedelta(hours=1)).isoformat(timespec="seconds")) == []
    assert len(ids(start_date=now.date().isoformat(), end_date=now.date().isoformat())) == 4
    utc = (timezone.now() - dt.timedelta(hours=1)).astimezone(dt.UTC)
    assert len(ids(start_date=utc.strftime("%Y-%m-%dT%H:%M:%SZ"))) == 4
    closed = api.get("requests", fmt, status="closed").data[0]
    assert closed["status"] == "closed"
    assert closed["status_notes"] == "Linked to an earlier ticket"
    assert closed["expected_datetime"] is None


def test_an_unencoded_plus_in_a_date_is_understood(desk, api):
    _tickets(desk, 1)
    start = (timezone.localtime() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+08:00")
    response = api.client.get(f"/open311/v2/requests.json?start_date={start}")
    assert response.status_code == 200
    assert len(json.loads(response.content)) == 1


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start_date": "yesterday"}, "start_date: “yesterday” is not a W3C datetime"),
        ({"start_date": "2026-11-28T15:04:05"}, "start_date: “2026-11-28T15:04:05” is not a"),
        ({"end_date": "2026-02-30"}, "end_date: “2026-02-30” is not a W3C datetime"),
        ({"end_date": "2026-11-28T25:00:00Z"}, "end_date: “2026-11-28T25:00:00Z” is not a"),
        (
            {"start_date": "2026-11-28T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"},
            "start_date: the start is after end_date.",
        ),
        (
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"},
            "end_date: a search may span at most 90 days.",
        ),
        ({"status": "pending"}, "status: “pending” is not a status; give open or closed."),
        ({"service_request_id": "12,abc"}, "service_request_id: “abc” is not a service request"),
    ],
)
def test_bad_get_requests_parameters_are_400(desk, api, fmt, params, message):
    reply = api.get("requests", fmt, **params)
    assert reply.status == 400
    (description,) = errors_of(reply)
    assert description.startswith(message), description


def test_get_requests_returns_at_most_1000(desk, api, monkeypatch):
    monkeypatch.setattr("complaints.open311.selectors.MAX_REQUESTS", 3)
    made = _tickets(desk, 5)
    reply = api.get("requests")
    assert [r["service_request_id"] for r in reply.data] == [str(t.pk) for t in made[:1:-1]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_runs_a_fixed_number_of_queries(desk, api, key, fmt):
    def count_for(path: str, **params) -> int:
        with CaptureQueriesContext(connection) as queries:
            reply = api.get(path, fmt, **params)
        assert reply.status == 200
        return len(queries.captured_queries)

    _tickets(desk, 2, is_public=True, department_kind="jiaotong")
    (posted,) = api.post(**good_post(key)).data
    small = [count_for("requests"), count_for(f"requests/{posted['service_request_id']}")]
    assert len(api.get("requests").data) == 3
    _tickets(desk, 12, department_kind="zhujian")
    _tickets(desk, 6, kind="report")  # never listed
    large = [count_for("requests"), count_for(f"requests/{posted['service_request_id']}")]
    assert len(api.get("requests").data) == 15
    assert small == large == [1, 1]


# ---------------------------------------------------------------- keys


def test_open311_key_command_prints_a_key_that_works(desk, api, settings):
    out, err = io.StringIO(), io.StringIO()
    call_command("open311_key", "某区数字城管", stdout=out, stderr=err)
    issued = out.getvalue().strip()
    assert len(issued) == 43
    row = Open311Key.objects.get(name="某区数字城管")
    assert row.prefix == issued[:8]
    assert row.key_hash != issued and issued not in row.key_hash
    assert row.prefix in err.getvalue()
    assert api.post(**good_post(issued)).status == 200
    row.refresh_from_db()
    assert row.last_used_at is not None

    with pytest.raises(CommandError, match="already exists"):
        call_command("open311_key", "某区数字城管", stdout=io.StringIO(), stderr=io.StringIO())
    assert Open311Key.objects.count() == 1

    open311_key_set_active(keys=[row], active=False)
    before = stored()
    refused = api.post(**good_post(issued))
    assert refused.status == 403
    assert stored() == before


def test_admin_issues_a_key_once_and_deactivates_it(desk, api):
    admin_client = Client()
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the message is read in English
    admin_client.force_login(StaffFactory(is_superuser=True))
    response = admin_client.post(
        "/admin/complaints/open311key/add/", {"name": "网格平台"}, follow=True
    )
    assert response.status_code == 200
    (message,) = [str(m) for m in response.context["messages"] if "api_key" in str(m)]
    row = Open311Key.objects.get(name="网格平台")
    issued = message.split(" is ")[1].split(" ")[0]
    assert issued.startswith(row.prefix)
    assert api.post(**good_post(issued)).status == 200
    # the key is not shown again
    page = admin_client.get(f"/admin/complaints/open311key/{row.pk}/change/")
    assert issued.encode() not in page.content

    admin_client.post(
        "/admin/complaints/open311key/",
        {"action": "deactivate", "_selected_action": [row.pk]},
    )
    row.refresh_from_db()
    assert row.is_active is False
    assert api.post(**good_post(issued)).status == 403

"""Control characters (C0 but tab, LF and CR; DEL; lone surrogates) are refused with a 400 wherever
text comes in: paths, query strings, forms, multipart fields, JSON bodies, Open311 posts. The
answer takes the surface's shape and nothing is written."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from axes.models import AccessAttempt
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from complaints.models import AssistantQuestion, Ticket, TicketEvent
from complaints.open311.keys import open311_key_issue
from tests.complaints.desk import desk  # noqa: F401  (the complaints-desk scenario)
from tests.factories import PASSWORD, UserFactory, make_id_number
from zheliban.accounts.models import User

pytestmark = pytest.mark.django_db

MESSAGE = (
    "The text contains a control character (such as NUL) that cannot be accepted. "
    "Remove it and send again."
)
CONTROLS = ["%00", "%01", "%1F", "%7F", "%0B"]
NOISE = "小区门口道路施工噪音很大，晚上十一点还在施工，影响休息。"

PAGES = [
    "/?x={c}",
    "/services/?q=a{c}b",
    "/services/?q=社保&region={c}",
    "/services/items/a{c}b/",
    "/services/bundles/?q={c}",
    "/departments/?q={c}",
    "/knowledge/?q={c}",
    "/assistant/?q=社保卡{c}",
    "/board/?level={c}",
    "/board/department/x{c}/",
    "/accounts/login/?next=/{c}",
    "/tickets/new/?content={c}",
    "/admin/login/?next={c}",
    "/services/?{c}=1",
]
API_READS = [
    "/api/v1/assistant/?q={c}",
    "/api/v1/assistant/?q=a{c}b",
    "/api/v1/items/?search={c}",
    "/api/v1/departments/?region={c}",
    "/api/v1/regions/?q={c}",
    "/api/v1/bundles/?page={c}",
    "/api/v1/scoreboard/?period={c}",
    "/api/v1/tickets/stats/?from={c}",
    "/api/v1/me/?x={c}",
    "/api/v1/?format=json&x={c}",
    "/api/v1/items/a{c}b/",
]
OPEN311_READS = [
    "requests.{fmt}?service_code={c}",
    "requests.{fmt}?status=open&start_date={c}",
    "services.{fmt}?jurisdiction_id={c}",
    "discovery.{fmt}?{c}=1",
    "tokens/a{c}b.{fmt}",
]


def writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")
    ]


def refused_page(response) -> None:
    assert response.status_code == 400
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    assert f'<p role="alert">{MESSAGE}</p>' in page
    assert "<h1>The request cannot be accepted</h1>" in page


def refused_api(response, fields: list[str] | None = None) -> None:
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    error = {"code": "control_character", "message": MESSAGE}
    if fields:
        error["fields"] = {name: [MESSAGE] for name in fields}
    assert response.json() == {"error": error}


def refused_open311(response, fmt: str) -> None:
    assert response.status_code == 400
    if fmt == "xml":
        assert response["Content-Type"] == "text/xml; charset=utf-8"
        assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
        root = ET.fromstring(response.content)  # noqa: S314  (our own server's answer)
        assert root.tag == "errors"
        assert [(e.findtext("code"), e.findtext("description")) for e in root] == [("400", MESSAGE)]
    else:
        assert response["Content-Type"] == "application/json; charset=utf-8"
        assert response.json() == [{"code": 400, "description": MESSAGE}]


@pytest.fixture
def scenario(request):
    """The complaints desk of ``tests.complaints.desk`` (a city, its desk, three departments)."""
    return request.getfixturevalue("desk")


@pytest.fixture
def en(client) -> Client:
    client.cookies["zhb_lang"] = "en"
    return client


# ------------------------------------------------------------------ pages


@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize("url", PAGES)
def test_pages_refuse_control_characters_in_the_address(en, url, control):
    with CaptureQueriesContext(connection) as queries:
        response = en.get(url.format(c=control))
    refused_page(response)
    assert len(queries) == 0
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response


def test_a_page_refusal_is_in_chinese_by_default(client):
    response = client.get("/services/?q=a%00b")
    assert response.status_code == 400
    page = response.content.decode()
    assert '<html lang="zh-Hans">' in page
    assert response["Content-Language"] == "zh-hans"


def test_a_logged_in_page_refusal_reads_but_writes_nothing(en):
    en.force_login(UserFactory())
    with CaptureQueriesContext(connection) as queries:
        response = en.get("/services/?q=a%00b")
    refused_page(response)
    assert writes(queries) == []


def _registration(**overrides) -> dict:
    return {
        "kind": "citizen",
        "real_name": "赵六",
        "id_number": make_id_number(7),
        "credit_code": "",
        "phone": "13900001111",
        "password": PASSWORD,
        "password_again": PASSWORD,
        **overrides,
    }


@pytest.mark.parametrize("control", ["\x00", "\x01", "\x08", "\x0c", "\x1b", "\x7f"])
@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_form_posts_refuse_control_characters_and_write_nothing(en, control, encoding):
    data = _registration(real_name=f"赵{control}六")
    with CaptureQueriesContext(connection) as queries:
        if encoding == "multipart":
            response = en.post("/accounts/register/", data)
        else:
            response = en.post(
                "/accounts/register/",
                urlencode(data),
                content_type="application/x-www-form-urlencoded",
            )
    refused_page(response)
    assert writes(queries) == []
    assert not User.objects.exists()


def test_a_control_character_in_a_field_name_is_refused(en):
    data = {**_registration(), "x\x00y": "1"}
    response = en.post("/accounts/register/", data)
    refused_page(response)
    assert not User.objects.exists()


def test_tab_newline_and_carriage_return_pass(en):
    response = en.post("/accounts/register/", _registration(real_name="赵\t六\r\n"))
    assert response.status_code == 302
    assert User.objects.get().real_name == "赵\t六"


def test_a_login_with_a_control_character_is_refused_and_not_counted(en):
    user = UserFactory()
    for spelling in (f"{user.phone}\x00", f"\x00{user.username}"):
        refused_page(en.post("/accounts/login/", {"username": spelling, "password": PASSWORD}))
    refused_page(en.post("/accounts/login/", {"username": user.phone, "password": "a\x00"}))
    assert not AccessAttempt.objects.exists()
    assert "_auth_user_id" not in en.session


def test_a_ticket_form_with_a_control_character_writes_nothing(en, scenario):
    en.force_login(scenario.citizen)
    data = {
        "kind": "complaint",
        "title": "夜间施工噪音扰民",
        "content": NOISE + "\x00",
        "region": scenario.district.pk,
        "address": "文三路 100 号",
        "step": "send",
    }
    with CaptureQueriesContext(connection) as queries:
        response = en.post("/tickets/new/", data)
    refused_page(response)
    assert writes(queries) == []
    assert not Ticket.objects.exists()
    assert not TicketEvent.objects.exists()


# ------------------------------------------------------------------ the API


@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize("url", API_READS)
def test_api_reads_refuse_control_characters(client, url, control):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url.format(c=control), HTTP_ACCEPT_LANGUAGE="en")
    names = {
        "?q={c}": ["q"],
        "?q=a{c}b": ["q"],
        "search=": ["search"],
        "region=": ["region"],
        "page=": ["page"],
        "period=": ["period"],
        "from=": ["from"],
        "x=": ["x"],
    }
    fields = next((v for k, v in names.items() if k in url), None)
    refused_api(response, fields)
    assert len(queries) == 0


def test_the_assistant_logs_no_question_for_a_refused_query(client):
    response = client.get("/api/v1/assistant/?q=%E7%A4%BE%E4%BF%9D%00", HTTP_ACCEPT_LANGUAGE="en")
    refused_api(response, ["q"])
    assert not AssistantQuestion.objects.exists()
    assert client.get("/assistant/?q=%E7%A4%BE%E4%BF%9D%00").status_code == 400
    assert not AssistantQuestion.objects.exists()


def test_an_api_refusal_is_in_chinese_by_default(client):
    response = client.get("/api/v1/assistant/?q=%00")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "control_character"
    assert response["Content-Language"] == "zh-hans"


REGISTRATION = {
    "kind": "citizen",
    "real_name": "赵六",
    "id_number": make_id_number(8),
    "phone": "13900002222",
    "password": PASSWORD,
}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ('{"real_name": "赵\\u0000六"}', ["real_name"]),
        ('{"real_name": "\\u0001"}', ["real_name"]),
        ('{"real_name": "赵\\u007f"}', ["real_name"]),
        ('{"real_name": "\\u001F"}', ["real_name"]),
        ('{"real_name": "\\ud800"}', ["real_name"]),
        ('{"real_name": "\\udc00x"}', ["real_name"]),
        ('{"real_name\\u0000": "赵六"}', None),
        ('{"extra": {"deep": [1, {"k": ["ok", "x\\u0000"]}]}}', ["extra"]),
        ('{"extra": {"k\\u0000": 1}}', ["extra"]),
        ('["\\u0000"]', None),
        ('"\\u0000"', None),
    ],
)
def test_json_bodies_refuse_control_characters_at_any_depth(client, body, fields):
    document = {**REGISTRATION, **json.loads(body)} if body.startswith("{") else None
    raw = json.dumps(document, ensure_ascii=True) if document is not None else body
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            "/api/v1/accounts/register/",
            raw,
            content_type="application/json",
            HTTP_ACCEPT_LANGUAGE="en",
        )
    refused_api(response, fields)
    assert len(queries) == 0
    assert not User.objects.exists()


def test_json_tabs_newlines_astral_characters_and_escaped_backslashes_pass(client):
    body = {**REGISTRATION, "real_name": "赵\t六\n😀 \\u0000"}
    response = client.post(
        "/api/v1/accounts/register/",
        json.dumps(body, ensure_ascii=True),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 201, response.json()
    assert User.objects.get().real_name == "赵\t六\n😀 \\u0000"


def test_a_json_problem_the_parser_reports_is_left_to_it(client):
    response = client.post(
        "/api/v1/accounts/register/",
        '{"real_name": ',
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_json_nested_too_deeply_is_400_not_500(client):
    response = client.post(
        "/api/v1/accounts/register/",
        "[" * 100_000 + "]" * 100_000,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "json_too_deep", "message": "The JSON body is nested too deeply."}
    }


def test_an_oversized_api_body_is_refused_in_the_api_shape(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    body = json.dumps({**REGISTRATION, "real_name": "长" * 1_000})
    response = client.post(
        "/api/v1/accounts/register/",
        body,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "code": "request_too_large",
            "message": "The request is too large: send a shorter form or a smaller file.",
        }
    }
    assert not User.objects.exists()


def test_the_token_endpoint_refuses_and_counts_nothing(client):
    user = UserFactory()
    response = client.post(
        "/api/v1/auth/token/",
        json.dumps({"username": user.phone + "\u0000", "password": "x"}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    refused_api(response, ["username"])
    assert not AccessAttempt.objects.exists()


def _ticket_body(**fields) -> dict:
    return {
        "kind": "complaint",
        "title": "夜间施工噪音扰民",
        "content": NOISE,
        "region": "330106",
        "address": "文三路 100 号",
        **fields,
    }


@pytest.mark.parametrize("field", ["title", "content", "address"])
def test_the_tickets_api_refuses_json_and_multipart_and_writes_nothing(scenario, field):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(scenario.citizen)
    with CaptureQueriesContext(connection) as queries:
        as_json = client.post(
            "/api/v1/tickets/",
            json.dumps(_ticket_body(**{field: "噪音\u0000"})),
            content_type="application/json",
        )
        as_form = client.post("/api/v1/tickets/", _ticket_body(**{field: "噪音\x7f"}))
    refused_api(as_json, [field])
    refused_api(as_form, [field])
    assert writes(queries) == []
    assert not Ticket.objects.exists()
    # The same ticket without the control character goes through.
    assert (
        client.post("/api/v1/tickets/", _ticket_body(), content_type="application/json").status_code
        == 201
    )
    assert Ticket.objects.count() == 1


def test_ticket_actions_refuse_a_control_character_in_a_note(scenario):
    ticket = scenario.ticket()
    events = TicketEvent.objects.filter(ticket=ticket).count()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(scenario.dispatcher)
    response = client.post(
        f"/api/v1/tickets/{ticket.pk}/actions/",
        json.dumps({"action": "dispatch", "department": "330100-zhujian", "note": "a\u0000"}),
        content_type="application/json",
    )
    refused_api(response, ["note"])
    ticket.refresh_from_db()
    assert ticket.department_id is None
    assert TicketEvent.objects.filter(ticket=ticket).count() == events


# ------------------------------------------------------------------ Open311


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize("path", OPEN311_READS)
def test_open311_reads_refuse_control_characters(client, path, control, fmt):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(
            "/open311/v2/" + path.format(c=control, fmt=fmt), HTTP_ACCEPT_LANGUAGE="en"
        )
    refused_open311(response, fmt)
    assert len(queries) == 0


def _open311_post(key: str, **overrides) -> dict:
    return {
        "api_key": key,
        "service_code": "construction",
        "lat": "30.274085",
        "long": "120.155070",
        "address_string": "文三路 100 号",
        "email": "zhang@example.com",
        "first_name": "三",
        "last_name": "张",
        "phone": "+86 139 1234 5678",
        "description": NOISE,
        "attribute[kind]": "complaint",
        "attribute[region]": "330106",
        **overrides,
    }


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    "overrides",
    [
        {"description": NOISE + "\x00"},
        {"first_name": "\x01三"},
        {"attribute[kind]": "complaint\x7f"},
        {"api_key\x00": "x"},
    ],
)
@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_open311_posts_refuse_control_characters_and_write_nothing(
    scenario, fmt, overrides, encoding
):
    _row, key = open311_key_issue(name="城市随手拍")
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    data = _open311_post(key, **overrides)
    with CaptureQueriesContext(connection) as queries:
        if encoding == "multipart":
            response = client.post(f"/open311/v2/requests.{fmt}", data)
        else:
            response = client.post(
                f"/open311/v2/requests.{fmt}",
                urlencode(data),
                content_type="application/x-www-form-urlencoded",
            )
    refused_open311(response, fmt)
    assert writes(queries) == []
    assert not Ticket.objects.exists()
    good = client.post(
        f"/open311/v2/requests.{fmt}",
        urlencode(_open311_post(key)),
        content_type="application/x-www-form-urlencoded",
    )
    assert good.status_code == 200
    assert Ticket.objects.count() == 1


def test_an_open311_refusal_is_in_chinese_by_default(client):
    response = client.get("/open311/v2/requests.json?service_code=%00")
    assert response.status_code == 400
    (error,) = response.json()
    assert error["code"] == 400
    assert response["Content-Language"] == "zh-hans"

"""A request whose ``Content-Length`` is above ``REQUEST_BODY_MAX_BYTES`` is refused with 413
before a byte of its body is read (``RequestSizeMiddleware``), in the shape of the surface asked,
in the asker's language, and nothing is written; a body of exactly the limit goes through.

The refused requests carry a ``wsgi.input`` that fails the test when anything reads it. The same
limit under a real gunicorn, with the connection closed afterwards, is in ``test_web_process.py``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.template.defaultfilters import filesizeformat
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext

from complaints.models import Ticket
from tests.complaints.desk import desk  # noqa: F401  (the complaints-desk scenario)

pytestmark = pytest.mark.django_db

LIMIT = 64 * 1024
TICKETS = "/api/v1/tickets/"
TICKET_PAGE = "/tickets/new/"
OPEN311 = "/open311/v2/requests.{fmt}"
SOURCE_MESSAGE = "The request is larger than %(size)s: send smaller or fewer files."
# filesizeformat keeps the number and its unit together with a no-break space.
ENGLISH = "The request is larger than 64.0\xa0KB: send smaller or fewer files."
NOISE = "小区门口道路施工噪音很大，晚上十一点还在施工，影响休息。"


class UnreadableBody:
    """A ``wsgi.input`` that fails the test at the first attempt to read the body."""

    def read(self, *args):
        raise AssertionError("the body of a refused request was read")

    readline = readlines = read

    def __iter__(self):
        return self.read()


@pytest.fixture(autouse=True)
def body_limit(settings):
    settings.REQUEST_BODY_MAX_BYTES = LIMIT


@pytest.fixture
def scenario(request):
    """The complaints desk of ``tests.complaints.desk`` (a city, its desk, three departments)."""
    return request.getfixturevalue("desk")


def chinese() -> str:
    """The message as a Chinese-speaking visitor reads it (what the catalog says)."""
    with translation.override("zh-hans"):
        return gettext(SOURCE_MESSAGE) % {"size": filesizeformat(LIMIT)}


def post_unread(client: Client, path: str, *, length: int = LIMIT + 1, **extra):
    """POST announcing ``length`` bytes whose body must never be read."""
    # The test client sets the type and length only for a body it is given: set them here.
    return client.generic(
        "POST",
        path,
        CONTENT_TYPE="multipart/form-data; boundary=zhb",
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": UnreadableBody()},
        **extra,
    )


def writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")
    ]


def ticket_json(length: int) -> bytes:
    """A valid anonymous ticket as JSON, padded with trailing whitespace to ``length`` bytes."""
    body = json.dumps(
        {
            "kind": "complaint",
            "title": "夜间施工噪音扰民",
            "content": NOISE,
            "region": "330106",
            "address": "文三路 100 号",
            "anonymous": True,
        },
        ensure_ascii=False,
    ).encode()
    assert len(body) <= length
    return body + b" " * (length - len(body))


# ------------------------------------------------------------------ the API


@pytest.mark.parametrize("length", [LIMIT + 1, 10 * LIMIT, 50 * 1024 * 1024 * 1024])
def test_the_api_refuses_an_oversized_body_unread_and_writes_nothing(scenario, length):
    scenario.ticket()
    before = Ticket.objects.count()
    with CaptureQueriesContext(connection) as queries:
        response = post_unread(Client(), TICKETS, length=length, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "request_too_large", "message": ENGLISH}}
    assert writes(queries) == []
    assert Ticket.objects.count() == before


def test_an_api_refusal_is_in_chinese_by_default():
    response = post_unread(Client(), TICKETS)
    assert response.status_code == 413
    assert response["Content-Language"] == "zh-hans"
    assert response.json() == {"error": {"code": "request_too_large", "message": chinese()}}


def test_the_refusal_comes_before_authentication_and_csrf():
    """A logged-out POST without a CSRF token to an endpoint that needs both is still told the
    size is the problem: nothing else was looked at."""
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    response = post_unread(client, "/api/v1/me/")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


# ------------------------------------------------------------------ Open311


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_refuses_an_oversized_body_in_its_error_array(scenario, fmt):
    before = Ticket.objects.count()
    with CaptureQueriesContext(connection) as queries:
        response = post_unread(Client(), OPEN311.format(fmt=fmt), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    if fmt == "xml":
        assert response["Content-Type"] == "text/xml; charset=utf-8"
        root = ET.fromstring(response.content)  # noqa: S314  (our own server's answer)
        assert root.tag == "errors"
        assert [(e.findtext("code"), e.findtext("description")) for e in root] == [("413", ENGLISH)]
    else:
        assert response["Content-Type"] == "application/json; charset=utf-8"
        assert response.json() == [{"code": 413, "description": ENGLISH}]
    assert writes(queries) == []
    assert Ticket.objects.count() == before


def test_an_open311_refusal_is_in_chinese_by_default():
    response = post_unread(Client(), OPEN311.format(fmt="json"))
    assert response.status_code == 413
    assert response["Content-Language"] == "zh-hans"
    assert response.json() == [{"code": 413, "description": chinese()}]


# ------------------------------------------------------------------ pages


def test_a_page_refuses_an_oversized_form_unread_with_a_page(scenario):
    client = Client()
    client.force_login(scenario.citizen)
    client.cookies["zhb_lang"] = "en"
    before = Ticket.objects.count()
    with CaptureQueriesContext(connection) as queries:
        response = post_unread(client, TICKET_PAGE)
    assert response.status_code == 413
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    assert "<h1>The request cannot be accepted</h1>" in page
    assert f'<p role="alert">{ENGLISH}</p>' in page
    assert writes(queries) == []
    assert Ticket.objects.count() == before


def test_a_page_refusal_is_in_chinese_by_default():
    response = post_unread(Client(), TICKET_PAGE, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    assert response["Content-Language"] == "zh-hans"
    page = response.content.decode()
    assert '<html lang="zh-Hans">' in page
    assert "<h1>无法受理该请求</h1>" in page
    assert f'<p role="alert">{chinese()}</p>' in page


# ------------------------------------------------------------------ the limit itself


def test_a_body_of_exactly_the_limit_goes_through_and_one_byte_more_does_not(scenario):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    at_limit = client.post(TICKETS, ticket_json(LIMIT), content_type="application/json")
    assert at_limit.status_code == 201, at_limit.content
    assert Ticket.objects.count() == 1

    over = client.post(TICKETS, ticket_json(LIMIT + 1), content_type="application/json")
    assert over.status_code == 413
    assert over.json()["error"]["code"] == "request_too_large"
    assert Ticket.objects.count() == 1

"""The API's query parameters are its schema's: one no operation documents answers 400 naming
it, before the view runs, and nothing changes."""

from __future__ import annotations

import pytest
from django.test import Client

from complaints.models import Ticket
from tests.factories import UserFactory
from zheliban.core.strict_query import allowed_query_parameters


def _english() -> Client:
    client = Client()
    client.cookies["zhb_lang"] = "en"
    return client


@pytest.mark.django_db
def test_an_unknown_query_parameter_is_named_and_refused():
    client = _english()
    response = client.get("/api/v1/items/", {"onlne": "1", "page": "1"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_parameter"
    assert error["fields"] == {"onlne": ["Not a parameter of this operation."]}
    assert error["message"].startswith("Unknown query parameters: onlne. This operation takes: ")
    assert "online" in error["message"]
    # the documented ones pass, in any combination
    assert client.get("/api/v1/items/", {"online": "true", "page": "1"}).status_code == 200


@pytest.mark.django_db
def test_a_write_with_an_unknown_parameter_changes_nothing():
    citizen = UserFactory()
    client = _english()
    client.force_login(citizen)
    response = client.post(
        "/api/v1/tickets/?notify=0",
        {"kind": "complaint", "content": "路灯坏了两个星期，晚上很黑。"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"notify": ["Not a parameter of this operation."]}
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
def test_the_schema_is_the_list_and_pages_are_left_alone():
    from django.urls import resolve

    items = resolve("/api/v1/items/").func
    assert {"online", "page", "page_size", "search"} <= allowed_query_parameters(items, "GET")
    assert allowed_query_parameters(resolve("/").func, "GET") is None
    assert _english().get("/", {"anything": "1"}).status_code == 200

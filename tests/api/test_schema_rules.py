"""The rules ``zheliban.core.schema`` writes into the OpenAPI schema agree with the server's."""

from __future__ import annotations

import re

import pytest
import yaml
from django.test import Client
from rest_framework import serializers

from complaints import stats
from complaints.api.stats import DATE_IN_RANGE
from zheliban.core.schema import (
    NON_BLANK_TEXT_PATTERN,
    TEXT_PATTERN,
    form_variant,
    without_files,
)
from zheliban.core.text import CONTROL_CHARACTER

# Every character but the surrogates, which UTF-8 (and so JSON on the wire) cannot carry.
CHARACTERS = range(0xD800), range(0xE000, 0x110000)
# Above this no character is whitespace (``str.isspace``).
LAST_SPACE = 0x3000


def characters(limit: int = 0x110000):
    return (chr(c) for block in CHARACTERS for c in block if c <= limit)


@pytest.fixture(scope="module")
def schema() -> dict:
    return yaml.safe_load(Client().get("/api/schema/").content)


def test_the_text_pattern_refuses_exactly_the_refused_control_characters():
    text = re.compile(TEXT_PATTERN)
    disagreeing = [
        c for c in characters() if bool(text.match(c)) is bool(CONTROL_CHARACTER.search(c))
    ]
    assert disagreeing == []
    assert text.match("杭州市 西湖区\t文三路\r\n100 号")


def test_the_non_blank_pattern_is_what_a_trimmed_required_text_field_accepts():
    non_blank = re.compile(NON_BLANK_TEXT_PATTERN)
    field = serializers.CharField()
    assert not any(c.isspace() for c in characters() if ord(c) > LAST_SPACE)
    for c in characters(LAST_SPACE):
        value = f" {c}\t"
        try:
            field.run_validation(value)
        except serializers.ValidationError:
            accepted = False
        else:
            accepted = not CONTROL_CHARACTER.search(value)
        assert bool(non_blank.match(value)) is accepted, repr(c)


def test_the_stats_date_pattern_spans_the_dates_the_filter_takes():
    pattern = re.compile(DATE_IN_RANGE)
    assert pattern.match(stats.EARLIEST.isoformat())
    assert pattern.match(stats.LATEST.isoformat())
    assert not pattern.match("1999-12-31")
    assert not pattern.match("2100-01-01")


def test_a_form_body_reads_empty_as_null_and_a_json_body_carries_no_file():
    component = {
        "type": "object",
        "properties": {
            "link_to": {"type": "integer", "nullable": True, "description": "A ticket."},
            "title": {"type": "string"},
            "attachments": {"type": "array", "items": {"type": "string", "format": "binary"}},
        },
        "required": ["title", "attachments"],
    }
    assert form_variant(component)["properties"]["link_to"] == {
        "anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 0}],
        "description": "A ticket.",
    }
    assert form_variant(component)["properties"]["title"] == {"type": "string"}
    without_files(component)
    assert set(component["properties"]) == {"link_to", "title"}
    assert component["required"] == ["title"]


@pytest.mark.django_db
def test_every_link_names_an_operation_and_its_parameters(schema):
    operations = {
        operation["operationId"]: operation
        for path in schema["paths"].values()
        for operation in path.values()
    }
    links = [
        link
        for operation in operations.values()
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(links) >= 30
    for link in links:
        target = operations[link["operationId"]]
        names = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
        assert set(link["parameters"]) == names, link


@pytest.mark.django_db
def test_every_free_text_input_carries_the_text_pattern(schema):
    """No string an API request may carry, in a parameter or a body, lacks a pattern, a format
    or a list of values: a control character is refused everywhere."""
    components = schema["components"]["schemas"]

    def free_strings(node, where):
        if isinstance(node, dict):
            if "$ref" in node:
                return
            free = node.get("type") == "string" and not {"pattern", "format", "enum"} & set(node)
            if free and node.get("maxLength") != 0 and not node.get("readOnly"):
                yield where
            for key, value in node.items():
                yield from free_strings(value, f"{where}/{key}")
        elif isinstance(node, list):
            for n, value in enumerate(node):
                yield from free_strings(value, f"{where}/{n}")

    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "cookie":
                    found += free_strings(
                        parameter["schema"], f"{method} {path} {parameter['name']}"
                    )
    for name, component in components.items():
        if name.endswith("Request"):
            found += free_strings(component, name)
    assert found == []

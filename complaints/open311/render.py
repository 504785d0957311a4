"""Open311 responses in JSON and XML, and the spec's error array.

Every endpoint builds plain Python data (lists of dicts, ``None`` for an empty value) and one of
these functions writes it in the format the URL's extension asked for. XML follows the spec's
element names: a list of dicts becomes ``<root><item>…</item></root>``; a list of strings inside
an element (``formats``) becomes repeated child elements (``<formats><format>``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.functional import Promise

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

# The child element of each list the spec names in XML.
XML_ITEM = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}

# Characters XML 1.0 cannot carry at all (C0 controls but tab and newlines, surrogates, FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Open311Error(Exception):
    """A refused call: ``status`` is the HTTP answer, ``descriptions`` the spec's error list."""

    def __init__(self, status: int, descriptions: Iterable[str] | str) -> None:
        self.status = status
        self.descriptions = (
            [descriptions] if isinstance(descriptions, str | Promise) else list(descriptions)
        )
        super().__init__("; ".join(str(d) for d in self.descriptions))

    def data(self) -> list[dict[str, Any]]:
        return [{"code": self.status, "description": str(d)} for d in self.descriptions]


def w3c_datetime(value: dt.datetime | None) -> str | None:
    """``2026-11-28T15:04:05+08:00``: local time with its offset, whole seconds."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def _plain(value: Any) -> Any:
    if isinstance(value, Promise):
        return force_str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", force_str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list | tuple):
        item_tag = XML_ITEM[element.tag]
        for child in value:
            _fill(ET.SubElement(element, item_tag), child)
    else:
        element.text = _text(value)


def to_xml(root: str, data: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, data)
    return XML_DECLARATION + ET.tostring(element, encoding="utf-8", xml_declaration=False)


def to_json(data: Any) -> bytes:
    return json.dumps(_plain(data), ensure_ascii=False).encode("utf-8")


def respond(data: Any, *, fmt: str, root: str, status: int = 200) -> HttpResponse:
    body = to_xml(root, data) if fmt == "xml" else to_json(data)
    return HttpResponse(body, status=status, content_type=FORMATS[fmt])


def respond_error(error: Open311Error, *, fmt: str) -> HttpResponse:
    return respond(
        error.data(), fmt=fmt if fmt in FORMATS else "json", root="errors", status=error.status
    )

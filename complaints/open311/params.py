"""Reading Open311 parameters: the GET requests query and the POST requests form.

Everything here is syntax: a value that cannot be read becomes an ``Open311Error`` naming the
parameter; whatever needs the database (regions, keys) is checked by the service.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.translation import gettext as _

from zheliban.core.uploads import check_upload

from .catalog import SERVICE_BY_CODE, SINGLEVALUELIST, Service, service_get
from .render import Open311Error

MAX_REQUESTS = 1000  # the spec: at most 1000 requests per answer
DEFAULT_DAYS = 90  # the spec: without dates, the last 90 days; a range may not span more
DESCRIPTION_MAX_CHARS = 4000  # the spec: description is free text of at most 4,000 characters
NAME_MAX_CHARS = 60
CLIENT_ID_MAX_CHARS = 100
MEDIA_URL_MAX_CHARS = 500
STATUSES = ("open", "closed")
MEDIA_TYPES = ("jpg", "png")  # media is a photo of the problem

_REQUEST_ID = re.compile(r"^\d{1,18}$")
_W3C = re.compile(
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2}))?$"
)
# an unencoded "+08:00" in a query string arrives as " 08:00"
_SPACE_OFFSET = re.compile(r" (\d{2}:\d{2})$")
_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_REGION_CODE = re.compile(r"^\d{6}(\d{3})?$")


def unknown_service(code: str) -> str:
    return _("service_code: there is no service “%(code)s”; see services.json.") % {"code": code}


def jurisdiction_check(params: Mapping[str, Any]) -> None:
    """``jurisdiction_id`` is optional (this endpoint serves one jurisdiction); when given it
    must be ours."""
    value = (params.get("jurisdiction_id") or "").strip()
    expected = settings.OPEN311_JURISDICTION
    if value and value != expected:
        raise Open311Error(
            400,
            _("jurisdiction_id: unknown jurisdiction “%(value)s”; this endpoint serves “%(ours)s”.")
            % {"value": value, "ours": expected},
        )


def w3c_parse(value: str, name: str, *, end_of_day: bool = False) -> dt.datetime:
    """A W3C datetime with its zone (``2026-11-28T15:04:05+08:00``, ``…Z``) or a date, which is
    taken as local midnight (the day's end for an end bound)."""
    text = _SPACE_OFFSET.sub(r"+\1", value.strip())
    problem = _(
        "%(name)s: “%(value)s” is not a W3C datetime with a time zone, "
        "e.g. 2026-11-28T15:04:05+08:00."
    ) % {"name": name, "value": value}
    if not _W3C.match(text):
        raise Open311Error(400, problem)
    try:
        if "T" not in text:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min)
            return timezone.make_aware(moment)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise Open311Error(400, problem) from error


def _comma_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


@dataclass(frozen=True)
class RequestsQuery:
    ids: list[int] | None = None
    services: list[Service] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    statuses: list[str] | None = None


def requests_query_parse(params: Mapping[str, Any], *, now: dt.datetime) -> RequestsQuery:
    """GET requests: ``service_request_id`` (a comma-separated list, overriding the rest), or
    ``service_code`` and ``status`` (comma-separated lists) within ``start_date``–``end_date``
    (the last 90 days by default, at most 90 days)."""
    ids_text = _comma_list(params.get("service_request_id"))
    if ids_text:
        bad = [i for i in ids_text if not _REQUEST_ID.match(i)]
        if bad:
            raise Open311Error(
                400,
                _("service_request_id: “%(value)s” is not a service request id.")
                % {"value": bad[0]},
            )
        if len(ids_text) > MAX_REQUESTS:
            raise Open311Error(
                400,
                _("service_request_id: ask for at most %(max)d requests at once.")
                % {"max": MAX_REQUESTS},
            )
        return RequestsQuery(ids=list(dict.fromkeys(int(i) for i in ids_text)))

    services = None
    codes = _comma_list(params.get("service_code"))
    if codes:
        unknown = [c for c in codes if c not in SERVICE_BY_CODE]
        if unknown:
            raise Open311Error(404, unknown_service(unknown[0]))
        services = [SERVICE_BY_CODE[c] for c in dict.fromkeys(codes)]

    statuses = None
    status_text = _comma_list(params.get("status"))
    if status_text:
        bad = [s for s in status_text if s not in STATUSES]
        if bad:
            raise Open311Error(
                400,
                _("status: “%(value)s” is not a status; give open or closed.") % {"value": bad[0]},
            )
        statuses = list(dict.fromkeys(status_text))

    start_text = (params.get("start_date") or "").strip()
    end_text = (params.get("end_date") or "").strip()
    start = w3c_parse(start_text, "start_date") if start_text else None
    end = w3c_parse(end_text, "end_date", end_of_day=True) if end_text else None
    span = dt.timedelta(days=DEFAULT_DAYS)
    if start is None and end is None:
        start, end = now - span, None
    elif start is None:
        start = end - span
    elif end is None:
        end = start + span
    if end is not None and start > end:
        raise Open311Error(400, _("start_date: the start is after end_date."))
    if end is not None and end - start > span:
        raise Open311Error(
            400,
            _("end_date: a search may span at most %(days)d days.") % {"days": DEFAULT_DAYS},
        )
    return RequestsQuery(services=services, start=start, end=end, statuses=statuses)


@dataclass
class RequestForm:
    """A POST requests form, read: what the service still needs to check against the database."""

    service: Service
    attributes: dict[str, str] = field(default_factory=dict)
    lat: str = ""
    long: str = ""
    address_string: str = ""
    address_id: str = ""
    email: str = ""
    phone: str = ""
    name: str = ""
    device_id: str = ""
    account_id: str = ""
    description: str = ""
    media_url: str = ""
    uploads: list = field(default_factory=list)


def _one(data, key: str) -> str:
    return (data.get(key) or "").strip()


def _phone(value: str) -> str:
    value = re.sub(r"[\s()]", "", value)
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            return value[len(prefix) :].lstrip("-")
    return value


def request_form_parse(data, files) -> RequestForm:
    """POST requests: ``service_code``, a location (``lat`` and ``long``, ``address_string`` or
    ``address_id``), ``attribute[code]`` values, the reporter's contact, ``description``,
    ``media_url`` and an optional ``media`` upload. ``data`` is the POST QueryDict."""
    code = _one(data, "service_code")
    if not code:
        raise Open311Error(400, _("service_code: give the code of a service; see services.json."))
    service = service_get(code)
    if service is None:
        raise Open311Error(404, unknown_service(code))

    errors: list[str] = []
    form = RequestForm(
        service=service,
        lat=_one(data, "lat"),
        long=_one(data, "long"),
        address_string=_one(data, "address_string"),
        address_id=_one(data, "address_id"),
        email=_one(data, "email"),
        phone=_phone(_one(data, "phone")),
        device_id=_one(data, "device_id"),
        account_id=_one(data, "account_id"),
        description=(data.get("description") or "").strip(),
        media_url=_one(data, "media_url"),
        uploads=list(files.getlist("media")) if files else [],
    )

    if not (form.lat or form.long or form.address_string or form.address_id):
        errors.append(
            _("missing location: give lat and long, address_string or address_id (a region code).")
        )
    if form.address_id and not _REGION_CODE.match(form.address_id):
        errors.append(
            _(
                "address_id: “%(value)s” is not a region code of six digits, or nine for a "
                "street (GB/T 2260)."
            )
            % {"value": form.address_id}
        )

    first, last = _one(data, "first_name"), _one(data, "last_name")
    if first.isascii() and last.isascii():
        form.name = " ".join(p for p in (first, last) if p)
    else:  # Chinese order: family name first, no space
        form.name = f"{last}{first}"
    if len(form.name) > NAME_MAX_CHARS:
        errors.append(
            _("first_name, last_name: the name can have at most %(max)d characters.")
            % {"max": NAME_MAX_CHARS}
        )
    for key in ("device_id", "account_id"):
        if len(getattr(form, key)) > CLIENT_ID_MAX_CHARS:
            errors.append(
                _("%(key)s: at most %(max)d characters.") % {"key": key, "max": CLIENT_ID_MAX_CHARS}
            )

    if len(form.description) > DESCRIPTION_MAX_CHARS:
        errors.append(
            _("description: write at most %(max)d characters (this has %(count)d).")
            % {"max": DESCRIPTION_MAX_CHARS, "count": len(form.description)}
        )

    if form.media_url:
        try:
            if len(form.media_url) > MEDIA_URL_MAX_CHARS:
                raise ValidationError("too long")
            URLValidator(schemes=["http", "https"])(form.media_url)
        except ValidationError:
            errors.append(
                _("media_url: give an http or https address of at most %(max)d characters.")
                % {"max": MEDIA_URL_MAX_CHARS}
            )

    for upload in form.uploads:
        try:
            check_upload(upload, allowed=MEDIA_TYPES)
        except ValidationError as error:
            errors.extend(
                _("media: %(problem)s") % {"problem": message} for message in error.messages
            )
    errors.extend(_attributes_read(data, service, form.attributes))
    if errors:
        raise Open311Error(400, errors)
    return form


def _attributes_read(data, service: Service, into: dict[str, str]) -> list[str]:
    errors = []
    for key in data:
        if not key.startswith("attribute"):
            continue
        match = _ATTRIBUTE_KEY.match(key)
        if match is None:
            errors.append(
                _(
                    "%(key)s: not an attribute key; write attribute[code] with a code from the "
                    "service definition."
                )
                % {"key": key}
            )
            continue
        code, as_list = match.groups()
        attribute = service.attribute(code)
        if attribute is None:
            errors.append(
                _("%(key)s: the service “%(service)s” has no attribute “%(code)s”.")
                % {"key": key, "service": service.code, "code": code}
            )
            continue
        values = data.getlist(key)
        if as_list or len(values) != 1:
            errors.append(_("%(key)s: give one value.") % {"key": key})
            continue
        value = values[0].strip()
        if not value:  # an optional attribute left empty is not given
            continue
        if attribute.datatype == SINGLEVALUELIST and value not in attribute.keys:
            errors.append(
                _("%(key)s: “%(value)s” is not one of %(keys)s.")
                % {
                    "key": key,
                    "value": value,
                    "keys": ", ".join(k for k, _name in attribute.values),
                }
            )
            continue
        if attribute.max_length and len(value) > attribute.max_length:
            errors.append(
                _("%(key)s: at most %(max)d characters.")
                % {"key": key, "max": attribute.max_length}
            )
            continue
        if code == "region" and not _REGION_CODE.match(value):
            errors.append(
                _(
                    "%(key)s: “%(value)s” is not a region code of six digits, or nine for a "
                    "street (GB/T 2260)."
                )
                % {"key": key, "value": value}
            )
            continue
        into[code] = value
    for attribute in service.attributes:
        if attribute.required and attribute.code not in into:
            errors.append(
                _("attribute[%(code)s]: this attribute is required.") % {"code": attribute.code}
            )
    return errors

"""Open311 writes: a POST requests becomes a ticket through the desk's ``ticket_submit``.

The key is checked first (403), then the form (400, every problem at once), then the ticket
service, whose ``TicketInvalid`` is worded back in Open311 parameter names. Nothing is stored
unless the ticket is: the key's ``last_used_at`` is set in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from complaints.models import Open311Key, Ticket
from complaints.services import TicketInvalid, ticket_submit
from departments.models import Region
from departments.selectors import boundaries_loaded, region_at

from .keys import open311_key_check, open311_key_touch
from .params import RequestForm, request_form_parse
from .render import Open311Error

# The ticket service's field names, in Open311's words.
PARAMETER_OF_FIELD = {
    "content": "description",
    "title": "attribute[title]",
    "kind": "attribute[kind]",
    "region": "attribute[region]",
    "address": "address_string",
    "latitude": "lat",
    "longitude": "long",
    "contact_phone": "phone",
    "contact_email": "email",
    "attachments": "media",
}


@dataclass(frozen=True)
class Submitted:
    ticket: Ticket
    service_notice: str


def _trimmed(code: str) -> str:
    """A region code without its trailing "00" pairs: 330100 → 3301, so that a region's code
    starts with those of the regions above it."""
    while code.endswith("00") and len(code) > 2:
        code = code[:-2]
    return code


def _region_of_point(form: RequestForm) -> tuple[Region | None, str]:
    """The region the reported point lies in, by the province's boundaries, with the code the
    boundaries give (none when no point was given or no boundaries are loaded); a point
    outside the province is refused. The region is the nearest one the portal has: the
    district, else its city, else the province."""
    try:
        lat, lng = float(form.lat), float(form.long)
    except ValueError:
        return None, ""  # the ticket's own checks name what is wrong with the numbers
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or not boundaries_loaded():
        return None, ""
    located = region_at(lng, lat)
    if located is None:
        raise Open311Error(
            400,
            _(
                "lat, long: the point (%(lat)s, %(long)s) lies outside the province; this "
                "endpoint takes requests from its own jurisdiction only."
            )
            % {"lat": form.lat, "long": form.long},
        )
    code = located.region_code
    codes = [code, code[:4] + "00", code[:2] + "0000"]
    found = {r.code: r for r in Region.objects.filter(code__in=codes)}
    return next((found[c] for c in codes if c in found), None), code


def _region(form: RequestForm) -> Region | None:
    """The region attribute, else the address_id (a region code), else the region the point
    lies in, else the region the address names, else the default region. A point outside the
    region named is refused."""
    wanted = form.attributes.get("region") or form.address_id
    if (
        form.attributes.get("region")
        and form.address_id
        and form.attributes["region"] != form.address_id
    ):
        raise Open311Error(
            400, _("address_id: it differs from attribute[region]; give one region.")
        )
    located, code = _region_of_point(form)
    if code and wanted:
        inner, outer = sorted((_trimmed(wanted), _trimmed(code)), key=len, reverse=True)
        if not inner.startswith(outer):
            raise Open311Error(
                400,
                _("lat, long: the point lies in region %(found)s, not in region %(code)s.")
                % {"found": code, "code": wanted},
            )
    if wanted:
        region = Region.objects.filter(code=wanted).first()
        if region is None:
            name = "attribute[region]" if form.attributes.get("region") else "address_id"
            raise Open311Error(
                400, _("%(key)s: there is no region %(code)s.") % {"key": name, "code": wanted}
            )
        return region
    if located is not None:
        return located
    named = _region_named_in(form.address_string)
    if named is not None:
        return named
    return Region.objects.filter(code=settings.OPEN311_DEFAULT_REGION).first()


def _region_named_in(address: str) -> Region | None:
    """The most precise region whose name the address contains (“杭州市西湖区文三路” → 西湖区,
    “西湖区北山街道” → 北山街道),
    when exactly one region of that level is named; None otherwise. One query."""
    if not address:
        return None
    named = [r for r in Region.objects.only("code", "name", "level") if r.name in address]
    for level in (Region.Level.STREET, Region.Level.COUNTY, Region.Level.CITY):
        found = [r for r in named if r.level == level]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return None  # two districts named: do not guess
    return None


def _notice(ticket: Ticket) -> str:
    queued = ticket.events.filter(action="queue").values_list("data", flat=True).first() or {}
    if queued.get("duplicates"):
        return _(
            "Received: it looks like %(tickets)s, still open; the desk will link them or send "
            "it on by %(date)s."
        ) % {"tickets": ", ".join(queued["duplicates"]), "date": ticket.node_due_date}
    if ticket.state == Ticket.State.DISPATCHED and ticket.department_id:
        return _("Sent to %(department)s, who will sign for it by %(date)s.") % {
            "department": ticket.department.name,
            "date": ticket.node_due_date,
        }
    return _("Received: the desk will send it to the department that handles it by %(date)s.") % {
        "date": ticket.node_due_date
    }


def open311_request_submit(*, data, files=None) -> Submitted:
    """Take a POST requests (``data`` the form's QueryDict, ``files`` its uploads) in as a
    ticket, or raise ``Open311Error`` (403 for the key, 400 for the form) with nothing stored."""
    key: Open311Key | None = open311_key_check((data.get("api_key") or "").strip())
    if key is None:
        raise Open311Error(403, _("api_key: the key is missing, unknown or no longer active."))
    form = request_form_parse(data, files)
    region = _region(form)
    attributes = dict(form.attributes)
    kind = attributes.get("kind") or Ticket.Kind.COMPLAINT
    client = {
        name: value
        for name, value in (
            ("device_id", form.device_id),
            ("account_id", form.account_id),
            ("media_url", form.media_url),
            ("address_id", form.address_id),
        )
        if value
    }
    if client:
        attributes["client"] = client
    try:
        with transaction.atomic():
            ticket = ticket_submit(
                kind=kind,
                channel=Ticket.Channel.OPEN311,
                content=form.description,
                title=attributes.get("title", ""),
                region=region,
                address=form.address_string,
                latitude=form.lat or None,
                longitude=form.long or None,
                contact_name=form.name,
                contact_phone=form.phone,
                contact_email=form.email,
                is_public=attributes.get("public") == "true",
                uploads=form.uploads,
                api_key=key,
                service_code=form.service.code,
                attributes=attributes,
                department_kind=form.service.department_kind,
            )
            open311_key_touch(key)
    except TicketInvalid as error:
        raise Open311Error(
            400,
            [
                f"{PARAMETER_OF_FIELD.get(field, field)}: {message}"
                for field, messages in error.fields.items()
                for message in messages
            ],
        ) from error
    return Submitted(ticket=ticket, service_notice=_notice(ticket))

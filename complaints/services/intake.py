"""Taking a ticket in: its input checked, attachments, once per key, its first dispatch."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.errors import ComplaintsErrorCode
from departments.models import Region
from zheliban.core.idempotency import submit_once
from zheliban.core.machines import SYSTEM
from zheliban.core.notices import notify
from zheliban.core.uploads import check_upload, photo_without_metadata

from ..models import (
    SENDER,
    AssistantQuestion,
    Ticket,
    TicketAttachment,
)
from ..rollups import ticket_stats_mark
from ..selectors import duplicates_find
from .common import (
    CONTENT_MAX_CHARS,
    MAX_ATTACHMENTS,
    PHOTO_TYPES,
    TICKET_UPLOAD_TYPES,
    TITLE_MAX_CHARS,
    S,
    TicketInvalid,
)
from .dispatch import Suggestion, dispatch_suggest, nearest_department
from .loop import _step
from .moves import _event, _link_target_lock

# ---------------------------------------------------------------- input


def _decimal(value: Any, field: str, low: int, high: int, errors: dict) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append(_("Give a number."))
        return None
    if not number.is_finite() or not low <= number <= high:
        errors.setdefault(field, []).append(
            _("Give a number from %(low)s to %(high)s.") % {"low": low, "high": high}
        )
        return None
    return number.quantize(Decimal("0.000001"))


PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{5,8})$")


@dataclass
class CheckedFile:
    content: Any
    name: str
    content_type: str
    size: int
    metadata_removed: bool


def attachments_check(uploads: Sequence[Any]) -> list[CheckedFile]:
    """Each upload checked by content; photos re-encoded without their metadata."""
    if len(uploads) > MAX_ATTACHMENTS:
        raise ValidationError(
            _("Send at most %(count)d files.") % {"count": MAX_ATTACHMENTS},
            code=ComplaintsErrorCode.TOO_MANY,
        )
    checked = []
    for upload in uploads:
        found = check_upload(upload, allowed=TICKET_UPLOAD_TYPES)
        if found.extension in PHOTO_TYPES:
            content = photo_without_metadata(upload, found)
            checked.append(
                CheckedFile(content, found.original_name, found.mime, content.size, True)
            )
        else:
            upload.name = found.original_name  # stored under the name made safe
            checked.append(CheckedFile(upload, found.original_name, found.mime, found.size, False))
    return checked


def ticket_title(title: str, content: str) -> str:
    title = " ".join((title or "").split())
    if title:
        return title
    first = re.split(r"[。！？!?\n]", content.strip(), maxsplit=1)[0]
    return (first[:30] + "…") if len(first) > 30 else first


def ticket_validate(
    *,
    kind: str,
    channel: str,
    content: str,
    title: str = "",
    region: Region | None = None,
    address: str = "",
    latitude: Any = None,
    longitude: Any = None,
    contact_phone: str = "",
    contact_email: str = "",
    require_location: bool = True,
) -> dict[str, Any]:
    """Clean the fields of a new ticket or raise ``TicketInvalid`` naming each bad one."""
    errors: dict[str, list[str]] = {}
    if kind not in Ticket.Kind.values:
        errors["kind"] = [_("Choose what kind of message this is.")]
    if channel not in Ticket.Channel.values:
        errors["channel"] = [_("Unknown channel.")]
    content = (content or "").strip()
    if not content:
        errors["content"] = [_("Write what happened or what you want to ask.")]
    elif len(content) > CONTENT_MAX_CHARS:
        errors["content"] = [
            _("Write at most %(max)d characters (this has %(count)d).")
            % {"max": CONTENT_MAX_CHARS, "count": len(content)}
        ]
    title = " ".join((title or "").split())
    if len(title) > TITLE_MAX_CHARS:
        errors["title"] = [
            _("The title can have at most %(max)d characters.") % {"max": TITLE_MAX_CHARS}
        ]
    address = " ".join((address or "").split())
    if len(address) > 200:
        errors["address"] = [_("The address can have at most 200 characters.")]
    lat = _decimal(latitude, "latitude", -90, 90, errors)
    lon = _decimal(longitude, "longitude", -180, 180, errors)
    if (lat is None) != (lon is None) and "latitude" not in errors and "longitude" not in errors:
        errors["latitude" if lat is None else "longitude"] = [
            _("Give both latitude and longitude, or neither.")
        ]
    if require_location and region is None and not address and lat is None and lon is None:
        errors["region"] = [_("Say where: choose the region or give the address.")]
    contact_phone = (contact_phone or "").strip().replace(" ", "")
    if contact_phone and not PHONE_RE.match(contact_phone):
        errors["contact_phone"] = [_("Give a mobile number of 11 digits or a landline number.")]
    contact_email = (contact_email or "").strip()
    if contact_email:
        try:
            validate_email(contact_email)
        except ValidationError:
            errors["contact_email"] = [_("Give a valid e-mail address.")]
    if errors:
        raise TicketInvalid(errors)
    return {
        "kind": kind,
        "channel": channel,
        "content": content,
        "title": ticket_title(title, content),
        "region": region,
        "address": address,
        "latitude": lat,
        "longitude": lon,
        "contact_phone": contact_phone,
        "contact_email": contact_email,
    }


# ---------------------------------------------------------------- taking a ticket in


@transaction.atomic
def ticket_submit(
    *,
    kind: str,
    channel: str,
    content: str,
    title: str = "",
    region: Region | None = None,
    address: str = "",
    latitude: Any = None,
    longitude: Any = None,
    citizen=None,
    contact_name: str = "",
    contact_phone: str = "",
    contact_email: str = "",
    is_anonymous: bool = False,
    is_public: bool = False,
    uploads: Sequence[Any] = (),
    entered_by=None,
    api_key=None,
    service_code: str = "",
    attributes: dict[str, Any] | None = None,
    application=None,
    item=None,
    question: AssistantQuestion | None = None,
    link_to: Ticket | int | None = None,
    department_kind: str = "",
    idempotency_key: str = "",
) -> Ticket:
    """Take a ticket in (受理) and dispatch it: automatically when the suggestion is sure
    enough, else into the dispatchers' queue. ``link_to`` (an open ticket the citizen agreed is
    the same matter, or its id) links it instead; it must be one of ``link_candidates``, never
    a report. Bad input raises ``TicketInvalid``; nothing is stored."""
    cleaned = ticket_validate(
        kind=kind,
        channel=channel,
        content=content,
        title=title,
        region=region,
        address=address,
        latitude=latitude,
        longitude=longitude,
        contact_phone=contact_phone,
        contact_email=contact_email,
    )
    try:
        files = attachments_check(list(uploads))
    except ValidationError as error:
        raise TicketInvalid({"attachments": list(error.messages)}) from error
    if is_anonymous and application is not None:
        raise TicketInvalid(
            {
                "application": [
                    _(
                        "An anonymous ticket cannot be about your application: "
                        "it would say who you are."
                    )
                ]
            }
        )
    if link_to is not None:
        link_to = _link_target_lock(link_to.pk if isinstance(link_to, Ticket) else link_to)
        if link_to is None:  # the same answer for no such ticket and for a report
            message = _(
                "No ticket you can join has this number: choose one of the tickets offered as "
                "the same matter, or send yours on its own."
            )
            raise TicketInvalid({"link_to": [message]})
        if not link_to.is_open:
            raise TicketInvalid({"link_to": [_("That ticket is closed; send yours on its own.")]})
    if citizen is not None and not citizen.is_authenticated:
        citizen = None
    if is_anonymous:
        citizen = None
        contact_name = contact_phone = contact_email = ""
        cleaned["contact_phone"] = cleaned["contact_email"] = ""
    if kind == Ticket.Kind.REPORT:
        is_public = False  # a 举报 is never shown in public
    now = timezone.now()
    ticket = Ticket.objects.create(
        **cleaned,
        citizen=citizen,
        contact_name=(contact_name or "").strip()[:60],
        is_anonymous=is_anonymous,
        is_public=is_public,
        entered_by=entered_by,
        api_key=api_key,
        service_code=service_code,
        attributes=attributes or {},
        application=application,
        item=item,
        node_started_at=now,
        idempotency_key=idempotency_key if citizen is not None else "",
    )
    for f in files:
        TicketAttachment.objects.create(
            ticket=ticket,
            file=f.content,
            name=f.name,
            content_type=f.content_type,
            size=f.size,
            metadata_removed=f.metadata_removed,
        )
    _event(ticket, "receive", "", S.RECEIVED, actor=entered_by or citizen)
    ticket_stats_mark(ticket=ticket)  # the leaders' statistics count its day again
    if question is not None:
        AssistantQuestion.objects.filter(pk=question.pk, ticket__isnull=True).update(ticket=ticket)
    if link_to is not None:
        _step(ticket, "link", actor=entered_by or citizen, who=SENDER, now=now, target=link_to)
        return ticket
    _dispatch_new(ticket, department_kind=department_kind, now=now)
    if ticket.citizen_id:
        notify(
            ticket.citizen,
            subject=_("Ticket %(number)s received") % {"number": ticket.number},
            body=_receipt_text(ticket),
        )
    return ticket


def ticket_submit_once(*, idempotency_key: str, **submission: Any) -> tuple[Ticket, bool]:
    """``ticket_submit`` for a sender who sent an ``Idempotency-Key``: (ticket, created now).
    Sending again with the same key (a retry after a lost answer) returns the first ticket and
    takes nothing in. A ticket sent anonymously has no sender to hold the key: it is taken in
    each time."""
    citizen = submission.get("citizen")
    if (
        not idempotency_key
        or submission.get("is_anonymous")
        or citizen is None
        or not citizen.is_authenticated
    ):
        return ticket_submit(**submission), True
    return submit_once(
        find=lambda: Ticket.objects.filter(
            citizen=citizen, idempotency_key=idempotency_key
        ).first(),
        create=lambda: ticket_submit(**submission, idempotency_key=idempotency_key),
    )


def _receipt_text(ticket: Ticket) -> str:
    if ticket.state == S.DISPATCHED:
        return _("“%(title)s” was sent to %(department)s, who will sign for it by %(date)s.") % {
            "title": ticket.title,
            "department": ticket.department_name,
            "date": ticket.node_due_date,
        }
    return _(
        "“%(title)s” is with the desk, who will send it to the right department by %(date)s."
    ) % {
        "title": ticket.title,
        "date": ticket.node_due_date,
    }


def _dispatch_new(ticket: Ticket, *, department_kind: str, now) -> None:
    if department_kind:
        from ..dispatch.categories import CATEGORY_BY_KIND

        department = nearest_department(department_kind, ticket.region)
        category = CATEGORY_BY_KIND.get(department_kind)
        suggestion = Suggestion(
            department,
            category.name if category else "",
            1.0,
            (f"service: {ticket.service_code or department_kind}",),
            True,
        )
    else:
        suggestion = dispatch_suggest(ticket)
    ticket.category = ticket.category_guessed = suggestion.category
    ticket.dispatch_confidence = suggestion.confidence
    ticket.dispatch_reasons = list(suggestion.reasons)
    ticket.dispatch_model = suggestion.model_version
    # an open ticket about the same matter: the desk links them rather than handling it twice
    same = [
        m.ticket.number
        for m in duplicates_find(
            content=ticket.content,
            title=ticket.title,
            region=ticket.region,
            address=ticket.address,
            exclude=ticket.pk,
        )
        if m.ticket.is_open
    ]
    # the first move goes through the chokepoint's table like every other, made by the system
    if suggestion.automatic and suggestion.department is not None and not same:
        ticket.dispatched_automatically = True
        _step(ticket, "dispatch", actor=None, who=SYSTEM, now=now, department=suggestion.department)
    else:
        _step(
            ticket,
            "queue",
            actor=None,
            who=SYSTEM,
            now=now,
            data={
                "suggested": suggestion.department.code if suggestion.department else "",
                "confidence": suggestion.confidence,
                "reasons": list(suggestion.reasons),
                **({"duplicates": same} if same else {}),
            },
        )

"""The complaints desk's writes: taking a ticket in, dispatching it, and the work-order loop.

``ticket_transition`` is the one chokepoint of the loop (受理 → 派单 → 签收/退单 → 办理 → 答复 →
回访 → 满意度 → 办结): it locks the ticket, checks the source state and the page's version again,
moves the ticket and the department's part, sets the next step's deadline in working days, writes
the history row and tells the citizen, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from departments.models import Department, Membership, Region
from departments.scoping import member_department_ids
from workflows.services import Conflict, Forbidden, Refused, notify, staff_name, staff_of
from zheliban.core.idempotency import submit_once
from zheliban.core.uploads import check_upload, photo_without_metadata
from zheliban.core.workdays import add_workdays

from .dispatch.text import normalize
from .models import (
    AssistantQuestion,
    DispatchRule,
    ReporterAccess,
    Ticket,
    TicketAttachment,
    TicketDepartment,
    TicketEvent,
)

logger = logging.getLogger(__name__)

__all__ = ["Conflict", "Forbidden", "Refused", "TicketInvalid"]

CONTENT_MAX_CHARS = 5000
TITLE_MAX_CHARS = 100
MAX_ATTACHMENTS = 5
TICKET_UPLOAD_TYPES = ("jpg", "png", "pdf")
PHOTO_TYPES = ("jpg", "png")
SATISFIED_FROM = 3  # 3 (基本满意) and above close the ticket; 1–2 reopen it

# Working days per step; the answer's depends on the kind of ticket (settings TICKET_DEADLINES).
DEFAULT_DEADLINES: dict[str, Any] = {
    "dispatch": 1,
    "sign": 1,
    "answer": {
        "consultation": 2,
        "help": 5,
        "complaint": 10,
        "report": 15,
        "suggestion": 10,
        "praise": 5,
    },
    "callback": 3,
    "rating": 5,
}

S = Ticket.State
P = TicketDepartment.State


class TicketInvalid(Refused):
    """Bad input for a new ticket: ``fields`` maps each field to its messages."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        first = next(iter(fields.values()))[0]
        super().__init__(first, code="invalid")
        self.fields = fields


# ---------------------------------------------------------------- who may do what


def desk_department_ids(user, *, roles: Iterable[str] | None = None):
    """The desk (12345) departments the user works in, as a subquery."""
    return member_department_ids(user, roles=roles).filter(department__kind=Department.Kind.HOTLINE)


def is_desk(user, *, roles: Iterable[str] | None = None) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return desk_department_ids(user, roles=roles).exists()


def desk_roles(user) -> set[str]:
    """The roles the user holds at a desk (12345) department (all of them for a superuser);
    one query."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    if user.is_superuser:
        return set(Membership.Role.values)
    return set(
        Membership.objects.filter(
            user_id=user.pk, department__kind=Department.Kind.HOTLINE
        ).values_list("role", flat=True)
    )


def tickets_for_staff(user) -> QuerySet[Ticket]:
    """The tickets a member of staff may see: the desk sees all; a department sees the tickets
    it has a part in and has not returned."""
    qs = Ticket.objects.all()
    if user is None or not user.is_authenticated or not user.is_active:
        return qs.none()
    if is_desk(user):
        return qs
    parts = TicketDepartment.objects.filter(
        ticket=OuterRef("pk"), department__in=member_department_ids(user)
    ).exclude(state=P.RETURNED)
    return qs.filter(Exists(parts))


def may_see_reporter(user) -> bool:
    """Only the desk's own supervisors may see who made a 举报."""
    return is_desk(user, roles=[Membership.Role.SUPERVISOR])


def reporter_reveal(*, user, ticket: Ticket, reason: str) -> dict[str, str]:
    """The reporter of a ticket, for a desk supervisor; every look is logged."""
    if not may_see_reporter(user):
        raise Forbidden(_("Only the desk's supervisors may see who made a report."))
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_("Say why you need to see the reporter."), code="reason_missing")
    ReporterAccess.objects.create(ticket=ticket, user=user, reason=reason[:200])
    citizen = ticket.citizen
    return {
        "name": ticket.contact_name or (getattr(citizen, "real_name", "") if citizen else ""),
        "phone": ticket.contact_phone or (getattr(citizen, "phone", "") if citizen else ""),
        "email": ticket.contact_email,
        "username": citizen.get_username() if citizen else "",
    }


# ---------------------------------------------------------------- deadlines


def _deadlines() -> dict[str, Any]:
    return {**DEFAULT_DEADLINES, **getattr(settings, "TICKET_DEADLINES", {})}


def step_workdays(step: str, kind: str) -> int:
    value = _deadlines()[step]
    return int(value.get(kind, max(value.values())) if isinstance(value, dict) else value)


def _start_step(ticket: Ticket, step: str | None, *, now) -> None:
    ticket.node_started_at = now
    ticket.reminded_at = None
    ticket.supervised_at = None
    if step is None:
        ticket.node_due_date = None
        ticket.node_due_provisional = False
        return
    deadline = add_workdays(timezone.localdate(now), step_workdays(step, ticket.kind))
    ticket.node_due_date = deadline.date
    ticket.node_due_provisional = deadline.provisional


def _on_time(ticket: Ticket, *, now) -> bool | None:
    if ticket.node_due_date is None:
        return None
    return timezone.localdate(now) <= ticket.node_due_date


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
            _("Send at most %(count)d files.") % {"count": MAX_ATTACHMENTS}, code="too_many"
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


# ---------------------------------------------------------------- duplicates


@dataclass(frozen=True)
class DuplicateMatch:
    ticket: Ticket
    score: float  # 0..1, the overlap of the texts' character pairs

    @property
    def number(self) -> str | None:
        """Another person's ticket is named only if its sender made it public."""
        return self.ticket.number if self.ticket.shown_in_public else None

    @property
    def title(self) -> str | None:
        return self.ticket.title if self.ticket.shown_in_public else None


def _pairs(text: str) -> set[str]:
    text = normalize(text)
    text = re.sub(r"[\W_]+", "", text)
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _similarity(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b)) if min(len(a), len(b)) >= 4 else 0.0


DUPLICATE_DAYS = 90
DUPLICATE_MIN_SCORE = 0.6
DUPLICATE_CANDIDATES = 400


def link_candidates() -> QuerySet[Ticket]:
    """The tickets another may be offered as a repeat of, or joined to: any but a report (举报).

    A report is invisible wherever its sender could be learned: offered as a repeat, it would
    tell a citizen that it exists and what it is about, and once joined their own ticket would
    name it. The one rule behind ``duplicates_find`` and every ``link_to`` and ``link`` target.
    """
    return Ticket.objects.exclude(kind=Ticket.Kind.REPORT)


def _link_target_lock(pk: int | None) -> Ticket | None:
    """The link target with this id among ``link_candidates``, locked, or None."""
    if pk is None:
        return None
    return link_candidates().select_for_update(of=("self",)).filter(pk=pk).first()


def duplicates_find(
    *,
    content: str,
    title: str = "",
    region: Region | None = None,
    address: str = "",
    exclude: int | None = None,
    limit: int = 5,
    now=None,
) -> list[DuplicateMatch]:
    """Recent tickets (closed ones too) from the same place whose text is much the same, among
    ``link_candidates`` (never a report) and not themselves linked.

    Same place: the same region, or the same address when no region is given. Recent: within
    ``DUPLICATE_DAYS``. One query over at most ``DUPLICATE_CANDIDATES`` newest candidates.
    """
    now = now or timezone.now()
    if region is None and not address:
        return []
    qs = link_candidates().filter(created_at__gte=now - dt.timedelta(days=DUPLICATE_DAYS))
    qs = qs.exclude(state=S.LINKED)
    qs = qs.filter(region=region) if region is not None else qs.filter(address=address)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    mine = _pairs(f"{title} {content}")
    address_pairs = _pairs(address)
    found = []
    for ticket in qs.select_related("department").order_by("-created_at")[:DUPLICATE_CANDIDATES]:
        score = _similarity(mine, _pairs(f"{ticket.title} {ticket.content}"))
        if address and ticket.address:
            # a different street lowers the score; the same one keeps it
            score *= 0.5 + 0.5 * max(_similarity(address_pairs, _pairs(ticket.address)), 0.0)
        if score >= DUPLICATE_MIN_SCORE:
            found.append(DuplicateMatch(ticket, round(score, 3)))
    found.sort(key=lambda m: (-m.score, -m.ticket.pk))
    return found[:limit]


# ---------------------------------------------------------------- dispatch


_predictor_lock = threading.Lock()
_predictor_cache: dict[str, Any] = {}


def predictor_get():
    """The newest dispatch model, loaded once per process (None when none was trained).

    The model folder is listed again only when its modification time changes (a model added or
    removed), so a submission costs one ``stat``, not a directory listing."""
    from .dispatch.model import DispatchModelError, latest_model_path, model_dir
    from .dispatch.predictor import Predictor

    directory = model_dir()
    try:
        version = (str(directory), os.stat(directory).st_mtime_ns)
    except OSError:
        return None
    with _predictor_lock:
        cached = _predictor_cache.get("model")
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            path = latest_model_path(directory)
        except DispatchModelError:
            predictor = None
        else:
            known = _predictor_cache.get("loaded")
            predictor = known[1] if known and known[0] == path else Predictor.load(path, rules=[])
            _predictor_cache["loaded"] = (path, predictor)
        _predictor_cache["model"] = (version, predictor)
        return predictor


@functools.lru_cache(maxsize=8)
def _file_rules(path: str, modified_ns: int) -> list:
    from .dispatch.rules import rules_load

    return rules_load(path)


def dispatch_rules() -> list:
    """The staff's rules from admin, then those of the rules file (settings), read again only
    when the file changes."""
    from .dispatch.rules import Rule, rules_load

    rules = [
        Rule(pattern=r.regex or r.keyword, kind=r.kind, is_regex=bool(r.regex))
        for r in DispatchRule.objects.filter(is_active=True)
    ]
    path = getattr(settings, "DISPATCH_RULES_PATH", None)
    if not path:
        return rules
    try:
        modified = os.stat(path).st_mtime_ns
    except OSError:
        return rules + rules_load(path)  # says what is wrong with the file
    return rules + _file_rules(str(path), modified)


@dataclass(frozen=True)
class Suggestion:
    department: Department | None
    category: str
    confidence: float
    reasons: tuple[str, ...]
    automatic: bool
    model_version: str = ""


def nearest_department(kind: str, region: Region | None) -> Department | None:
    from .dispatch.departments import departments_nearest

    return departments_nearest(kinds=[kind], region_code=region.code if region else None).get(kind)


def dispatch_suggest(ticket: Ticket) -> Suggestion:
    """Where the ticket should go, how sure we are and why: the application it is about, a
    staff rule, or the model with the ticket's region."""
    from .dispatch.categories import CATEGORIES, CATEGORY_BY_KIND
    from .dispatch.rules import rule_match
    from .dispatch.text import ticket_text

    if ticket.application_id:
        task = (
            ticket.application.tasks.select_related("department")
            .order_by("-updated_at", "-id")
            .first()
        )
        if task is not None:
            category = CATEGORY_BY_KIND.get(task.department.kind)
            return Suggestion(
                task.department,
                category.name if category else "",
                1.0,
                ("application",),
                True,
            )
    text = ticket_text(ticket.title, ticket.content)
    rule = rule_match(dispatch_rules(), text)
    if rule is not None:
        category = CATEGORY_BY_KIND.get(rule.kind)
        return Suggestion(
            nearest_department(rule.kind, ticket.region),
            category.name if category else "",
            1.0,
            (rule.reason,),
            True,
        )
    predictor = predictor_get()
    if predictor is None:
        return Suggestion(None, "", 0.0, ("no dispatch model",), False)
    # the model alone: the department is found once, below, for the ticket's region
    ((category, confidence, reasons),) = predictor.guess([text[:20_000]])
    return Suggestion(
        nearest_department(CATEGORIES[category].department_kind, ticket.region),
        category,
        round(confidence, 4),
        reasons,
        predictor.is_automatic(confidence),
        predictor.version,
    )


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
    if question is not None:
        AssistantQuestion.objects.filter(pk=question.pk, ticket__isnull=True).update(ticket=ticket)
    if link_to is not None:
        _link(ticket, link_to, actor=entered_by or citizen, now=now)
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
            "department": ticket.department.name,
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
        from .dispatch.categories import CATEGORY_BY_KIND

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
    ticket.category = suggestion.category
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
    if suggestion.automatic and suggestion.department is not None and not same:
        ticket.dispatched_automatically = True
        _do_dispatch(ticket, suggestion.department, (), actor=None, note="", now=now)
    else:
        from_state = ticket.state
        ticket.state = S.QUEUED
        _start_step(ticket, "dispatch", now=now)
        ticket.save()
        _event(
            ticket,
            "queue",
            from_state,
            S.QUEUED,
            data={
                "suggested": suggestion.department.code if suggestion.department else "",
                "confidence": suggestion.confidence,
                "reasons": list(suggestion.reasons),
                **({"duplicates": same} if same else {}),
            },
        )


def _kept(ticket: Ticket, *, now) -> tuple[dt.date | None, bool | None]:
    """The due date of the ticket's current step and whether it is being kept."""
    return ticket.node_due_date, _on_time(ticket, now=now)


def _move(
    ticket: Ticket,
    action: str,
    to_state: str,
    next_step: str | None,
    *,
    now,
    actor=None,
    department: Department | None = None,
    note: str = "",
    data: dict | None = None,
    kept: tuple[dt.date | None, bool | None] = (None, None),
) -> None:
    """Move the ticket and start its next step's deadline (``None``: none), with its history row;
    ``kept`` is what ``_kept`` said of the step this move ends, when it had a deadline."""
    from_state = ticket.state
    ticket.state = to_state
    _start_step(ticket, next_step, now=now)
    ticket.version += 1
    ticket.save()
    _event(
        ticket,
        action,
        from_state,
        to_state,
        actor=actor,
        department=department,
        note=note,
        data=data,
        due_date=kept[0],
        on_time=kept[1],
    )


def _do_dispatch(
    ticket: Ticket,
    lead: Department,
    assisting: Sequence[Department],
    *,
    actor,
    note: str,
    now,
) -> None:
    # the dispatchers' queue has a deadline; a ticket dispatched on arrival had none to keep
    kept = _kept(ticket, now=now) if ticket.state == S.QUEUED else (None, None)
    ticket.department = lead
    TicketDepartment.objects.create(ticket=ticket, department=lead, is_lead=True)
    for department in assisting:
        if department.pk != lead.pk:
            TicketDepartment.objects.create(ticket=ticket, department=department, is_lead=False)
    _move(
        ticket,
        "dispatch",
        S.DISPATCHED,
        "sign",
        now=now,
        actor=actor,
        department=lead,
        note=note,
        kept=kept,
        data={
            "automatic": actor is None,
            "confidence": ticket.dispatch_confidence,
            "reasons": ticket.dispatch_reasons,
            "assisting": [d.code for d in assisting if d.pk != lead.pk],
        },
    )


def _link(ticket: Ticket, target: Ticket, *, actor, now) -> None:
    while target.duplicate_of_id is not None:  # always link to the ticket being handled
        target = target.duplicate_of
    ticket.duplicate_of = target
    ticket.closed_at = now
    _move(
        ticket,
        "link",
        S.LINKED,
        None,
        now=now,
        actor=actor,
        note=target.number,
        data={"target": target.pk},
    )
    # the other ticket's department must not learn who sent this one
    _event(
        target,
        "linked",
        target.state,
        target.state,
        note=ticket.number,
        actor=None if actor is not None and actor.pk == ticket.citizen_id else actor,
        data={"by": "citizen"} if actor is not None and actor.pk == ticket.citizen_id else None,
    )


def _event(
    ticket: Ticket,
    action: str,
    from_state: str,
    to_state: str,
    *,
    actor=None,
    department: Department | None = None,
    note: str = "",
    data: dict | None = None,
    due_date=None,
    on_time: bool | None = None,
) -> TicketEvent:
    data = dict(data or {})
    if actor is not None and ticket.citizen_id is not None and actor.pk == ticket.citizen_id:
        # the sender is never named in the history staff read: "the citizen" is enough
        actor = None
        data["by"] = "citizen"
    return TicketEvent.objects.create(
        ticket=ticket,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor=actor if actor is not None and actor.is_authenticated else None,
        department=department,
        note=note,
        data=data,
        due_date=due_date,
        on_time=on_time,
    )


# ---------------------------------------------------------------- the work-order loop

ACTIONS = (
    "dispatch",
    "link",
    "sign",
    "return",
    "opinion",
    "answer",
    "callback",
    "rate",
    "close",
)


def part_for(ticket: Ticket, user) -> TicketDepartment | None:
    if user is None or not user.is_authenticated:
        return None
    parts = ticket.parts.exclude(state=P.RETURNED).select_related("department")
    if not user.is_superuser:
        parts = parts.filter(department__in=member_department_ids(user))
    return parts.order_by("-is_lead", "id").first()


def ticket_transition(
    *,
    actor,
    ticket: Ticket | int,
    action: str,
    version: int | None = None,
    note: str = "",
    department: Department | None = None,
    assisting: Sequence[Department] = (),
    target: Ticket | None = None,
    satisfaction: int | None = None,
) -> Ticket:
    """Move a ticket one step of the loop, or refuse and change nothing."""
    if action not in ACTIONS:
        raise Refused(_("Unknown action."), code="unknown_action")
    pk = ticket.pk if isinstance(ticket, Ticket) else ticket
    with transaction.atomic():
        try:
            locked = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related("department", "citizen", "region")
                .get(pk=pk)
            )
        except Ticket.DoesNotExist as error:
            raise Refused(_("No such ticket."), code="not_found") from error
        if version is not None and version != locked.version:
            last = locked.events.exclude(actor=None).select_related("actor").last()
            who = staff_name(last.actor) if last else _("someone else")
            raise Conflict(
                _("This ticket was changed by %(name)s since you opened it; reload the page.")
                % {"name": who},
                code="stale",
                holder=who,
            )
        now = timezone.now()
        handler = _HANDLERS[action]
        handler(
            locked,
            actor=actor,
            now=now,
            note=(note or "").strip(),
            department=department,
            assisting=assisting,
            target=target,
            satisfaction=satisfaction,
        )
        return locked


def _require_state(ticket: Ticket, *states: str) -> None:
    if ticket.state not in states:
        raise Conflict(
            _("This ticket is “%(state)s”; that cannot be done now.")
            % {"state": ticket.get_state_display()},
            code="wrong_state",
        )


def _require_desk(actor, *roles: str) -> None:
    if not is_desk(actor, roles=roles or None):
        raise Forbidden(_("Only the complaints desk can do this."), code="not_desk")


def _require_note(note: str, message: str, code: str) -> None:
    if not note:
        raise Refused(message, code=code)
    if len(note) > CONTENT_MAX_CHARS:
        raise Refused(
            _("Write at most %(max)d characters.") % {"max": CONTENT_MAX_CHARS}, code="too_long"
        )


def _tell_citizen(ticket: Ticket, subject: str, body: str) -> None:
    if ticket.citizen_id and ticket.citizen.is_active:
        notify(ticket.citizen, subject=subject, body=body)


def _h_dispatch(ticket: Ticket, *, actor, now, note, department, assisting, **_kw) -> None:
    _require_desk(actor, Membership.Role.DISPATCHER, Membership.Role.SUPERVISOR)
    _require_state(ticket, S.RECEIVED, S.QUEUED)
    if department is None:
        raise Refused(_("Choose the department that leads."), code="department_missing")
    declined = set(ticket.parts.filter(state=P.RETURNED).values_list("department_id", flat=True))
    assisting = list({d.pk: d for d in assisting if d.pk != department.pk}.values())
    for candidate in (department, *assisting):
        if not candidate.is_active or candidate.kind == Department.Kind.HOTLINE:
            raise Refused(
                _("%(department)s cannot handle tickets; choose an active handling department.")
                % {"department": candidate.name},
                code="department_invalid",
            )
        if candidate.pk in declined:
            raise Refused(
                _("%(department)s has already returned this ticket; choose another department.")
                % {"department": candidate.name},
                code="department_declined",
            )
    previous = ticket.return_count
    _do_dispatch(ticket, department, assisting, actor=actor, note=note, now=now)
    if previous:
        _tell_citizen(
            ticket,
            _("Ticket %(number)s sent on") % {"number": ticket.number},
            _("Your ticket is now with %(department)s.") % {"department": department.name},
        )


def _h_link(ticket: Ticket, *, actor, now, target, **_kw) -> None:
    _require_desk(actor, Membership.Role.DISPATCHER, Membership.Role.SUPERVISOR)
    _require_state(ticket, S.RECEIVED, S.QUEUED)
    if target is not None and target.hides_reporter:
        raise Refused(
            _(
                "A report cannot be linked to: its sender and its subject stay with the desk, "
                "and the other ticket's sender would be told its number."
            ),
            code="target_report",
        )
    # judged as it is now, not as the dispatcher's page saw it
    target = _link_target_lock(target.pk if target is not None else None)
    if target is None or target.pk == ticket.pk or not target.is_open:
        raise Refused(_("Choose an open ticket to link to."), code="target_invalid")
    _link(ticket, target, actor=actor, now=now)
    _tell_citizen(
        ticket,
        _("Ticket %(number)s linked") % {"number": ticket.number},
        _(
            "The same matter is already being handled as ticket %(target)s; you will hear "
            "about it with that ticket."
        )
        % {"target": target.number},
    )


def _department_part(ticket: Ticket, actor) -> TicketDepartment:
    part = part_for(ticket, actor)
    if part is None:
        raise Forbidden(_("This ticket is not with your department."), code="not_your_department")
    return part


def _h_sign(ticket: Ticket, *, actor, now, note, **_kw) -> None:
    part = _department_part(ticket, actor)
    if part.state != P.DISPATCHED:
        raise Conflict(_("Your department has already signed for this ticket."), code="signed")
    part.state = P.SIGNED
    part.signed_at = now
    part.signed_by = actor
    part.save()
    if not part.is_lead:
        _event(ticket, "sign", ticket.state, ticket.state, actor=actor, department=part.department)
        return
    _require_state(ticket, S.DISPATCHED)
    kept = _kept(ticket, now=now)
    ticket.signed_on_time = kept[1]
    _move(
        ticket,
        "sign",
        S.HANDLING,
        "answer",
        now=now,
        actor=actor,
        department=part.department,
        note=note,
        kept=kept,
    )
    _tell_citizen(
        ticket,
        _("Ticket %(number)s is being handled") % {"number": ticket.number},
        _("%(department)s signed for your ticket and will answer by %(date)s.")
        % {"department": part.department.name, "date": ticket.node_due_date},
    )


def _h_return(ticket: Ticket, *, actor, now, note, department, **_kw) -> None:
    part = _department_part(ticket, actor)
    if part.state != P.DISPATCHED:
        raise Conflict(
            _("Only a ticket not yet signed for can be returned."), code="return_after_sign"
        )
    _require_note(note, _("Say why the ticket is not for your department."), "reason_missing")
    part.state = P.RETURNED
    part.return_reason = note
    part.returned_at = now
    part.save()
    data = {"suggested": department.code if department else ""}
    if not part.is_lead:
        _event(
            ticket,
            "return",
            ticket.state,
            ticket.state,
            actor=actor,
            department=part.department,
            note=note,
            data=data,
        )
        return
    _require_state(ticket, S.DISPATCHED)
    # the assisting parts go back with the ticket: the new lead decides whom to ask
    ticket.parts.exclude(pk=part.pk).exclude(state=P.RETURNED).delete()
    kept = _kept(ticket, now=now)
    ticket.return_count += 1
    ticket.department = None
    ticket.dispatched_automatically = False
    _move(
        ticket,
        "return",
        S.QUEUED,
        "dispatch",
        now=now,
        actor=actor,
        department=part.department,
        note=note,
        data={**data, "category": ticket.category},
        kept=kept,
    )
    _tell_citizen(
        ticket,
        _("Ticket %(number)s returned by %(department)s")
        % {"number": ticket.number, "department": part.department.name},
        _(
            "%(department)s said the ticket is not theirs (“%(reason)s”). The desk is sending it "
            "to the right department."
        )
        % {"department": part.department.name, "reason": note},
    )


def _h_opinion(ticket: Ticket, *, actor, now, note, **_kw) -> None:
    part = _department_part(ticket, actor)
    if part.is_lead:
        raise Refused(_("The lead department answers the ticket itself."), code="lead_answers")
    if part.state != P.SIGNED:
        raise Conflict(_("Sign for the ticket before giving your opinion."), code="not_signed")
    _require_note(note, _("Write your department's opinion."), "opinion_missing")
    part.state = P.REPLIED
    part.opinion = note
    part.replied_at = now
    part.save()
    _event(
        ticket,
        "opinion",
        ticket.state,
        ticket.state,
        actor=actor,
        department=part.department,
        note=note,
    )


def _h_answer(ticket: Ticket, *, actor, now, note, **_kw) -> None:
    part = _department_part(ticket, actor)
    if not part.is_lead:
        raise Forbidden(_("Only the lead department answers the citizen."), code="not_lead")
    _require_state(ticket, S.HANDLING)
    _require_note(note, _("Write the answer to the citizen."), "answer_missing")
    waiting = [
        p.department.name
        for p in ticket.parts.filter(
            is_lead=False, state__in=[P.DISPATCHED, P.SIGNED]
        ).select_related("department")
    ]
    if waiting:
        raise Conflict(
            _("Waiting for the opinion of %(departments)s.") % {"departments": "、".join(waiting)},
            code="opinions_missing",
        )
    kept = _kept(ticket, now=now)
    part.state = P.REPLIED
    part.replied_at = now
    part.save()
    ticket.reply = note
    ticket.replied_at = now
    if ticket.answered_on_time is None or ticket.reopen_count:
        ticket.answered_on_time = kept[1]
    _move(
        ticket,
        "answer",
        S.ANSWERED,
        "callback",
        now=now,
        actor=actor,
        department=part.department,
        note=note,
        kept=kept,
    )
    _tell_citizen(
        ticket,
        _("Ticket %(number)s answered") % {"number": ticket.number},
        _("%(department)s answered: %(reply)s")
        % {"department": part.department.name, "reply": note},
    )


def _h_callback(ticket: Ticket, *, actor, now, note, satisfaction, **_kw) -> None:
    _require_desk(actor)
    _require_state(ticket, S.ANSWERED)
    _require_note(note, _("Write what the citizen said on the callback."), "note_missing")
    kept = _kept(ticket, now=now)
    ticket.callback_note = note
    ticket.called_back_at = now
    _move(ticket, "callback", S.CALLED_BACK, "rating", now=now, actor=actor, note=note, kept=kept)
    if satisfaction is not None:
        _rate(ticket, actor=actor, now=now, satisfaction=satisfaction, note="")


def _h_rate(ticket: Ticket, *, actor, now, note, satisfaction, **_kw) -> None:
    owner = ticket.citizen_id is not None and actor is not None and actor.pk == ticket.citizen_id
    if not owner and not is_desk(actor):
        raise Forbidden(_("Only the citizen who sent the ticket can rate it."), code="not_owner")
    _require_state(ticket, S.CALLED_BACK)
    _rate(ticket, actor=actor, now=now, satisfaction=satisfaction, note=note)


def _rate(ticket: Ticket, *, actor, now, satisfaction, note: str) -> None:
    if (
        not isinstance(satisfaction, int)
        or isinstance(satisfaction, bool)
        or not (1 <= satisfaction <= 5)
    ):
        raise Refused(_("Give a rating from 1 to 5."), code="satisfaction_invalid")
    if len(note) > 1000:
        raise Refused(_("Write at most %(max)d characters.") % {"max": 1000}, code="too_long")
    ticket.satisfaction = satisfaction
    ticket.satisfaction_comment = note
    if satisfaction >= SATISFIED_FROM:
        ticket.closed_at = now
        _move(
            ticket,
            "rate",
            S.CLOSED,
            None,
            now=now,
            actor=actor,
            note=note,
            data={"satisfaction": satisfaction},
        )
        _tell_citizen(
            ticket,
            _("Ticket %(number)s closed") % {"number": ticket.number},
            _("Thank you for your rating. The ticket is closed."),
        )
        return
    # unsatisfied: back to the lead department, which answers again
    ticket.reopen_count += 1
    ticket.parts.filter(is_lead=True).exclude(state=P.RETURNED).update(state=P.SIGNED)
    _move(
        ticket,
        "reopen",
        S.HANDLING,
        "answer",
        now=now,
        actor=actor,
        note=note,
        department=ticket.department,
        data={"satisfaction": satisfaction},
    )
    for user in staff_of(ticket.department_id, Membership.Role.SUPERVISOR):
        notify(
            user,
            subject=_("Ticket %(number)s reopened") % {"number": ticket.number},
            body=_(
                "The citizen was not satisfied (%(score)d/5) and the ticket is back with "
                "your department, due %(date)s."
            )
            % {"score": satisfaction, "date": ticket.node_due_date},
        )
    _tell_citizen(
        ticket,
        _("Ticket %(number)s reopened") % {"number": ticket.number},
        _("%(department)s will look at it again and answer by %(date)s.")
        % {"department": ticket.department.name, "date": ticket.node_due_date},
    )


def _h_close(ticket: Ticket, *, actor, now, note, **_kw) -> None:
    _require_desk(actor, Membership.Role.SUPERVISOR, Membership.Role.DISPATCHER)
    _require_state(ticket, S.CALLED_BACK)
    _require_note(note, _("Say why the ticket is closed without a rating."), "note_missing")
    ticket.closed_at = now
    _move(ticket, "close", S.CLOSED, None, now=now, actor=actor, note=note)


_HANDLERS = {
    "dispatch": _h_dispatch,
    "link": _h_link,
    "sign": _h_sign,
    "return": _h_return,
    "opinion": _h_opinion,
    "answer": _h_answer,
    "callback": _h_callback,
    "rate": _h_rate,
    "close": _h_close,
}


# ---------------------------------------------------------------- supervision (督办)


def tickets_sweep(*, today: dt.date | None = None, limit: int = 500) -> dict[str, int]:
    """Remind whoever holds a step the working day before it falls due; once it is overdue,
    supervise it (督办): the holder's supervisors are told and the history shows it. Each step
    is reminded and supervised at most once; the notices go out through the outbox."""
    today = today or timezone.localdate()
    tomorrow = add_workdays(today, 1).date
    counts = {"reminded": 0, "supervised": 0}
    open_tickets = Ticket.objects.filter(state__in=Ticket.OPEN_STATES)
    for ticket in open_tickets.filter(
        node_due_date__gte=today, node_due_date__lte=tomorrow, reminded_at__isnull=True
    ).select_related("department", "region")[:limit]:
        with transaction.atomic():
            if not Ticket.objects.filter(
                pk=ticket.pk, reminded_at__isnull=True, state=ticket.state
            ).update(reminded_at=timezone.now()):
                continue
            for user in _holders(ticket, Membership.Role.CLERK):
                notify(
                    user,
                    subject=_("Due soon: ticket %(number)s") % {"number": ticket.number},
                    body=_("“%(title)s” (%(state)s) is due on %(date)s.")
                    % {
                        "title": ticket.title,
                        "state": ticket.get_state_display(),
                        "date": ticket.node_due_date,
                    },
                )
            counts["reminded"] += 1
    for ticket in open_tickets.filter(
        node_due_date__lt=today, supervised_at__isnull=True
    ).select_related("department", "region")[:limit]:
        with transaction.atomic():
            if not Ticket.objects.filter(
                pk=ticket.pk, supervised_at__isnull=True, state=ticket.state
            ).update(supervised_at=timezone.now(), supervision_count=ticket.supervision_count + 1):
                continue
            for user in _holders(ticket, Membership.Role.SUPERVISOR):
                notify(
                    user,
                    subject=_("Overdue (督办): ticket %(number)s") % {"number": ticket.number},
                    body=_("“%(title)s” (%(state)s) was due on %(date)s and is not done.")
                    % {
                        "title": ticket.title,
                        "state": ticket.get_state_display(),
                        "date": ticket.node_due_date,
                    },
                )
            _event(
                ticket,
                "supervise",
                ticket.state,
                ticket.state,
                department=ticket.department,
                due_date=ticket.node_due_date,
                on_time=False,
            )
            counts["supervised"] += 1
    return counts


def _holders(ticket: Ticket, role: str) -> list:
    """Who holds the ticket's current step: the lead department for signing and answering,
    the desk for dispatching and the callback."""
    if ticket.state in (S.DISPATCHED, S.HANDLING) and ticket.department_id:
        return staff_of(ticket.department_id, role)
    return _desk_staff(
        ticket.region,
        role if role == Membership.Role.SUPERVISOR else Membership.Role.DISPATCHER,
    )


def _desk_staff(region: Region | None, role: str) -> list:
    """Staff of the 12345 desks answering for the region (its own, its city's, the province's)."""
    from .dispatch.departments import region_chain

    desks = Department.objects.filter(kind=Department.Kind.HOTLINE, is_active=True)
    if region is not None:
        desks = desks.filter(region__code__in=region_chain(region.code))
    return staff_of(desks.values("pk"), role)


# ---------------------------------------------------------------- what the dispatcher learns


def returned_examples() -> list[tuple[str, str]]:
    """(text, category) of tickets a department returned and another then signed for: the
    returns teach the dispatch model where such tickets really belong."""
    from .dispatch.categories import CATEGORY_BY_KIND
    from .dispatch.text import ticket_text

    rows = (
        Ticket.objects.filter(return_count__gt=0, signed_on_time__isnull=False)
        .exclude(department=None)
        .values_list("title", "content", "department__kind")
    )
    return [
        (ticket_text(title, content), CATEGORY_BY_KIND[kind].name)
        for title, content, kind in rows
        if kind in CATEGORY_BY_KIND
    ]

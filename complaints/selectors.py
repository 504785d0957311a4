"""Reading tickets: what a citizen, a department and the desk may each see of them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from departments.models import Department, Region
from zheliban.core.identity import mask_phone

from .models import Ticket, TicketAttachment, TicketDepartment, TicketEvent
from .services import is_desk, may_see_reporter, tickets_for_staff

S = Ticket.State

# What a list row shows.
ROW_FIELDS = (
    "id", "title", "kind", "channel", "state", "created_at", "node_due_date",
    "node_due_provisional", "category", "dispatch_confidence", "dispatched_automatically",
    "return_count", "version", "supervised_at",
    "department__id", "department__name", "department__code",
    "region__id", "region__name", "region__code",
)  # fmt: skip


def tickets_of_citizen(*, user) -> QuerySet[Ticket]:
    return (
        Ticket.objects.filter(citizen=user)
        .select_related("department", "region")
        .only(*ROW_FIELDS)
        .order_by("-created_at", "-id")
    )


def _detail(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return qs.select_related(
        "department", "region", "citizen", "duplicate_of", "entered_by", "item", "application"
    ).prefetch_related(
        Prefetch(
            "events",
            queryset=TicketEvent.objects.select_related("actor", "department").order_by("at", "id"),
        ),
        Prefetch(
            "parts",
            queryset=TicketDepartment.objects.select_related("department").order_by(
                "-is_lead", "id"
            ),
        ),
        Prefetch("attachments", queryset=TicketAttachment.objects.order_by("id")),
    )


def ticket_for_citizen(*, user, pk) -> Ticket:
    try:
        return _detail(Ticket.objects.filter(citizen=user)).get(pk=pk)
    except (Ticket.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def ticket_for_staff(*, user, pk) -> Ticket:
    try:
        return _detail(tickets_for_staff(user)).get(pk=pk)
    except (Ticket.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def staff_tickets(
    *,
    user,
    state: str = "",
    department: Department | None = None,
    overdue: bool = False,
    queue: bool = False,
) -> QuerySet[Ticket]:
    """The tickets a member of staff works on, due first. ``queue``: those waiting for a
    dispatcher. Without ``state``, the open ones."""
    qs = tickets_for_staff(user)
    if queue:
        qs = qs.filter(state__in=[S.RECEIVED, S.QUEUED])
    elif state:
        qs = qs.filter(state=state)
    else:
        qs = qs.filter(state__in=Ticket.OPEN_STATES)
    if department is not None:
        qs = qs.filter(parts__department=department).distinct()
    if overdue:
        qs = qs.filter(node_due_date__lt=timezone.localdate(), state__in=Ticket.OPEN_STATES)
    return (
        qs.select_related("department", "region").only(*ROW_FIELDS).order_by("node_due_date", "id")
    )


@dataclass(frozen=True)
class Reporter:
    """Who sent a ticket, as the viewer may see it."""

    hidden: bool  # a 举报 seen by a handling department: nothing at all
    anonymous: bool
    name: str
    phone: str
    email: str


def reporter_for(ticket: Ticket, *, user, desk: bool | None = None) -> Reporter:
    """The desk sees the contact masked; a handling department sees it masked too, except in
    a 举报, where it sees nothing; the desk's supervisors unmask it through ``reporter_reveal``
    (logged)."""
    if desk is None:
        desk = is_desk(user)
    if ticket.hides_reporter and not desk:
        return Reporter(True, ticket.is_anonymous, "", "", "")
    if ticket.is_anonymous:
        return Reporter(False, True, "", "", "")
    citizen = ticket.citizen
    name = ticket.contact_name or (citizen.real_name if citizen else "")
    phone = ticket.contact_phone or ((citizen.phone or "") if citizen else "")
    masked_name = (name[:1] + "*" * (len(name) - 1)) if name else ""
    email = ticket.contact_email
    masked_email = (email[:1] + "***@" + email.split("@", 1)[1]) if "@" in email else ""
    return Reporter(False, False, masked_name, mask_phone(phone), masked_email)


def can_reveal_reporter(user) -> bool:
    return may_see_reporter(user)


def public_preview(*, kind: str, is_public: bool, anonymous: bool) -> dict[str, list[str]]:
    """What will be public and what the handling department will see, before submitting."""
    public: list[str] = []
    if is_public and kind != Ticket.Kind.REPORT:
        public = [_("the title and the content"), _("the region"), _("the department's reply")]
    department = [_("the title and the content"), _("the place"), _("the attachments")]
    if kind == Ticket.Kind.REPORT:
        department.append(_("not who you are: a report's sender is hidden from the department"))
    elif anonymous:
        department.append(_("not who you are: you send this anonymously"))
    else:
        department.append(_("your name and phone number, partly hidden"))
    return {"public": public, "department": department}


def regions_for_choice() -> QuerySet[Region]:
    return Region.objects.order_by("code").only("id", "code", "name", "level")


def dispatch_departments() -> QuerySet[Department]:
    return (
        Department.objects.filter(is_active=True)
        .exclude(kind=Department.Kind.HOTLINE)
        .select_related("region")
        .only("id", "code", "name", "kind", "region__code", "region__name")
        .order_by("region__code", "kind", "name")
    )

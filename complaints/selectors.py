"""Reading tickets: what a citizen, a department and the desk may each see of them.

Who sent a ticket is one fact with one rule, ``ticket_sender_visible`` (and its queryset form
``sender_visible_q``): every page, admin view, API serializer, export and log that could show a
sender — a name, a phone, an account, an application that names its applicant, or the bare fact
that a given person made a given report — asks it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from departments.models import Department, Region
from departments.selectors import staff_roles
from zheliban.core.identity import mask_name, mask_phone

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


def may_work_tickets(*, user) -> bool:
    """Whether the user may use the staff ticket pages: a superuser, or a member of any
    department in any role."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or bool(staff_roles(user=user))


def tickets_of_citizen(*, user) -> QuerySet[Ticket]:
    return (
        Ticket.objects.filter(citizen=user)
        .select_related("department", "region")
        .only(*ROW_FIELDS)
        .order_by("-created_at", "-id")
    )


def _detail(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return qs.select_related(
        "department",
        "region",
        "citizen",
        "duplicate_of",
        "entered_by",
        "item",
        "application__item",
        "application__bundle",
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


# ---------------------------------------------------------------- who sent it


def ticket_sender_visible(*, viewer, ticket: Ticket, desk: bool | None = None) -> bool:
    """Whether ``viewer``, who reached ``ticket`` through a scoped selector, may learn who sent
    it: the sender's name, phone, account, the application naming them as its applicant, or the
    bare fact that this person sent this ticket.

    The desk (12345) and superusers may, masked; only the desk's supervisors unmask a sender,
    through ``reporter_reveal``, which logs every look. A handling department may, masked,
    except for a report (举报), whose sender stays with the desk. The sender's own pages show
    them as the handling department sees them, so they are not an exception here.
    ``desk``: whether the viewer is at the desk, when the caller already knows (no query).
    """
    if not ticket.hides_reporter:
        return True
    return bool(is_desk(viewer) if desk is None else desk)


def sender_visible_q(*, viewer, desk: bool | None = None, prefix: str = "") -> Q:
    """``ticket_sender_visible`` as a condition on tickets (``prefix``: the path to the ticket
    from the rows filtered, e.g. ``"ticket__"``), for lists, admin columns and exports."""
    if is_desk(viewer) if desk is None else desk:
        return Q()
    return ~Q(**{f"{prefix}kind": Ticket.Kind.REPORT})


def tickets_sender_visible(*, viewer, desk: bool | None = None) -> QuerySet[Ticket]:
    """The tickets the viewer reaches as staff whose sender they may learn."""
    return tickets_for_staff(viewer).filter(sender_visible_q(viewer=viewer, desk=desk))


@dataclass(frozen=True)
class Reporter:
    """Who sent a ticket, as the viewer may see it."""

    hidden: bool  # a 举报 seen by a handling department: nothing at all
    anonymous: bool
    name: str
    phone: str
    email: str


def reporter_for(ticket: Ticket, *, user, desk: bool | None = None) -> Reporter:
    """The sender, masked, when ``ticket_sender_visible``; nothing at all otherwise. The desk's
    supervisors unmask it through ``reporter_reveal`` (logged)."""
    if not ticket_sender_visible(viewer=user, ticket=ticket, desk=desk):
        return Reporter(True, ticket.is_anonymous, "", "", "")
    if ticket.is_anonymous:
        return Reporter(False, True, "", "", "")
    citizen = ticket.citizen
    name = ticket.contact_name or (citizen.real_name if citizen else "")
    phone = ticket.contact_phone or ((citizen.phone or "") if citizen else "")
    email = ticket.contact_email
    masked_email = (email[:1] + "***@" + email.split("@", 1)[1]) if "@" in email else ""
    return Reporter(False, False, mask_name(name), mask_phone(phone), masked_email)


def can_reveal_reporter(user) -> bool:
    return may_see_reporter(user)


def linked_to_shown(ticket: Ticket, *, viewer, desk: bool) -> Ticket | None:
    """The ticket this one was linked to, as the viewer may see it: a report (举报) only to the
    desk and to its own sender. No report is linked to any more (``link_candidates``); this
    keeps the links made before that from naming one."""
    target = ticket.duplicate_of
    if target is None or not target.hides_reporter or desk:
        return target
    own = viewer is not None and viewer.is_authenticated and target.citizen_id == viewer.pk
    return target if own else None


def dispatch_reasons_shown(ticket: Ticket, *, sender_visible: bool) -> list[str]:
    """Why the ticket went where it went; a reason naming an application (``application:
    <reference>``) would point at the sender, so it is left out where the sender is hidden."""
    reasons = [str(r) for r in ticket.dispatch_reasons or []]
    if sender_visible:
        return reasons
    return [r for r in reasons if not r.startswith("application:")]


# ---------------------------------------------------------------- the application it is about


@dataclass(frozen=True)
class ApplicationStep:
    label: str
    department: str
    state: str
    state_display: str
    ready_on: dt.date | None
    due_date: dt.date | None
    finished_on: dt.date | None


@dataclass(frozen=True)
class ApplicationFacts:
    """What a department needs to look into a ticket about an application. ``reference`` is
    empty where the sender is hidden: the reference leads to the applicant, who sent it."""

    reference: str
    subject: str
    status: str
    status_display: str
    submitted_on: dt.date | None
    promised_date: dt.date | None
    steps: tuple[ApplicationStep, ...]


def _day(value: dt.datetime | None) -> dt.date | None:
    return timezone.localdate(value) if value is not None else None


def application_facts(ticket: Ticket, *, sender_visible: bool) -> ApplicationFacts | None:
    """The facts of the application the ticket is about (one query for its steps), never its
    applicant; ``None`` when the ticket is about none."""
    application = ticket.application
    if application is None:
        return None
    from workflows.models import Task

    tasks = (
        Task.objects.filter(application_id=application.pk)
        .select_related("department")
        .only(
            "label", "step", "state", "ready_at", "due_date", "finished_at",
            "department__name", "application_id",
        )
        .order_by("id")
    )  # fmt: skip
    steps = tuple(
        ApplicationStep(
            label=task.label or task.step,
            department=task.department.name,
            state=task.state,
            state_display=str(task.get_state_display()),
            ready_on=_day(task.ready_at),
            due_date=task.due_date,
            finished_on=_day(task.finished_at),
        )
        for task in tasks
    )
    subject = application.bundle or application.item
    return ApplicationFacts(
        reference=(application.reference or "") if sender_visible else "",
        subject=str(subject.name) if subject is not None else "",
        status=application.status,
        status_display=str(application.get_status_display()),
        submitted_on=_day(application.submitted_at),
        promised_date=application.promised_date,
        steps=steps,
    )


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

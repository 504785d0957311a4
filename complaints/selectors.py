"""Reading tickets: what a citizen, a department and the desk may each see of them.

Who sent a ticket is one fact with one rule, ``ticket_sender_visible`` (and its queryset form
``sender_visible_q``): every page, admin view, API serializer, export and log that could show a
sender — a name, a phone, an account, an application that names its applicant, or the bare fact
that a given person made a given report — asks it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Case, Count, Exists, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from departments.models import Department, Membership, Region
from departments.scoping import member_department_ids, overseen_department_ids
from departments.selectors import staff_roles
from zheliban.core.identity import mask_name, mask_phone

from .dispatch.departments import region_chain
from .errors import ComplaintsErrorCode
from .models import Article, Ticket, TicketAttachment, TicketDelay, TicketDepartment, TicketEvent
from .similarity import Fingerprint, fingerprint, same_matter_score

S = Ticket.State
P = TicketDepartment.State

# What a list row shows.
ROW_FIELDS = (
    "id", "title", "kind", "channel", "state", "created_at", "node_due_date",
    "node_due_provisional", "category", "dispatch_confidence", "dispatched_automatically",
    "return_count", "version", "supervised_at", "dispatch_reasons", "content", "address",
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
    delays: bool = False,
    callbacks: bool = False,
) -> QuerySet[Ticket]:
    """The tickets a member of staff works on, due first. ``queue``: those waiting for a
    dispatcher; ``delays``: those with a request for 延期 or 挂起 waiting for the desk;
    ``callbacks``: answered ones the sender has not rated by the link within the callback step's
    working days, for the desk to call (回访). Without ``state``, the open ones."""
    qs = tickets_for_staff(user)
    if callbacks:
        qs = qs.filter(state=S.ANSWERED, node_due_date__lte=timezone.localdate())
    if delays:
        pending = TicketDelay.objects.filter(ticket=OuterRef("pk"), state=TicketDelay.State.PENDING)
        qs = qs.filter(Exists(pending))
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


def dispatch_departments(region: Region | None = None) -> list[tuple[Region, list[Department]]]:
    """The departments a dispatcher chooses from for a ticket of ``region``, grouped by region,
    nearest first: the ticket's district, its city, the province, then the province's other
    regions; never another province's (one query)."""
    province = (region.code[:2] if region is not None else "33") + "0000"
    near = [province]
    if region is not None:
        near = region_chain(region.code)
    rows = (
        Department.objects.filter(is_active=True, region__code__startswith=province[:2])
        .exclude(kind=Department.Kind.HOTLINE)
        .select_related("region")
        .only("id", "code", "name", "kind", "region__code", "region__name", "region__level")
        .order_by("region__code", "kind", "name")
    )
    groups: dict[str, tuple[Region, list[Department]]] = {}
    for department in rows:
        groups.setdefault(department.region.code, (department.region, []))[1].append(department)

    def distance(code: str) -> tuple[int, str]:
        return (near.index(code) if code in near else len(near), code)

    return [groups[code] for code in sorted(groups, key=distance)]


# ---------------------------------------------------------------- the citizen's overview (/my/)


@dataclass(frozen=True)
class TicketTally:
    total: int
    open: int
    to_rate: int


def ticket_tally_for_citizen(*, user) -> TicketTally:
    """How many tickets the citizen sent, how many are open, and how many wait for the
    citizen's rating (one query)."""
    return TicketTally(
        **Ticket.objects.filter(citizen=user).aggregate(
            total=Count("pk"),
            open=Count("pk", filter=Q(state__in=Ticket.OPEN_STATES)),
            to_rate=Count("pk", filter=Q(state=S.CALLED_BACK)),
        )
    )


def tickets_awaiting_first(*, user) -> QuerySet[Ticket]:
    """The citizen's tickets, newest first, those waiting for the citizen's rating before the
    rest."""
    awaiting = Case(When(state=S.CALLED_BACK, then=Value(0)), default=Value(1))
    return tickets_of_citizen(user=user).order_by(awaiting, "-created_at", "-id")


# ---------------------------------------------------------------- who may see what


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


def part_for(ticket: Ticket, user) -> TicketDepartment | None:
    if user is None or not user.is_authenticated:
        return None
    parts = ticket.parts.exclude(state=P.RETURNED).select_related("department")
    if not user.is_superuser:
        parts = parts.filter(department__in=member_department_ids(user))
    return parts.order_by("-is_lead", "id").first()


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


def _fingerprint(ticket: Ticket) -> Fingerprint:
    return fingerprint(ticket.title, ticket.content, ticket.address)


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
    mine = fingerprint(title, content, address)
    found = []
    for ticket in qs.select_related("department").order_by("-created_at")[:DUPLICATE_CANDIDATES]:
        score = same_matter_score(mine, _fingerprint(ticket))
        if score >= DUPLICATE_MIN_SCORE:
            found.append(DuplicateMatch(ticket, round(score, 3)))
    found.sort(key=lambda m: (-m.score, -m.ticket.pk))
    return found[:limit]


# ---------------------------------------------------------------- what a form or a request names
#
# The staff page and the API take the same inputs (a department's code, the codes of assisting
# departments, the ticket a ticket repeats) and resolve them here, so both refuse the same
# things with the same code and message. The refusals are ``ValidationError``s on the input's
# field: the API answers them as 400 with the field named, the page shows the message.

TICKET_NUMBER_RE = re.compile(r"(?:ZB)?0*([0-9]{1,18})")


def ticket_pk_of(reference: Ticket | int | str | None) -> int | None:
    """The id a reference names: the ticket itself, its id, or its number (``ZB00000042``, in
    any case, the prefix and the zeros optional); None for anything else."""
    if isinstance(reference, Ticket):
        return reference.pk
    if isinstance(reference, bool) or reference is None:
        return None
    if isinstance(reference, int):
        return reference if 0 < reference < 10**18 else None
    match = TICKET_NUMBER_RE.fullmatch(str(reference).strip().upper())
    return int(match.group(1)) or None if match is not None else None


def departments_for_codes(
    references: Iterable[str], *, field: str = "assisting"
) -> list[Department]:
    """The active departments these references name, each by its code or by its exact name, in
    the order given, each once (one query); a reference naming none, or a name several
    departments share, refuses the lot (``department_unknown`` on ``field``). Whether a
    department may take the ticket is the move's to say (``ticket_transition``)."""
    references = list(dict.fromkeys(r.strip() for r in references if r.strip()))
    if not references:
        return []
    rows = Department.objects.filter(is_active=True).filter(
        Q(code__in=references) | Q(name__in=references)
    )
    by_code: dict[str, Department] = {}
    by_name: dict[str, list[Department]] = {}
    for department in rows:
        by_code[department.code] = department
        by_name.setdefault(department.name, []).append(department)
    found, unknown, shared = [], [], []
    for reference in references:
        if reference in by_code:
            found.append(by_code[reference])
        elif len(by_name.get(reference, ())) == 1:
            found.append(by_name[reference][0])
        elif reference in by_name:
            shared.append(reference)
        else:
            unknown.append(reference)
    if unknown or shared:
        message = (
            _("No active department has the code or name %(codes)s.")
            if unknown
            else _("Several departments are called %(codes)s; choose one by its code.")
        )
        raise ValidationError(
            {
                field: ValidationError(
                    message,
                    code=ComplaintsErrorCode.DEPARTMENT_UNKNOWN,
                    params={"codes": ", ".join(unknown or shared)},
                )
            }
        )
    return list({d.pk: d for d in found}.values())


ASSISTING_SEPARATORS = re.compile(r"[\s,，、;；]+")


def department_references(text: str) -> list[str]:
    """The departments a text field names, separated by spaces, commas or 、."""
    return [part for part in ASSISTING_SEPARATORS.split(text or "") if part]


def department_for_code(code: str, *, field: str = "department") -> Department | None:
    """The active department with this code or name (None for none at all), or
    ``department_unknown`` on ``field``."""
    found = departments_for_codes([code], field=field)
    return found[0] if found else None


def article_for_code(code: str, *, field: str = "article") -> Article | None:
    """The active knowledge-base article with this code (None for no code), or ``not_found``
    on ``field``."""
    code = (code or "").strip()
    if not code:
        return None
    article = Article.objects.filter(code=code, is_active=True).select_related("department").first()
    if article is None:
        raise ValidationError(
            {
                field: ValidationError(
                    _("No active article has the code %(code)s."),
                    code=ComplaintsErrorCode.NOT_FOUND,
                    params={"code": code},
                )
            }
        )
    return article


def link_target_for(
    reference: Ticket | int | str | None, *, staff=None, lock: bool = False
) -> Ticket | None:
    """The ticket ``reference`` names as the one a ticket repeats, or None.

    For a member of ``staff`` linking a ticket at the desk: a ticket of their scope
    (``tickets_for_staff``), a report among them, which the link move then refuses by name (the
    desk knows it exists). Without ``staff``, for a sender joining their new ticket to one
    offered as the same matter: one of ``link_candidates`` only, so that a report answers
    exactly like a number that names nothing. ``lock`` locks the row (inside a transaction).
    """
    pk = ticket_pk_of(reference)
    if pk is None:
        return None
    tickets = link_candidates() if staff is None else tickets_for_staff(staff)
    if lock:
        tickets = tickets.select_for_update(of=("self",))
    return tickets.filter(pk=pk).first()


def link_target_get(
    reference: Ticket | int | str | None, *, staff, field: str = "target"
) -> Ticket | None:
    """``link_target_for`` for a member of staff, None for no reference at all; a reference
    naming no ticket of their scope is refused (``not_found`` on ``field``)."""
    if reference is None or reference == "":
        return None
    target = link_target_for(reference, staff=staff)
    if target is None:
        unknown = ValidationError(_("No ticket has this id."), code=ComplaintsErrorCode.NOT_FOUND)
        raise ValidationError({field: unknown})
    return target


# ---------------------------------------------------------------- regional oversight


def tickets_overdue_overseen(*, user, limit: int = 50) -> QuerySet[Ticket]:
    """The open tickets past their step's due date whose lead department, or a department with a
    part in them, is one the user oversees as a supervisor of a government service centre
    (``departments.scoping.overseen_department_ids``); due first, for reading only (one query).
    A row shows no sender and no text: oversight watches time, not content."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Ticket.objects.none()
    overseen = overseen_department_ids(user)
    parts = TicketDepartment.objects.filter(ticket=OuterRef("pk"), department__in=overseen).exclude(
        state=P.RETURNED
    )
    return (
        Ticket.objects.filter(state__in=Ticket.OPEN_STATES, node_due_date__lt=timezone.localdate())
        .filter(Q(department__in=overseen) | Exists(parts))
        .select_related("department", "region")
        .only(*ROW_FIELDS)
        .order_by("node_due_date", "id")[:limit]
    )


# ---------------------------------------------------------------- the dispatchers' queue


@dataclass(frozen=True)
class QueueSuggestion:
    department: Department
    confidence: float | None


def queue_suggestions(tickets: Iterable[Ticket]) -> dict[int, QueueSuggestion]:
    """For tickets waiting for a dispatcher, the newest suggestion not yet declined (the
    model's on arrival, or the department a returning one named), with its department and
    confidence (two queries, whatever the number of tickets)."""
    ids = [t.pk for t in tickets]
    if not ids:
        return {}
    newest: dict[int, str] = {}
    declined: dict[int, set[str]] = {}
    confidence = {t.pk: t.dispatch_confidence for t in tickets}
    events = (
        TicketEvent.objects.filter(ticket_id__in=ids, action__in=("queue", "return"))
        .select_related("department")
        .order_by("ticket_id", "at", "id")
        .only("ticket_id", "action", "data", "department__code")
    )
    for event in events:
        if event.action == "return" and event.department is not None:
            declined.setdefault(event.ticket_id, set()).add(event.department.code)
        code = (event.data or {}).get("suggested")
        if code:
            newest[event.ticket_id] = code
    wanted = {pk: code for pk, code in newest.items() if code not in declined.get(pk, set())}
    departments = {
        d.code: d
        for d in Department.objects.filter(code__in=set(wanted.values()), is_active=True).only(
            "id", "code", "name", "kind"
        )
    }
    return {
        pk: QueueSuggestion(departments[code], confidence.get(pk))
        for pk, code in wanted.items()
        if code in departments
    }


def queue_duplicates(tickets: Iterable[Ticket], *, now=None) -> dict[int, list[Ticket]]:
    """For each ticket of a page of the queue, the other open or recent tickets of its region
    that are likely the same matter (``duplicates_find``'s rule), in one query for the page."""
    tickets = [t for t in tickets if t.region_id is not None]
    if not tickets:
        return {}
    now = now or timezone.now()
    candidates = list(
        link_candidates()
        .filter(
            region_id__in={t.region_id for t in tickets},
            created_at__gte=now - dt.timedelta(days=DUPLICATE_DAYS),
        )
        .exclude(state=S.LINKED)
        .only("id", "title", "content", "region_id", "state", "address")
        .order_by("-created_at")[:DUPLICATE_CANDIDATES]
    )
    prints = {other.pk: _fingerprint(other) for other in candidates}
    found: dict[int, list[Ticket]] = {}
    for ticket in tickets:
        mine = prints[ticket.pk] if ticket.pk in prints else _fingerprint(ticket)
        found_here = [
            other
            for other in candidates
            if other.pk != ticket.pk
            and other.region_id == ticket.region_id
            and same_matter_score(mine, prints[other.pk]) >= DUPLICATE_MIN_SCORE
        ]
        if found_here:
            found[ticket.pk] = found_here
    return found


def next_in_queue(*, user, after: Ticket) -> int | None:
    """The id of the ticket the dispatcher works next: the first of their queue but ``after``."""
    return (
        staff_tickets(user=user, queue=True)
        .exclude(pk=after.pk)
        .values_list("pk", flat=True)
        .first()
    )


def suspensions_due(*, today: dt.date) -> list[int]:
    """The suspended tickets whose 挂起 ends on or before ``today``."""
    return list(
        Ticket.objects.filter(
            state=S.SUSPENDED,
            delays__state=TicketDelay.State.APPROVED,
            delays__kind=TicketDelay.Kind.SUSPENSION,
            delays__until__lte=today,
        ).values_list("pk", flat=True)
    )


def street_offices(region: Region | None) -> list[Department]:
    """The active offices of the streets and townships of a district, by street code."""
    if region is None or region.level != Region.Level.COUNTY:
        return []
    return list(
        Department.objects.filter(
            is_active=True, region__parent=region, region__level=Region.Level.STREET
        )
        .select_related("region")
        .order_by("region__code", "kind", "name")
    )


def articles_suggested(ticket: Ticket, *, limit: int = 3) -> list[Article]:
    """The knowledge-base articles that best answer a consultation, for its region, best
    first: what the desk may answer it with (one query once the index is built)."""
    from .knowledge.index import current_index

    hits = current_index().search(
        f"{ticket.title} {ticket.content}",
        region_code=ticket.region.code if ticket.region is not None else None,
        day=timezone.localdate(),
        limit=limit * 4,
    )
    ids = [hit.doc.id for hit in hits if hit.doc.kind == "article"][:limit]
    found = {a.pk: a for a in Article.objects.filter(pk__in=ids, is_active=True)}
    return [found[pk] for pk in ids if pk in found]

"""Ticket pages: a citizen writes one and follows it; the desk and the departments work on it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from departments.models import Membership
from zheliban.core.errors import Refused
from zheliban.core.uploads import private_file_response

from .. import selectors, services
from ..dispatch.categories import CATEGORIES
from ..forms import ActionForm, TicketForm
from ..models import AssistantQuestion, Ticket, TicketAttachment, TicketDelay

S = Ticket.State


def _question(request: HttpRequest, raw) -> AssistantQuestion | None:
    if not raw:
        return None
    qs = AssistantQuestion.objects.filter(pk=raw, ticket__isnull=True)
    qs = qs.filter(user=request.user) if request.user.is_authenticated else qs.none()
    return qs.first()


@login_required
@require_http_methods(["GET", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    """Write a ticket: check (what will be public, likely duplicates), then send."""
    hotline = selectors.is_desk(request.user)
    if request.method == "GET":
        initial = {
            "kind": request.GET.get("kind", Ticket.Kind.COMPLAINT),
            "content": request.GET.get("content", "")[: services.CONTENT_MAX_CHARS],
            "question": request.GET.get("question") or None,
        }
        form = TicketForm(initial=initial, hotline=hotline)
        return render(request, "complaints/ticket_new.html", {"form": form, "hotline": hotline})
    form = TicketForm(request.POST, hotline=hotline)
    context = {"form": form, "hotline": hotline}
    if not form.is_valid():
        messages.error(request, _("Please correct the fields marked below."))
        return render(request, "complaints/ticket_new.html", context, status=400)
    data = form.cleaned_data
    fields = {
        "kind": data["kind"],
        "channel": Ticket.Channel.HOTLINE if hotline else Ticket.Channel.WEB,
        "content": data["content"],
        "title": data["title"],
        "region": data["region"],
        "address": data["address"],
        "latitude": data["latitude"],
        "longitude": data["longitude"],
    }
    if request.POST.get("step") != "send":
        try:
            cleaned = services.ticket_validate(**fields)
        except services.TicketInvalid as exc:
            _add_errors(form, exc.fields)
            return render(request, "complaints/ticket_new.html", context, status=400)
        context.update(_checked(data, cleaned))
        return render(request, "complaints/ticket_new.html", context)
    # the service resolves the chosen ticket among the ones a ticket may join (never a report)
    link_to = selectors.ticket_pk_of(request.POST.get("link_to", ""))
    try:
        ticket = services.ticket_submit(
            **fields,
            citizen=None if hotline else request.user,
            entered_by=request.user if hotline else None,
            contact_name=data.get("contact_name", ""),
            contact_phone=data.get("contact_phone", ""),
            is_anonymous=data["anonymous"],
            is_public=data["public"],
            uploads=request.FILES.getlist("attachments"),
            question=_question(request, data.get("question")),
            link_to=link_to,
        )
    except services.TicketInvalid as exc:
        context["attachment_errors"] = exc.fields.pop("attachments", [])
        context["link_errors"] = exc.fields.pop("link_to", [])
        if exc.fields:
            _add_errors(form, exc.fields)
            context.update(checked=True, preview=_preview(data))
        else:
            context.update(_checked(data, services.ticket_validate(**fields)))
        return render(request, "complaints/ticket_new.html", context, status=400)
    messages.success(request, _("Ticket %(number)s received.") % {"number": ticket.number})
    if hotline:
        return redirect("complaints:staff-ticket", pk=ticket.pk)
    return redirect("complaints:ticket", pk=ticket.pk)


def _preview(data: dict) -> dict:
    return selectors.public_preview(
        kind=data["kind"], is_public=data["public"], anonymous=data["anonymous"]
    )


def _checked(data: dict, cleaned: dict) -> dict:
    """What the check step shows: what will be public, and the likely repeats to join."""
    return {
        "checked": True,
        "preview": _preview(data),
        "duplicates": selectors.duplicates_find(
            content=cleaned["content"],
            title=data["title"],
            region=cleaned["region"],
            address=cleaned["address"],
        ),
    }


def _add_errors(form: TicketForm, fields: dict[str, list[str]]) -> None:
    for field, errors in fields.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@login_required
def my_tickets(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.tickets_of_citizen(user=request.user), 20).get_page(
        request.GET.get("page")
    )
    return render(request, "complaints/my_tickets.html", {"page": page})


def _citizen_context(request: HttpRequest, ticket: Ticket, **extra) -> dict:
    linked_to = selectors.linked_to_shown(ticket, viewer=request.user, desk=False)
    return {"ticket": ticket, "linked_to": linked_to, **extra}


@login_required
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = selectors.ticket_for_citizen(user=request.user, pk=pk)
    return render(request, "complaints/ticket.html", _citizen_context(request, ticket))


@login_required
@require_POST
def ticket_rate(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = selectors.ticket_for_citizen(user=request.user, pk=pk)
    try:
        score = int(request.POST.get("satisfaction", ""))
    except ValueError:
        score = None
    try:
        services.ticket_transition(
            actor=request.user,
            ticket=ticket,
            action="rate",
            satisfaction=score,
            note=request.POST.get("comment", ""),
        )
    except Refused as exc:
        return render(
            request,
            "complaints/ticket.html",
            _citizen_context(request, ticket, refusal=exc.message),
            status=exc.status,
        )
    messages.success(request, _("Thank you for your rating."))
    return redirect("complaints:ticket", pk=ticket.pk)


@require_http_methods(["GET", "POST"])
def rate_by_link(request: HttpRequest, token: str) -> HttpResponse:
    """The one-tap rating page of the automatic callback: no login, the signed link is enough."""
    link = services.rating_link_open(token)
    context = {"link": link, "ticket": link.ticket, "token": token}
    if link.ticket is None:
        return render(request, "complaints/rate_link.html", context, status=410)
    if request.method == "GET":
        return render(request, "complaints/rate_link.html", context)
    try:
        score = int(request.POST.get("satisfaction", ""))
    except ValueError:
        score = None
    try:
        services.rate_by_link(token=token, satisfaction=score, note=request.POST.get("comment", ""))
    except Refused as exc:
        context["refusal"] = exc.message
        return render(request, "complaints/rate_link.html", context, status=exc.status)
    return render(request, "complaints/rate_link.html", {**context, "rated": score})


@login_required
def attachment(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        found = TicketAttachment.objects.select_related("ticket").get(pk=pk)
    except TicketAttachment.DoesNotExist as exc:
        raise Http404 from exc
    ticket = found.ticket
    own = ticket.citizen_id == request.user.pk
    if not own and not selectors.tickets_for_staff(request.user).filter(pk=ticket.pk).exists():
        raise Http404
    return private_file_response(found.file, download_name=found.name)


# ---------------------------------------------------------------- staff


def _staff_required(request: HttpRequest) -> None:
    if not selectors.may_work_tickets(user=request.user):
        raise PermissionDenied


@login_required
def staff_tickets(request: HttpRequest) -> HttpResponse:
    _staff_required(request)
    view = request.GET.get("view", "")
    roles = selectors.desk_roles(request.user)
    desk = bool(roles)
    if view not in ("queue", "overdue", "delays", "callbacks", "all", ""):
        view = ""
    if not view:
        view = "queue" if desk else "open"
    qs = selectors.staff_tickets(
        user=request.user,
        queue=view == "queue",
        overdue=view == "overdue",
        delays=view == "delays",
        callbacks=view == "callbacks",
    )
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    queue = view == "queue"
    dispatchers = {Membership.Role.DISPATCHER, Membership.Role.SUPERVISOR}
    can_dispatch = queue and bool(roles & dispatchers)
    suggestions = selectors.queue_suggestions(page.object_list) if queue else {}
    duplicates = selectors.queue_duplicates(page.object_list) if queue else {}
    return render(
        request,
        "complaints/staff_tickets.html",
        {
            "page": page,
            "view": view,
            "desk": desk,
            "can_dispatch": can_dispatch,
            "rows": [
                (
                    t,
                    suggestions.get(t.pk),
                    duplicates.get(t.pk, ()),
                    selectors.dispatch_reasons_shown(t, sender_visible=False)[:5],
                )
                for t in page.object_list
            ],
        },
    )


@login_required
@require_POST
def staff_tickets_dispatch(request: HttpRequest) -> HttpResponse:
    """A dispatcher sends the selected tickets of the queue each to its suggestion, one move
    at a time through the chokepoint; what is refused is named and left as it was."""
    _staff_required(request)
    try:
        ids = [int(value) for value in request.POST.getlist("tickets")][:100]
    except ValueError:
        ids = []
    if not ids:
        messages.error(request, _("Select the tickets to dispatch."))
        return redirect(f"{reverse('complaints:staff-tickets')}?view=queue")
    queued = list(selectors.staff_tickets(user=request.user, queue=True).filter(pk__in=ids))
    suggestions = selectors.queue_suggestions(queued)
    done, refused = 0, []
    for ticket in queued:
        suggestion = suggestions.get(ticket.pk)
        if suggestion is None:
            refused.append(
                _("%(number)s: no suggestion; dispatch it from its page.")
                % {"number": ticket.number}
            )
            continue
        try:
            services.ticket_transition(
                actor=request.user,
                ticket=ticket.pk,
                action="dispatch",
                version=ticket.version,
                department=suggestion.department,
            )
        except Refused as exc:
            refused.append(f"{ticket.number}: {exc.message}")
        else:
            done += 1
    missing = len(set(ids) - {t.pk for t in queued})
    refused += [_("No such ticket in the queue.")] * missing
    if done:
        messages.success(
            request,
            ngettext(
                "%(n)d ticket dispatched to its suggestion.",
                "%(n)d tickets dispatched to their suggestions.",
                done,
            )
            % {"n": done},
        )
    for message in refused:
        messages.error(request, message)
    return redirect(f"{reverse('complaints:staff-tickets')}?view=queue")


def _staff_context(request: HttpRequest, ticket: Ticket, **extra) -> dict:
    user = request.user
    roles = selectors.desk_roles(user)
    R = Membership.Role
    can_dispatch = bool(roles & {R.DISPATCHER, R.SUPERVISOR})
    desk = bool(roles)
    sender_visible = selectors.ticket_sender_visible(viewer=user, ticket=ticket, desk=desk)
    context = {
        "ticket": ticket,
        "desk": bool(roles),
        "can_dispatch": can_dispatch,
        "part": selectors.part_for(ticket, user),
        "reporter": selectors.reporter_for(ticket, user=user, desk=desk),
        "can_reveal": R.SUPERVISOR in roles,
        "dispatch_reasons": selectors.dispatch_reasons_shown(ticket, sender_visible=sender_visible),
        "linked_to": selectors.linked_to_shown(ticket, viewer=user, desk=desk),
        "application": selectors.application_facts(ticket, sender_visible=sender_visible),
        **extra,
    }
    part = context["part"]
    if part is not None and part.is_lead and ticket.state == S.HANDLING:
        context["streets"] = selectors.street_offices(part.department.region)
        context["delay_kinds"] = TicketDelay.Kind.choices
    delays = list(ticket.delays.all())
    context["pending_delay"] = next((d for d in delays if d.state == "pending"), None)
    context["delays"] = delays
    if can_dispatch and ticket.is_open:
        # tickets of the same matter, which the desk may merge into this one
        context["duplicates"] = selectors.duplicates_find(
            content=ticket.content,
            title=ticket.title,
            region=ticket.region,
            address=ticket.address,
            exclude=ticket.pk,
        )
    if can_dispatch and ticket.state in (S.RECEIVED, S.QUEUED):
        context["department_groups"] = selectors.dispatch_departments(ticket.region)
        context["departments"] = [d for _r, ds in context["department_groups"] for d in ds]
        context["categories"] = list(CATEGORIES)
        returned = [p.department for p in ticket.parts.all() if p.state == "returned"]
        context["declined"] = {d.pk for d in returned}
        # the newest suggestion (the model's, or a returning department's) not yet declined
        context["suggested"] = next(
            (
                e.data
                for e in reversed(ticket.events.all())
                if e.action in ("queue", "return")
                and e.data.get("suggested")
                and e.data["suggested"] not in {d.code for d in returned}
            ),
            None,
        )
        # named as the dispatcher knows it, not by its code
        context["suggested_department"] = next(
            (
                d
                for d in context["departments"]
                if context["suggested"] and d.code == context["suggested"]["suggested"]
            ),
            None,
        )
        if ticket.kind == Ticket.Kind.CONSULTATION:
            context["articles"] = selectors.articles_suggested(ticket)
    return context


@login_required
def staff_ticket(request: HttpRequest, pk: int) -> HttpResponse:
    _staff_required(request)
    ticket = selectors.ticket_for_staff(user=request.user, pk=pk)
    return render(request, "complaints/staff_ticket.html", _staff_context(request, ticket))


@login_required
@require_POST
def staff_act(request: HttpRequest, pk: int) -> HttpResponse:
    _staff_required(request)
    ticket = selectors.ticket_for_staff(user=request.user, pk=pk)
    form = ActionForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "complaints/staff_ticket.html",
            _staff_context(request, ticket, refusal=_("Check the values you gave.")),
            status=400,
        )
    data = form.cleaned_data
    try:
        department = selectors.department_for_code(data["department"])
        assisting = selectors.departments_for_codes(
            selectors.department_references(data["assisting"])
        )
        target = selectors.link_target_get(data["target"], staff=request.user)
        article = selectors.article_for_code(data["article"])
        merge = [
            selectors.link_target_get(ref, staff=request.user, field="merge")
            for ref in request.POST.getlist("merge")[:50]
        ]
    except ValidationError as exc:
        return render(
            request,
            "complaints/staff_ticket.html",
            _staff_context(request, ticket, refusal=exc.messages[0]),
            status=400,
        )
    action = data["action"]
    try:
        if action == "merge":
            services.tickets_merge(actor=request.user, into=ticket, tickets=merge)
        else:
            services.ticket_transition(
                actor=request.user,
                ticket=ticket,
                action=action,
                version=data["version"],
                note=data["note"],
                department=department,
                assisting=assisting,
                target=target,
                satisfaction=data["satisfaction"],
                article=article,
                data=services.move_data(data),
            )
    except Refused as exc:
        ticket = selectors.ticket_for_staff(user=request.user, pk=pk)
        return render(
            request,
            "complaints/staff_ticket.html",
            _staff_context(request, ticket, refusal=exc.message),
            status=exc.status,
        )
    messages.success(request, _("Done."))
    if action in QUEUE_MOVES and ticket.state in (S.RECEIVED, S.QUEUED):
        # a dispatcher working the queue goes on with its next ticket
        following = selectors.next_in_queue(user=request.user, after=ticket)
        if following is not None:
            return redirect("complaints:staff-ticket", pk=following)
        return redirect(f"{reverse('complaints:staff-tickets')}?view=queue")
    if not selectors.tickets_for_staff(request.user).filter(pk=ticket.pk).exists():
        return redirect("complaints:staff-tickets")
    return redirect("complaints:staff-ticket", pk=ticket.pk)


# The desk's moves that take a ticket out of the queue.
QUEUE_MOVES = ("dispatch", "link", "resolve")


@login_required
@require_POST
def staff_reporter(request: HttpRequest, pk: int) -> HttpResponse:
    _staff_required(request)
    ticket = selectors.ticket_for_staff(user=request.user, pk=pk)
    try:
        revealed = services.reporter_reveal(
            user=request.user, ticket=ticket, reason=request.POST.get("reason", "")
        )
    except Refused as exc:
        return render(
            request,
            "complaints/staff_ticket.html",
            _staff_context(request, ticket, refusal=exc.message),
            status=exc.status,
        )
    return render(
        request, "complaints/staff_ticket.html", _staff_context(request, ticket, revealed=revealed)
    )


urlpatterns = [
    path("tickets/new/", ticket_new, name="ticket-new"),
    path("my/tickets/", my_tickets, name="my-tickets"),
    path("my/tickets/<int:pk>/", ticket_detail, name="ticket"),
    path("my/tickets/<int:pk>/rate/", ticket_rate, name="ticket-rate"),
    path("tickets/rate/<str:token>/", rate_by_link, name="rate-by-link"),
    path("tickets/files/<int:pk>/", attachment, name="ticket-attachment"),
    path("staff/tickets/", staff_tickets, name="staff-tickets"),
    path("staff/tickets/dispatch/", staff_tickets_dispatch, name="staff-tickets-dispatch"),
    path("staff/tickets/<int:pk>/", staff_ticket, name="staff-ticket"),
    path("staff/tickets/<int:pk>/act/", staff_act, name="staff-act"),
    path("staff/tickets/<int:pk>/reporter/", staff_reporter, name="staff-reporter"),
]

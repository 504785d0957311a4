"""The citizen's overview (/my/): applications, tickets, notices, e-licences and the uses of
their data, each the newest few with a link to its full list."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from complaints import selectors as tickets
from workflows import selectors as cases
from zheliban.core.identity import mask_text
from zheliban.core.notices import notices_for

# How many entries each section shows; the full lists are one link away.
ROWS = 5
NOTICE_ROWS = 3


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    applications = list(cases.applications_awaiting_first(user=user)[:ROWS])
    for app in applications:
        app.awaited = cases.awaited_of_citizen(app)
    licences = list(cases.licence_list_for_citizen(user=user)[: ROWS + 1])
    for licence in licences:
        # a licence's value may be an identity number, shown masked like every other one
        licence.shown_value = mask_text(licence.value)
    context = {
        "applications": applications,
        "application_tally": cases.application_tally_for_citizen(user=user),
        "tickets": list(tickets.tickets_awaiting_first(user=user)[:ROWS]),
        "ticket_tally": tickets.ticket_tally_for_citizen(user=user),
        "notices": list(notices_for(user=user)[:NOTICE_ROWS]),
        "unread_notices": notices_for(user=user).filter(read_at__isnull=True).count(),
        "licences": licences[:ROWS],
        "more_licences": len(licences) > ROWS,
        "data_uses": list(cases.data_uses_for(user=user)[:ROWS]),
    }
    return render(request, "citizen/overview.html", context)

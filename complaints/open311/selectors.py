"""What Open311 shows of tickets: public-safe rows, in one query whatever the number.

Every ticket but a report of wrongdoing (举报) is listed (the desk's work is public), but only a
ticket whose citizen agreed to publication shows its description, address, position and the
answer. The others show their service, status, department, dates and their region only. A
report is not there at all: the list, ``requests/<id>`` and ``tokens/<token>`` answer as if it
did not exist, so neither its existence, nor its subject, nor the agency holding it can be
learned. Contact details, attachments and the integrator's client ids are never shown.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.models import Ticket

from .catalog import (
    GENERAL,
    SERVICE_BY_CATEGORY,
    SERVICE_BY_CODE,
    SERVICE_BY_DEPARTMENT_KIND,
    Service,
    service_for_ticket,
)
from .params import MAX_REQUESTS, RequestsQuery
from .render import Open311Error, w3c_datetime

ROW_FIELDS = (
    "id",
    "kind",
    "state",
    "is_public",
    "service_code",
    "category",
    "content",
    "reply",
    "address",
    "latitude",
    "longitude",
    "attributes",
    "created_at",
    "updated_at",
    "node_due_date",
    "department__name",
    "department__kind",
    "region__code",
    "region__name",
)


def listed() -> QuerySet[Ticket]:
    """The tickets Open311 may name at all: every one but a report (举报)."""
    return Ticket.objects.exclude(kind=Ticket.Kind.REPORT)


def _rows() -> QuerySet[Ticket]:
    return listed().select_related("department", "region").only(*ROW_FIELDS)


def _service_filter(service: Service) -> Q:
    """The tickets ``service_for_ticket`` puts in the service, as one condition."""
    other_channel = ~Q(service_code__in=list(SERVICE_BY_CODE))
    kinds = list(SERVICE_BY_DEPARTMENT_KIND)
    unknown_department = Q(department__isnull=True) | ~Q(department__kind__in=kinds)
    if service.code == GENERAL:
        return Q(service_code=GENERAL) | (
            other_channel & unknown_department & ~Q(category__in=list(SERVICE_BY_CATEGORY))
        )
    return Q(service_code=service.code) | (
        other_channel
        & (
            Q(department__kind=service.department_kind)
            | (unknown_department & Q(category=service.category))
        )
    )


def requests_search(query: RequestsQuery) -> list[Ticket]:
    """The tickets a GET requests asks for, newest first, at most ``MAX_REQUESTS``."""
    qs = _rows()
    if query.ids is not None:
        qs = qs.filter(pk__in=query.ids)
    else:
        if query.services:
            condition = Q()
            for service in query.services:
                condition |= _service_filter(service)
            qs = qs.filter(condition)
        if query.statuses and set(query.statuses) != {"open", "closed"}:
            states = Ticket.OPEN_STATES if query.statuses == ["open"] else Ticket.FINAL_STATES
            qs = qs.filter(state__in=states)
        if query.start is not None:
            qs = qs.filter(created_at__gte=query.start)
        if query.end is not None:
            qs = qs.filter(created_at__lte=query.end)
    return list(qs.order_by("-created_at", "-id")[:MAX_REQUESTS])


def request_get(request_id: int) -> Ticket:
    ticket = _rows().filter(pk=request_id).first()
    if ticket is None:
        raise Open311Error(
            404, _("service_request_id: there is no request %(id)s.") % {"id": request_id}
        )
    return ticket


def token_get(token: str) -> Ticket:
    try:
        value = uuid.UUID(token)
    except ValueError:
        value = None
    ticket = listed().filter(token=value).only("id", "token").first() if value else None
    if ticket is None:
        raise Open311Error(404, _("token: there is no request with this token."))
    return ticket


def is_public(ticket: Ticket) -> bool:
    return ticket.shown_in_public


def _due(day: dt.date | None) -> dt.datetime | None:
    """A step is due by the end of its day, local time."""
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


def request_row(ticket: Ticket) -> dict[str, Any]:
    """One ticket as an Open311 service request, showing only what may be public."""
    department_kind = ticket.department.kind if ticket.department_id else None
    service = service_for_ticket(ticket.service_code, department_kind, ticket.category)
    public = is_public(ticket)
    closed = ticket.state in Ticket.FINAL_STATES
    notes = str(ticket.get_state_display())
    if public and ticket.reply:
        notes = _("%(state)s. Answer: %(reply)s") % {"state": notes, "reply": ticket.reply}
    region_code = ticket.region.code if ticket.region_id else None
    region_name = ticket.region.name if ticket.region_id else None
    media_url = (ticket.attributes or {}).get("client", {}).get("media_url") or None
    return {
        "service_request_id": str(ticket.pk),
        "status": "closed" if closed else "open",
        "status_notes": notes,
        "service_name": service.name,
        "service_code": service.code,
        "description": ticket.content if public else None,
        "agency_responsible": ticket.department.name if ticket.department_id else None,
        "service_notice": None,
        "requested_datetime": w3c_datetime(ticket.created_at),
        "updated_datetime": w3c_datetime(ticket.updated_at),
        "expected_datetime": None if closed else w3c_datetime(_due(ticket.node_due_date)),
        "address": (ticket.address or region_name) if public else region_name,
        "address_id": region_code,
        "zipcode": None,
        "lat": float(ticket.latitude) if public and ticket.latitude is not None else None,
        "long": float(ticket.longitude) if public and ticket.longitude is not None else None,
        "media_url": media_url if public else None,
    }

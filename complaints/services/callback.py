"""The automatic callback (智能回访): with the answer, the sender gets a one-tap link to rate it.

The link carries a signed token naming the ticket and the answer it rates (the ticket's
``reopen_count`` when it was answered), so it needs no login; it expires after
``RATING_LINK_DAYS`` and serves once: a rating moves the ticket on, and a ticket answered again
after a reopening needs the new answer's link. Tickets nobody rated in the callback step's working
days are the desk's to call (``selectors.staff_tickets(callbacks=True)``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext as _

from complaints.errors import ComplaintsErrorCode
from zheliban.core.errors import Refused

from ..models import Ticket

RATING_SALT = "complaints.rating-link"
RATING_LINK_DAYS = 7
S = Ticket.State


def rating_token(ticket: Ticket) -> str:
    return signing.dumps({"t": ticket.pk, "r": ticket.reopen_count}, salt=RATING_SALT)


def rating_url(ticket: Ticket) -> str:
    """The absolute address of the ticket's one-tap rating page, for SMS and e-mail."""
    path = reverse("complaints:rate-by-link", kwargs={"token": rating_token(ticket)})
    return f"{settings.SITE_URL}{path}"


@dataclass(frozen=True)
class RatingLink:
    """What a rating link leads to: its ticket while it may still be rated, else why not."""

    ticket: Ticket | None
    refusal: str = ""
    code: str = ""


def rating_link_open(token: str) -> RatingLink:
    """The ticket a link rates, or why it no longer does: expired, unknown, already used."""
    try:
        value = signing.loads(token, salt=RATING_SALT, max_age=RATING_LINK_DAYS * 86400)
    except signing.SignatureExpired:
        return RatingLink(
            None,
            _("This link has expired. Rate the answer from your ticket's page."),
            ComplaintsErrorCode.LINK_EXPIRED,
        )
    except signing.BadSignature:
        return RatingLink(None, _("This link is not valid."), ComplaintsErrorCode.LINK_INVALID)
    ticket = (
        Ticket.objects.select_related("citizen", "department")
        .filter(pk=value.get("t"), citizen__isnull=False, citizen__is_active=True)
        .first()
    )
    if ticket is None:
        return RatingLink(None, _("This link is not valid."), ComplaintsErrorCode.LINK_INVALID)
    if ticket.state not in (S.ANSWERED, S.CALLED_BACK) or ticket.reopen_count != value.get("r"):
        return RatingLink(
            None,
            _("This answer has already been rated; thank you."),
            ComplaintsErrorCode.LINK_USED,
        )
    return RatingLink(ticket)


def rate_by_link(*, token: str, satisfaction, note: str = "") -> Ticket:
    """Rate the answer a link names, as the ticket's sender; refused (and nothing changed)
    when the link is expired, invalid or used."""
    from .loop import ticket_transition

    link = rating_link_open(token)
    if link.ticket is None:
        raise Refused(link.refusal, code=link.code)
    return ticket_transition(
        actor=link.ticket.citizen,
        ticket=link.ticket.pk,
        action="rate",
        version=link.ticket.version,  # as it was checked: anything since refuses
        satisfaction=satisfaction,
        note=note,
    )

"""The inbox: notices to a person, and their delivery by e-mail and SMS through the outbox.

Every app tells people things through ``notify``; the channels' backends are in ``notify.py``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import ErrorCode, Refused
from .models import Notice, NoticeDelivery, NoticePreference
from .notify import DeliveryRefused, deliver
from .outbox import outbox_enqueue

DELIVER_NOTICE_TASK = "core.deliver_notice"


class NoticeErrorCode(ErrorCode):
    EMAIL_MISSING = "email_missing"


def notices_for(*, user) -> QuerySet[Notice]:
    """A person's inbox, newest first."""
    return Notice.objects.filter(recipient=user).order_by("-created_at", "-id")


def notice_preference_of(*, user) -> NoticePreference | None:
    """The channels the person chose, or None while they kept the defaults (SMS only)."""
    return NoticePreference.objects.filter(user=user).first()


def _channels_for(user) -> list[str]:
    pref = notice_preference_of(user=user)
    channels = []
    if (pref is None or pref.by_sms) and user.phone:
        channels.append("sms")
    if pref is not None and pref.by_email and (pref.email or user.email):
        channels.append("email")
    return channels


def notify(
    user,
    *,
    subject: str,
    body: str,
    link: str = "",
    link_label: str = "",
    source: str = "",
) -> Notice:
    """One notice in the inbox, and one delivery per channel the person chose, via the outbox.

    ``link``/``link_label`` name the page the notice is about; ``source`` the event that caused
    it (one notice per source)."""
    notice = Notice.objects.create(
        recipient=user,
        subject=subject[:200],
        body=body,
        link=link,
        link_label=link_label[:60],
        source=source,
    )
    for channel in _channels_for(user):
        delivery = NoticeDelivery.objects.create(notice=notice, channel=channel)
        outbox_enqueue(DELIVER_NOTICE_TASK, delivery_id=delivery.pk)
    return notice


def notice_deliver(*, delivery_id: int) -> str:
    """Send one delivery through its channel's backend (called by the outbox task, in its
    transaction). A notice that cannot be delivered as it is (no address, refused) is ``failed``
    at once; one that could not be handed over now raises, so the outbox runs it again after a
    backoff and the delivery stays ``pending`` until it is sent or given up."""
    delivery = (
        NoticeDelivery.objects.select_for_update(of=("self",))
        .select_related("notice__recipient")
        .get(pk=delivery_id)
    )
    if delivery.state != NoticeDelivery.State.PENDING:
        return delivery.provider_id
    user = delivery.notice.recipient
    pref = NoticePreference.objects.filter(user=user).first()
    to = user.phone if delivery.channel == "sms" else ((pref.email if pref else "") or user.email)
    delivery.attempts += 1
    try:
        provider_id = deliver(
            delivery.channel,
            to=to or "",
            subject=delivery.notice.subject,
            body=delivery.notice.body,
            idempotency_key=f"zheliban-notice-delivery-{delivery.pk}",
        )
    except DeliveryRefused as exc:
        delivery.state = NoticeDelivery.State.FAILED
        delivery.error = str(exc)[:300]
        delivery.save()
        return ""
    delivery.state = NoticeDelivery.State.SENT
    delivery.provider_id = str(provider_id)[:100]
    delivery.sent_at = timezone.now()
    delivery.error = ""
    delivery.save()
    return delivery.provider_id


def notice_delivery_give_up(*, delivery_id: int, error: str) -> None:
    """The outbox gave a delivery up after its retries: it is ``failed``, with the last error,
    shown to staff in admin — never ``pending`` for ever."""
    NoticeDelivery.objects.filter(pk=delivery_id, state=NoticeDelivery.State.PENDING).update(
        state=NoticeDelivery.State.FAILED, error=(error or "")[:300]
    )


def notice_delivery_reopen(*, delivery_id: int) -> None:
    """Staff retry a delivery the outbox gave up: it is ``pending`` again until sent or given up."""
    NoticeDelivery.objects.filter(pk=delivery_id, state=NoticeDelivery.State.FAILED).update(
        state=NoticeDelivery.State.PENDING
    )


def notices_mark_read(*, user, ids: Iterable[int] | None = None) -> int:
    qs = Notice.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())


def notice_preference_set(
    *, user, by_sms: bool, by_email: bool, email: str = ""
) -> NoticePreference:
    if by_email and not (email or user.email):
        raise Refused(
            _("Give an e-mail address to get notices by e-mail."),
            code=NoticeErrorCode.EMAIL_MISSING,
        )
    pref, _created = NoticePreference.objects.update_or_create(
        user=user, defaults={"by_sms": by_sms, "by_email": by_email, "email": email}
    )
    return pref

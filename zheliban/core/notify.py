"""Delivery of notices by e-mail and SMS through swappable backends.

``settings.NOTIFY_BACKENDS`` maps a channel to a backend's dotted path; channels left out keep
their default. The in-site inbox is not a channel here: the apps keep it in their own models.
"""

from __future__ import annotations

import json
import logging
import smtplib
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.core.mail.message import make_msgid
from django.utils.module_loading import import_string

from .identity import mask_phone

logger = logging.getLogger(__name__)

CHANNELS = ("email", "sms")
DEFAULT_BACKENDS = {
    "email": "zheliban.core.notify.EmailBackend",
    "sms": "zheliban.core.notify.ConsoleSMSBackend",
}
HTTP_TIMEOUT_SECONDS = 5


class DeliveryFailed(Exception):
    """The notice could not be handed to the provider now (unreachable, busy, a server error);
    the caller retries later."""


class DeliveryRefused(DeliveryFailed):
    """The notice can never be delivered as it is (no address, the provider refused it):
    retrying would not help."""


class NotifyBackend:
    def send(self, *, to: str, subject: str, body: str, idempotency_key: str = "") -> str:
        """Hand one notice to the provider and return the provider's message id.

        ``idempotency_key`` is the same for every attempt at one notice: a provider that knows
        it sends the notice once, however often it is handed over."""
        raise NotImplementedError


class EmailBackend(NotifyBackend):
    """Sends through Django's mail framework, so ``EMAIL_BACKEND`` picks console, SMTP or locmem."""

    def send(self, *, to: str, subject: str, body: str, idempotency_key: str = "") -> str:
        message_id = make_msgid()
        message = EmailMessage(
            subject=" ".join(subject.split()),  # one line: a header cannot hold a line break
            body=body,
            to=[to],
            headers={"Message-ID": message_id},
        )
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryRefused(f"The mail server refused the address: {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"The mail server refused the message: {exc}") from exc
        return message_id


class ConsoleSMSBackend(NotifyBackend):
    """Writes each message as one line, with the number masked, for development."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, *, to: str, subject: str, body: str, idempotency_key: str = "") -> str:
        message_id = uuid.uuid4().hex
        stream = self.stream or sys.stdout
        stream.write(f"SMS {message_id} to {mask_phone(to)}: {' '.join(body.split())}\n")
        stream.flush()
        return message_id


@dataclass(frozen=True)
class SentSMS:
    to: str
    body: str
    message_id: str


outbox: list[SentSMS] = []


class LocmemSMSBackend(NotifyBackend):
    """Keeps messages in ``notify.outbox`` for tests to inspect."""

    def send(self, *, to: str, subject: str, body: str, idempotency_key: str = "") -> str:
        message_id = uuid.uuid4().hex
        outbox.append(SentSMS(to=to, body=body, message_id=message_id))
        return message_id


class HttpSMSBackend(NotifyBackend):
    """Posts ``{"to": ..., "body": ...}`` as JSON to ``SMS_GATEWAY_URL``.

    Authenticates with ``SMS_GATEWAY_TOKEN`` as a bearer token and sends the notice's
    ``Idempotency-Key``, so a gateway that honours it sends one SMS however often the notice is
    handed over. Any 2xx answer is delivery; the message id is taken from the answer's ``id`` or
    ``message_id`` when the gateway gives one. A 4xx answer (but 408 and 429) is a refusal;
    anything else, or no answer, is worth retrying.
    """

    def send(self, *, to: str, subject: str, body: str, idempotency_key: str = "") -> str:
        url = getattr(settings, "SMS_GATEWAY_URL", "")
        token = getattr(settings, "SMS_GATEWAY_TOKEN", "")
        if urlsplit(url).scheme not in ("http", "https"):
            raise ImproperlyConfigured("SMS_GATEWAY_URL must be an http(s) URL.")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            url,
            data=json.dumps({"to": to, "body": body}).encode(),
            headers=headers,
            method="POST",
        )
        masked = mask_phone(to)
        try:
            with _opener.open(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
                status = response.status
                answer = response.read(64 * 1024)
        except urllib.error.HTTPError as exc:
            exc.close()
            refused = 400 <= exc.code < 500 and exc.code not in (408, 429)
            error = DeliveryRefused if refused else DeliveryFailed
            raise error(f"The SMS gateway answered {exc.code} for {masked}.") from None
        except OSError as exc:  # URLError, timeouts, refused connections
            reason = getattr(exc, "reason", exc)
            raise DeliveryFailed(f"The SMS gateway could not be reached: {reason}") from None
        if not 200 <= status < 300:
            raise DeliveryFailed(f"The SMS gateway answered {status} for {masked}.")
        return _message_id_from(answer)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would resend the bearer token elsewhere: treat it as a failure instead."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _message_id_from(answer: bytes) -> str:
    try:
        payload = json.loads(answer)
    except ValueError:
        return ""
    if not isinstance(payload, dict):
        return ""
    return str(payload.get("id") or payload.get("message_id") or "")


def get_backend(channel: str) -> NotifyBackend:
    if channel not in CHANNELS:
        raise ValueError(f"Unknown notice channel {channel!r}; expected one of {CHANNELS}.")
    backends = {**DEFAULT_BACKENDS, **getattr(settings, "NOTIFY_BACKENDS", {})}
    backend_class = import_string(backends[channel])
    return backend_class()


def deliver(channel: str, *, to: str, subject: str, body: str, idempotency_key: str = "") -> str:
    """Send one notice on ``channel`` ("email" or "sms") and return the provider's message id.

    Raises ``ValueError`` for an unknown channel, ``DeliveryRefused`` when there is no address or
    the provider refuses the notice, and ``DeliveryFailed`` when it could not be handed over now;
    the caller (usually an outbox task) retries the latter.
    """
    backend = get_backend(channel)
    to = (to or "").strip()
    if not to:
        raise DeliveryRefused(f"No {channel} address to deliver the notice to.")
    message_id = backend.send(to=to, subject=subject, body=body, idempotency_key=idempotency_key)
    logger.info("Delivered %s notice %s", channel, message_id)
    return message_id

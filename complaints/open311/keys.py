"""Integrators' Open311 api_keys: issued once, stored only as their SHA-256.

A key is ``secrets.token_urlsafe(32)`` (256 bits); the database keeps its first characters, to
recognise it in admin, and its SHA-256. Checking a key hashes what was presented and looks the
hash up: the lookup goes by a digest the caller cannot steer, and the final comparison is made in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.errors import ComplaintsErrorCode
from complaints.models import Open311Key

PREFIX_CHARS = 8
NAME_MAX_CHARS = 100


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def open311_key_issue(*, name: str) -> tuple[Open311Key, str]:
    """A new active key for ``name``: the stored row and the key itself, which is never kept
    and cannot be shown again. Raises ``ValidationError`` for an empty or taken name."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError(
            _("Give the integrator's name."), code=ComplaintsErrorCode.NAME_MISSING
        )
    if len(name) > NAME_MAX_CHARS:
        raise ValidationError(
            _("The name can have at most %(max)d characters.") % {"max": NAME_MAX_CHARS},
            code=ComplaintsErrorCode.NAME_TOO_LONG,
        )
    key = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            if Open311Key.objects.filter(name=name).exists():
                raise ValidationError(
                    _("A key named “%(name)s” already exists.") % {"name": name},
                    code=ComplaintsErrorCode.NAME_TAKEN,
                )
            row = Open311Key.objects.create(
                name=name, prefix=key[:PREFIX_CHARS], key_hash=key_hash(key)
            )
    except IntegrityError as error:  # a concurrent issue took the name
        raise ValidationError(
            _("A key named “%(name)s” already exists.") % {"name": name},
            code=ComplaintsErrorCode.NAME_TAKEN,
        ) from error
    return row, key


def open311_key_check(key: str | None) -> Open311Key | None:
    """The active key row ``key`` belongs to, or None. Reads only."""
    if not key or len(key) > 200:
        return None
    digest = key_hash(key)
    row = Open311Key.objects.filter(key_hash=digest, is_active=True).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return row


def open311_key_touch(key: Open311Key) -> None:
    """Record that the key was used just now (after a successful call)."""
    now = timezone.now()
    Open311Key.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now


def open311_key_set_active(*, keys, active: bool) -> int:
    """Deactivate (or reactivate) keys; a deactivated key is refused at once."""
    return Open311Key.objects.filter(pk__in=[k.pk for k in keys]).update(is_active=active)

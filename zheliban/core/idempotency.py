"""Submissions that happen once however often they are sent: the ``Idempotency-Key`` header.

A client sends a key of its choosing with a submission and the same key on every retry; the
first request creates, every later one answers with what the first created. The header is read
and checked here for every API that takes it, and ``submit_once`` is the race-safe lookup and
create that backs it with a unique constraint on (owner, key).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework import exceptions

from zheliban.core.errors import CoreErrorCode

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_RE = re.compile(r"[!-~]{1,64}")

T = TypeVar("T")


class IdempotencyKeyReused(exceptions.APIException):
    """The key came back with another body: a different submission, never answered with the
    first one's result."""

    status_code = 422
    default_code = CoreErrorCode.IDEMPOTENCY_KEY_REUSED


def body_digest(request) -> str:
    """A digest of what a request submits, the same for every retry of it: its fields in a
    canonical order and the content of its files (a multipart body's boundary changes)."""
    data: Any = request.data
    files: Any = getattr(request, "FILES", None) or {}
    if hasattr(data, "getlist"):
        fields = {k: data.getlist(k) for k in sorted(data.keys()) if k not in files}
    else:
        fields = data
    digests: dict[str, list[str]] = {}
    for name in sorted(files.keys()):
        digests[name] = []
        for upload in files.getlist(name):
            hasher = hashlib.sha256()
            for chunk in upload.chunks():
                hasher.update(chunk)
            upload.seek(0)
            digests[name].append(hasher.hexdigest())
    canonical = json.dumps(
        {"fields": fields, "files": digests}, sort_keys=True, ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _reused() -> IdempotencyKeyReused:
    return IdempotencyKeyReused(
        _(
            "This Idempotency-Key was used for a different submission; use a new key for a new "
            "submission, and the same body for a retry."
        )
    )


def idempotency_check(*, user, scope: str, key: str, digest: str) -> None:
    """Refuse (422) a key already used by ``user`` for ``scope`` with another body."""
    from .models import IdempotencyRecord

    if not key or user is None:
        return
    found = (
        IdempotencyRecord.objects.filter(owner=user, scope=scope, key=key)
        .values_list("body_digest", flat=True)
        .first()
    )
    if found is not None and found != digest:
        raise _reused()


def idempotency_remember(*, user, scope: str, key: str, digest: str) -> None:
    """Keep what the key submitted; a concurrent submission with the same key and another body
    that got there first makes this one's answer a 422."""
    from .models import IdempotencyRecord

    if not key or user is None:
        return
    record, _created = IdempotencyRecord.objects.get_or_create(
        owner=user, scope=scope, key=key, defaults={"body_digest": digest}
    )
    if record.body_digest != digest:
        raise _reused()


def idempotency_parameter(*, required: bool, created: str) -> OpenApiParameter:
    """The header in the OpenAPI schema; ``created`` names what a submission creates."""
    return OpenApiParameter(
        IDEMPOTENCY_HEADER,
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=required,
        pattern=f"^{IDEMPOTENCY_KEY_RE.pattern}$",
        description="A key of your choosing (a UUID, say), 1 to 64 visible ASCII characters, the "
        f"same on every retry of one submission: a retry answers 200 with the {created} the "
        "first request created, and never creates a second one. The same key with a different "
        "body answers 422 (`idempotency_key_reused`) and changes nothing.",
        examples=[OpenApiExample("A UUID", value="6f1c2a7e-3b0d-4c8e-9f51-2d7a4b9e0c13")],
    )


def idempotency_key_of(request, *, required: bool = True) -> str:
    """The request's key; "" when it sends none and none is required. A missing required key
    or a malformed one answers 400 (``idempotency_key_missing`` / ``idempotency_key_invalid``)."""
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key and not required:
        return ""
    if not key:
        raise exceptions.ParseError(
            _(
                "Send an Idempotency-Key header: a key of your choosing (a UUID, say), the same "
                "on every retry of this submission."
            ),
            code=CoreErrorCode.IDEMPOTENCY_KEY_MISSING,
        )
    if not IDEMPOTENCY_KEY_RE.fullmatch(key):
        raise exceptions.ParseError(
            _("The Idempotency-Key header must be 1 to 64 visible ASCII characters."),
            code=CoreErrorCode.IDEMPOTENCY_KEY_INVALID,
        )
    return key


def submit_once(*, find: Callable[[], T | None], create: Callable[[], T]) -> tuple[T, bool]:
    """``(what find() returns, False)`` when a submission with the key exists, else
    ``(create(), True)``. ``create`` must store the key under a unique constraint: when a
    concurrent request with the same key wins, its insert fails here, ``create``'s work is
    rolled back to a savepoint, and the winner's result is returned."""
    existing = find()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return create(), True
    except IntegrityError:
        existing = find()
        if existing is None:
            raise
        return existing, False

"""Submissions that happen once however often they are sent: the ``Idempotency-Key`` header.

A client sends a key of its choosing with a submission and the same key on every retry; the
first request creates, every later one answers with what the first created. The header is read
and checked here for every API that takes it, and ``submit_once`` is the race-safe lookup and
create that backs it with a unique constraint on (owner, key).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework import exceptions

from zheliban.core.errors import CoreErrorCode

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_RE = re.compile(r"[!-~]{1,64}")

T = TypeVar("T")


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
        "first request created, and never creates a second one.",
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

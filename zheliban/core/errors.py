"""The services' refusals: one family of exceptions every app raises and every surface answers.

A service that cannot make a move raises ``Refused`` (or ``Conflict``/``Forbidden``) before it
changes anything; the web views show its message, the API's one exception handler
(``zheliban.core.api.exception_handler``) turns it into the one error shape with ``status``.
Each app names its codes in an ``ErrorCode`` enum of its own (``<app>/errors.py``).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Base of the apps' error-code enums: a code is its own string in every answer."""


class CoreErrorCode(ErrorCode):
    BLANK = "blank"
    DATE_OUTSIDE_YEAR = "date_outside_year"
    EMPTY = "empty"
    EXECUTABLE = "executable"
    FORM_UNREADABLE = "form_unreadable"
    ID_NUMBER_BIRTH = "id_number_birth"
    ID_NUMBER_CHECKSUM = "id_number_checksum"
    ID_NUMBER_FORMAT = "id_number_format"
    IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"
    IDEMPOTENCY_KEY_MISSING = "idempotency_key_missing"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    UNKNOWN_PARAMETER = "unknown_parameter"
    JSON_TOO_DEEP = "json_too_deep"
    MISMATCH = "mismatch"
    NOT_FOUND = "not_found"
    PAGE_SIZE_INVALID = "page_size_invalid"
    PHOTO_BROKEN = "photo_broken"
    PHOTO_TOO_LARGE = "photo_too_large"
    REFUSED = "refused"
    REQUEST_INCOMPLETE = "request_incomplete"
    REQUEST_TOO_LARGE = "request_too_large"
    TOO_LARGE = "too_large"
    TYPE_NOT_ALLOWED = "type_not_allowed"
    USCC_CHECKSUM = "uscc_checksum"
    USCC_FORMAT = "uscc_format"


class Refused(Exception):
    """A move that cannot be made; nothing was changed. ``status`` is the HTTP answer."""

    status = 400

    def __init__(
        self, message: str, *, code: str = CoreErrorCode.REFUSED, holder: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.holder = holder


class Conflict(Refused):
    status = 409


class Forbidden(Refused):
    status = 403

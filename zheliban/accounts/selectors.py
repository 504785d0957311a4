"""Reads of accounts: which account a typed login name names.

The login backend and login throttling both ask ``user_for_login``, so every spelling that logs
in to an account also counts against that account's failed logins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q

from zheliban.core.text import fold_width

from .models import User

_MOBILE = re.compile(r"(?:\+86|0086|86)?(1[0-9]{10})")
_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
_PHONE_PUNCTUATION = re.compile(r"[\s\-()]")
# A login name that names no account is counted under its normal form, cut to fit axes' column.
_UNKNOWN_PREFIX = "unknown:"
_KEY_LENGTH = 200


def mobile_normalize(value: str) -> str | None:
    """``+86 138-0013-8000`` or ``１３８００１３８０００`` → ``13800138000``; None when the value is
    not a mainland mobile number."""
    match = _MOBILE.fullmatch(_PHONE_PUNCTUATION.sub("", fold_width(value or "")))
    return match.group(1) if match else None


@dataclass(frozen=True)
class LoginName:
    """The forms of a typed login name that may name an account."""

    username: str  # without spaces; compared case-insensitively
    phone: str | None
    id_number: str | None

    @property
    def normal_form(self) -> str:
        return self.phone or self.id_number or self.username.casefold()


def login_name_parse(value: str) -> LoginName:
    """Read a login name as typed: full-width characters folded, spaces anywhere ignored, an ID
    number's x in either case, a mobile number with or without +86 and dashes."""
    compact = "".join(fold_width(value or "").split())
    id_number = compact.replace("-", "").upper()
    return LoginName(
        username=compact,
        phone=mobile_normalize(compact),
        id_number=id_number if _ID_NUMBER.fullmatch(id_number) else None,
    )


def user_for_login(*, login: str) -> User | None:
    """The account a login name names, by user name, mobile number or resident ID number (the
    oldest account if several match), or None."""
    name = login_name_parse(login)
    if not name.username:
        return None
    match = Q(username__iexact=name.username)
    if name.phone:
        match |= Q(phone=name.phone)
    if name.id_number:
        match |= Q(id_number=name.id_number)
    return User.objects.filter(match).order_by("pk").first()


def login_counter_key(*, login: str) -> str:
    """What failed logins with this name count against: the account's user name, or for a name
    that names no account, its normal form (user names cannot contain the prefix's colon)."""
    user = user_for_login(login=login)
    if user is not None:
        return user.username
    return _UNKNOWN_PREFIX + login_name_parse(login).normal_form[:_KEY_LENGTH]

"""Every write to accounts goes through here."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from zheliban.accounts.errors import AccountsErrorCode
from zheliban.core.identity import (
    normalize_id_number,
    normalize_uscc,
    validate_id_number,
    validate_uscc,
)
from zheliban.core.text import fold_width

from .models import PersonalToken, User
from .selectors import mobile_normalize

PHONE_CODE_MESSAGE = "phone_format"


def _normalize_phone(phone: str) -> str:
    normal = mobile_normalize(phone)
    if normal is None:
        raise ValidationError(
            {
                "phone": ValidationError(
                    _("Enter an 11-digit mainland mobile number."), code=PHONE_CODE_MESSAGE
                )
            }
        )
    return normal


def user_register(
    *,
    kind: str,
    real_name: str,
    phone: str,
    password: str,
    id_number: str = "",
    credit_code: str = "",
    email: str = "",
) -> User:
    """Register a citizen or an enterprise; refuse bad or duplicate identities, change nothing."""
    errors: dict[str, list[ValidationError]] = {}
    real_name = (real_name or "").strip()
    if kind not in (User.Kind.CITIZEN, User.Kind.ENTERPRISE):
        errors.setdefault("kind", []).append(
            ValidationError(_("Choose citizen or enterprise."), code=AccountsErrorCode.KIND_INVALID)
        )
    if not real_name:
        errors.setdefault("real_name", []).append(
            ValidationError(_("Enter your real name."), code=AccountsErrorCode.REQUIRED)
        )
    try:
        phone = _normalize_phone(phone)
    except ValidationError as exc:
        errors.update(exc.error_dict)

    if kind == User.Kind.CITIZEN:
        id_number = normalize_id_number(fold_width(id_number or ""))
        credit_code = ""
        try:
            validate_id_number(id_number)
        except ValidationError as exc:
            errors.setdefault("id_number", []).append(exc)
        else:
            if User.objects.filter(id_number=id_number).exists():
                errors.setdefault("id_number", []).append(
                    ValidationError(
                        _("An account with this ID number already exists. Log in instead."),
                        code=AccountsErrorCode.ID_NUMBER_TAKEN,
                    )
                )
    elif kind == User.Kind.ENTERPRISE:
        credit_code = normalize_uscc(fold_width(credit_code or ""))
        id_number = ""
        try:
            validate_uscc(credit_code)
        except ValidationError as exc:
            errors.setdefault("credit_code", []).append(exc)
        else:
            if User.objects.filter(credit_code=credit_code).exists():
                errors.setdefault("credit_code", []).append(
                    ValidationError(
                        _("An account with this credit code already exists. Log in instead."),
                        code=AccountsErrorCode.CREDIT_CODE_TAKEN,
                    )
                )
    if "phone" not in errors and User.objects.filter(phone=phone).exists():
        errors.setdefault("phone", []).append(
            ValidationError(
                _("This mobile number is already registered."), code=AccountsErrorCode.PHONE_TAKEN
            )
        )

    user = User(
        username=f"u{uuid.uuid4().hex[:12]}",
        kind=kind,
        real_name=real_name,
        phone=phone if "phone" not in errors else None,
        id_number=id_number or None,
        credit_code=credit_code or None,
        email=(email or "").strip(),
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors.setdefault("password", []).extend(exc.error_list)
    if errors:
        raise ValidationError(errors)

    user.set_password(password)
    return _save_new_identity(user, field="phone")


def staff_user_upsert(
    *, username: str, real_name: str, password_hash: str | None = None, is_superuser: bool = False
) -> User:
    """Create or update a member of staff (used by seeding and operators).

    ``password_hash`` (from ``make_password``) is set only when the account is created, so a
    re-run never resets a password someone has changed since.
    """
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "kind": User.Kind.STAFF,
            "real_name": real_name,
            "is_staff": True,
            "is_superuser": is_superuser,
            "password": password_hash or "!",
        },
    )
    if created:
        return user
    wanted = {
        "kind": User.Kind.STAFF,
        "real_name": real_name,
        "is_staff": True,
        "is_superuser": is_superuser,
    }
    changed = [field for field, value in wanted.items() if getattr(user, field) != value]
    for field in changed:
        setattr(user, field, wanted[field])
    if changed:
        user.save(update_fields=changed)
    return user


def citizen_register_at_counter(
    *,
    real_name: str,
    id_number: str,
    sex: str,
    birth_date: dt.date | None,
    phone: str = "",
) -> User:
    """Register a citizen who walked in to a service counter, from their ID card's fields.

    The card's sex and date of birth must agree with its number (GB 11643: digits 7–14 are the
    birth date, the 17th is odd for a man); a mismatch is a mistyped card and changes nothing.
    The account has no usable password: the citizen sets one through ``set_password_path``.
    The mobile number is optional (not everyone has one); when given it must be free.
    """
    errors: dict[str, list[ValidationError]] = {}
    real_name = (real_name or "").strip()
    if not real_name:
        errors.setdefault("real_name", []).append(
            ValidationError(_("Enter the name on the ID card."), code=AccountsErrorCode.REQUIRED)
        )
    id_number = normalize_id_number(fold_width(id_number or ""))
    try:
        validate_id_number(id_number)
    except ValidationError as exc:
        errors.setdefault("id_number", []).append(exc)
    else:
        if User.objects.filter(id_number=id_number).exists():
            errors.setdefault("id_number", []).append(
                ValidationError(
                    _("An account with this ID number already exists; find the citizen instead."),
                    code=AccountsErrorCode.ID_NUMBER_TAKEN,
                )
            )
        if birth_date is not None and birth_date.strftime("%Y%m%d") != id_number[6:14]:
            errors.setdefault("birth_date", []).append(
                ValidationError(
                    _("The date of birth differs from the one inside the ID number."),
                    code=AccountsErrorCode.BIRTH_DATE_MISMATCH,
                )
            )
        if sex in ID_CARD_SEXES and ID_CARD_SEXES[sex] != int(id_number[16]) % 2:
            errors.setdefault("sex", []).append(
                ValidationError(
                    _("The sex differs from the one the ID number records."),
                    code=AccountsErrorCode.SEX_MISMATCH,
                )
            )
    if sex not in ID_CARD_SEXES:
        errors.setdefault("sex", []).append(
            ValidationError(_("Choose the sex on the ID card."), code=AccountsErrorCode.REQUIRED)
        )
    normal_phone = None
    if (phone or "").strip():
        try:
            normal_phone = _normalize_phone(phone)
        except ValidationError as exc:
            errors.update(exc.error_dict)
        else:
            if User.objects.filter(phone=normal_phone).exists():
                errors.setdefault("phone", []).append(
                    ValidationError(
                        _("This mobile number is already registered."),
                        code=AccountsErrorCode.PHONE_TAKEN,
                    )
                )
    if errors:
        raise ValidationError(errors)
    user = User(
        username=f"u{uuid.uuid4().hex[:12]}",
        kind=User.Kind.CITIZEN,
        real_name=real_name,
        phone=normal_phone,
        id_number=id_number,
    )
    user.set_unusable_password()
    return _save_new_identity(user, field="id_number")


# The sex printed on an ID card, and the parity of the number's 17th digit that goes with it.
ID_CARD_SEXES = {"男": 1, "女": 0}


def set_password_path(user: User) -> str:
    """The one-time link with which an account made for someone (at a counter) gets its first
    password: Django's password-reset token, which stops working once a password is set or after
    ``PASSWORD_RESET_TIMEOUT``. Empty for an account that has a password already."""
    if user.has_usable_password():
        return ""
    return reverse(
        "accounts:set-password",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )


def _save_new_identity(user, *, field: str):
    """Save a new account; when a registration raced past the checks and the database kept the
    other one, refuse on ``field`` as a taken identity."""
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError(
            {
                field: ValidationError(
                    _("This identity is already registered."), code=AccountsErrorCode.IDENTITY_TAKEN
                )
            }
        ) from None
    return user


# ---------------------------------------------------------------- API tokens

PERSONAL_TOKEN_PREFIX_CHARS = 8
PERSONAL_TOKEN_NAME_MAX_CHARS = 100
# ``last_used_at`` is written at most this often per token, not on every request.
PERSONAL_TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=1)


def personal_token_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def personal_token_issue(*, user: User, name: str = "") -> tuple[PersonalToken, str]:
    """A new API token for ``user``, valid for ``settings.API_TOKEN_DAYS``: the stored row and the
    key itself, which is never kept and cannot be shown again."""
    name = " ".join((name or "").split())[:PERSONAL_TOKEN_NAME_MAX_CHARS]
    key = secrets.token_urlsafe(32)
    token = PersonalToken.objects.create(
        user=user,
        name=name,
        prefix=key[:PERSONAL_TOKEN_PREFIX_CHARS],
        key_hash=personal_token_hash(key),
    )
    return token, key


def personal_token_revoke(*, token: PersonalToken, now: dt.datetime | None = None) -> None:
    """Revoke ``token`` from now on; revoking a revoked token changes nothing."""
    PersonalToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )
    token.refresh_from_db(fields=["revoked_at"])


def personal_tokens_revoke(*, tokens) -> int:
    """Revoke every token of the queryset ``tokens`` not revoked yet; the number revoked."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def personal_token_touch(*, token: PersonalToken, now: dt.datetime) -> None:
    """Record that ``token`` was used, at most once per ``PERSONAL_TOKEN_TOUCH_INTERVAL``: a
    write per request would serialise a busy client on the token's row."""
    if token.last_used_at is not None and now - token.last_used_at < PERSONAL_TOKEN_TOUCH_INTERVAL:
        return
    PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now

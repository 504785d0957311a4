"""Every write to accounts goes through here."""

from __future__ import annotations

import uuid

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from zheliban.accounts.errors import AccountsErrorCode
from zheliban.core.identity import (
    normalize_id_number,
    normalize_uscc,
    validate_id_number,
    validate_uscc,
)
from zheliban.core.text import fold_width

from .models import User
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
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # Two registrations raced past the checks above; the database kept the first.
        raise ValidationError(
            {
                "phone": ValidationError(
                    _("This identity is already registered."), code=AccountsErrorCode.IDENTITY_TAKEN
                )
            }
        ) from None
    return user


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

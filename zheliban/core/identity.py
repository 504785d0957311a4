"""Identity numbers of people and organisations: check digits and masking.

GB 11643-1999 defines the 18-character resident identity number: 6-digit region code, 8-digit birth
date, 3-digit sequence and an ISO 7064 MOD 11-2 check character (0-9 or X). GB 32100-2015 defines
the 18-character unified social credit code: registration authority, organisation kind, 6-digit
region, 9-character organisation code and a MOD 31 check character over its own alphabet.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from zheliban.core.errors import CoreErrorCode

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
ID_NUMBER_RE = re.compile(r"^\d{17}[\dX]$")

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def id_number_check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalize_id_number(value: str) -> str:
    return (value or "").strip().upper().replace(" ", "")


def validate_id_number(value: str) -> None:
    """Refuse anything that is not a well-formed resident ID number with a right check digit."""
    value = normalize_id_number(value)
    if not ID_NUMBER_RE.match(value):
        raise ValidationError(
            _("A resident ID number has 17 digits followed by a digit or X."),
            code=CoreErrorCode.ID_NUMBER_FORMAT,
        )
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValidationError(
            _("The birth date inside this ID number does not exist."),
            code=CoreErrorCode.ID_NUMBER_BIRTH,
        ) from None
    if birth.year < 1900 or birth > dt.date.today():
        raise ValidationError(
            _("The birth date inside this ID number does not exist."),
            code=CoreErrorCode.ID_NUMBER_BIRTH,
        )
    if id_number_check_char(value[:17]) != value[17]:
        raise ValidationError(
            _("The check digit of this ID number is wrong; please check the number."),
            code=CoreErrorCode.ID_NUMBER_CHECKSUM,
        )


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(value: str) -> str:
    return (value or "").strip().upper().replace(" ", "")


def validate_uscc(value: str) -> None:
    """Refuse anything that is not a unified social credit code with a right check character."""
    value = normalize_uscc(value)
    if len(value) != 18 or not USCC_RE.match(value):
        raise ValidationError(
            _(
                "A unified social credit code has 18 characters of digits and capital letters "
                "(no I, O, S, V or Z)."
            ),
            code=CoreErrorCode.USCC_FORMAT,
        )
    if uscc_check_char(value[:17]) != value[17]:
        raise ValidationError(
            _("The check character of this unified social credit code is wrong."),
            code=CoreErrorCode.USCC_CHECKSUM,
        )


def mask_middle(value: str | None, *, keep_start: int = 4, keep_end: int = 4) -> str:
    """``330106199001011234`` → ``3301**********1234``; short values are masked whole."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def mask_phone(value: str | None) -> str:
    return mask_middle(value, keep_start=3, keep_end=4)


def mask_name(name: str | None) -> str:
    """A person's name with only its first character shown (张**)."""
    return (name[:1] + "*" * (len(name) - 1)) if name else ""


# Free text that may carry identity numbers (log lines, exception messages). A number counts only
# where it stands on its own: not inside a longer run of digits or letters (a hex id, a token),
# not right after a decimal point nor followed by one with digits (a timing such as
# 0.002947014999790553s). A mobile number may follow +86.
_PII_IN_TEXT = re.compile(
    r"(?:(?<=\+86)|(?<![0-9A-Za-z])(?<!\d\.))"
    r"(\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx]"
    r"|[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}"
    r"|1[3-9]\d{9})"
    r"(?![0-9A-Za-z])(?!\.\d)"
)


def mask_text(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        found = match.group(0)
        if len(found) == 11:
            return mask_phone(found)
        return mask_middle(found)

    return _PII_IN_TEXT.sub(repl, text)

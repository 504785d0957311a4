"""The registers departments hold, field by field, and the one check every record passes.

A register is authoritative data one kind of department keeps about people: the population
register (公安), the birth medical records hospitals send (卫健), marriage records (民政), and
social- and medical-insurance enrolment (人社, 医保). A record names the person it is about
(``subject``) and, where a second person is party to it, that person (``party``): the father of a
birth record, the other spouse of a marriage. ``validate`` is the only way data enters a record,
from admin, the import command or a service; it touches no models.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zheliban.core.identity import normalize_id_number, validate_id_number


@dataclass(frozen=True)
class Field:
    name: str
    label: Any
    type: str = "text"  # text, id_number, date, datetime, choice, int, region
    required: bool = True
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Register:
    code: str
    label: Any  # its name as the citizen reads it: "来自公安人口库"
    owner_kind: str  # the kind of department that holds it
    subject: str  # the field naming the person the record is about
    key: tuple[str, ...]  # the fields that identify a record (imports update by it)
    party: str = ""  # the field naming a second person party to the record
    fields: tuple[Field, ...] = field(default_factory=tuple)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


SEX = ("男", "女")

POPULATION = Register(
    code="population",
    label=_("public security population register"),
    owner_kind="gongan",
    subject="id_number",
    key=("id_number",),
    fields=(
        Field("id_number", _("ID number"), "id_number"),
        Field("name", _("name")),
        Field("sex", _("sex"), "choice", choices=SEX),
        Field("birth_date", _("date of birth"), "date"),
        Field("hukou_region", _("hukou region code"), "region"),
        Field("hukou_address", _("hukou address")),
        Field("household_no", _("household number")),
        Field("household_role", _("relation to the head of household"), required=False),
    ),
)
BIRTH = Register(
    code="birth",
    label=_("birth medical records"),
    owner_kind="weijian",
    subject="mother_id_number",
    party="father_id_number",
    key=("mother_id_number", "born_at"),
    fields=(
        Field("mother_id_number", _("mother's ID number"), "id_number"),
        Field("mother_name", _("mother's name")),
        Field("father_id_number", _("father's ID number"), "id_number", required=False),
        Field("father_name", _("father's name"), required=False),
        Field("born_at", _("born at"), "datetime"),
        Field("sex", _("baby's sex"), "choice", choices=SEX),
        Field("weight_g", _("weight (g)"), "int", minimum=300, maximum=8000),
        Field("hospital", _("hospital")),
        Field("certificate_no", _("birth certificate number"), required=False),
        Field("first_doses", _("first vaccine doses given"), required=False),
    ),
)
MARRIAGE = Register(
    code="marriage",
    label=_("marriage records"),
    owner_kind="minzheng",
    subject="party_a_id_number",
    party="party_b_id_number",
    key=("certificate_no",),
    fields=(
        Field("party_a_id_number", _("first party's ID number"), "id_number"),
        Field("party_a_name", _("first party's name")),
        Field("party_b_id_number", _("second party's ID number"), "id_number"),
        Field("party_b_name", _("second party's name")),
        Field("registered_on", _("registered on"), "date"),
        Field("certificate_no", _("marriage certificate number")),
    ),
)
SOCIAL_INSURANCE = Register(
    code="social_insurance",
    label=_("social insurance enrolment"),
    owner_kind="renshe",
    subject="id_number",
    key=("id_number",),
    fields=(
        Field("id_number", _("ID number"), "id_number"),
        Field("name", _("name")),
        Field("insurance_no", _("social insurance number")),
        Field("enrolled_on", _("enrolled on"), "date"),
        Field("employer", _("employer"), required=False),
    ),
)
MEDICAL_INSURANCE = Register(
    code="medical_insurance",
    label=_("medical insurance enrolment"),
    owner_kind="yibao",
    subject="id_number",
    key=("id_number",),
    fields=(
        Field("id_number", _("ID number"), "id_number"),
        Field("name", _("name")),
        Field("insurance_no", _("medical insurance number")),
        Field("scheme", _("scheme"), "choice", choices=("职工", "城乡居民")),
        Field("enrolled_on", _("enrolled on"), "date"),
    ),
)

REGISTERS: dict[str, Register] = {
    r.code: r for r in (POPULATION, BIRTH, MARRIAGE, SOCIAL_INSURANCE, MEDICAL_INSURANCE)
}


def register(code: str) -> Register:
    try:
        return REGISTERS[code]
    except KeyError:
        raise ValidationError(
            _("Unknown register “%(code)s”; the registers are: %(known)s.")
            % {"code": code, "known": ", ".join(REGISTERS)}
        ) from None


def _value(f: Field, raw: Any, *, now: dt.datetime) -> Any:
    """One field's value, cleaned; ValidationError naming the field when it is wrong."""
    text = "" if raw is None else str(raw).strip()
    if f.type == "id_number":
        text = normalize_id_number(text)
        validate_id_number(text)
        return text
    if f.type == "date":
        try:
            value = dt.date.fromisoformat(text)
        except ValueError:
            raise ValidationError(_("Write the date as YYYY-MM-DD.")) from None
        if value > timezone.localdate(now):
            raise ValidationError(_("This date is in the future."))
        return value.isoformat()
    if f.type == "datetime":
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(_("Write the time as YYYY-MM-DD HH:MM.")) from None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        if moment > now:
            raise ValidationError(_("This time is in the future."))
        return timezone.localtime(moment).isoformat(timespec="minutes")
    if f.type == "choice":
        if text not in f.choices:
            raise ValidationError(
                _("Choose one of: %(choices)s.") % {"choices": "、".join(f.choices)}
            )
        return text
    if f.type == "int":
        try:
            number = int(text)
        except ValueError:
            raise ValidationError(_("Write a whole number.")) from None
        if (f.minimum is not None and number < f.minimum) or (
            f.maximum is not None and number > f.maximum
        ):
            raise ValidationError(
                _("Give a number from %(min)s to %(max)s.") % {"min": f.minimum, "max": f.maximum}
            )
        return number
    if f.type == "region":
        if not (len(text) == 6 and text.isdigit()):
            raise ValidationError(_("A region code has 6 digits."))
        return text
    if len(text) > 200:
        raise ValidationError(_("At most 200 characters."))
    return text


def validate(reg: Register, data: Mapping[str, Any]) -> dict[str, Any]:
    """The record's data cleaned, or a ValidationError naming every wrong field.

    Unknown fields are refused, so a misspelt column never passes silently."""
    now = timezone.now()
    errors: dict[str, list] = {}
    unknown = sorted(set(data) - {f.name for f in reg.fields}, key=str)
    for name in unknown:
        errors[name] = [
            ValidationError(
                _("Unknown field “%(field)s” for the %(register)s; its fields are: %(known)s.")
                % {
                    "field": name,
                    "register": reg.label,
                    "known": ", ".join(f.name for f in reg.fields),
                }
            )
        ]
    clean: dict[str, Any] = {}
    for f in reg.fields:
        raw = data.get(f.name)
        if raw in (None, ""):
            if f.required:
                errors[f.name] = [ValidationError(_("Required."))]
            continue
        try:
            clean[f.name] = _value(f, raw, now=now)
        except ValidationError as exc:
            errors[f.name] = exc.error_list
    if errors:
        raise ValidationError(errors)
    return clean


def record_key(reg: Register, data: Mapping[str, Any]) -> str:
    return "|".join(str(data.get(k, "")) for k in reg.key)

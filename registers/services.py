"""Writes to the registers: one record, a whole import, a citizen's correction request."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from departments.models import Department, Membership
from departments.selectors import staff_of
from zheliban.core.errors import Forbidden, Refused
from zheliban.core.notices import notify

from .errors import RegistersErrorCode
from .models import CorrectionRequest, Record
from .schema import REGISTERS, Register, record_key, validate
from .selectors import record_visible_to


def _owner_checked(reg: Register, owner: Department) -> None:
    if owner.kind != reg.owner_kind:
        raise Refused(
            _("The %(register)s is held by a department of kind %(kind)s, not by %(owner)s.")
            % {"register": reg.label, "kind": reg.owner_kind, "owner": owner.name},
            code=RegistersErrorCode.OWNER_KIND,
        )


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [
            f"{name}: {message}"
            for name, errors in exc.error_dict.items()
            for error in errors
            for message in error.messages
        ]
    return list(exc.messages)


def record_save(
    *, register: str, owner: Department, data: Mapping[str, Any], source: str = ""
) -> Record:
    """Create or update (by the register's key) one record; refused, changing nothing, when a
    field is wrong."""
    reg = REGISTERS.get(register)
    if reg is None:
        raise Refused(
            _("Unknown register “%(code)s”.") % {"code": register},
            code=RegistersErrorCode.RECORD_INVALID,
        )
    _owner_checked(reg, owner)
    try:
        clean = validate(reg, data)
    except ValidationError as exc:
        raise Refused("; ".join(_messages(exc)), code=RegistersErrorCode.RECORD_INVALID) from None
    record = Record.objects.filter(register=reg.code, key=record_key(reg, clean)[:100]).first()
    if record is None:
        record = Record(register=reg.code)
    record.owner = owner
    record.data = clean
    record.source = source[:200]
    record.fill_keys()
    record.save()
    return record


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int


def records_import(
    *, register: str, owner: Department, rows: Iterable[Mapping[str, Any]], source: str
) -> ImportReport:
    """Import rows into a register, all or nothing: every row is checked first, and one wrong
    row refuses the whole file with each problem named by its row number (the first data row is
    row 1)."""
    reg = REGISTERS.get(register)
    if reg is None:
        raise Refused(
            _("Unknown register “%(code)s”; the registers are: %(known)s.")
            % {"code": register, "known": ", ".join(REGISTERS)},
            code=RegistersErrorCode.IMPORT_FORMAT,
        )
    _owner_checked(reg, owner)
    problems: list[str] = []
    cleaned: dict[str, dict[str, Any]] = {}
    for number, row in enumerate(rows, 1):
        if None in row:
            problems.append(
                _("Row %(row)s: more cells than the header has columns.") % {"row": number}
            )
            continue
        data = {k: v for k, v in row.items() if not (v in (None, "") and reg.field(k))}
        try:
            clean = validate(reg, data)
        except ValidationError as exc:
            problems.extend(
                _("Row %(row)s: %(problem)s") % {"row": number, "problem": p}
                for p in _messages(exc)
            )
            continue
        key = record_key(reg, clean)[:100]
        if key in cleaned:
            problems.append(
                _("Row %(row)s: the same record as an earlier row (%(key)s).")
                % {"row": number, "key": key}
            )
        cleaned[key] = clean
    if problems:
        raise Refused("\n".join(problems), code=RegistersErrorCode.IMPORT_ROW)
    if not cleaned:
        raise Refused(_("The file has no rows."), code=RegistersErrorCode.IMPORT_FORMAT)
    created = updated = 0
    with transaction.atomic():
        existing = {
            r.key: r for r in Record.objects.filter(register=reg.code, key__in=list(cleaned))
        }
        for key, clean in cleaned.items():
            record = existing.get(key) or Record(register=reg.code)
            created += record.pk is None
            updated += record.pk is not None
            record.owner, record.data, record.source = owner, clean, source[:200]
            record.fill_keys()
            record.save()
    return ImportReport(created=created, updated=updated)


def correction_request(
    *, citizen, record: Record, field: str, claimed_value: str, note: str = ""
) -> CorrectionRequest:
    """ "This is wrong": ask the holder to correct one field of a record the citizen may see."""
    if not record_visible_to(citizen, record):
        raise Forbidden(
            _("You may only ask to correct records about you or your household."),
            code=RegistersErrorCode.CORRECTION_NOT_YOURS,
        )
    spec = record.schema.field(field)
    if spec is None or field in (record.schema.subject, record.schema.party):
        raise Refused(
            _("This field cannot be corrected here; ask the department in person."),
            code=RegistersErrorCode.CORRECTION_FIELD,
        )
    claimed = (claimed_value or "").strip()
    held = str(record.data.get(field, ""))
    if not claimed or claimed == held:
        raise Refused(
            _("Write the value you believe is right; it must differ from the one held."),
            code=RegistersErrorCode.CORRECTION_SAME,
        )
    if CorrectionRequest.objects.filter(
        record=record, field=field, citizen=citizen, state=CorrectionRequest.State.OPEN
    ).exists():
        raise Refused(
            _("You have already asked to correct this; the department will answer."),
            code=RegistersErrorCode.CORRECTION_DUPLICATE,
        )
    with transaction.atomic():
        request = CorrectionRequest.objects.create(
            record=record,
            department=record.owner,
            citizen=citizen,
            field=field,
            held_value=held[:200],
            claimed_value=claimed[:200],
            note=(note or "").strip()[:2000],
        )
        for person in staff_of(record.owner_id, Membership.Role.SUPERVISOR) or staff_of(
            record.owner_id, Membership.Role.CLERK
        ):
            notify(
                person,
                subject=_("Correction requested: %(register)s") % {"register": record.schema.label},
                body=_("A citizen says the %(field)s held is wrong. Please check and answer.")
                % {"field": spec.label},
                link=f"/admin/registers/correctionrequest/{request.pk}/change/",
                link_label=_("Answer"),
                source=f"register-correction:{request.pk}:{person.pk}",
            )
    return request


ANSWERING_ROLES = (Membership.Role.CLERK, Membership.Role.SUPERVISOR, Membership.Role.ADMIN)


def correction_answer(
    *, actor, request: CorrectionRequest, corrected: bool, answer: str
) -> CorrectionRequest:
    """The holder answers: corrects the field (checked like any record) or refuses, with a reason
    the citizen reads."""
    answer = (answer or "").strip()
    if not answer:
        raise Refused(_("Tell the citizen what was done and why."))
    with transaction.atomic():
        locked = CorrectionRequest.objects.select_for_update().get(pk=request.pk)
        actor_id = getattr(actor, "pk", None) or 0
        if not (
            getattr(actor, "is_superuser", False)
            or Membership.objects.filter(
                user_id=actor_id,
                department_id=locked.department_id,
                role__in=ANSWERING_ROLES,
            ).exists()
        ):
            raise Forbidden(
                _("Only staff of the department holding the record may answer."),
                code=RegistersErrorCode.CORRECTION_NOT_YOURS,
            )
        if locked.state != CorrectionRequest.State.OPEN:
            raise Refused(_("This request has already been answered."))
        if corrected:
            record = Record.objects.select_for_update().get(pk=locked.record_id)
            data = dict(record.data)
            data[locked.field] = locked.claimed_value
            try:
                record.data = validate(record.schema, data)
            except ValidationError as exc:
                raise Refused("; ".join(_messages(exc))) from None
            record.fill_keys()
            if (
                Record.objects.filter(register=record.register, key=record.key)
                .exclude(pk=record.pk)
                .exists()
            ):
                raise Refused(
                    _("Another record already has this key; correct it in the register instead."),
                    code=RegistersErrorCode.RECORD_INVALID,
                )
            record.source = f"correction {locked.pk}"
            record.save()
        locked.state = (
            CorrectionRequest.State.CORRECTED if corrected else CorrectionRequest.State.REFUSED
        )
        locked.answer = answer[:2000]
        locked.answered_by = actor
        locked.answered_at = timezone.now()
        locked.save()
        notify(
            locked.citizen,
            subject=_("Your correction request was answered"),
            body=answer,
            source=f"register-correction-answer:{locked.pk}",
        )
    return locked

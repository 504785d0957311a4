"""Shared data: a task reads or verifies what another department holds, under a grant, logged."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from departments.models import DataGrant, Department

from ..models import (
    Application,
    DataAccess,
    ELicence,
)
from .definitions import _grant_for

# ---------------------------------------------------------------- shared data


def _held_value(*, citizen, field: str, owner: Department) -> str | None:
    """The newest value of a field the owner department holds about the citizen."""
    return (
        ELicence.objects.filter(holder=citizen, field=field, issuer=owner)
        .order_by("-created_at")
        .values_list("value", flat=True)
        .first()
    )


def _log_access(*, grant, outcome: str, actor, purpose: str, **read) -> None:
    DataAccess.objects.create(
        **read,
        actor=actor if getattr(actor, "pk", None) else None,
        grant=grant,
        purpose=purpose[:200],
        outcome=outcome if grant is not None else DataAccess.Outcome.REFUSED,
    )


def data_read(
    *,
    consumer: Department,
    owner: Department,
    citizen,
    field: str,
    purpose: str,
    application: Application | None,
    actor,
    value: str | None = None,
) -> str | None:
    """A value another department holds, through a ``view`` grant; every read is logged."""
    grant = _grant_for(
        owner_code=owner.code,
        consumer_code=consumer.code,
        field=field,
        today=timezone.localdate(),
        mode=DataGrant.Mode.VIEW,
    )
    if value is None and grant is not None:
        value = _held_value(citizen=citizen, field=field, owner=owner)
    _log_access(
        grant=grant,
        outcome=DataAccess.Outcome.VALUE,
        actor=actor,
        purpose=purpose,
        citizen=citizen,
        field=field,
        owner=owner,
        consumer=consumer,
        application=application,
    )
    return value if grant else None


@dataclass(frozen=True)
class VerifyAnswer:
    allowed: bool
    result: bool | None


def data_verify(
    *,
    consumer: Department,
    owner: Department,
    citizen,
    field: str,
    expected: str,
    match: str = "equals",
    purpose: str,
    application: Application | None,
    actor,
) -> VerifyAnswer:
    """Yes or no to "does the value held by ``owner`` equal (or start with) ``expected``?".

    The value never leaves this function; the answer is logged like any read.
    """
    grant = _grant_for(
        owner_code=owner.code, consumer_code=consumer.code, field=field, today=timezone.localdate()
    )
    result: bool | None = None
    if grant is not None:
        held = _held_value(citizen=citizen, field=field, owner=owner)
        wanted = (expected or "").strip()
        if held is None or not wanted:
            result = False
        elif match == "starts_with":
            result = held.startswith(wanted)
        else:
            result = held == wanted
    _log_access(
        grant=grant,
        outcome=DataAccess.Outcome.VERIFIED_YES if result else DataAccess.Outcome.VERIFIED_NO,
        actor=actor,
        purpose=purpose,
        citizen=citizen,
        field=field,
        owner=owner,
        consumer=consumer,
        application=application,
    )
    return VerifyAnswer(allowed=grant is not None, result=result)

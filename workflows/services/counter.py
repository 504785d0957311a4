"""The counter of a government service centre (一窗受理): a counter clerk finds or registers the
citizen in front of them, files an item or a bundle for them with the form they would see online,
and hands over the case's notices.

The case stays the citizen's: it is filed through ``application_create_and_submit`` with the
citizen as applicant and the clerk as ``filed_by``, so it appears in their account and inbox like
any other. The counter's own reads (who may use it, which regions a centre serves, the cases it
filed) sit beside its writes here, as ``selectors.py`` is the shared reads of the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from catalog.models import Bundle, ServiceItem
from departments.models import Department, Membership, Region
from departments.scoping import scope_queryset
from departments.selectors import staff_roles
from zheliban.accounts.models import User
from zheliban.accounts.selectors import mobile_normalize
from zheliban.core.errors import ErrorCode, Forbidden, Refused
from zheliban.core.identity import (
    mask_middle,
    mask_name,
    mask_phone,
    normalize_id_number,
    validate_id_number,
)
from zheliban.core.text import fold_width

from .. import held, selectors
from ..models import Application, Attachment, StaffSearch, Task
from .applications import application_create_and_submit

COUNTER = Membership.Role.COUNTER
WHERE = "counter"
# How many people a search by name lists at most: a name is not unique, an ID number is.
NAME_RESULTS = 20


class CounterErrorCode(ErrorCode):
    NOT_COUNTER = "not_counter"
    NOT_CITIZEN = "not_citizen"
    OUTSIDE_REGION = "outside_region"
    EMPTY_QUERY = "empty_query"
    RECEIVED_UNKNOWN = "received_unknown"
    MATERIALS_MISSING = "materials_missing"


# ---------------------------------------------------------------- who, where


def may_use_counter(*, user) -> bool:
    """A superuser, or a counter clerk of a government service centre. Asks the roles the user
    holds first (kept on the user, shared with the navigation): no query more for other staff."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return COUNTER in staff_roles(user=user) and counter_memberships(user).exists()


def counter_memberships(user) -> QuerySet[Membership]:
    return Membership.objects.filter(
        user_id=user.pk, role=COUNTER, department__kind=Department.Kind.SERVICE_CENTRE
    )


def counter_centres(*, user) -> list[Department]:
    """The service centres whose counter the user sits at (one query)."""
    return list(
        Department.objects.filter(
            pk__in=counter_memberships(user).values("department_id")
        ).select_related("region__parent__parent__parent")
    )


def served_region_ids(centres: list[Department]) -> set[int]:
    """The regions whose items a centre's counter files: its own, those above it (a city's or the
    province's item is done for a district's residents too) and those below it (one query)."""
    ids: set[int] = set()
    own = set()
    for centre in centres:
        region: Region | None = centre.region
        own.add(centre.region_id)
        while region is not None:
            ids.add(region.pk)
            region = region.parent
    if own:
        ids |= set(
            Region.objects.filter(
                Q(parent_id__in=own)
                | Q(parent__parent_id__in=own)
                | Q(parent__parent__parent_id__in=own)
            ).values_list("pk", flat=True)
        )
    return ids


def subject_region_id(*, bundle: Bundle | None, item: ServiceItem | None) -> int:
    if bundle is not None:
        return bundle.region_id
    assert item is not None
    return item.department.region_id


def counter_require(*, user) -> list[Department]:
    """The user's counters, or ``Forbidden`` for anyone who does not sit at one."""
    if not may_use_counter(user=user):
        raise Forbidden(
            _("Only counter clerks of a service centre use the counter."),
            code=CounterErrorCode.NOT_COUNTER,
        )
    return counter_centres(user=user)


def counter_serves(*, user, centres: list[Department], bundle=None, item=None) -> bool:
    if user.is_superuser:
        return True
    return subject_region_id(bundle=bundle, item=item) in served_region_ids(centres)


def counter_subject_check(*, user, centres: list[Department], bundle=None, item=None) -> None:
    if not counter_serves(user=user, centres=centres, bundle=bundle, item=item):
        raise Refused(
            _("This service is not offered in the region your service centre covers."),
            code=CounterErrorCode.OUTSIDE_REGION,
        )


# ---------------------------------------------------------------- citizens


@dataclass(frozen=True)
class CitizenRow:
    """A person found at the counter, as the results show them: masked."""

    pk: int
    name: str
    id_number_masked: str
    phone_masked: str


def _looks_like_id_number(value: str) -> bool:
    return len(value) == 18 and value[:17].isdigit()


def citizen_find(*, actor, query: str) -> list[CitizenRow]:
    """Citizens by exact ID number (its check digit validated), exact mobile number or exact
    name; each search is logged with its key masked (``StaffSearch``, ``where="counter"``). A
    malformed ID number is refused with the reason and logs nothing."""
    counter_require(user=actor)
    text = " ".join(fold_width(query or "").split())
    if not text:
        raise Refused(
            _("Enter an ID number, a mobile number or a name."), code=CounterErrorCode.EMPTY_QUERY
        )
    compact = normalize_id_number(text)
    phone = mobile_normalize(text)
    people = User.objects.filter(kind=User.Kind.CITIZEN, is_active=True)
    if _looks_like_id_number(compact):
        try:
            validate_id_number(compact)
        except ValidationError as exc:
            raise Refused(exc.messages[0], code=exc.code or CounterErrorCode.EMPTY_QUERY) from None
        kind, masked = StaffSearch.Kind.ID_NUMBER, mask_middle(compact)
        found = people.filter(id_number=compact)
    elif phone is not None:
        kind, masked, found = StaffSearch.Kind.MOBILE, mask_phone(phone), people.filter(phone=phone)
    elif text.replace(" ", "").isdigit():
        raise Refused(
            _(
                "A resident ID number has 18 characters and a mobile number 11 digits; "
                "check the number."
            ),
            code=CounterErrorCode.EMPTY_QUERY,
        )
    else:
        kind, masked, found = StaffSearch.Kind.NAME, mask_name(text), people.filter(real_name=text)
    rows = [
        CitizenRow(u.pk, u.real_name, u.id_number_masked, u.phone_masked)
        for u in found.order_by("real_name", "pk")[:NAME_RESULTS]
    ]
    StaffSearch.objects.create(
        user=actor, where=WHERE, kind=kind, query_masked=masked[:64], found=len(rows)
    )
    return rows


def citizen_get_for_counter(*, user, pk) -> User:
    """A citizen the counter serves (any citizen: a walk-in from another province too)."""
    counter_require(user=user)
    try:
        return User.objects.get(pk=pk, kind=User.Kind.CITIZEN, is_active=True)
    except (User.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


# ---------------------------------------------------------------- filing


def counter_file(
    *,
    actor,
    citizen,
    bundle: Bundle | None = None,
    item: ServiceItem | None = None,
    answers: dict[str, Any],
    uploads: dict[str, Any] | None = None,
    received: list[str] | None = None,
    idempotency_key: str,
    prepared: held.Prepared,
) -> tuple[Application, bool]:
    """File ``bundle`` or ``item`` for ``citizen`` at the counter; ``answers`` are cleaned by the
    citizen's generated form (``prepared.spec``), ``received`` names the materials taken on paper
    (收件清单) and ``uploads`` the scanned ones. Refused, changing nothing, for anyone not at a
    counter, outside the centre's region, or with a required material neither received nor
    scanned."""
    centres = counter_require(user=actor)
    if citizen.kind != User.Kind.CITIZEN:
        raise Refused(
            _("The counter files for citizens; enterprises apply online."),
            code=CounterErrorCode.NOT_CITIZEN,
        )
    counter_subject_check(user=actor, centres=centres, bundle=bundle, item=item)
    asked = {m.name: m for m in prepared.spec.asked_materials}
    received = list(dict.fromkeys(received or ()))
    unknown = [name for name in received if name not in asked]
    if unknown:
        raise Refused(
            _("These materials are not on this service's checklist: %(names)s")
            % {"names": "、".join(unknown)},
            code=CounterErrorCode.RECEIVED_UNKNOWN,
        )
    uploads = uploads or {}
    missing = [
        m.name
        for m in asked.values()
        if m.required and m.name not in received and m.name not in uploads
    ]
    if missing:
        raise Refused(
            _("Receive or scan these required materials first: %(names)s")
            % {"names": "、".join(missing)},
            code=CounterErrorCode.MATERIALS_MISSING,
        )
    return application_create_and_submit(
        applicant=citizen,
        bundle=bundle,
        item=item,
        answers=answers,
        idempotency_key=idempotency_key,
        prepared=prepared,
        uploads=uploads,
        filed_by=actor,
        received=received,
    )


# ---------------------------------------------------------------- the counter's cases


def _filed_at_counters_of(user) -> Q:
    """Cases filed by a counter clerk of one of the user's centres."""
    centres = counter_memberships(user).values("department_id")
    filers = Membership.objects.filter(role=COUNTER, department_id__in=centres).values("user_id")
    return Q(filed_by_id__in=filers)


def counter_cases_of(*, user, citizen) -> QuerySet[Application]:
    """The citizen's cases filed at the user's centres, newest first (one query)."""
    qs = Application.objects.filter(applicant=citizen, filed_by__isnull=False)
    if not user.is_superuser:
        qs = qs.filter(_filed_at_counters_of(user))
    return qs.select_related("bundle", "item").defer("form_spec").order_by("-submitted_at")


def _case_queryset() -> QuerySet[Application]:
    return (
        Application.objects.exclude(status=Application.Status.DRAFT)
        .select_related("applicant", "bundle", "item", "filed_by")
        .prefetch_related(
            Prefetch(
                "tasks",
                queryset=Task.objects.select_related("department", "item").order_by("id"),
            ),
            Prefetch("attachments", queryset=Attachment.objects.order_by("id")),
            "elicences",
        )
    )


def application_get_for_counter(*, user, pk) -> Application:
    """A case filed at one of the user's centres, for the counter's case page."""
    counter_require(user=user)
    qs = _case_queryset().filter(filed_by__isnull=False)
    if not user.is_superuser:
        qs = qs.filter(_filed_at_counters_of(user))
    try:
        return qs.get(pk=pk)
    except (Application.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc


def application_get_for_documents(*, user, pk) -> Application:
    """A submitted case whose notices the user may read: its applicant, the counter that filed it
    (the clerk and the clerks of the same centre), and the staff working on it in its
    departments; 404 for anyone else."""
    if user is None or not user.is_authenticated:
        raise Http404
    worked = scope_queryset(Task.objects.all(), user, roles=selectors.WORK_ROLES).values(
        "application_id"
    )
    who = Q(applicant_id=user.pk) | Q(filed_by_id=user.pk) | Q(pk__in=worked)
    if counter_memberships(user).exists():
        who |= _filed_at_counters_of(user)
    try:
        return _case_queryset().filter(who).get(pk=pk)
    except (Application.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc


def issuing_centre(app: Application) -> Department | None:
    """The service centre whose counter filed the case, if it was filed at one (one query)."""
    if app.filed_by_id is None:
        return None
    membership = (
        counter_memberships(app.filed_by).select_related("department").order_by("id").first()
    )
    return membership.department if membership is not None else None

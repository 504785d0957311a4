"""Workflow definitions: parsing, writing, consent of the bound departments, activation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Bundle, JointStage, ServiceItem
from catalog.services import bundle_promise_set, eligibility_set
from departments.models import DataGrant, Department
from departments.selectors import staff_name
from workflows.errors import WorkflowsErrorCode
from zheliban.core.errors import Conflict, Forbidden, Refused
from zheliban.core.notices import notify

from .. import definition as wfdef
from .. import held, selectors
from ..models import (
    WorkflowApproval,
    WorkflowDefinition,
)

# ---------------------------------------------------------------- workflow definitions


def _department_ref(ref: str) -> str | None:
    ref = ref.strip()
    dept = Department.objects.filter(Q(code=ref) | Q(name=ref)).values_list("code", flat=True)
    codes = list(dept[:2])
    return codes[0] if len(codes) == 1 else None


def _resolvers() -> dict[str, Any]:
    def resolve_item(code: str) -> str | None:
        return ServiceItem.objects.filter(code=code.strip()).values_list("code", flat=True).first()

    def item_department(code: str) -> str | None:
        return (
            ServiceItem.objects.filter(code=code).values_list("department__code", flat=True).first()
        )

    def resolve_bundle_items(slug: str):
        bundle = Bundle.objects.filter(slug=slug).first()
        if bundle is None:
            return None
        return list(bundle.parts.values_list("item__code", flat=True))

    return {
        "resolve_item": resolve_item,
        "resolve_department": _department_ref,
        "item_department": item_department,
        "resolve_bundle_items": resolve_bundle_items,
    }


def definition_parse(text: str) -> wfdef.Definition:
    """Parse and validate workflow text against the catalog; raises ``DefinitionError``."""
    return wfdef.parse_definition(text, **_resolvers())


def _compiled(defn: wfdef.Definition) -> dict[str, Any]:
    return {
        "subject_kind": defn.subject_kind,
        "subject": defn.subject,
        "asks": list(defn.asks),
        "steps": [
            {
                "name": s.name,
                "item": s.item,
                "department": s.department,
                "after": list(s.after),
                "gives": list(s.gives),
                "needs": list(s.needs),
                "due_workdays": s.due_workdays,
                "label": s.label,
            }
            for s in defn.steps
        ],
        "critical_path_workdays": defn.critical_path_workdays(),
        "eligible": [
            {"rule": e.rule, "says": e.says, "instead": e.instead, "line": e.line}
            for e in defn.eligible
        ],
    }


def missing_grants(compiled: dict[str, Any], lines: dict[str, int]) -> list[str]:
    """Needs that no active ``view`` grant lets the consuming department read from the giving
    one, as they will be read when the step becomes ready (``data_read``): a verify-only grant
    does not pass a value on, and is named when it is all there is. ``lines`` gives each step's
    line in the text, to name it."""
    steps = {s["name"]: s for s in compiled["steps"]}
    givers: dict[str, str] = {}
    for s in compiled["steps"]:
        for g in s["gives"]:
            givers.setdefault(g, s["department"])
    problems = []
    today = timezone.localdate()
    for s in steps.values():
        for need in s["needs"]:
            owner = givers.get(need)
            if owner is None or owner == s["department"]:
                continue
            found = {"owner_code": owner, "consumer_code": s["department"], "field": need}
            if _grant_for(**found, today=today, mode=DataGrant.Mode.VIEW):
                continue
            where = {
                "step": s["name"],
                "consumer": s["department"],
                "field": need,
                "owner": owner,
                "line": lines[s["name"]],
            }
            verify = _grant_for(**found, today=today, mode=DataGrant.Mode.VERIFY)
            if verify is not None:
                problems.append(
                    _(
                        "Line %(line)d, step “%(step)s”: the grant “%(grant)s” lets %(consumer)s "
                        "only verify “%(field)s” held by %(owner)s, not read it; a need is passed "
                        "on as a value, which takes a grant to view."
                    )
                    % {**where, "grant": verify.purpose}
                )
                continue
            problems.append(
                _(
                    "Line %(line)d, step “%(step)s”: no data-sharing grant lets %(consumer)s read "
                    "“%(field)s” from %(owner)s."
                )
                % where
            )
    return problems


def _grant_for(
    *, owner_code: str, consumer_code: str, field: str, today: dt.date, mode: str | None = None
):
    grants = DataGrant.objects.filter(
        owner__code=owner_code, consumer__code=consumer_code, is_active=True
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gte=today))
    if mode:
        grants = grants.filter(mode=mode)
    for grant in grants:
        if field in (grant.fields or []):
            return grant
    return None


def _subject_of(defn: wfdef.Definition, *, lock: bool = False) -> dict[str, Any]:
    if defn.subject_kind == "bundle":
        bundles = Bundle.objects.select_for_update() if lock else Bundle.objects
        return {"bundle": bundles.get(slug=defn.subject)}
    items = ServiceItem.objects.select_for_update(of=("self",)) if lock else ServiceItem.objects
    return {"item": items.select_related("department").get(code=defn.subject)}


def definition_check_write(*, actor, defn: wfdef.Definition) -> dict[str, Any]:
    """Refuse text ``actor`` may not save: another department's workflow, or an item's step
    routed to a department other than the item's. ``actor`` None is the system (seeding, import).
    Returns the subject (``{"bundle": …}`` or ``{"item": …}``)."""
    subject = _subject_of(defn)
    if actor is not None and not selectors.workflow_may_edit(user=actor, **subject):
        raise Forbidden(
            _(
                "You may not change the workflow of %(subject)s: an item's workflow is edited by "
                "its own department's administrators, a bundle's by those of the departments it "
                "binds or of the government service centre coordinating it."
            )
            % {"subject": str(subject.get("bundle") or subject.get("item"))},
            code=WorkflowsErrorCode.NOT_YOUR_WORKFLOW,
        )
    problems = selectors.workflow_routing_problems(
        steps=_compiled(defn)["steps"], item=subject.get("item")
    )
    if problems:
        raise Refused(" ".join(problems), code=WorkflowsErrorCode.FOREIGN_DEPARTMENT)
    return subject


def _bound_department_ids(compiled: dict[str, Any]) -> set[int]:
    """Departments with a step in the definition, and those owning an item one of its steps
    handles."""
    steps = compiled["steps"]
    stepping = Department.objects.filter(code__in={s["department"] for s in steps})
    owners = ServiceItem.objects.filter(code__in={s["item"] for s in steps})
    return set(stepping.values_list("pk", flat=True)) | set(
        owners.values_list("department_id", flat=True)
    )


@transaction.atomic
def definition_save(
    *, actor, text: str, source: str = WorkflowDefinition.Source.STAFF
) -> WorkflowDefinition:
    """Store validated text as the next draft version of its bundle's or item's workflow.

    A version staff write for a bundle, or for an item with steps by other departments, needs
    the approval of every department it binds (``definition_decide``) before it can be activated.
    """
    defn = definition_parse(text)
    definition_check_write(actor=actor, defn=defn)
    subject = _subject_of(defn, lock=True)
    compiled = _compiled(defn)
    bound = _bound_department_ids(compiled)
    owner = subject["item"].department_id if "item" in subject else None
    latest = WorkflowDefinition.objects.filter(**subject).aggregate(m=Max("version"))["m"] or 0
    wf = WorkflowDefinition.objects.create(
        **subject,
        version=latest + 1,
        text=text,
        compiled=compiled,
        source=source,
        author=actor if getattr(actor, "pk", None) else None,
        needs_consent=source == WorkflowDefinition.Source.STAFF
        and (owner is None or bool(bound - {owner})),
    )
    wf.departments.set(bound)
    return wf


def _names(departments: Iterable[Department]) -> str:
    return _(", ").join(d.name for d in departments)


@transaction.atomic
def definition_activate(*, actor, definition: WorkflowDefinition) -> WorkflowDefinition:
    """Make one version the active one; running cases keep the version they started with.

    Refused, changing nothing, when the actor may not edit this workflow, when a need has no
    data-sharing grant, or when a department the version binds has not approved it.
    """
    wf = (
        WorkflowDefinition.objects.select_for_update(of=("self",))
        .select_related("bundle", "item")
        .get(pk=definition.pk)
    )
    if actor is not None and not selectors.workflow_may_edit(
        user=actor, bundle=wf.bundle, item=wf.item
    ):
        raise Forbidden(
            _("You may not activate the workflow of %(subject)s.")
            % {"subject": str(wf.bundle or wf.item)},
            code=WorkflowsErrorCode.NOT_YOUR_WORKFLOW,
        )
    if wf.status == WorkflowDefinition.Status.ACTIVE:
        return wf
    # Re-validate against today's catalog and grants: they may have changed since it was saved.
    parsed = definition_parse(wf.text)
    compiled = _compiled(parsed)
    if wf.needs_consent and compiled["steps"] != wf.compiled["steps"]:
        raise Refused(
            _(
                "The catalog changed since version %(v)d was saved, so its steps now differ "
                "from what the departments approved: save the text again as a new version."
            )
            % {"v": wf.version},
            code=WorkflowsErrorCode.CATALOG_CHANGED,
        )
    problems = missing_grants(compiled, {step.name: step.line for step in parsed.steps})
    if problems:
        raise Refused(" ".join(problems), code=WorkflowsErrorCode.MISSING_GRANT)
    path = compiled["critical_path_workdays"]
    if wf.item is not None and wf.item.promised_days is not None and path > wf.item.promised_days:
        raise Refused(
            _(
                "Its steps take %(path)d working days from start to finish, longer than the "
                "%(days)d working days %(item)s promises: shorten the steps' “due” times."
            )
            % {"path": path, "days": wf.item.promised_days, "item": wf.item.name},
            code=WorkflowsErrorCode.OVER_PROMISE,
        )
    consent = selectors.consent_of(wf)
    if not consent.complete:
        parts = []
        if consent.refused:
            parts.append(
                _("Refused by %(depts)s; change the text to ask again.")
                % {"depts": _names(a.department for a in consent.refused)}
            )
        if consent.waiting:
            parts.append(_("Still to approve: %(depts)s.") % {"depts": _names(consent.waiting)})
        raise Refused(
            _("Version %(v)d cannot be activated before every department it binds approves it.")
            % {"v": wf.version}
            + " "
            + " ".join(parts),
            code=WorkflowsErrorCode.APPROVALS_MISSING,
        )
    now = timezone.now()
    subject = {"bundle_id": wf.bundle_id} if wf.bundle_id else {"item_id": wf.item_id}
    WorkflowDefinition.objects.filter(**subject, status=WorkflowDefinition.Status.ACTIVE).update(
        status=WorkflowDefinition.Status.RETIRED, retired_at=now, updated_at=now
    )
    wf.status = WorkflowDefinition.Status.ACTIVE
    wf.compiled = compiled
    wf.activated_at = now
    wf.retired_at = None
    wf.save(update_fields=["status", "compiled", "activated_at", "retired_at", "updated_at"])
    if wf.bundle is not None:
        bundle_promise_set(bundle=wf.bundle, days=selectors.promise_workdays(wf))
    owner = wf.bundle or wf.item
    assert owner is not None
    eligibility_set(subject=owner, rules=held.eligibility_words(wf.compiled))
    return wf


@transaction.atomic
def definition_decide(
    *,
    actor,
    definition: WorkflowDefinition,
    department: Department,
    decision: str,
    note: str = "",
) -> WorkflowApproval:
    """A department's administrator approves or refuses, once, the steps of a draft version that
    concern the department (its limits, the data it needs and gives). The author is told."""
    D = WorkflowApproval.Decision
    if decision not in D.values:
        raise Refused(_("Choose to approve or to refuse."), code=WorkflowsErrorCode.BAD_DECISION)
    wf = (
        WorkflowDefinition.objects.select_for_update(of=("self",))
        .select_related("bundle", "item", "author")
        .get(pk=definition.pk)
    )
    if department.pk not in selectors.admin_department_ids(actor):
        raise Forbidden(
            _("Only an administrator of %(dept)s may decide for it.") % {"dept": department.name},
            code=WorkflowsErrorCode.NOT_DEPARTMENT_ADMIN,
        )
    if not wf.needs_consent or not wf.departments.filter(pk=department.pk).exists():
        raise Refused(
            _("%(dept)s is not asked to approve version %(v)d of %(subject)s.")
            % {"dept": department.name, "v": wf.version, "subject": str(wf.bundle or wf.item)},
            code=WorkflowsErrorCode.NOT_ASKED,
        )
    if wf.status != WorkflowDefinition.Status.DRAFT:
        raise Conflict(
            _("Version %(v)d is “%(status)s”: only a draft version is approved or refused.")
            % {"v": wf.version, "status": wf.get_status_display()},
            code=WorkflowsErrorCode.NOT_DRAFT,
        )
    earlier = (
        WorkflowApproval.objects.filter(definition=wf, department=department)
        .select_related("approver")
        .first()
    )
    if earlier is not None:
        raise Conflict(
            _("%(who)s already decided for %(dept)s: “%(decision)s”. Change the text to ask again.")
            % {
                "who": staff_name(earlier.approver),
                "dept": department.name,
                "decision": earlier.get_decision_display(),
            },
            code=WorkflowsErrorCode.DECIDED,
        )
    note = note.strip()
    if decision == D.REFUSED and not note:
        raise Refused(
            _("Say why you refuse, so that the author knows what to change."),
            code=WorkflowsErrorCode.NOTE_MISSING,
        )
    approval = WorkflowApproval.objects.create(
        definition=wf, department=department, approver=actor, decision=decision, note=note[:2000]
    )
    if wf.author is not None and wf.author.pk != actor.pk:
        notify(
            wf.author,
            subject=_("%(dept)s: “%(decision)s” for %(wf)s")
            % {"dept": department.name, "decision": approval.get_decision_display(), "wf": wf},
            body=note or approval.get_decision_display(),
        )
    return approval


_STAGE_ORDER = [s.value for s in JointStage.Stage]


def item_default_text(item: ServiceItem) -> str:
    """Workflow text for an item without one: its joint-handling stages in order, each stage's
    departments in parallel, or a single step by its own department. The steps take exactly
    the working days the item promises (0: the same working day), split over the stages, the
    first ones taking a day more when they do not divide evenly; without a promise, the
    statutory limit (at least 1)."""
    if item.promised_days is not None:
        days = item.promised_days
    else:
        days = max(1, item.statutory_days or 1)
    stages = sorted(item.joint_stages.all(), key=lambda s: (_STAGE_ORDER.index(s.stage), s.id))
    steps = []
    if stages:
        by_stage: dict[str, list[JointStage]] = {}
        for s in stages:
            by_stage.setdefault(s.stage, []).append(s)
        base, longer = divmod(days, len(by_stage))
        previous: list[str] = []
        for position, (stage, rows) in enumerate(by_stage.items()):
            per_stage = base + (1 if position < longer else 0)
            names = []
            for n, row in enumerate(rows, 1):
                name = stage if len(rows) == 1 else f"{stage}_{n}"
                steps.append(
                    wfdef.Step(
                        name=name,
                        item=item.code,
                        department=row.department.code,
                        after=tuple(previous),
                        gives=(),
                        needs=(),
                        due_workdays=per_stage,
                        label=str(JointStage.Stage(stage).label),
                        line=0,
                    )
                )
                names.append(name)
            previous = names
    else:
        steps.append(
            wfdef.Step(
                name="handle",
                item=item.code,
                department=item.department.code,
                after=(),
                gives=(),
                needs=(),
                due_workdays=days,
                label=item.name,
                line=0,
            )
        )
    return wfdef.definition_to_text(
        wfdef.Definition(subject_kind="item", subject=item.code, asks=(), steps=tuple(steps))
    )


def workflow_for(
    *, bundle: Bundle | None = None, item: ServiceItem | None = None
) -> WorkflowDefinition:
    """The active workflow of a bundle or item. An item without one gets its imported
    joint-handling stages (or a single step) as its first version, activated."""
    subject = {"bundle": bundle} if bundle is not None else {"item": item}
    wf = (
        WorkflowDefinition.objects.filter(**subject, status=WorkflowDefinition.Status.ACTIVE)
        .select_related("item")
        .first()
    )
    if wf is not None:
        return wf
    if bundle is not None:
        raise Refused(
            _("This bundle cannot be applied for online yet."), code=WorkflowsErrorCode.NO_WORKFLOW
        )
    if item is None:
        raise TypeError("The workflow of a bundle or of one item: give either.")
    with transaction.atomic():
        wf = definition_save(
            actor=None, text=item_default_text(item), source=WorkflowDefinition.Source.IMPORTED
        )
        return definition_activate(actor=None, definition=wf)

"""Every write of the workflows app.

Two state machines live here, each moved by one chokepoint: ``task_transition`` for a department's
task and ``_application_refresh`` (called only by the chokepoints) for the case as a whole. Each
move locks the application row and then the task row, checks the source state again, writes a
history row and exactly one notice in the same transaction, and records side effects in the outbox.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Bundle, JointStage, ServiceItem
from departments.models import DataGrant, Department, Membership
from zheliban.core.outbox import outbox_enqueue
from zheliban.core.workdays import add_workdays

from . import definition as wfdef
from . import selectors
from .models import (
    Application,
    Attachment,
    DataAccess,
    ELicence,
    Notice,
    NoticeDelivery,
    NoticePreference,
    Rating,
    Rectification,
    Task,
    TaskEvent,
    WorkflowApproval,
    WorkflowDefinition,
)

S = Task.State
A = Application.Status

# Names of the outputs that are certificates, for the e-licence a citizen keeps.
OUTPUT_NAMES = {
    "birth_certificate_no": "出生医学证明",
    "hukou_no": "居民户口簿（户籍登记）",
    "citizen_id_number": "公民身份号码",
    "social_card_no": "社会保障卡",
    "insurance_no": "城乡居民医保参保凭证",
    "vaccination_no": "预防接种证",
    "marriage_cert_no": "结婚证",
    "business_licence_no": "营业执照",
    "hukou_region": "户籍所在地",
}


class Refused(Exception):
    """A move that cannot be made; nothing was changed. ``status`` is the HTTP answer."""

    status = 400

    def __init__(self, message: str, *, code: str = "refused", holder: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.holder = holder


class Conflict(Refused):
    status = 409


class Forbidden(Refused):
    status = 403


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
    }


def missing_grants(compiled: dict[str, Any]) -> list[str]:
    """Needs that no active grant lets the consuming department read from the giving one."""
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
            if not _grant_for(
                owner_code=owner, consumer_code=s["department"], field=need, today=today
            ):
                problems.append(
                    _(
                        "Step “%(step)s”: no data-sharing grant lets %(consumer)s read “%(field)s” from %(owner)s."  # noqa: E501
                    )
                    % {
                        "step": s["name"],
                        "consumer": s["department"],
                        "field": need,
                        "owner": owner,
                    }
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
            code="not_your_workflow",
        )
    problems = selectors.workflow_routing_problems(
        steps=_compiled(defn)["steps"], item=subject.get("item")
    )
    if problems:
        raise Refused(" ".join(problems), code="foreign_department")
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
            code="not_your_workflow",
        )
    if wf.status == WorkflowDefinition.Status.ACTIVE:
        return wf
    # Re-validate against today's catalog and grants: they may have changed since it was saved.
    compiled = _compiled(definition_parse(wf.text))
    if wf.needs_consent and compiled["steps"] != wf.compiled["steps"]:
        raise Refused(
            _(
                "The catalog changed since version %(v)d was saved, so its steps now differ "
                "from what the departments approved: save the text again as a new version."
            )
            % {"v": wf.version},
            code="catalog_changed",
        )
    problems = missing_grants(compiled)
    if problems:
        raise Refused(" ".join(problems), code="missing_grant")
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
            code="approvals_missing",
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
        raise Refused(_("Choose to approve or to refuse."), code="bad_decision")
    wf = (
        WorkflowDefinition.objects.select_for_update(of=("self",))
        .select_related("bundle", "item", "author")
        .get(pk=definition.pk)
    )
    if department.pk not in selectors.admin_department_ids(actor):
        raise Forbidden(
            _("Only an administrator of %(dept)s may decide for it.") % {"dept": department.name},
            code="not_department_admin",
        )
    if not wf.needs_consent or not wf.departments.filter(pk=department.pk).exists():
        raise Refused(
            _("%(dept)s is not asked to approve version %(v)d of %(subject)s.")
            % {"dept": department.name, "v": wf.version, "subject": str(wf.bundle or wf.item)},
            code="not_asked",
        )
    if wf.status != WorkflowDefinition.Status.DRAFT:
        raise Conflict(
            _("Version %(v)d is “%(status)s”: only a draft version is approved or refused.")
            % {"v": wf.version, "status": wf.get_status_display()},
            code="not_draft",
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
            code="decided",
        )
    note = note.strip()
    if decision == D.REFUSED and not note:
        raise Refused(
            _("Say why you refuse, so that the author knows what to change."), code="note_missing"
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
    departments in parallel, or a single step by its own department."""
    days = max(1, item.promised_days or item.statutory_days or 1)
    stages = sorted(item.joint_stages.all(), key=lambda s: (_STAGE_ORDER.index(s.stage), s.id))
    steps = []
    if stages:
        by_stage: dict[str, list[JointStage]] = {}
        for s in stages:
            by_stage.setdefault(s.stage, []).append(s)
        per_stage = max(1, days // max(1, len(by_stage)))
        previous: list[str] = []
        for stage, rows in by_stage.items():
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
    wf = WorkflowDefinition.objects.filter(
        **subject, status=WorkflowDefinition.Status.ACTIVE
    ).first()
    if wf is not None:
        return wf
    if bundle is not None:
        raise Refused(_("This bundle cannot be applied for online yet."), code="no_workflow")
    with transaction.atomic():
        wf = definition_save(
            actor=None, text=item_default_text(item), source=WorkflowDefinition.Source.IMPORTED
        )
        return definition_activate(actor=None, definition=wf)


# ---------------------------------------------------------------- applications


def _reference(app: Application) -> str:
    stamp = timezone.localtime(app.submitted_at).strftime("%Y%m%d")
    return f"ZB{stamp}{app.pk.hex[:8].upper()}"


def application_start(
    *, applicant, bundle: Bundle | None = None, item: ServiceItem | None = None
) -> Application:
    """The citizen's open draft for this bundle or item, or a new one."""
    if not applicant.is_authenticated:
        raise Forbidden(_("Log in to apply."), code="login")
    subject = (
        {"bundle": bundle, "item": None} if bundle is not None else {"item": item, "bundle": None}
    )
    draft = Application.objects.filter(applicant=applicant, status=A.DRAFT, **subject).first()
    if draft is not None:
        return draft
    return Application.objects.create(
        applicant=applicant, idempotency_key=f"draft-{uuid.uuid4()}", **subject
    )


@transaction.atomic
def application_save_draft(
    *,
    applicant,
    application: Application,
    data: dict[str, Any],
    uploads: dict[str, Any] | None = None,
) -> Application:
    app = Application.objects.select_for_update().get(pk=application.pk)
    if app.applicant_id != applicant.pk:
        raise Forbidden(_("This is not your application."), code="not_owner")
    if app.status != A.DRAFT:
        raise Conflict(_("This application has been submitted already."), code="submitted")
    app.data = {**app.data, **data}
    app.save(update_fields=["data", "updated_at"])
    _store_attachments(app, uploads or {})
    return app


def _store_attachments(app: Application, uploads: dict[str, Any]) -> None:
    for name, upload in uploads.items():
        checked = getattr(upload, "checked", None)
        old = Attachment.objects.filter(application=app, material_name=name).first()
        if old is not None:
            old.file.delete(save=False)
            old.delete()
        Attachment.objects.create(
            application=app,
            material_name=name,
            file=upload,
            original_name=(checked.original_name if checked else upload.name)[:200],
            content_type=checked.mime if checked else "application/octet-stream",
            size=upload.size,
            sha256=checked.sha256 if checked else "",
        )


def application_submit(
    *,
    applicant,
    application: Application,
    answers: dict[str, Any],
    uploads: dict[str, Any] | None = None,
    idempotency_key: str,
) -> tuple[Application, bool]:
    """Submit a draft: the case starts. Returns (application, created_now).

    Submitting again with the same key (double click, retry) returns the same application; the
    answers must already be validated by the generated form.
    """
    key = (idempotency_key or "").strip()[:64]
    if not key:
        raise Refused(_("A submission needs an idempotency key."), code="no_key")
    existing = (
        Application.objects.filter(applicant=applicant, idempotency_key=key)
        .exclude(status=A.DRAFT)
        .first()
    )
    if existing is not None:
        return existing, False
    wf = workflow_for(bundle=application.bundle, item=application.item)
    try:
        with transaction.atomic():
            app = Application.objects.select_for_update().get(pk=application.pk)
            if app.applicant_id != applicant.pk:
                raise Forbidden(_("This is not your application."), code="not_owner")
            if app.status != A.DRAFT:
                raise Conflict(
                    _("This application was submitted already (%(ref)s).") % {"ref": app.reference},
                    code="submitted",
                )
            now = timezone.now()
            app.data = {**app.data, **answers}
            app.idempotency_key = key
            app.definition = wf
            app.status = A.IN_PROGRESS
            app.submitted_at = now
            app.reference = _reference(app)
            deadline = add_workdays(timezone.localdate(now), wf.compiled["critical_path_workdays"])
            app.promised_date = deadline.date
            app.promised_provisional = deadline.provisional
            app.save()
            _store_attachments(app, uploads or {})
            _create_tasks(app, wf, now=now)
            event = TaskEvent.objects.create(
                application=app,
                action="submit",
                from_state=A.DRAFT,
                to_state=A.IN_PROGRESS,
                actor=applicant,
            )
            _notify_citizen(
                app,
                event,
                subject=_("Application %(ref)s received") % {"ref": app.reference},
                body=_(
                    "We received your application for %(name)s. Promised completion: %(date)s%(prov)s."  # noqa: E501
                )
                % {
                    "name": app.subject_name,
                    "date": app.promised_date.isoformat(),
                    "prov": _(" (provisional: next year's holidays are not published yet)")
                    if app.promised_provisional
                    else "",
                },
            )
    except IntegrityError:
        existing = Application.objects.filter(applicant=applicant, idempotency_key=key).first()
        if existing is None:
            raise
        return existing, False
    return app, True


def application_create_and_submit(
    *,
    applicant,
    bundle: Bundle | None,
    item: ServiceItem | None,
    answers: dict[str, Any],
    idempotency_key: str,
) -> tuple[Application, bool]:
    """The API's one-call submission, idempotent on the key."""
    key = (idempotency_key or "").strip()[:64]
    existing = (
        Application.objects.filter(applicant=applicant, idempotency_key=key).first()
        if key
        else None
    )
    if existing is not None and existing.status != A.DRAFT:
        return existing, False
    if existing is not None:
        return application_submit(
            applicant=applicant, application=existing, answers=answers, idempotency_key=key
        )
    # A draft of this call's own, in one transaction with its submission: it becomes the
    # application, or is removed when another call with the key won the race; a failure midway
    # (a refusal, the database gone) rolls both back. No draft is ever left behind.
    with transaction.atomic():
        draft = Application.objects.create(
            applicant=applicant, bundle=bundle, item=item, idempotency_key=f"draft-{uuid.uuid4()}"
        )
        submitted = application_submit(
            applicant=applicant, application=draft, answers=answers, idempotency_key=key
        )
        if submitted[0].pk != draft.pk:
            Application.objects.filter(pk=draft.pk, status=A.DRAFT).delete()
    return submitted


def _create_tasks(app: Application, wf: WorkflowDefinition, *, now) -> None:
    steps = wf.compiled["steps"]
    depts = {
        d.code: d for d in Department.objects.filter(code__in={s["department"] for s in steps})
    }
    items = {
        i.code: i
        for i in ServiceItem.objects.filter(code__in={s["item"] for s in steps}).only("id", "code")
    }
    tasks = [
        Task(
            application=app,
            step=s["name"],
            label=s["label"] or s["name"],
            item=items[s["item"]],
            department=depts[s["department"]],
            after=s["after"],
            gives=s["gives"],
            needs=s["needs"],
            due_workdays=s["due_workdays"],
        )
        for s in steps
    ]
    for task in Task.objects.bulk_create(tasks):
        if not task.after:
            _make_ready(task, now=now)


def _make_ready(task: Task, *, now) -> None:
    """A step whose earlier steps are done enters its department's worklist."""
    inputs, notes = _gather_inputs(task)
    deadline = add_workdays(timezone.localdate(now), task.due_workdays)
    task.state = S.READY
    task.ready_at = now
    task.inputs = inputs
    task.due_date = deadline.date
    task.due_provisional = deadline.provisional
    task.version += 1
    task.save()
    TaskEvent.objects.create(
        application_id=task.application_id,
        task=task,
        action="ready",
        from_state=S.WAITING,
        to_state=S.READY,
        note="; ".join(notes),
    )
    outbox_enqueue("workflows.deliver_task", task_id=task.pk)


def _gather_inputs(task: Task) -> tuple[dict[str, str], list[str]]:
    """Outputs of earlier steps this step needs, read through grants and logged."""
    if not task.needs:
        return {}, []
    app = task.application
    inputs: dict[str, str] = {}
    notes: list[str] = []
    givers = Task.objects.filter(application=app, state=S.COMPLETED).select_related("department")
    for need in task.needs:
        giver = next((g for g in givers if need in (g.outputs or {})), None)
        if giver is None:
            notes.append(_("“%(field)s” is not available.") % {"field": need})
            continue
        if giver.department_id == task.department_id:
            inputs[need] = giver.outputs[need]
            continue
        value = data_read(
            consumer=task.department,
            owner=giver.department,
            citizen=app.applicant,
            field=need,
            purpose=_("Case %(ref)s, step %(step)s") % {"ref": app.reference, "step": task.label},
            application=app,
            actor=None,
            value=giver.outputs[need],
        )
        if value is None:
            notes.append(
                _("“%(field)s” was not passed on: no valid data-sharing grant.") % {"field": need}
            )
        else:
            inputs[need] = value
    return inputs, notes


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


# ---------------------------------------------------------------- tasks


ACTIONS = ("claim", "release", "accept", "correction", "complete", "reject")
_SOURCES = {
    "accept": (S.READY,),
    "correction": (S.READY, S.ACCEPTED),
    "complete": (S.ACCEPTED,),
    "reject": (S.READY, S.ACCEPTED),
}
_TARGETS = {
    "accept": S.ACCEPTED,
    "correction": S.CORRECTION,
    "complete": S.COMPLETED,
    "reject": S.REJECTED,
}


def staff_name(user) -> str:
    return (getattr(user, "real_name", "") or user.get_username()) if user else ""


def can_work_on(user, department_id: int) -> bool:
    if user.is_superuser:
        return True
    return Membership.objects.filter(
        user_id=user.pk,
        department_id=department_id,
        role__in=[Membership.Role.CLERK, Membership.Role.SUPERVISOR],
    ).exists()


def task_transition(
    *,
    actor,
    task_id: int,
    action: str,
    expected_version: int | None = None,
    outputs: dict[str, str] | None = None,
    reason: str = "",
    fields: Iterable[str] = (),
) -> Task:
    """The one way a task moves. Refusals raise and change nothing."""
    if action not in ACTIONS:
        raise Refused(_("Unknown action “%(action)s”.") % {"action": action}, code="unknown_action")
    base = Task.objects.filter(pk=task_id).values("application_id", "department_id").first()
    if base is None or not can_work_on(actor, base["department_id"]):
        # Another department's task is answered exactly like a task that does not exist.
        raise Refused(_("No such task in your worklist."), code="not_found")
    with transaction.atomic():
        app = Application.objects.select_for_update().get(pk=base["application_id"])
        task = (
            Task.objects.select_for_update(of=("self",))
            .select_related("claimed_by")
            .get(pk=task_id)
        )
        if expected_version is not None and task.version != expected_version:
            last = task.events.select_related("actor").order_by("-at", "-id").first()
            who = staff_name(last.actor) if last and last.actor else _("someone else")
            raise Conflict(
                _(
                    "This task changed since you opened it: %(who)s moved it to “%(state)s”. Reload to see it."  # noqa: E501
                )
                % {"who": who, "state": task.get_state_display()},
                code="stale",
                holder=who,
            )
        holder = task.claimed_by
        if action == "claim":
            return _claim(task, actor, holder)
        if action == "release":
            if holder is None or holder.pk != actor.pk:
                raise Conflict(_("You do not hold this task."), code="not_holder")
            task.claimed_by, task.claimed_at = None, None
            task.version += 1
            task.save(update_fields=["claimed_by", "claimed_at", "version", "updated_at"])
            TaskEvent.objects.create(
                application=app,
                task=task,
                action="release",
                actor=actor,
                from_state=task.state,
                to_state=task.state,
            )
            return task
        if task.state not in _SOURCES[action]:
            last = task.events.select_related("actor").order_by("-at", "-id").first()
            who = staff_name(last.actor) if last and last.actor else ""
            raise Conflict(
                _("This task is already “%(state)s”%(by)s; it cannot be moved that way.")
                % {
                    "state": task.get_state_display(),
                    "by": (_(" (by %(who)s)") % {"who": who}) if who else "",
                },
                code="wrong_state",
                holder=who,
            )
        if holder is None:
            raise Conflict(_("Claim the task before working on it."), code="not_claimed")
        if holder.pk != actor.pk:
            raise Conflict(
                _("%(who)s is working on this task.") % {"who": staff_name(holder)},
                code="claimed",
                holder=staff_name(holder),
            )
        source = task.state
        now = timezone.now()
        note = ""
        if action == "complete":
            outputs = {k: str(v).strip() for k, v in (outputs or {}).items() if str(v).strip()}
            missing = [g for g in task.gives if not outputs.get(g)]
            if missing:
                raise Refused(
                    _("Fill in what this step gives: %(fields)s.") % {"fields": ", ".join(missing)},
                    code="outputs_missing",
                )
            task.outputs = {g: outputs[g][:200] for g in task.gives}
            task.finished_at = now
            note = reason.strip()
        elif action == "reject":
            reason = reason.strip()
            if not reason:
                raise Refused(_("Give the reason for the rejection."), code="reason_missing")
            task.reason = reason[:2000]
            task.finished_at = now
            note = reason
        elif action == "correction":
            reason = reason.strip()
            fields = [f for f in fields if f]
            if not reason or not fields:
                raise Refused(
                    _("Say what must be corrected and tick the fields the citizen must fix."),
                    code="correction_incomplete",
                )
            task.reason = reason[:2000]
            task.correction_fields = list(dict.fromkeys(fields))
            note = reason
        elif action == "accept":
            task.acknowledged_at = task.acknowledged_at or now
        task.state = _TARGETS[action]
        task.version += 1
        task.save()
        event = TaskEvent.objects.create(
            application=app,
            task=task,
            action=action,
            from_state=source,
            to_state=task.state,
            actor=actor,
            note=note,
        )
        if action == "complete":
            _issue_licences(app, task)
            _advance(app, now=now)
        elif action == "reject":
            _cancel_dependents(app, task, now=now)
        _application_refresh(app, now=now)
        _notify_citizen(app, event, **_task_message(app, task, action))
        return task


def _claim(task: Task, actor, holder) -> Task:
    if holder is not None and holder.pk != actor.pk:
        raise Conflict(
            _("%(who)s is working on this task.") % {"who": staff_name(holder)},
            code="claimed",
            holder=staff_name(holder),
        )
    if task.state in Task.FINAL_STATES or task.state == S.WAITING:
        raise Conflict(
            _("This task is “%(state)s” and cannot be claimed.")
            % {"state": task.get_state_display()},
            code="wrong_state",
        )
    if holder is not None:
        return task
    now = timezone.now()
    task.claimed_by, task.claimed_at = actor, now
    task.acknowledged_at = task.acknowledged_at or now
    task.version += 1
    task.save(
        update_fields=["claimed_by", "claimed_at", "acknowledged_at", "version", "updated_at"]
    )
    TaskEvent.objects.create(
        application_id=task.application_id,
        task=task,
        action="claim",
        actor=actor,
        from_state=task.state,
        to_state=task.state,
    )
    return task


def _issue_licences(app: Application, task: Task) -> None:
    for field, value in task.outputs.items():
        ELicence.objects.get_or_create(
            holder=app.applicant,
            field=field,
            issuer=task.department,
            application=app,
            defaults={"value": value, "name": OUTPUT_NAMES.get(field, field)},
        )


def _advance(app: Application, *, now) -> None:
    tasks = list(Task.objects.filter(application=app).select_for_update())
    done = {t.step for t in tasks if t.state == S.COMPLETED}
    for t in tasks:
        if t.state == S.WAITING and set(t.after) <= done:
            _make_ready(t, now=now)


def _cancel_dependents(app: Application, rejected: Task, *, now) -> None:
    tasks = list(Task.objects.filter(application=app).select_for_update())
    blocked = {rejected.step}
    changed = True
    while changed:
        changed = False
        for t in tasks:
            if t.step not in blocked and blocked & set(t.after):
                blocked.add(t.step)
                changed = True
    for t in tasks:
        if t.step in blocked and t.state == S.WAITING:
            t.state = S.CANCELLED
            t.reason = _("Not carried out because “%(step)s” was rejected.") % {
                "step": rejected.label
            }
            t.finished_at = now
            t.version += 1
            t.save()
            TaskEvent.objects.create(
                application=app,
                task=t,
                action="cancel",
                from_state=S.WAITING,
                to_state=S.CANCELLED,
                note=t.reason,
            )


def _application_refresh(app: Application, *, now) -> None:
    """The case's status follows from its tasks; only the chokepoints call this."""
    states = list(Task.objects.filter(application=app).values_list("state", flat=True))
    if any(s == S.CORRECTION for s in states):
        status = A.CORRECTION
    elif all(s in Task.FINAL_STATES for s in states):
        completed = sum(s == S.COMPLETED for s in states)
        status = A.COMPLETED if completed == len(states) else A.PARTIAL if completed else A.REJECTED
    else:
        status = A.IN_PROGRESS
    if status != app.status:
        TaskEvent.objects.create(
            application=app, action="status", from_state=app.status, to_state=status
        )
        app.status = status
        app.finished_at = now if status in Application.FINISHED_STATUSES else None
        app.save(update_fields=["status", "finished_at", "updated_at"])


def _task_message(app: Application, task: Task, action: str) -> dict[str, str]:
    dept = task.department.name
    ref = app.reference
    finished = ""
    if app.status == A.COMPLETED:
        finished = _(" Your whole application is complete.")
    elif app.status == A.PARTIAL:
        finished = _(
            " Your application is finished: some parts were completed, others not; see the case page for what to do next."  # noqa: E501
        )
    elif app.status == A.REJECTED:
        finished = _(" No part of your application could be completed.")
    if action == "accept":
        return {
            "subject": _("%(ref)s: accepted by %(dept)s") % {"ref": ref, "dept": dept},
            "body": _("%(dept)s accepted “%(step)s”. Due by %(date)s.")
            % {"dept": dept, "step": task.label, "date": task.due_date},
        }
    if action == "correction":
        return {
            "subject": _("%(ref)s: %(dept)s asks you to correct something")
            % {"ref": ref, "dept": dept},
            "body": _(
                "%(dept)s needs a correction for “%(step)s”: %(reason)s Open the case page to fix only what is asked."  # noqa: E501
            )
            % {"dept": dept, "step": task.label, "reason": task.reason},
        }
    if action == "complete":
        return {
            "subject": _("%(ref)s: %(dept)s finished its part") % {"ref": ref, "dept": dept},
            "body": _("%(dept)s completed “%(step)s”.") % {"dept": dept, "step": task.label}
            + finished,
        }
    return {
        "subject": _("%(ref)s: %(dept)s rejected its part") % {"ref": ref, "dept": dept},
        "body": _("%(dept)s rejected “%(step)s”: %(reason)s")
        % {"dept": dept, "step": task.label, "reason": task.reason}
        + finished,
    }


@transaction.atomic
def correction_resubmit(
    *, applicant, task_id: int, answers: dict[str, Any], uploads: dict[str, Any] | None = None
) -> Task:
    """The citizen fixes only what was asked; the task goes back to where it was."""
    base = Task.objects.filter(pk=task_id).values("application_id").first()
    if base is None:
        raise Refused(_("No such task."), code="not_found")
    app = Application.objects.select_for_update().get(pk=base["application_id"])
    if app.applicant_id != applicant.pk:
        raise Refused(_("No such task."), code="not_found")
    task = Task.objects.select_for_update().get(pk=task_id)
    if task.state != S.CORRECTION:
        raise Conflict(_("Nothing to correct here any more."), code="wrong_state")
    allowed = set(task.correction_fields)
    extra = set(answers) - allowed
    if extra:
        raise Refused(_("Only the fields asked for can be changed."), code="not_asked")
    last = task.events.filter(action="correction").order_by("-at", "-id").first()
    back = last.from_state if last else S.ACCEPTED
    app.data = {**app.data, **answers}
    app.save(update_fields=["data", "updated_at"])
    _store_attachments(app, uploads or {})
    task.state = back
    task.correction_fields = []
    task.version += 1
    task.save()
    event = TaskEvent.objects.create(
        application=app,
        task=task,
        action="resubmit",
        from_state=S.CORRECTION,
        to_state=back,
        actor=applicant,
    )
    _application_refresh(app, now=timezone.now())
    _notify_citizen(
        app,
        event,
        subject=_("%(ref)s: correction sent") % {"ref": app.reference},
        body=_("Your correction for “%(step)s” went to %(dept)s.")
        % {"step": task.label, "dept": task.department.name},
    )
    return task


def task_mark_delivered(*, task_id: int) -> bool:
    """The department's worklist received the task (the delivery task's only write)."""
    return bool(
        Task.objects.filter(pk=task_id, delivered_at__isnull=True).update(
            delivered_at=timezone.now()
        )
    )


# ---------------------------------------------------------------- notices


def _channels_for(user) -> list[str]:
    pref = NoticePreference.objects.filter(user=user).first()
    channels = []
    if (pref is None or pref.by_sms) and user.phone:
        channels.append("sms")
    if pref is not None and pref.by_email and (pref.email or user.email):
        channels.append("email")
    return channels


def _notify_citizen(
    app: Application, event: TaskEvent | None, *, subject: str, body: str
) -> Notice:
    return notify(app.applicant, subject=subject, body=body, application=app, event=event)


def notify(
    user, *, subject: str, body: str, application: Application | None = None, event=None
) -> Notice:
    """One notice in the inbox, and one delivery per channel the person chose, via the outbox."""
    notice = Notice.objects.create(
        recipient=user, application=application, event=event, subject=subject[:200], body=body
    )
    for channel in _channels_for(user):
        delivery = NoticeDelivery.objects.create(notice=notice, channel=channel)
        outbox_enqueue("workflows.deliver_notice", delivery_id=delivery.pk)
    return notice


def notice_deliver(*, delivery_id: int) -> str:
    """Send one delivery through its channel's backend (called by the outbox task, in its
    transaction). A notice that cannot be delivered as it is (no address, refused) is ``failed``
    at once; one that could not be handed over now raises, so the outbox runs it again after a
    backoff and the delivery stays ``pending`` until it is sent or given up."""
    from zheliban.core.notify import DeliveryRefused, deliver

    delivery = (
        NoticeDelivery.objects.select_for_update(of=("self",))
        .select_related("notice__recipient")
        .get(pk=delivery_id)
    )
    if delivery.state != NoticeDelivery.State.PENDING:
        return delivery.provider_id
    user = delivery.notice.recipient
    pref = NoticePreference.objects.filter(user=user).first()
    to = user.phone if delivery.channel == "sms" else ((pref.email if pref else "") or user.email)
    delivery.attempts += 1
    try:
        provider_id = deliver(
            delivery.channel,
            to=to or "",
            subject=delivery.notice.subject,
            body=delivery.notice.body,
            idempotency_key=f"zheliban-notice-delivery-{delivery.pk}",
        )
    except DeliveryRefused as exc:
        delivery.state = NoticeDelivery.State.FAILED
        delivery.error = str(exc)[:300]
        delivery.save()
        return ""
    delivery.state = NoticeDelivery.State.SENT
    delivery.provider_id = str(provider_id)[:100]
    delivery.sent_at = timezone.now()
    delivery.error = ""
    delivery.save()
    return delivery.provider_id


def notice_delivery_give_up(*, delivery_id: int, error: str) -> None:
    """The outbox gave a delivery up after its retries: it is ``failed``, with the last error,
    shown to staff in admin — never ``pending`` for ever."""
    NoticeDelivery.objects.filter(pk=delivery_id, state=NoticeDelivery.State.PENDING).update(
        state=NoticeDelivery.State.FAILED, error=(error or "")[:300]
    )


def notice_delivery_reopen(*, delivery_id: int) -> None:
    """Staff retry a delivery the outbox gave up: it is ``pending`` again until sent or given up."""
    NoticeDelivery.objects.filter(pk=delivery_id, state=NoticeDelivery.State.FAILED).update(
        state=NoticeDelivery.State.PENDING
    )


def notices_mark_read(*, user, ids: Iterable[int] | None = None) -> int:
    qs = Notice.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())


def notice_preference_set(
    *, user, by_sms: bool, by_email: bool, email: str = ""
) -> NoticePreference:
    if by_email and not (email or user.email):
        raise Refused(_("Give an e-mail address to get notices by e-mail."), code="email_missing")
    pref, _created = NoticePreference.objects.update_or_create(
        user=user, defaults={"by_sms": by_sms, "by_email": by_email, "email": email}
    )
    return pref


# ---------------------------------------------------------------- deadlines


def deadlines_sweep(*, today: dt.date | None = None) -> dict[str, int]:
    """Remind a department the working day before a promise falls due; escalate to its
    supervisors (督办) once it is overdue. Each task is reminded and escalated at most once."""
    today = today or timezone.localdate()
    tomorrow = add_workdays(today, 1).date
    counts = {"reminded": 0, "escalated": 0}
    open_tasks = Task.objects.filter(state__in=Task.OPEN_STATES)
    for task in open_tasks.filter(
        due_date__lte=tomorrow, due_date__gte=today, reminded_at__isnull=True
    ).select_related("department", "application", "claimed_by")[:500]:
        with transaction.atomic():
            if not Task.objects.filter(pk=task.pk, reminded_at__isnull=True).update(
                reminded_at=timezone.now()
            ):
                continue
            recipients = (
                [task.claimed_by]
                if task.claimed_by
                else staff_of(task.department_id, Membership.Role.CLERK)
            )
            for user in recipients:
                notify(
                    user,
                    subject=_("Due soon: %(ref)s") % {"ref": task.application.reference},
                    body=_("“%(step)s” of case %(ref)s is due on %(date)s.")
                    % {
                        "step": task.label,
                        "ref": task.application.reference,
                        "date": task.due_date,
                    },
                )
            counts["reminded"] += 1
    for task in open_tasks.filter(due_date__lt=today, escalated_at__isnull=True).select_related(
        "department", "application"
    )[:500]:
        with transaction.atomic():
            if not Task.objects.filter(pk=task.pk, escalated_at__isnull=True).update(
                escalated_at=timezone.now()
            ):
                continue
            for user in staff_of(task.department_id, Membership.Role.SUPERVISOR):
                notify(
                    user,
                    subject=_("Overdue (督办): %(ref)s") % {"ref": task.application.reference},
                    body=_("“%(step)s” of case %(ref)s was due on %(date)s and is not finished.")
                    % {
                        "step": task.label,
                        "ref": task.application.reference,
                        "date": task.due_date,
                    },
                )
            TaskEvent.objects.create(
                application_id=task.application_id,
                task=task,
                action="escalate",
                from_state=task.state,
                to_state=task.state,
            )
            counts["escalated"] += 1
    return counts


def staff_of(departments, role: str) -> list:
    """The active staff holding ``role`` in a department (an id) or in any of several (ids or a
    subquery of them), each once."""
    from django.contrib.auth import get_user_model

    if departments is None:
        return []
    where = (
        {"memberships__department_id": departments}
        if isinstance(departments, int)
        else {"memberships__department__in": departments}
    )
    return list(
        get_user_model().objects.filter(**where, memberships__role=role, is_active=True).distinct()
    )


# ---------------------------------------------------------------- ratings


@transaction.atomic
def rating_submit(*, applicant, application: Application, score: int, comment: str = "") -> Rating:
    app = Application.objects.select_for_update().get(pk=application.pk)
    if app.applicant_id != applicant.pk:
        raise Refused(_("This is not your application."), code="not_owner")
    if app.status not in Application.FINISHED_STATUSES:
        raise Refused(_("You can rate a case once it is finished."), code="not_finished")
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise Refused(_("Choose a rating from 1 to 5."), code="bad_score")
    if Rating.objects.filter(application=app).exists():
        raise Conflict(
            _("You have rated this case already; you may add one follow-up review."), code="rated"
        )
    rating = Rating.objects.create(application=app, score=score, comment=comment.strip()[:2000])
    TaskEvent.objects.create(application=app, action="rate", actor=applicant, note=str(score))
    if rating.is_bad:
        today = timezone.localdate()
        callback, fix = add_workdays(today, 1).date, add_workdays(today, 15).date
        # ``order_by()`` drops Task's default ordering (application, id): its columns would join
        # the DISTINCT and count a department with two steps twice.
        depts = (
            Task.objects.filter(application=app, state__in=[S.COMPLETED, S.REJECTED])
            .order_by()
            .values_list("department_id", flat=True)
            .distinct()
        )
        for dept_id in depts:
            Rectification.objects.create(
                rating=rating, department_id=dept_id, callback_due=callback, fix_due=fix
            )
            for user in staff_of(dept_id, Membership.Role.SUPERVISOR):
                notify(
                    user,
                    subject=_("Bad rating to rectify: %(ref)s") % {"ref": app.reference},
                    body=_("Call the citizen back by %(callback)s and fix the problem by %(fix)s.")
                    % {"callback": callback, "fix": fix},
                )
    return rating


@transaction.atomic
def rating_follow_up(*, applicant, application: Application, text: str) -> Rating:
    rating = Rating.objects.select_for_update().filter(application=application).first()
    if rating is None or application.applicant_id != applicant.pk:
        raise Refused(_("Rate the case first."), code="not_rated")
    if rating.follow_up_at is not None:
        raise Conflict(_("You have already added your follow-up review."), code="followed_up")
    text = text.strip()
    if not text:
        raise Refused(_("Write your follow-up review."), code="empty")
    rating.follow_up = text[:2000]
    rating.follow_up_at = timezone.now()
    rating.save(update_fields=["follow_up", "follow_up_at", "updated_at"])
    return rating


@transaction.atomic
def rectification_transition(
    *, actor, rectification_id: int, action: str, note: str
) -> Rectification:
    rect = (
        Rectification.objects.select_for_update(of=("self",))
        .select_related("rating__application")
        .get(pk=rectification_id)
    )
    if not can_work_on(actor, rect.department_id):
        raise Refused(_("No such rectification in your department."), code="not_found")
    note = note.strip()
    if not note:
        raise Refused(_("Write what was done."), code="empty")
    now = timezone.now()
    if action == "callback" and rect.state == Rectification.State.OPEN:
        rect.state, rect.callback_note, rect.called_back_at = (
            Rectification.State.CALLED_BACK,
            note,
            now,
        )
    elif action == "fix" and rect.state == Rectification.State.CALLED_BACK:
        rect.state, rect.outcome, rect.fixed_at = Rectification.State.FIXED, note, now
        app = rect.rating.application
        notify(
            app.applicant,
            application=app,
            subject=_("%(ref)s: what we changed after your rating") % {"ref": app.reference},
            body=note,
        )
    else:
        raise Conflict(
            _("This rectification is “%(state)s”; that step is not possible now.")
            % {"state": rect.get_state_display()},
            code="wrong_state",
        )
    rect.save()
    return rect

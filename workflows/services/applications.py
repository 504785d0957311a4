"""Applications: drafts, submission (once per idempotency key), the tasks they start."""

from __future__ import annotations

import uuid
from functools import reduce
from operator import or_
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Bundle, ServiceItem, ServiceItemVersion
from departments.models import Department
from workflows.errors import WorkflowsErrorCode
from zheliban.core.errors import Conflict, Forbidden, Refused
from zheliban.core.machines import SYSTEM
from zheliban.core.outbox import outbox_enqueue
from zheliban.core.workdays import add_workdays

from .. import held, selectors
from ..forms import FormSpec, Held
from ..models import (
    APPLICANT,
    APPLICATION_MACHINE,
    Application,
    ApplicationItemVersion,
    Attachment,
    DataAccess,
    Task,
    WorkflowDefinition,
)
from .common import A, S, _notify_citizen
from .definitions import workflow_for
from .moves import _application_move, _task_move
from .sharing import data_read

# ---------------------------------------------------------------- applications


def _reference(app: Application) -> str:
    stamp = timezone.localtime(app.submitted_at).strftime("%Y%m%d")
    return f"ZB{stamp}{app.pk.hex[:8].upper()}"


def application_start(
    *, applicant, bundle: Bundle | None = None, item: ServiceItem | None = None
) -> Application:
    """The citizen's open draft for this bundle or item, or a new one."""
    if not applicant.is_authenticated:
        raise Forbidden(_("Log in to apply."), code=WorkflowsErrorCode.LOGIN)
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
        raise Forbidden(_("This is not your application."), code=WorkflowsErrorCode.NOT_OWNER)
    if app.status != A.DRAFT:
        raise Conflict(
            _("This application has been submitted already."), code=WorkflowsErrorCode.SUBMITTED
        )
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
    spec: FormSpec | None = None,
    prepared: held.Prepared | None = None,
    filed_by=None,
    received: list[str] | None = None,
) -> tuple[Application, bool]:
    """Submit a draft: the case starts. Returns (application, created_now).

    Submitting again with the same key (double click, retry) returns the same application; the
    answers must already be validated by the generated form. ``spec`` is that form's spec (built
    from the catalog now when not given): the application keeps it, with the item versions it was
    built from, as what it was filed under.

    At the counter (一窗受理) ``filed_by`` is the counter clerk filing for the applicant, who stays
    the case's owner, and ``received`` the materials the counter took on paper (收件清单).
    """
    key = (idempotency_key or "").strip()[:64]
    if not key:
        raise Refused(_("A submission needs an idempotency key."), code=WorkflowsErrorCode.NO_KEY)
    existing = (
        Application.objects.filter(applicant=applicant, idempotency_key=key)
        .exclude(status=A.DRAFT)
        .first()
    )
    if existing is not None:
        return existing, False
    wf = workflow_for(bundle=application.bundle, item=application.item)
    if prepared is None:
        prepared = selectors.application_prepare(
            user=applicant, workflow=wf, bundle=application.bundle, item=application.item
        )
    spec = spec or prepared.spec
    if prepared.refusals:
        raise Refused(
            _("The registers show you cannot apply for this: %(why)s")
            % {"why": " ".join(v.says for v in prepared.refusals)},
            code=WorkflowsErrorCode.INELIGIBLE,
        )
    # What a register holds is taken from the register, whatever was typed or sent.
    answers = {**answers, **prepared.answers()}
    try:
        with transaction.atomic():
            app = Application.objects.select_for_update().get(pk=application.pk)
            if app.applicant_id != applicant.pk:
                raise Forbidden(
                    _("This is not your application."), code=WorkflowsErrorCode.NOT_OWNER
                )
            # refused before any work, in the citizen's words; the move itself comes last, so
            # the case's history reads its first steps made ready, then the submission
            APPLICATION_MACHINE.require(
                app.status,
                "submit",
                who=APPLICANT,
                refuse=lambda: Conflict(
                    _("This application was submitted already (%(ref)s).") % {"ref": app.reference},
                    code=WorkflowsErrorCode.SUBMITTED,
                ),
            )
            now = timezone.now()
            app.data = {**app.data, **answers}
            app.idempotency_key = key
            app.definition = wf
            app.submitted_at = now
            app.reference = _reference(app)
            deadline = add_workdays(timezone.localdate(now), selectors.promise_workdays(wf))
            app.promised_date = deadline.date
            app.promised_provisional = deadline.provisional
            app.form_spec = spec.to_dict()
            if filed_by is not None:
                app.filed_by = filed_by
                app.received = sorted(set(received or ()))
            _pin_versions(app, spec)
            _store_attachments(app, uploads or {})
            _fetch_held(app, prepared, now=now)
            _create_tasks(app, wf, now=now)
            event = _application_move(
                app, "submit", who=APPLICANT, actor=filed_by if filed_by is not None else applicant
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


def _fetch_held(app: Application, prepared: held.Prepared, *, now) -> None:
    """Attach each material a department holds, with its source, and log every read another
    department made of the registers for this case (three statements). A material the citizen
    uploaded to the draft anyway keeps the upload."""
    uploaded = set(
        Attachment.objects.filter(application=app).values_list("material_name", flat=True)
    )
    Attachment.objects.bulk_create(
        Attachment(
            application=app,
            material_name=fetch.material,
            source=FETCH_SOURCES[fetch.how],
            source_label=fetch.source[:200],
            source_department=fetch.department,
            record=fetch.record,
            content=dict(fetch.record.data) if fetch.record is not None else {},
            fetched_at=now if fetch.how != Held.STEP else None,
        )
        for fetch in prepared.fetches
        if fetch.material not in uploaded
    )
    if prepared.reads:
        purpose = _("Application %(ref)s") % {"ref": app.reference}
        DataAccess.objects.bulk_create(
            DataAccess(
                citizen_id=app.applicant_id,
                field=read.field,
                owner_id=read.owner,
                consumer_id=read.consumer,
                grant_id=read.grant,
                purpose=purpose[:200],
                application=app,
                outcome=DataAccess.Outcome.VALUE,
            )
            for read in prepared.reads
        )


FETCH_SOURCES = {
    Held.DEPARTMENT: Attachment.Source.REGISTER,
    Held.STEP: Attachment.Source.STEP,
    Held.LICENCE: Attachment.Source.LICENCE,
}


def application_create_and_submit(
    *,
    applicant,
    bundle: Bundle | None,
    item: ServiceItem | None,
    answers: dict[str, Any],
    idempotency_key: str,
    spec: FormSpec | None = None,
    prepared: held.Prepared | None = None,
    uploads: dict[str, Any] | None = None,
    filed_by=None,
    received: list[str] | None = None,
) -> tuple[Application, bool]:
    """The API's (and the counter's) one-call submission, idempotent on the key; ``spec``,
    ``prepared``, ``uploads``, ``filed_by`` and ``received`` as for ``application_submit``."""
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
            applicant=applicant,
            application=existing,
            answers=answers,
            idempotency_key=key,
            spec=spec,
            prepared=prepared,
            uploads=uploads,
            filed_by=filed_by,
            received=received,
        )
    # A draft of this call's own, in one transaction with its submission: it becomes the
    # application, or is removed when another call with the key won the race; a failure midway
    # (a refusal, the database gone) rolls both back. No draft is ever left behind.
    with transaction.atomic():
        draft = Application.objects.create(
            applicant=applicant, bundle=bundle, item=item, idempotency_key=f"draft-{uuid.uuid4()}"
        )
        submitted = application_submit(
            applicant=applicant,
            application=draft,
            answers=answers,
            idempotency_key=key,
            spec=spec,
            prepared=prepared,
            uploads=uploads,
            filed_by=filed_by,
            received=received,
        )
        if submitted[0].pk != draft.pk:
            Application.objects.filter(pk=draft.pk, status=A.DRAFT).delete()
    return submitted


def _pin_versions(app: Application, spec: FormSpec) -> None:
    """Link the application to the published version of each item its form was built from."""
    published = [(n, s) for n, s in enumerate(spec.items) if s.version]
    if not published:
        return
    versions = dict(
        ServiceItemVersion.objects.filter(
            reduce(or_, (Q(item_id=s.id, number=s.version) for _n, s in published))
        ).values_list("item_id", "pk")
    )
    ApplicationItemVersion.objects.bulk_create(
        ApplicationItemVersion(application=app, version_id=versions[s.id], position=n)
        for n, s in published
        if s.id in versions
    )


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
    task.ready_at = now
    task.inputs = inputs
    task.due_date = deadline.date
    task.due_provisional = deadline.provisional
    _task_move(task, "ready", who=SYSTEM, note="; ".join(notes))
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

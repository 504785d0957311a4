"""Pages for citizens (apply, my applications, inbox, who used my data) and staff (worklist)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from catalog.models import Bundle, ServiceItem
from departments.models import DataGrant, Department
from zheliban.core import notices as notices_service
from zheliban.core.errors import Refused
from zheliban.core.uploads import private_file_response
from zheliban.core.workdays import add_workdays

from . import selectors, services
from .forms import ApplicationForm, prefill
from .held import REGISTER_FIELDS
from .models import Application, Rating, Task
from .staff_views import FINISHING_MOVES, ListQuery, worklist_marked


def _refused(request: HttpRequest, exc: Refused, template: str, context: dict) -> HttpResponse:
    context = {**context, "refusal": exc.message}
    return render(request, template, context, status=exc.status)


# ---------------------------------------------------------------- citizens


def held_rows(prepared) -> list[dict]:
    """The answers a register gave, as the form shows them to confirm."""
    rows = []
    for f in prepared.spec.fields:
        value = prepared.values.get(f.name)
        if value is None:
            continue
        where = REGISTER_FIELDS[f.name]
        rows.append(
            {
                "label": f.label,
                "value": value.value,
                "source": value.source,
                "correct_url": reverse("registers:correct", args=[value.record.pk, where[1]]),
            }
        )
    return rows


def _apply_setup(request: HttpRequest, kind: str, key: str):
    """What the apply and check pages share: the subject, its workflow, the citizen's draft and
    the prepared form; or a response to send instead (no workflow, not eligible)."""
    if kind == "bundle":
        bundle, item = get_object_or_404(Bundle, slug=key, is_active=True), None
    else:
        bundle, item = None, get_object_or_404(ServiceItem, code=key, is_active=True)
    try:
        workflow = services.workflow_for(bundle=bundle, item=item)
    except Refused as exc:
        messages.error(request, exc.message)
        return redirect(bundle.get_absolute_url() if bundle else item.get_absolute_url())
    draft = services.application_start(applicant=request.user, bundle=bundle, item=item)
    prepared = selectors.application_prepare(
        user=request.user, workflow=workflow, bundle=bundle, item=item
    )
    if prepared.refusals:
        # Told before any form: why not, and what to do instead.
        return render(
            request,
            "workflows/ineligible.html",
            {"subject": bundle or item, "refusals": prepared.refusals, "draft": draft},
        )
    known = selectors.licences_for(request.user)
    prefilled = prefill(prepared.spec, user=request.user, licences=known)
    promise = selectors.promise_workdays(workflow)
    context = {
        "draft": draft,
        "subject": bundle or item,
        "bundle": bundle,
        "spec": prepared.spec,
        "workflow": workflow,
        "promise": promise,
        "promised_by": add_workdays(timezone.localdate(), promise),
        "prefilled": sorted(prefilled),
        "initial": {**prefilled, **draft.data},
        "existing": set(draft.attachments.values_list("material_name", flat=True)),
        "confirmed": held_rows(prepared),
        "verdicts": prepared.verdicts,
        "role": prepared.role,
        "prepared": prepared,
        "apply_url": reverse(f"workflows:apply-{kind}", args=[key]),
        "check_url": reverse(f"workflows:apply-{kind}-check", args=[key]),
    }
    return context


def _form(request: HttpRequest, context: dict, *, data=None, files=None, require_all=True):
    return ApplicationForm(
        data,
        files,
        spec=context["spec"],
        initial_data=context["initial"],
        require_all=require_all,
        existing_materials=context["existing"],
        applicant=request.user,
        confirmed_values=context["prepared"].answers(),
    )


@login_required
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest, kind: str, key: str) -> HttpResponse:
    context = _apply_setup(request, kind, key)
    if isinstance(context, HttpResponse):
        return context
    draft, prepared = context["draft"], context["prepared"]
    if request.method != "POST":
        context["form"] = _form(request, context)
        return render(request, "workflows/apply.html", context)
    action = request.POST.get("action")
    saving = action == "save"
    form = _form(request, context, data=request.POST, files=request.FILES, require_all=not saving)
    context["form"] = form
    if not form.is_valid():
        # Files that passed their check are kept with the draft, so a failed submit never
        # asks for them again.
        kept = {
            m.name: form.cleaned_data[m.key]
            for m in context["spec"].asked_materials
            if m.key not in form.errors and form.cleaned_data.get(m.key)
        }
        if kept:
            services.application_save_draft(
                applicant=request.user, application=draft, data={}, uploads=kept
            )
            context["existing"] |= set(kept)
        return render(request, "workflows/apply.html", context, status=400)
    if saving or action == "review":
        services.application_save_draft(
            applicant=request.user, application=draft, data=form.answers(), uploads=form.uploads()
        )
        if saving:
            messages.success(request, _("Draft saved. You can come back and finish it later."))
            return redirect(request.path)
        return redirect(context["check_url"])
    try:
        app, _created = services.application_submit(
            applicant=request.user,
            application=draft,
            answers=form.answers(),
            uploads=form.uploads(),
            idempotency_key=request.POST.get("submit_key", ""),
            prepared=prepared,
        )
    except Refused as exc:
        return _refused(request, exc, "workflows/apply.html", context)
    return redirect(app.get_absolute_url())


@login_required
@require_http_methods(["GET", "POST"])
def apply_check(request: HttpRequest, kind: str, key: str) -> HttpResponse:
    """Check your answers: everything the case will be filed with, then one button."""
    context = _apply_setup(request, kind, key)
    if isinstance(context, HttpResponse):
        return context
    draft, prepared, spec = context["draft"], context["prepared"], context["spec"]
    # The draft's answers, checked again as the form would: a catalog change or a draft saved
    # half-done sends the citizen back to the form, with its errors.
    form = _form(
        request,
        context,
        data={k: v for k, v in context["initial"].items() if v is not None},
        files={},
    )
    missing = [m for m in spec.asked_materials if m.required and m.name not in context["existing"]]
    if not form.is_valid() or missing:
        messages.error(request, _("Some answers or documents are missing; please complete them."))
        return redirect(context["apply_url"])
    answers = form.answers()
    context["typed"] = [
        (f, answers.get(f.name, "")) for f in spec.fields if not f.confirmed and f.name in answers
    ]
    if request.method == "POST":
        try:
            app, _created = services.application_submit(
                applicant=request.user,
                application=draft,
                answers=answers,
                idempotency_key=request.POST.get("submit_key", ""),
                prepared=prepared,
            )
        except Refused as exc:
            return _refused(request, exc, "workflows/check.html", context)
        return redirect(app.get_absolute_url())
    return render(request, "workflows/check.html", context)


@login_required
def my_applications(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.application_list_for_citizen(user=request.user), 20).get_page(
        request.GET.get("page")
    )
    return render(request, "workflows/my_applications.html", {"page": page})


@login_required
def application_detail(request: HttpRequest, pk) -> HttpResponse:
    app = selectors.application_get_for_citizen(user=request.user, pk=pk)
    return render(request, "workflows/application.html", _case_context(request, app))


def _case_context(request: HttpRequest, app: Application, **extra) -> dict:
    corrections = []
    tasks = list(app.tasks.all())
    # A draft follows the catalog; a case reads the form it was filed with.
    spec = None if app.status == Application.Status.DRAFT else selectors.application_form_spec(app)
    if spec is not None and any(t.state == Task.State.CORRECTION for t in tasks):
        for task in tasks:
            if task.state == Task.State.CORRECTION:
                form = extra.pop(f"form_{task.pk}", None) or ApplicationForm(
                    spec=spec, initial_data=app.data, only=task.correction_fields
                )
                corrections.append((task, form))
    try:
        rating = app.rating
    except Rating.DoesNotExist:
        rating = None
    return {
        "app": app,
        "spec": spec,
        "parts": selectors.parts_of(app),
        "corrections": corrections,
        "rating": rating,
        "scores": Rating.Score.choices,
        "can_rate": app.status in Application.FINISHED_STATUSES and rating is None,
        **extra,
    }


@login_required
@require_POST
def application_correct(request: HttpRequest, pk, task_id: int) -> HttpResponse:
    app = selectors.application_get_for_citizen(user=request.user, pk=pk)
    task = next((t for t in app.tasks.all() if t.pk == task_id), None)
    if task is None:
        raise Http404
    spec = selectors.application_form_spec(app)
    form = ApplicationForm(
        request.POST, request.FILES, spec=spec, initial_data=app.data, only=task.correction_fields
    )
    if not form.is_valid():
        ctx = _case_context(request, app, **{f"form_{task.pk}": form})
        return render(request, "workflows/application.html", ctx, status=400)
    try:
        services.correction_resubmit(
            applicant=request.user, task_id=task.pk, answers=form.answers(), uploads=form.uploads()
        )
    except Refused as exc:
        messages.error(request, exc.message)
        return redirect(app.get_absolute_url())
    messages.success(request, _("Your correction was sent."))
    return redirect(app.get_absolute_url())


@login_required
@require_POST
def application_rate(request: HttpRequest, pk) -> HttpResponse:
    app = selectors.application_get_for_citizen(user=request.user, pk=pk)
    try:
        if request.POST.get("follow_up") is not None:
            services.rating_follow_up(
                applicant=request.user, application=app, text=request.POST["follow_up"]
            )
            messages.success(request, _("Your follow-up review was saved."))
        else:
            try:
                score = int(request.POST.get("score", ""))
            except ValueError:
                score = 0
            services.rating_submit(
                applicant=request.user,
                application=app,
                score=score,
                comment=request.POST.get("comment", ""),
            )
            messages.success(request, _("Thank you for your rating."))
    except Refused as exc:
        messages.error(request, exc.message)
        return redirect(app.get_absolute_url())
    return redirect(app.get_absolute_url())


@login_required
@require_http_methods(["GET", "POST"])
def notices(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if "by_sms" in request.POST or "save_channels" in request.POST:
            try:
                notices_service.notice_preference_set(
                    user=request.user,
                    by_sms=request.POST.get("by_sms") == "on",
                    by_email=request.POST.get("by_email") == "on",
                    email=request.POST.get("email", "").strip(),
                )
                messages.success(request, _("Your notice channels were saved."))
            except Refused as exc:
                messages.error(request, exc.message)
        else:
            notices_service.notices_mark_read(user=request.user)
        return redirect("workflows:notices")
    page = Paginator(notices_service.notices_for(user=request.user), 20).get_page(
        request.GET.get("page")
    )
    pref = notices_service.notice_preference_of(user=request.user)
    return render(request, "workflows/notices.html", {"page": page, "pref": pref})


@login_required
def data_uses(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.data_uses_for(user=request.user), 30).get_page(
        request.GET.get("page")
    )
    return render(request, "workflows/data_uses.html", {"page": page})


@login_required
def attachment(request: HttpRequest, pk: int) -> HttpResponse:
    att = selectors.attachment_for(user=request.user, pk=pk)
    if not att.is_file or not selectors.attachment_needed(user=request.user, attachment=att):
        # Fetched from a register, issued in the case or the citizen's identity: no file. A
        # material no step of the user's departments uses: not theirs to read (need to know).
        raise Http404
    return private_file_response(att.file, download_name=att.original_name)


# ---------------------------------------------------------------- staff


@login_required
def worklist(request: HttpRequest) -> HttpResponse:
    departments = list(selectors.staff_departments(user=request.user))
    if not departments and not selectors.may_work_tasks(user=request.user):
        raise PermissionDenied
    query = ListQuery.of(request.GET)
    tasks = (
        selectors.worklist(user=request.user, **query.selection())
        if not query.search_error
        else Task.objects.none()
    )
    page = Paginator(tasks.values_list("pk", flat=True), 50).get_page(query.page)
    page.object_list = worklist_marked(
        selectors.worklist_rows(page.object_list), user=request.user, departments=departments
    )
    if query.search is not None:
        services.staff_search_record(
            user=request.user, where="worklist", key=query.search, found=page.paginator.count
        )
    return render(
        request,
        "workflows/worklist.html",
        {
            "page": page,
            "departments": departments,
            "department": next((d for d in departments if d.code == query.department), None),
            "state": query.state,
            "states": Task.State.choices,
            "overdue": query.overdue,
            "query": query,
            "sorts": ListQuery.SORT_CHOICES,
            # The list's address, carried by its task links and moves; none for the plain list.
            "back": query.encoded if request.GET else "",
            "page_query": query.encoded_without_page,
        },
    )


def _task_for_staff(request: HttpRequest, pk: int) -> Task:
    """The task, 404 when it is outside the user's departments; 403 for a user who works on no
    tasks at all (a citizen, a dispatcher, a department administrator)."""
    try:
        return selectors.task_get_for_staff(user=request.user, pk=pk)
    except Http404:
        if not selectors.may_work_tasks(user=request.user):
            raise PermissionDenied from None
        raise


def _task_context(request: HttpRequest, task: Task, *, read_only: bool = False, **extra) -> dict:
    app = task.application
    mine = task.claimed_by_id == request.user.pk
    spec = selectors.application_form_spec(app)
    # An overseer reads how late a task is, not the case: nothing of the application is shown.
    shown = (
        selectors.TaskShown([], [], [], revealed=False, reveal_logged=False)
        if read_only
        else selectors.task_shown(task=task, viewer=request.user, spec=spec)
    )
    if shown.reveal_to_log:
        services.task_reveal_record(task=task, actor=request.user)
    verify_fields = sorted(
        {
            field
            for grant in DataGrant.objects.filter(consumer=task.department, is_active=True)
            for field in grant.fields or []
        }
        if not read_only
        else ()
    )
    back = request.GET.get("back") or request.POST.get("back", "")
    return {
        "read_only": read_only,
        "back": ListQuery.of(QueryDict(back)).encoded if back else "",
        "task": task,
        "app": app,
        "mine": mine,
        "answers": shown.answers,
        "inputs": shown.inputs,
        "materials": shown.materials,
        "correctable_materials": [m for m in shown.materials if m.asked],
        "spec": spec,
        "verify_fields": verify_fields,
        "owners": Department.objects.filter(grants_given__consumer=task.department).distinct(),
        "extensions": list(task.extensions.select_related("requested_by", "decided_by")),
        "may_decide_extensions": services.extension_may_decide(user=request.user, task=task),
        **extra,
    }


@login_required
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        task = _task_for_staff(request, pk)
    except Http404:
        # A supervisor of a service centre reads an overdue task of a department it oversees.
        task = selectors.task_get_overseen(user=request.user, pk=pk)
        return render(request, "workflows/task.html", _task_context(request, task, read_only=True))
    following = None
    if request.GET.get("back"):
        # Opened from a list: the next task of it is one link away.
        query = ListQuery.of(QueryDict(request.GET["back"]))
        following = selectors.worklist_next(
            user=request.user, current=task, **query.next_selection()
        )
    return render(request, "workflows/task.html", _task_context(request, task, next_task=following))


@login_required
@require_POST
def task_act(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_for_staff(request, pk)
    action = request.POST.get("action", "")
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    outputs = {g: request.POST.get(f"out_{g}", "") for g in task.gives}
    try:
        services.task_transition(
            actor=request.user,
            task_id=task.pk,
            action=action,
            expected_version=version,
            outputs=outputs,
            reason=request.POST.get("reason", ""),
            fields=request.POST.getlist("fields"),
        )
    except Refused as exc:
        task = selectors.task_get_for_staff(user=request.user, pk=pk)
        return render(
            request,
            "workflows/task.html",
            _task_context(request, task, refusal=exc.message),
            status=exc.status,
        )
    messages.success(request, _("Done."))
    back = request.POST.get("back", "")
    if back:
        # Opened from a list: its filters and sort are kept, and a move that ends the user's
        # part opens the next task of that list they can work on.
        query = ListQuery.of(QueryDict(back))
        if action in FINISHING_MOVES:
            following = selectors.worklist_next(
                user=request.user, current=task, **query.next_selection()
            )
            if following is None:
                return redirect(query.list_url)
            return redirect(query.task_url(following))
        return redirect(query.task_url(task.pk))
    if action in ("complete", "reject"):
        return redirect("workflows:worklist")
    return redirect("workflows:task", pk=task.pk)


@login_required
@require_POST
def task_extension(request: HttpRequest, pk: int) -> HttpResponse:
    """The clerk holding the task asks for more time (延期); a supervisor decides a request."""
    task = _task_for_staff(request, pk)
    decision = request.POST.get("decision", "")
    try:
        if decision:
            try:
                extension_id = int(request.POST.get("extension", ""))
            except ValueError:
                extension_id = 0
            services.extension_decide(
                actor=request.user,
                extension_id=extension_id,
                approve=decision == "approve",
                reason=request.POST.get("reason", ""),
            )
        else:
            try:
                workdays = int(request.POST.get("workdays", ""))
            except ValueError:
                workdays = 0
            services.extension_request(
                actor=request.user,
                task_id=task.pk,
                workdays=workdays,
                reason=request.POST.get("reason", ""),
            )
    except Refused as exc:
        task = selectors.task_get_for_staff(user=request.user, pk=pk)
        return render(
            request,
            "workflows/task.html",
            _task_context(request, task, refusal=exc.message),
            status=exc.status,
        )
    messages.success(request, _("Done."))
    return redirect("workflows:task", pk=task.pk)


@login_required
@require_POST
def task_verify(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_for_staff(request, pk)
    owner = Department.objects.filter(code=request.POST.get("owner", "")).first()
    field = request.POST.get("field", "")
    answer = None
    if owner is not None and field:
        answer = services.data_verify(
            consumer=task.department,
            owner=owner,
            citizen=task.application.applicant,
            field=field,
            expected=request.POST.get("expected", ""),
            match=request.POST.get("match", "equals"),
            purpose=_("Case %(ref)s, step %(step)s")
            % {"ref": task.application.reference, "step": task.label},
            application=task.application,
            actor=request.user,
        )
    return render(
        request,
        "workflows/task.html",
        _task_context(request, task, verify_answer=answer, verify_field=field),
    )

"""The counter of a service centre (一窗受理): find or register the citizen, file for them with the
form they would see online, and print the case's notices; and the notices' PDF for everyone who
may read the case."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from catalog.models import Bundle, ServiceItem
from zheliban.accounts import services as accounts
from zheliban.accounts.forms import CounterRegistrationForm
from zheliban.core.errors import Forbidden, Refused
from zheliban.core.workdays import add_workdays

from . import documents, selectors, services
from .forms import ApplicationForm, prefill
from .models import Application
from .services import counter
from .views import held_rows

# How many items a search for something to file lists.
ITEM_RESULTS = 20


def _centres(request: HttpRequest):
    """The user's counters; 403 for anyone who does not sit at one."""
    try:
        return counter.counter_require(user=request.user)
    except Forbidden:
        raise PermissionDenied from None


def _citizen(request: HttpRequest, pk: int):
    try:
        return counter.citizen_get_for_counter(user=request.user, pk=pk)
    except Forbidden:
        raise PermissionDenied from None


@login_required
@require_http_methods(["GET", "POST"])
def counter_home(request: HttpRequest) -> HttpResponse:
    """Find the citizen by ID number, mobile or name; or register them from their ID card. Both
    are posted: an ID number or a mobile number never goes into a URL (nor the access log)."""
    centres = _centres(request)
    finding = request.method == "POST" and request.POST.get("action") == "find"
    registering = request.method == "POST" and not finding
    results, refusal = None, ""
    form = CounterRegistrationForm(request.POST if registering else None)
    status = 200
    if finding:
        try:
            results = counter.citizen_find(actor=request.user, query=request.POST.get("q", ""))
        except Refused as exc:
            refusal, status = exc.message, exc.status
    elif registering:
        if form.is_valid():
            data = form.cleaned_data
            try:
                citizen = accounts.citizen_register_at_counter(
                    real_name=data["real_name"],
                    id_number=data["id_number"],
                    sex=data["sex"],
                    birth_date=data["birth_date"],
                    phone=data["phone"],
                )
            except ValidationError as exc:
                for field, errors in exc.error_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(
                    request,
                    _("Registered. Hand the citizen the set-password link below."),
                )
                return redirect("workflows:counter-citizen", pk=citizen.pk)
        status = 400
    return render(
        request,
        "workflows/counter/home.html",
        {"centres": centres, "results": results, "refusal": refusal, "form": form},
        status=status,
    )


@login_required
def counter_citizen(request: HttpRequest, pk: int) -> HttpResponse:
    """The citizen at the counter: who they are (masked), their cases filed here, what to file."""
    centres = _centres(request)
    citizen = _citizen(request, pk)
    query = request.GET.get("q", "").strip()
    served = None if request.user.is_superuser else counter.served_region_ids(centres)
    bundles = Bundle.objects.filter(is_active=True).order_by("-popularity", "slug")
    items = ServiceItem.objects.filter(is_active=True).select_related("department")
    if served is not None:
        bundles = bundles.filter(region_id__in=served)
        items = items.filter(department__region_id__in=served)
    if query:
        bundles = bundles.filter(name__icontains=query)
        items = items.filter(Q(name__icontains=query) | Q(code=query))
    else:
        items = items.none()
    return render(
        request,
        "workflows/counter/citizen.html",
        {
            "citizen": citizen,
            "set_password_path": accounts.set_password_path(citizen),
            "cases": list(counter.counter_cases_of(user=request.user, citizen=citizen)[:50]),
            "query": query,
            "bundles": list(bundles[:ITEM_RESULTS]),
            "items": list(items.order_by("name", "code")[:ITEM_RESULTS]),
        },
    )


def _subject(kind: str, key: str):
    if kind == "bundle":
        return get_object_or_404(Bundle, slug=key, is_active=True), None
    return None, get_object_or_404(
        ServiceItem.objects.select_related("department"), code=key, is_active=True
    )


def _form(context: dict, *, data=None, files=None, received=()) -> ApplicationForm:
    """The citizen's generated form, exactly as they would get it online; a material received
    on paper need not be scanned."""
    return ApplicationForm(
        data,
        files,
        spec=context["spec"],
        initial_data=context["initial"],
        existing_materials=received,
        applicant=context["citizen"],
        confirmed_values=context["prepared"].answers(),
    )


@login_required
@require_http_methods(["GET", "POST"])
def counter_apply(request: HttpRequest, pk: int, kind: str, key: str) -> HttpResponse:
    """File a bundle or an item for the citizen: their form, prefilled from their registers and
    e-licences, with the checklist of materials received (收件清单) and scans."""
    centres = _centres(request)
    citizen = _citizen(request, pk)
    bundle, item = _subject(kind, key)
    citizen_url = reverse("workflows:counter-citizen", args=[citizen.pk])
    try:
        counter.counter_subject_check(user=request.user, centres=centres, bundle=bundle, item=item)
        workflow = services.workflow_for(bundle=bundle, item=item)
    except Refused as exc:
        messages.error(request, exc.message)
        return redirect(citizen_url)
    prepared = selectors.application_prepare(
        user=citizen, workflow=workflow, bundle=bundle, item=item
    )
    subject = bundle or item
    if prepared.refusals:
        return render(
            request,
            "workflows/counter/ineligible.html",
            {"citizen": citizen, "subject": subject, "refusals": prepared.refusals},
        )
    promise = selectors.promise_workdays(workflow)
    context = {
        "citizen": citizen,
        "subject": subject,
        "spec": prepared.spec,
        "prepared": prepared,
        "promise": promise,
        "promised_by": add_workdays(timezone.localdate(), promise),
        "initial": prefill(prepared.spec, user=citizen, licences=selectors.licences_for(citizen)),
        "confirmed": held_rows(prepared),
        "role": prepared.role,
        "submit_key": request.POST.get("submit_key") or f"counter-{uuid.uuid4()}",
    }
    asked = {m.key: m.name for m in prepared.spec.asked_materials}
    received = [asked.get(k, k) for k in request.POST.getlist("received")]
    context["received"] = set(request.POST.getlist("received"))
    if request.method != "POST":
        context["form"] = _form(context)
        return render(request, "workflows/counter/apply.html", context)
    form = _form(context, data=request.POST, files=request.FILES, received=received)
    context["form"] = form
    if not form.is_valid():
        return render(request, "workflows/counter/apply.html", context, status=400)
    try:
        app, _created = counter.counter_file(
            actor=request.user,
            citizen=citizen,
            bundle=bundle,
            item=item,
            answers=form.answers(),
            uploads=form.uploads(),
            received=received,
            idempotency_key=context["submit_key"],
            prepared=prepared,
        )
    except Refused as exc:
        context["refusal"] = exc.message
        return render(request, "workflows/counter/apply.html", context, status=exc.status)
    messages.success(request, _("Filed. Print the notice of acceptance for the citizen."))
    return redirect("workflows:counter-case", pk=app.pk)


@login_required
def counter_case(request: HttpRequest, pk) -> HttpResponse:
    """A case filed at the counter: where it stands and its notices to print."""
    _centres(request)
    try:
        app = counter.application_get_for_counter(user=request.user, pk=pk)
    except Forbidden:
        raise PermissionDenied from None
    return render(
        request,
        "workflows/counter/case.html",
        {
            "app": app,
            "citizen": app.applicant,
            "parts": selectors.parts_of(app),
            "documents": documents.documents_of(app),
            "set_password_path": accounts.set_password_path(app.applicant),
        },
    )


def document_response(request: HttpRequest, app: Application, kind: str) -> HttpResponse:
    """The notice as a PDF answer, for the page and the API alike."""
    pdf = documents.document_pdf(
        app,
        kind,
        tracking_url=request.build_absolute_uri(app.get_absolute_url()),
        centre=counter.issuing_centre(app),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{app.reference}-{kind}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def document(request: HttpRequest, pk, kind: str) -> HttpResponse:
    """One of a case's notices, to its applicant, the counter that filed it and the staff
    working on it; 404 for anyone else and for a notice the case does not have (yet)."""
    if kind not in documents.KINDS:
        raise Http404
    app = counter.application_get_for_documents(user=request.user, pk=pk)
    if not documents.document_applies(app, kind):
        raise Http404
    return document_response(request, app, kind)

"""The citizen's view of what the registers hold about them, and "this is wrong"."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from zheliban.core.errors import Refused

from . import services
from .models import CorrectionRequest
from .selectors import dossier_for


class CorrectionForm(forms.Form):
    claimed_value = forms.CharField(label=_("What is right"), max_length=200)
    note = forms.CharField(
        label=_("Anything the department should know (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@login_required
def my_records(request: HttpRequest) -> HttpResponse:
    dossier = dossier_for(request.user)
    rows = [
        (record, [(f, record.data.get(f.name, "")) for f in record.schema.fields])
        for record in dossier.records
    ]
    requests = CorrectionRequest.objects.filter(citizen=request.user).select_related("record")
    return render(request, "registers/mine.html", {"rows": rows, "requests": requests[:50]})


@login_required
@require_http_methods(["GET", "POST"])
def correct(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    record = next((r for r in dossier_for(request.user).records if r.pk == pk), None)
    spec = record.schema.field(field) if record is not None else None
    if record is None or spec is None:
        raise Http404
    back = request.GET.get("next") or request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    form = CorrectionForm(request.POST or None)
    context = {
        "record": record,
        "field": spec,
        "held": record.data.get(field, ""),
        "form": form,
        "next": back,
    }
    if request.method == "POST" and form.is_valid():
        try:
            services.correction_request(
                citizen=request.user,
                record=record,
                field=field,
                claimed_value=form.cleaned_data["claimed_value"],
                note=form.cleaned_data["note"],
            )
        except Refused as exc:
            context["refusal"] = exc.message
            return render(request, "registers/correct.html", context, status=exc.status)
        messages.success(
            request,
            _("Sent to %(department)s. They will check the record and tell you the outcome.")
            % {"department": record.owner.name},
        )
        return redirect(back or "registers:mine")
    status = 400 if request.method == "POST" else 200
    return render(request, "registers/correct.html", context, status=status)

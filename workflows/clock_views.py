"""Staff pages of the clock and of supervision: special procedures that pause a task's time
limit, handing a task to a colleague or back to an earlier step, and 督办 with its reply."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from zheliban.core.errors import Refused

from . import selectors, services
from .models import Supervision
from .views import _task_context, _task_for_staff


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _refused(request: HttpRequest, pk: int, exc: Refused) -> HttpResponse:
    task = selectors.task_get_for_staff(user=request.user, pk=pk)
    return render(
        request,
        "workflows/task.html",
        _task_context(request, task, refusal=exc.message),
        status=exc.status,
    )


@login_required
@require_POST
def task_procedure(request: HttpRequest, pk: int) -> HttpResponse:
    """The holder starts a special procedure (the clock pauses) or ends the running one."""
    task = _task_for_staff(request, pk)
    try:
        if request.POST.get("end"):
            services.procedure_end(actor=request.user, task_id=task.pk)
        else:
            try:
                expected_end = dt.date.fromisoformat(request.POST.get("expected_end", ""))
            except ValueError:
                expected_end = None
            services.procedure_start(
                actor=request.user,
                task_id=task.pk,
                kind=request.POST.get("kind", ""),
                reason=request.POST.get("reason", ""),
                expected_end=expected_end,
            )
    except Refused as exc:
        return _refused(request, pk, exc)
    messages.success(request, _("Done."))
    return redirect("workflows:task", pk=task.pk)


@login_required
@require_POST
def task_hand_over(request: HttpRequest, pk: int) -> HttpResponse:
    """The holder hands the task to a colleague, or sends the case back to the earlier step."""
    task = _task_for_staff(request, pk)
    action = "send_back" if request.POST.get("send_back") else "hand_over"
    try:
        services.task_transition(
            actor=request.user,
            task_id=task.pk,
            action=action,
            expected_version=_int(request.POST.get("version")),
            reason=request.POST.get("reason", ""),
            colleague_id=_int(request.POST.get("colleague")),
        )
    except Refused as exc:
        return _refused(request, pk, exc)
    messages.success(request, _("Done."))
    return redirect("workflows:worklist")


@login_required
@require_POST
def task_supervise(request: HttpRequest, pk: int) -> HttpResponse:
    """A supervisor (of the department, or of a service centre overseeing it) issues a 督办."""
    task = _task_for_staff(request, pk)
    try:
        supervision = services.supervision_issue(
            actor=request.user, task_id=task.pk, reason=request.POST.get("reason", "")
        )
    except Refused as exc:
        return _refused(request, pk, exc)
    messages.success(request, _("The 督办 was sent."))
    return redirect(supervision.get_absolute_url())


@login_required
@require_http_methods(["GET", "POST"])
def supervision(request: HttpRequest, pk: int) -> HttpResponse:
    """A 督办: what it is about, to whom, by when the reply is due, the reply and the levels it
    went through; its addressees answer it here."""
    found = (
        Supervision.objects.select_related(
            "task__application", "task__department", "department", "issued_by", "replied_by"
        )
        .filter(pk=pk)
        .first()
    )
    if found is None or not services.supervision_visible(user=request.user, supervision=found):
        raise Http404
    refusal, status = "", 200
    if request.method == "POST":
        try:
            services.supervision_reply(
                actor=request.user, supervision_id=found.pk, reply=request.POST.get("reply", "")
            )
        except Refused as exc:
            refusal, status = exc.message, exc.status
        else:
            messages.success(request, _("Your reply was sent."))
            return redirect(found.get_absolute_url())
    chain = [found]
    while chain[-1].escalated_to_id and len(chain) < 10:
        chain.append(
            Supervision.objects.select_related("department").get(pk=chain[-1].escalated_to_id)
        )
    return render(
        request,
        "workflows/supervision.html",
        {
            "supervision": found,
            "task": found.task,
            "chain": chain,
            "recipients": list(found.recipients.order_by("username")),
            "may_reply": found.status == Supervision.Status.OPEN
            and services.may_reply(user=request.user, supervision=found),
            "refusal": refusal,
        },
        status=status,
    )

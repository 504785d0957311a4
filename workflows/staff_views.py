"""Staff pages around the worklist: the staff home (/staff/), the batch moves of the worklist,
and the list query every task page and move carries (``?back=``) so filters, sort and the next
task survive a move."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from departments.models import Department
from departments.selectors import staff_roles
from zheliban.core import notices as notices_service
from zheliban.core.errors import Refused

from . import selectors, services
from .models import Task

# The moves after which the user's part in a task is over: the next task opens.
FINISHING_MOVES = frozenset({"complete", "reject", "correction", "release"})
BATCH_MAX = 100


@dataclass(frozen=True)
class ListQuery:
    """A worklist's department, state, overdue filter, search, sort and page, as its address
    says them: parsed once, and written back (``encoded``) for the task links and the moves."""

    SORT_CHOICES = (
        ("due", gettext_lazy("Due date")),
        ("received", gettext_lazy("Received")),
        ("step", gettext_lazy("Step")),
    )

    department: str = ""
    state: str = ""
    overdue: bool = False
    q: str = ""
    sort: str = "due"
    page: str = ""
    search: selectors.SearchKey | None = field(default=None, compare=False)
    search_error: str = field(default="", compare=False)

    @classmethod
    def of(cls, params) -> ListQuery:
        state = params.get("state", "")
        if state not in Task.State.values or state == Task.State.WAITING:
            state = ""
        sort = params.get("sort", "")
        if sort not in selectors.WORKLIST_SORTS:
            sort = "due"
        page = params.get("page", "")
        q = " ".join(params.get("q", "").split())[:100]
        search, error = None, ""
        try:
            search = selectors.search_key_of(q)
        except ValidationError as exc:
            error = exc.messages[0]
        return cls(
            department=params.get("department", "")[:40],
            state=state,
            overdue=params.get("overdue") == "1",
            q=q,
            sort=sort,
            page=page if page.isdigit() else "",
            search=search,
            search_error=error,
        )

    def params(self, *, page: bool = True) -> dict[str, str]:
        values = {
            "department": self.department,
            "state": self.state,
            "overdue": "1" if self.overdue else "",
            "q": self.q,
            "sort": self.sort,
            "page": self.page if page else "",
        }
        return {k: v for k, v in values.items() if v}

    @property
    def encoded(self) -> str:
        return urlencode(self.params())

    @property
    def encoded_without_page(self) -> str:
        return urlencode(self.params(page=False))

    def selection(self) -> dict:
        """The arguments of ``selectors.worklist`` for this list."""
        return {
            "department_code": self.department,
            "state": self.state,
            "overdue": self.overdue,
            "search": self.search,
            "sort": self.sort,
        }

    def next_selection(self) -> dict:
        return self.selection()

    @property
    def list_url(self) -> str:
        return f"{reverse('workflows:worklist')}?{self.encoded}"

    def task_url(self, pk: int) -> str:
        return f"{reverse('workflows:task', args=[pk])}?{urlencode({'back': self.encoded})}"


def worklist_marked(rows: list[Task], *, user, departments: list[Department]) -> list[Task]:
    """Worklist rows with what each shows besides its fields: the applicant masked, overdue or
    due today, and whether the user may move it (not a task they only oversee)."""
    today = timezone.localdate()
    mine = {d.pk for d in departments}
    for task in rows:
        task.applicant_shown = selectors.applicant_masked(task.application.applicant)
        task.mark = (
            "overdue" if task.is_overdue(today) else "due-today" if task.is_due_today(today) else ""
        )
        task.workable = user.is_superuser or task.department_id in mine
    return rows


def _batch_move(user, pk: int, action: str) -> None:
    """Claim one task, or sign for it (签收: claim, then accept a ready one), through the one
    service that moves tasks."""
    task = services.task_transition(actor=user, task_id=pk, action="claim")
    if action == "sign" and task.state == Task.State.READY:
        services.task_transition(actor=user, task_id=pk, action="accept")


@login_required
@require_POST
def worklist_batch(request: HttpRequest) -> HttpResponse:
    """Claim, or sign for (签收 = claim + accept), the tasks ticked on the worklist, one by one;
    each refusal is reported by row and changes nothing of that row. Signing opens the first
    task signed for, with the list kept."""
    if not selectors.may_work_tasks(user=request.user):
        raise PermissionDenied
    query = ListQuery.of(QueryDict(request.POST.get("back", "")))
    action = request.POST.get("batch", "")
    ids = []
    for raw in request.POST.getlist("tasks")[:BATCH_MAX]:
        if raw.isdigit() and int(raw) not in ids:
            ids.append(int(raw))
    if action not in ("claim", "sign") or not ids:
        messages.error(request, _("Tick the tasks to claim or sign for first."))
        return redirect(query.list_url)
    known = selectors.worklist_refs(user=request.user, ids=ids)
    done: list[int] = []
    for pk in ids:
        # Another department's task is named by nothing but the number the form sent.
        name = (known.get(pk) or {}).get("application__reference") or f"#{pk}"
        try:
            _batch_move(request.user, pk, action)
        except Refused as exc:
            messages.error(request, f"{name}: {exc.message}")
        else:
            done.append(pk)
    if action == "claim":
        text = ngettext("Claimed %(n)d task.", "Claimed %(n)d tasks.", len(done))
    else:
        text = ngettext(
            "Signed for (签收) %(n)d task.", "Signed for (签收) %(n)d tasks.", len(done)
        )
    if done:
        messages.success(request, text % {"n": len(done)})
    if action == "sign" and done:
        if query.state == Task.State.READY:
            # Signed for, the tasks are no longer "ready": the list to work through is the open
            # one, or "next task" would skip every task just signed for.
            query = dataclasses.replace(query, state="", page="")
        return redirect(query.task_url(done[0]))
    return redirect(query.list_url)


@login_required
def staff_home(request: HttpRequest) -> HttpResponse:
    """What needs the member of staff now: their tasks, their departments' ready, due-today and
    overdue tasks (overseen ones too), the 督办 to answer and those issued, the board's flags and
    their unread notices."""
    user = request.user
    if not (user.is_superuser or staff_roles(user=user)):
        raise PermissionDenied
    home = selectors.staff_home(user=user)
    unread = notices_service.notices_for(user=user).filter(read_at__isnull=True).count()
    departments = list(selectors.staff_departments(user=user))
    for rows in (home.claimed, home.ready, home.due_today, home.overdue):
        worklist_marked(rows, user=user, departments=departments)
    return render(
        request,
        "workflows/staff_home.html",
        {
            "home": home,
            "unread": unread,
            "today": timezone.localdate(),
            "may_work": selectors.may_work_tasks(user=user),
        },
    )

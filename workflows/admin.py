"""Staff admin for joint handling. Status fields are read-only: only the services move them; the
changelists of tasks, applications and rectifications end with their machines' graphs and tables."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from departments.models import Department
from departments.scoping import member_department_ids, scope_queryset
from zheliban.core.admin import ReadOnlyAdmin
from zheliban.core.errors import Refused
from zheliban.core.identity import mask_name
from zheliban.core.machines import MachineChangelist

from . import selectors, services
from .definition import DefinitionError
from .diagram import render_svg
from .models import (
    APPLICATION_MACHINE,
    RECTIFICATION_MACHINE,
    TASK_MACHINE,
    Application,
    DataAccess,
    Extension,
    Rating,
    Rectification,
    SpecialProcedure,
    StaffSearch,
    Supervision,
    Task,
    TaskEvent,
    WorkflowApproval,
    WorkflowDefinition,
)
from .templatetags.workflow_tags import ACTIONS as HISTORY_ACTIONS


class WorkflowDefinitionForm(forms.ModelForm):
    # The member of staff saving, set per request by ``WorkflowDefinitionAdmin.get_form``.
    actor = None

    class Meta:
        model = WorkflowDefinition
        fields = ["text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 24, "cols": 100, "spellcheck": "false"})}

    def clean_text(self):
        text = self.cleaned_data["text"]
        try:
            self.parsed = services.definition_parse(text)
        except DefinitionError as exc:
            raise forms.ValidationError([str(error) for error in exc.errors]) from exc
        try:
            services.definition_check_write(actor=self.actor, defn=self.parsed)
        except Refused as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc
        return text


class DecisionForm(forms.Form):
    department = forms.ModelChoiceField(
        queryset=Department.objects.none(), widget=forms.HiddenInput
    )
    decision = forms.ChoiceField(choices=WorkflowApproval.Decision.choices)
    note = forms.CharField(
        label=_("Note (required to refuse)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
    )

    def __init__(self, *args, departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(
            pk__in=[d.pk for d in departments]
        )


class AwaitingDecisionFilter(admin.SimpleListFilter):
    title = _("your departments' decision")
    parameter_name = "decision"

    def lookups(self, request, model_admin):
        return [("awaiting", _("Awaiting your approval"))]

    def queryset(self, request, queryset):
        if self.value() == "awaiting":
            return selectors.definitions_awaiting_decision(user=request.user, queryset=queryset)
        return queryset


def _consent_summary(consent: selectors.Consent) -> str:
    if not consent.required:
        return "—"
    parts = [
        _("%(n)d of %(total)d approved")
        % {"n": len(consent.approved), "total": len(consent.required)}
    ]
    if consent.refused:
        parts.append(
            _("refused by %(depts)s")
            % {"depts": _(", ").join(a.department.name for a in consent.refused)}
        )
    if consent.waiting:
        parts.append(
            _("waiting for %(depts)s") % {"depts": _(", ").join(d.name for d in consent.waiting)}
        )
    return _("; ").join(str(p) for p in parts)


@admin.register(WorkflowDefinition)
class WorkflowDefinitionAdmin(admin.ModelAdmin):
    """Saving text stores a new version (draft); "activate" switches new cases to it.

    Who may save and activate which workflow is ``selectors.workflow_may_edit``, asked here and
    by the services; each department a shared version binds approves or refuses it on the
    review page (``definition_decide``), and activation waits for all of them.
    """

    form = WorkflowDefinitionForm
    list_display = (
        "__str__",
        "status",
        "source",
        "author",
        "consent",
        "activated_at",
        "created_at",
    )
    list_filter = (AwaitingDecisionFilter, "status", "source")
    search_fields = ("bundle__name", "bundle__slug", "item__name", "item__code")
    list_select_related = ("bundle", "item", "author")
    actions = ["activate"]
    readonly_fields = (
        "subject",
        "version",
        "status",
        "source",
        "author",
        "activated_at",
        "consent",
        "diagram",
        "history",
    )

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("bundle", "item", "author")
        return selectors.definitions_with_consent(
            selectors.definitions_visible_to(user=request.user, queryset=qs)
        )

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or selectors.workflow_may_edit(
            user=request.user, bundle=obj.bundle, item=obj.item
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["text"]
        return [
            "subject",
            "version",
            "status",
            "source",
            "author",
            "activated_at",
            "consent",
            "diagram",
            "text",
            "history",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != WorkflowDefinition.Status.DRAFT:
            return (*self.readonly_fields, "text")
        return self.readonly_fields

    def get_urls(self):
        review = path(
            "<path:object_id>/review/",
            self.admin_site.admin_view(self.review_view),
            name="workflows_workflowdefinition_review",
        )
        return [review, *super().get_urls()]

    @admin.display(description=_("subject"))
    def subject(self, obj):
        return obj.bundle or obj.item

    @admin.display(description=_("departments' approval"))
    def consent(self, obj):
        summary = _consent_summary(selectors.consent_of(obj))
        if not obj.needs_consent or obj.status != WorkflowDefinition.Status.DRAFT:
            return summary
        url = reverse("admin:workflows_workflowdefinition_review", args=[obj.pk])
        return format_html('{} · <a href="{}">{}</a>', summary, url, _("Review and decide"))

    @admin.display(description=_("diagram"))
    def diagram(self, obj):
        try:
            defn = services.definition_parse(obj.text)
        except DefinitionError as exc:
            return format_html_join("", "<p>{}</p>", ((str(e),) for e in exc.errors))
        codes = {s.department for s in defn.steps}
        names = dict(Department.objects.filter(code__in=codes).values_list("code", "name"))
        return mark_safe(render_svg(defn, names=names))  # noqa: S308 - render_svg escapes all text

    @admin.display(description=_("history"))
    def history(self, obj):
        return render_to_string(
            "admin/workflows/workflowdefinition/history.html",
            {"versions": selectors.definition_history(obj), "current": obj},
        )

    def history_view(self, request, object_id, extra_context=None):
        """Admin's history of the object, followed by every version and every decision."""
        obj = self.get_object(request, unquote(object_id))
        versions = selectors.definition_history(obj) if obj is not None else []
        return super().history_view(
            request,
            object_id,
            extra_context={**(extra_context or {}), "versions": versions, "current": obj},
        )

    def save_model(self, request, obj, form, change):
        if change and obj.status != WorkflowDefinition.Status.DRAFT:
            return
        saved = services.definition_save(actor=request.user, text=form.cleaned_data["text"])
        if change:
            # A draft edited in place becomes the next version; the old draft is left as it was.
            messages.info(request, _("Saved as version %(v)d.") % {"v": saved.version})
        if saved.needs_consent:
            messages.info(
                request,
                _("Version %(v)d needs the approval of %(depts)s before it can be activated.")
                % {
                    "v": saved.version,
                    "depts": _(", ").join(d.name for d in saved.departments.all()),
                },
            )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        """The service saved the version with the departments it binds; nothing else to save."""

    @admin.action(description=_("Activate for new applications"), permissions=["change"])
    def activate(self, request, queryset):
        for wf in queryset:
            try:
                services.definition_activate(actor=request.user, definition=wf)
            except Refused as exc:
                self.message_user(request, f"{wf}: {exc.message}", messages.ERROR)
            except DefinitionError as exc:
                self.message_user(request, f"{wf}: {exc}", messages.ERROR)
            else:
                self.message_user(request, _("%(wf)s is active.") % {"wf": wf}, messages.SUCCESS)

    def review_view(self, request, object_id):
        """A department administrator's page for a shared version: the steps concerning each of
        their departments against the active version, and one decision per department."""
        wf = self.get_object(request, unquote(object_id))
        if wf is None:
            raise Http404
        mine = selectors.admin_department_ids(request.user)
        consent = selectors.consent_of(wf)
        departments = [d for d in consent.required if d.pk in mine]
        if not departments:
            raise PermissionDenied
        if request.method == "POST":
            form = DecisionForm(request.POST, departments=departments)
            if not form.is_valid():
                self.message_user(request, _("Choose to approve or to refuse."), messages.ERROR)
            else:
                try:
                    approval = services.definition_decide(
                        actor=request.user,
                        definition=wf,
                        department=form.cleaned_data["department"],
                        decision=form.cleaned_data["decision"],
                        note=form.cleaned_data["note"],
                    )
                except Refused as exc:
                    self.message_user(request, exc.message, messages.ERROR)
                else:
                    self.message_user(
                        request,
                        _("%(dept)s: “%(decision)s” recorded for %(wf)s.")
                        % {
                            "dept": approval.department.name,
                            "decision": approval.get_decision_display(),
                            "wf": wf,
                        },
                        messages.SUCCESS,
                    )
            return redirect(request.path)
        decided = {a.department_id: a for a in consent.approvals}
        sections = [
            {
                "department": department,
                "approval": decided.get(department.pk),
                "changes": selectors.department_step_changes(definition=wf, department=department),
                "form": DecisionForm(
                    initial={"department": department.pk}, departments=departments
                ),
            }
            for department in departments
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": wf,
            "title": _("Review %(wf)s") % {"wf": wf},
            "sections": sections,
            "summary": _consent_summary(consent),
            "is_draft": wf.status == WorkflowDefinition.Status.DRAFT,
        }
        return TemplateResponse(request, "admin/workflows/workflowdefinition/review.html", context)


class TaskEventInline(admin.TabularInline):
    model = TaskEvent
    fk_name = "task"
    extra = 0
    fields = ("at", "action", "from_state", "to_state", "actor", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Task)
class TaskAdmin(MachineChangelist, ReadOnlyAdmin):
    machines = (TASK_MACHINE,)
    machine_action_labels = HISTORY_ACTIONS
    list_display = ("application", "label", "department", "state", "due_date", "claimed_by")
    list_filter = ("state",)
    search_fields = ("application__reference", "label")
    list_select_related = ("application", "department", "claimed_by")
    inlines = [TaskEventInline]
    raw_id_fields = ("application", "item", "department", "claimed_by")

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user)

    def get_search_results(self, request, queryset, search_term):
        return applicant_search(self, request, queryset, search_term, prefix="")


def applicant_search(model_admin, request, queryset, search_term, *, prefix: str):
    """The admin's search, plus the applicant by exact ID number, mobile or name, within the
    rows the admin already scopes; each such search logged with its key masked."""
    found, may_have_duplicates = admin.ModelAdmin.get_search_results(
        model_admin, request, queryset, search_term
    )
    try:
        key = selectors.search_key_of(search_term)
    except ValidationError as exc:
        messages.warning(request, exc.messages[0])
        return found, may_have_duplicates
    if key is None or key.kind == StaffSearch.Kind.REFERENCE:
        return found, may_have_duplicates
    by_applicant = queryset.filter(key.q(prefix))
    services.staff_search_record(
        user=request.user, where="admin", key=key, found=by_applicant.count()
    )
    if key.kind == StaffSearch.Kind.NAME:
        return found | by_applicant, may_have_duplicates
    return by_applicant, may_have_duplicates


@admin.register(Application)
class ApplicationAdmin(MachineChangelist, ReadOnlyAdmin):
    machines = (APPLICATION_MACHINE,)
    machine_action_labels = HISTORY_ACTIONS
    list_display = (
        "reference",
        "applicant_masked",
        "bundle",
        "item",
        "status",
        "submitted_at",
        "promised_date",
    )
    list_filter = ("status",)
    search_fields = ("reference",)
    list_select_related = ("applicant", "bundle", "item")
    # Who applied is shown masked and never linked: the work pages show a department what a
    # task needs, and an application reached from a ticket about it must not name its sender.
    exclude = ("data", "applicant")
    readonly_fields = ("applicant_masked",)
    raw_id_fields = ("bundle", "item", "definition")

    @admin.display(description=_("applicant"))
    def applicant_masked(self, obj):
        return mask_name(obj.applicant.real_name or obj.applicant.username)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        tasks = scope_queryset(Task.objects.all(), request.user).values("application_id")
        return qs.filter(pk__in=tasks)

    def get_search_results(self, request, queryset, search_term):
        return applicant_search(self, request, queryset, search_term, prefix="application")


@admin.register(DataAccess)
class DataAccessAdmin(ReadOnlyAdmin):
    list_display = ("at", "consumer", "owner", "field", "purpose", "outcome", "actor")
    list_filter = ("outcome",)
    list_select_related = ("consumer", "owner", "actor")

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        mine = member_department_ids(request.user)
        return qs.filter(Q(owner__in=mine) | Q(consumer__in=mine))


@admin.register(Rating)
class RatingAdmin(ReadOnlyAdmin):
    list_display = ("application", "score", "created_at", "follow_up_at")
    list_filter = ("score",)
    list_select_related = ("application",)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        tasks = scope_queryset(Task.objects.all(), request.user).values("application_id")
        return qs.filter(application_id__in=tasks)


class RectificationForm(forms.ModelForm):
    note = forms.CharField(label=_("What was done"), widget=forms.Textarea, required=True)

    class Meta:
        model = Rectification
        fields: list[str] = []


@admin.register(Rectification)
class RectificationAdmin(MachineChangelist, admin.ModelAdmin):
    """The department records the callback, then the fix; the service moves the state."""

    machines = (RECTIFICATION_MACHINE,)
    form = RectificationForm
    list_display = ("rating", "department", "state", "callback_due", "fix_due")
    list_filter = ("state",)
    list_select_related = ("rating__application", "department")
    readonly_fields = (
        "rating",
        "department",
        "state",
        "callback_due",
        "fix_due",
        "callback_note",
        "outcome",
        "called_back_at",
        "fixed_at",
    )

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user)

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        action = "callback" if obj.state == Rectification.State.OPEN else "fix"
        try:
            services.rectification_transition(
                actor=request.user,
                rectification_id=obj.pk,
                action=action,
                note=form.cleaned_data["note"],
            )
        except Refused as exc:
            self.message_user(request, exc.message, messages.ERROR)


class _TaskScopedAdmin(ReadOnlyAdmin):
    """Rows about a task, read by the staff of the task's department; services write them."""

    list_select_related = ("task__application", "task__department")
    raw_id_fields = ("task",)

    def get_queryset(self, request):
        return scope_queryset(
            super().get_queryset(request), request.user, department_field="task__department"
        )


@admin.register(Extension)
class ExtensionAdmin(_TaskScopedAdmin):
    list_display = ("task", "workdays", "status", "requested_by", "requested_at", "decided_by")
    list_filter = ("status",)
    search_fields = ("task__application__reference",)


@admin.register(SpecialProcedure)
class SpecialProcedureAdmin(_TaskScopedAdmin):
    list_display = ("task", "kind", "started_on", "expected_end", "ended_on", "workdays")
    list_filter = ("kind",)
    search_fields = ("task__application__reference",)


@admin.register(Supervision)
class SupervisionAdmin(_TaskScopedAdmin):
    list_display = ("task", "department", "level", "status", "issued_at", "reply_due")
    list_filter = ("status", "level")
    search_fields = ("task__application__reference",)
    list_select_related = ("task__application", "task__department", "department")

    def get_queryset(self, request):
        """The task's department's staff, and those the 督办 is addressed to."""
        qs = super(_TaskScopedAdmin, self).get_queryset(request)
        if request.user.is_superuser:
            return qs
        mine = member_department_ids(request.user)
        return qs.filter(Q(task__department__in=mine) | Q(department__in=mine))

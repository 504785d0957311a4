"""Staff admin for joint handling. Status fields are read-only: only the services move them."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from departments.models import Department
from departments.scoping import member_department_ids, scope_queryset

from . import services
from .definition import DefinitionError
from .diagram import render_svg
from .models import (
    Application,
    DataAccess,
    Rating,
    Rectification,
    Task,
    TaskEvent,
    WorkflowDefinition,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Everything shown, nothing editable: the state machines' services write these rows."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class WorkflowDefinitionForm(forms.ModelForm):
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
        return text


def _definitions_in_scope(queryset, user):
    if user.is_superuser:
        return queryset
    mine = member_department_ids(user)
    return queryset.filter(
        Q(item__department__in=mine) | Q(bundle__parts__item__department__in=mine)
    ).distinct()


@admin.register(WorkflowDefinition)
class WorkflowDefinitionAdmin(admin.ModelAdmin):
    """Saving text stores a new version (draft); "activate" switches new cases to it."""

    form = WorkflowDefinitionForm
    list_display = ("__str__", "status", "source", "author", "activated_at", "created_at")
    list_filter = ("status", "source")
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
        "diagram",
    )

    def get_queryset(self, request):
        return _definitions_in_scope(super().get_queryset(request), request.user)

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
            "diagram",
            "text",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != WorkflowDefinition.Status.DRAFT:
            return (*self.readonly_fields, "text")
        return self.readonly_fields

    @admin.display(description=_("subject"))
    def subject(self, obj):
        return obj.bundle or obj.item

    @admin.display(description=_("diagram"))
    def diagram(self, obj):
        try:
            defn = services.definition_parse(obj.text)
        except DefinitionError as exc:
            return format_html_join("", "<p>{}</p>", ((str(e),) for e in exc.errors))
        codes = {s.department for s in defn.steps}
        names = dict(Department.objects.filter(code__in=codes).values_list("code", "name"))
        return mark_safe(render_svg(defn, names=names))  # noqa: S308 - render_svg escapes all text

    def save_model(self, request, obj, form, change):
        if change and obj.status != WorkflowDefinition.Status.DRAFT:
            return
        saved = services.definition_save(actor=request.user, text=form.cleaned_data["text"])
        if change:
            # A draft edited in place becomes the next version; the old draft is left as it was.
            messages.info(request, _("Saved as version %(v)d.") % {"v": saved.version})
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.action(description=_("Activate for new applications"))
    def activate(self, request, queryset):
        for wf in queryset:
            try:
                services.definition_activate(actor=request.user, definition=wf)
            except services.Refused as exc:
                self.message_user(request, f"{wf}: {exc.message}", messages.ERROR)
            except DefinitionError as exc:
                self.message_user(request, f"{wf}: {exc}", messages.ERROR)
            else:
                self.message_user(request, _("%(wf)s is active.") % {"wf": wf}, messages.SUCCESS)


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
class TaskAdmin(ReadOnlyAdmin):
    list_display = ("application", "label", "department", "state", "due_date", "claimed_by")
    list_filter = ("state",)
    search_fields = ("application__reference", "label")
    list_select_related = ("application", "department", "claimed_by")
    inlines = [TaskEventInline]
    raw_id_fields = ("application", "item", "department", "claimed_by")

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user)


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
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
    exclude = ("data",)
    raw_id_fields = ("applicant", "bundle", "item", "definition")

    @admin.display(description=_("applicant"))
    def applicant_masked(self, obj):
        return obj.applicant.real_name or obj.applicant.username

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        tasks = scope_queryset(Task.objects.all(), request.user).values("application_id")
        return qs.filter(pk__in=tasks)


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
class RectificationAdmin(admin.ModelAdmin):
    """The department records the callback, then the fix; the service moves the state."""

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
        except services.Refused as exc:
            self.message_user(request, exc.message, messages.ERROR)

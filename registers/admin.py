from django import forms
from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from departments.admin import DepartmentScopedAdmin
from departments.models import Department
from departments.scoping import scope_queryset
from zheliban.core.errors import Refused

from . import services
from .models import CorrectionRequest, Record


@admin.register(Record)
class RecordAdmin(DepartmentScopedAdmin):
    department_field = "owner"
    list_display = ("register", "key_masked", "owner", "source", "updated_at")
    list_filter = ("register",)
    # Exact ID numbers and keys only: a register is not browsed by partial names.
    search_fields = ("=subject", "=party", "=key")
    list_select_related = ("owner",)
    # A record is added here; afterwards its facts change through a re-import or an answered
    # correction request, and its page shows them with ID numbers masked.
    add_fields = ("register", "owner", "data", "source")
    change_fields = ("register", "owner", "shown", "source", "updated_at")

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.change_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("register", "owner", "shown", "updated_at")

    @admin.display(description=_("key"))
    def key_masked(self, obj):
        return obj.key_masked

    @admin.display(description=_("data"))
    def shown(self, obj):
        return format_html_join(
            "",
            "<div><strong>{}</strong>: {}</div>",
            ((f.label, obj.data_masked().get(f.name, "")) for f in obj.schema.fields),
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            kwargs["queryset"] = scope_queryset(
                Department.objects.all(), request.user, department_field="pk"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CorrectionAnswerForm(forms.ModelForm):
    class Meta:
        model = CorrectionRequest
        fields = ("state", "answer")

    def clean(self):
        cleaned = super().clean()
        if self.instance.state != CorrectionRequest.State.OPEN:
            raise forms.ValidationError(_("This request has already been answered."))
        if (
            cleaned.get("state") != CorrectionRequest.State.OPEN
            and not (cleaned.get("answer") or "").strip()
        ):
            self.add_error("answer", _("Tell the citizen what was done and why."))
        return cleaned


@admin.register(CorrectionRequest)
class CorrectionRequestAdmin(DepartmentScopedAdmin):
    form = CorrectionAnswerForm
    list_display = ("record", "field", "state", "department", "created_at")
    list_filter = ("state",)
    list_select_related = ("record", "department")
    readonly_fields = (
        "record",
        "department",
        "field",
        "held_value",
        "claimed_value",
        "note",
        "answered_by",
        "answered_at",
    )
    fields = (*readonly_fields[:6], "state", "answer", "answered_by", "answered_at")

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        if obj.state == CorrectionRequest.State.OPEN:
            return
        try:
            services.correction_answer(
                actor=request.user,
                request=CorrectionRequest.objects.get(pk=obj.pk),
                corrected=obj.state == CorrectionRequest.State.CORRECTED,
                answer=obj.answer,
            )
        except Refused as exc:
            self.message_user(request, exc.message, level="error")

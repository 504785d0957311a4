"""Tickets in admin: read-only (the work-order loop moves them), scoped like the staff pages.

No sender data is shown here at all: a report's sender is seen only through the logged
``reporter_reveal`` on the staff page.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from workflows.admin import ReadOnlyAdmin

from ..dispatch.rules import DispatchRulesError, Rule
from ..models import DispatchRule, ReporterAccess, Ticket, TicketDepartment, TicketEvent
from ..services import is_desk, tickets_for_staff

SENDER_FIELDS = ("citizen", "contact_name", "contact_phone", "contact_email", "entered_by")


class _ReadOnlyInline(admin.TabularInline):
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TicketEventInline(_ReadOnlyInline):
    model = TicketEvent
    fields = ("at", "action", "from_state", "to_state", "department", "actor", "note", "on_time")
    readonly_fields = fields


class TicketDepartmentInline(_ReadOnlyInline):
    model = TicketDepartment
    fields = ("department", "is_lead", "state", "signed_at", "return_reason", "opinion")
    readonly_fields = fields


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ("number", "title", "kind", "channel", "state", "department", "node_due_date")
    list_filter = ("state", "kind", "channel")
    search_fields = ("title",)
    list_select_related = ("department",)
    exclude = (*SENDER_FIELDS, "attributes", "api_key")
    inlines = [TicketDepartmentInline, TicketEventInline]
    raw_id_fields = ("region", "department", "duplicate_of", "application", "item")

    @admin.display(description=_("number"))
    def number(self, obj):
        return obj.number

    def get_queryset(self, request):
        return tickets_for_staff(request.user).select_related("department")


class DispatchRuleForm(forms.ModelForm):
    class Meta:
        model = DispatchRule
        fields = ["keyword", "regex", "kind", "priority", "is_active", "note"]

    def clean(self):
        data = super().clean()
        keyword, regex = data.get("keyword", ""), data.get("regex", "")
        if bool(keyword) == bool(regex):
            raise ValidationError(_("Give a keyword or a regular expression, not both."))
        try:
            Rule(pattern=regex or keyword, kind=data.get("kind", ""), is_regex=bool(regex))
        except DispatchRulesError as error:
            raise ValidationError(str(error)) from error
        return data


@admin.register(DispatchRule)
class DispatchRuleAdmin(admin.ModelAdmin):
    form = DispatchRuleForm
    list_display = ("__str__", "priority", "is_active", "updated_at")
    list_filter = ("is_active", "kind")
    search_fields = ("keyword", "regex", "note")


@admin.register(ReporterAccess)
class ReporterAccessAdmin(ReadOnlyAdmin):
    list_display = ("at", "ticket", "user", "reason")
    list_select_related = ("ticket", "user")

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if is_desk(request.user, roles=["supervisor"]) else qs.none()

"""Tickets in admin: read-only (the work-order loop moves them), scoped like the staff pages.

No sender data is shown here at all: a report's sender is seen only through the logged
``reporter_reveal`` on the staff page. Where ``ticket_sender_visible`` says the viewer may not
learn the sender, neither is anything that leads to them: the application the ticket is about
(its applicant sent it) is shown as its facts, without its reference or a link; nor whether
the sender chose to stay anonymous. The tickets' changelist ends with the graphs and tables of
the ticket's machine and of a department's part in it.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from zheliban.core.admin import ReadOnlyAdmin
from zheliban.core.machines import MachineChangelist

from ..dispatch.rules import DispatchRulesError, Rule
from ..models import (
    PART_MACHINE,
    TICKET_MACHINE,
    DispatchRule,
    ReporterAccess,
    Ticket,
    TicketDepartment,
    TicketEvent,
)
from ..selectors import (
    application_facts,
    is_desk,
    may_see_reporter,
    ticket_sender_visible,
    tickets_for_staff,
)
from ..templatetags.ticket_tags import ACTIONS as HISTORY_ACTIONS

SENDER_FIELDS = ("citizen", "contact_name", "contact_phone", "contact_email", "entered_by")
# What leads to the sender without naming them: left out wherever the sender is hidden.
LEADS_TO_SENDER = ("application", "is_anonymous")


def viewer_is_desk(request) -> bool:
    """Whether the admin's user is at the desk, asked once per request."""
    if not hasattr(request, "_complaints_desk"):
        request._complaints_desk = is_desk(request.user)
    return request._complaints_desk


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
class TicketAdmin(MachineChangelist, ReadOnlyAdmin):
    machines = (TICKET_MACHINE, PART_MACHINE)
    machine_action_labels = HISTORY_ACTIONS
    list_display = ("number", "title", "kind", "channel", "state", "department", "node_due_date")
    list_filter = ("state", "kind", "channel")
    search_fields = ("title",)
    list_select_related = ("department",)
    exclude = (*SENDER_FIELDS, "attributes", "api_key")
    readonly_fields = ("application_summary",)
    inlines = [TicketDepartmentInline, TicketEventInline]
    raw_id_fields = ("region", "department", "duplicate_of", "application", "item")

    @admin.display(description=_("number"))
    def number(self, obj):
        return obj.number

    def get_queryset(self, request):
        return tickets_for_staff(request.user).select_related(
            "department", "application__item", "application__bundle"
        )

    def sender_visible(self, request, obj) -> bool:
        return obj is None or ticket_sender_visible(
            viewer=request.user, ticket=obj, desk=viewer_is_desk(request)
        )

    def get_exclude(self, request, obj=None):
        if self.sender_visible(request, obj):
            return self.exclude
        return (*self.exclude, *LEADS_TO_SENDER)

    @admin.display(description=_("about application"))
    def application_summary(self, obj):
        facts = application_facts(obj, sender_visible=False)
        if facts is None:
            return "—"
        steps = format_html_join(
            "",
            "<li>{} · {} · {} ({} {} · {} {} · {} {})</li>",
            (
                (
                    step.label,
                    step.department,
                    step.state_display,
                    gettext("ready"),
                    step.ready_on or "—",
                    gettext("due"),
                    step.due_date or "—",
                    gettext("finished"),
                    step.finished_on or "—",
                )
                for step in facts.steps
            ),
        )
        return format_html(
            "{} · {} · {} {}<ul>{}</ul>",
            facts.subject,
            facts.status_display,
            gettext("submitted"),
            facts.submitted_on or "—",
            steps,
        )


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
        return qs if may_see_reporter(request.user) else qs.none()

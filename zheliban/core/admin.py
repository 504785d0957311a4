from django.contrib import admin
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import CalendarDay, CalendarYear, OutboxMessage
from .outbox import outbox_retry


class ReadOnlyAdmin(admin.ModelAdmin):
    """Everything shown, nothing editable: services write these rows."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    extra = 3
    fields = ("date", "kind", "name")
    ordering = ("date",)


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    """Staff enter each year's State Council schedule; a published year overrides the built-in."""

    list_display = ("year", "published", "source")
    list_filter = ("published",)
    fields = ("year", "published", "source", "note")
    inlines = [CalendarDayInline]


class OutboxStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("open", _("Not done yet")),
            ("failed", _("Failed")),
            ("done", _("Done")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(done_at__isnull=True, failed_at__isnull=True)
        if self.value() == "failed":
            return queryset.filter(failed_at__isnull=False)
        if self.value() == "done":
            return queryset.filter(done_at__isnull=False)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """The side effects waiting, done and given up; a given-up one can be retried."""

    list_display = (
        "task_name",
        "state",
        "created_at",
        "attempts",
        "next_attempt_at",
        "done_at",
        "failed_at",
        "last_error",
    )
    list_filter = (OutboxStateFilter, "task_name")
    ordering = ("-created_at",)
    actions = ["retry"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("state"))
    def state(self, obj: OutboxMessage) -> str | Promise:
        return {
            "done": _("Done"),
            "failed": _("Failed"),
            "sent": _("Handed over, waiting for its receipt"),
            "waiting": _("Waiting to be handed over"),
        }[obj.state]

    @admin.action(description=_("Retry the selected failed messages"))
    def retry(self, request, queryset):
        count = outbox_retry(message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            ngettext(
                "%(count)d failed message will be tried again.",
                "%(count)d failed messages will be tried again.",
                count,
            )
            % {"count": count},
        )

"""Open311 integrator keys in admin: issue (the key is shown once), list, deactivate."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models import Open311Key
from ..open311.keys import open311_key_issue, open311_key_set_active


@admin.register(Open311Key)
class Open311KeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "is_active", "last_used_at", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "prefix")
    ordering = ("name",)
    actions = ("deactivate", "activate")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name",)
        return ("name", "prefix", "is_active", "last_used_at", "created_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("name", "prefix", "last_used_at", "created_at")

    def has_delete_permission(self, request, obj=None):
        return False  # tickets keep the key that sent them: deactivate instead

    def save_model(self, request, obj, form, change):
        if change:
            open311_key_set_active(keys=[obj], active=obj.is_active)
            return
        try:
            row, key = open311_key_issue(name=obj.name)
        except ValidationError as error:  # the form checked the name; a race took it since
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            raise
        obj.pk = row.pk
        obj.prefix, obj.key_hash, obj.created_at = row.prefix, row.key_hash, row.created_at
        self.message_user(
            request,
            _(
                "The api_key for “%(name)s” is %(key)s — copy it now: it is not stored and "
                "cannot be shown again."
            )
            % {"name": row.name, "key": key},
            messages.WARNING,
        )

    @admin.action(description=_("Deactivate the selected keys"), permissions=["change"])
    def deactivate(self, request, queryset):
        count = open311_key_set_active(keys=list(queryset), active=False)
        self.message_user(
            request,
            ngettext("%(count)d key deactivated.", "%(count)d keys deactivated.", count)
            % {"count": count},
        )

    @admin.action(description=_("Activate the selected keys"), permissions=["change"])
    def activate(self, request, queryset):
        count = open311_key_set_active(keys=list(queryset), active=True)
        self.message_user(
            request,
            ngettext("%(count)d key activated.", "%(count)d keys activated.", count)
            % {"count": count},
        )

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework.authtoken.admin import TokenProxy

from . import services
from .models import PersonalToken, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Identity numbers appear only masked; they are set at registration, not edited here."""

    list_display = (
        "username",
        "real_name",
        "kind",
        "identity",
        "phone_display",
        "is_staff",
        "is_active",
    )
    list_filter = ("kind", "is_staff", "is_superuser", "is_active")
    search_fields = ("username", "real_name", "=phone", "=id_number", "=credit_code")
    readonly_fields = ("identity", "phone_display", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Identity"), {"fields": ("kind", "real_name", "identity", "phone_display", "email")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("username", "real_name", "password1", "password2")},
        ),
    )

    @admin.display(description=_("ID number / credit code"))
    def identity(self, obj: User) -> str:
        return obj.identity_masked or "-"

    @admin.display(description=_("mobile phone"))
    def phone_display(self, obj: User) -> str:
        return obj.phone_masked or "-"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(kind=User.Kind.STAFF)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.kind = User.Kind.STAFF
            obj.is_staff = True
        super().save_model(request, obj, form, change)


# DRF's permanent tokens are no longer accepted (``PersonalToken`` replaced them); the app stays
# installed for its migrations, its admin goes, so nobody issues a token that would not work.
if TokenProxy in admin.site._registry:
    admin.site.unregister(TokenProxy)


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):
    """API tokens are issued through the API only; here they can be seen and revoked. Keys are
    never stored, so never shown: the prefix identifies a token."""

    list_display = (
        "user",
        "name",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("user__username",)
    list_select_related = ("user",)
    fields = list_display
    readonly_fields = list_display
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the row records that the token existed and was used

    @admin.action(description=_("Revoke the selected tokens"), permissions=["change"])
    def revoke(self, request, queryset):
        count = services.personal_tokens_revoke(tokens=queryset)
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count)
            % {"count": count},
        )

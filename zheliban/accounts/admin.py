from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


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

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import services
from .models import (
    DataGrant,
    Department,
    Membership,
    Region,
    ServiceLocation,
    ServiceLocationUserPermission,
)
from .scoping import member_department_ids, scope_queryset

User = get_user_model()


class DepartmentScopedAdmin(admin.ModelAdmin):
    """Staff see and change only their own departments' rows, and rows shared with them."""

    department_field = "department"
    shared_model = None

    def scope(self, request, queryset):
        return scope_queryset(
            queryset,
            request.user,
            department_field=self.department_field,
            shared_model=self.shared_model,
        )

    def get_queryset(self, request):
        return self.scope(request, super().get_queryset(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "department":
            kwargs["queryset"] = scope_queryset(
                Department.objects.all(), request.user, department_field="pk"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    """Every level, down to the streets, towns and townships; filter by level, or by the region
    above to list one district's streets."""

    list_display = ("code", "name", "level", "parent")
    list_filter = ("level", ("parent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    raw_id_fields = ("parent",)


class ServiceLocationInline(admin.TabularInline):
    model = ServiceLocation
    extra = 0
    fields = ("name", "address", "windows", "opening_hours", "phone")
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Department)
class DepartmentAdmin(DepartmentScopedAdmin):
    department_field = "pk"
    list_display = ("name", "code", "kind", "region", "phone", "is_active")
    list_filter = ("kind", "region__level", "is_active")
    search_fields = ("name", "code")
    list_select_related = ("region",)
    raw_id_fields = ("region",)
    inlines = [ServiceLocationInline]

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ("created_at", "updated_at")
        return ("code", "kind", "region", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        if request.user.is_superuser:
            obj.save()
            return
        if not change:
            raise PermissionDenied
        editable = {"name", "phone", "complaint_phone", "address", "description", "is_active"}
        services.department_update(
            actor=request.user,
            department=obj,
            fields={
                name: form.cleaned_data[name] for name in form.changed_data if name in editable
            },
        )


@admin.register(ServiceLocation)
class ServiceLocationAdmin(DepartmentScopedAdmin):
    shared_model = ServiceLocationUserPermission
    list_display = ("name", "department", "address", "opening_hours")
    list_filter = ("department__kind",)
    search_fields = ("name", "address", "department__name")
    list_select_related = ("department",)

    def get_readonly_fields(self, request, obj=None):
        # A location stays with its department; a person it is shared with edits it in place.
        if obj is not None and not request.user.is_superuser:
            return ("department",)
        return ()

    def save_model(self, request, obj, form, change):
        services.service_location_save(actor=request.user, location=obj)


@admin.register(Membership)
class MembershipAdmin(DepartmentScopedAdmin):
    list_display = ("user", "department", "role", "created_at")
    list_filter = ("role", "department__kind")
    search_fields = ("user__username", "user__real_name", "department__name")
    list_select_related = ("user", "department")
    raw_id_fields = ("user",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(kind=User.Kind.STAFF)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        # A role is granted or revoked, never edited in place.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        try:
            saved = services.membership_grant(
                actor=request.user, user=obj.user, department=obj.department, role=obj.role
            )
        except ValidationError as exc:
            raise PermissionDenied(exc.messages[0]) from exc
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.membership_revoke(actor=request.user, membership=obj)


@admin.register(ServiceLocationUserPermission)
class ServiceLocationUserPermissionAdmin(admin.ModelAdmin):
    list_display = ("content_object", "user", "permission")
    list_select_related = ("content_object", "user", "permission")
    raw_id_fields = ("content_object", "user")

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission


admin.site.site_header = _("Zheliban staff")
admin.site.site_title = _("Zheliban staff")
admin.site.index_title = _("Work of my departments")


@admin.register(DataGrant)
class DataGrantAdmin(admin.ModelAdmin):
    """Grants the user's departments give or receive; the owner department writes them."""

    list_display = ("owner", "consumer", "mode", "purpose", "expires_at", "is_active")
    list_filter = ("mode", "is_active")
    search_fields = ("owner__name", "consumer__name", "purpose")
    list_select_related = ("owner", "consumer")
    raw_id_fields = ("owner", "consumer")

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        mine = member_department_ids(request.user)
        return qs.filter(Q(owner__in=mine) | Q(consumer__in=mine))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner" and not request.user.is_superuser:
            kwargs["queryset"] = Department.objects.filter(
                pk__in=member_department_ids(request.user, roles=["admin"])
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if not allowed or obj is None or request.user.is_superuser:
            return allowed
        return (
            member_department_ids(request.user, roles=["admin"])
            .filter(department_id=obj.owner_id)
            .exists()
        )

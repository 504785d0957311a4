from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from departments.admin import DepartmentScopedAdmin

from . import services
from .models import (
    Bundle,
    BundleItem,
    JointStage,
    LifeEvent,
    Material,
    ServiceItem,
    ServiceItemVersion,
    Synonym,
    Theme,
)


class MaterialInline(admin.TabularInline):
    model = Material
    extra = 0
    fields = ("sort_order", "name", "source", "form", "required", "copies", "issuer", "note")
    raw_id_fields = ("issuer",)


class JointStageInline(admin.TabularInline):
    model = JointStage
    extra = 0
    fields = ("department", "stage")
    raw_id_fields = ("department",)


class VersionInline(admin.TabularInline):
    model = ServiceItemVersion
    extra = 0
    fields = ("number", "published_at", "published_by", "note")
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ServiceItem)
class ServiceItemAdmin(DepartmentScopedAdmin):
    """Department staff edit only their department's items; each save publishes a version."""

    list_display = (
        "name",
        "code",
        "department",
        "item_type",
        "promised_days",
        "trips",
        "online",
        "version",
        "is_active",
    )
    list_filter = (
        "item_type",
        "online",
        "mobile",
        "trips",
        "id_only",
        "is_active",
        "region__level",
    )
    search_fields = ("name", "=code", "basic_code")
    list_select_related = ("department",)
    raw_id_fields = ("region",)
    filter_horizontal = ("themes", "life_events")
    readonly_fields = ("version", "popularity", "source", "created_at", "updated_at")
    inlines = [MaterialInline, JointStageInline, VersionInline]
    actions = ["unpublish", "republish"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "code",
                    "basic_code",
                    "main_code",
                    "main_name",
                    "sub_name",
                    "item_type",
                    "department",
                    "region",
                    "is_active",
                )
            },
        ),
        (
            _("Who and how"),
            {
                "fields": (
                    "for_citizens",
                    "for_enterprises",
                    "online",
                    "mobile",
                    "counter",
                    "courier",
                    "appointment",
                    "id_only",
                    "trips",
                )
            },
        ),
        (_("Time limits"), {"fields": ("statutory_days", "promised_days")}),
        (
            _("Guide"),
            {
                "fields": (
                    "summary",
                    "acceptance_conditions",
                    "legal_basis",
                    "fee_fen",
                    "fee_note",
                    "location",
                    "consult_phone",
                    "complaint_phone",
                    "online_url",
                    "form_fields",
                )
            },
        ),
        (_("Grouping"), {"fields": ("themes", "life_events")}),
        (_("Record"), {"fields": ("version", "popularity", "source", "created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and not request.user.is_superuser:
            return (*fields, "code", "department")
        return fields

    def save_model(self, request, obj, form, change):
        services.require_item_editor(actor=request.user, item=obj)
        obj.save()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.item_publish(actor=request.user, item=form.instance, note=_("Edited in admin"))

    @admin.action(description=_("Withdraw the selected items from the catalog"))
    def unpublish(self, request, queryset):
        count = services.items_set_published(actor=request.user, items=queryset, published=False)
        self.message_user(
            request,
            ngettext("%d item withdrawn.", "%d items withdrawn.", count) % count,
            messages.SUCCESS,
        )

    @admin.action(description=_("Publish the selected items again"))
    def republish(self, request, queryset):
        count = services.items_set_published(actor=request.user, items=queryset, published=True)
        self.message_user(
            request,
            ngettext("%d item published.", "%d items published.", count) % count,
            messages.SUCCESS,
        )


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ("name", "name_en", "slug", "audience", "sort_order")
    search_fields = ("name", "name_en", "slug")
    prepopulated_fields = {"slug": ("name_en",)}


@admin.register(LifeEvent)
class LifeEventAdmin(admin.ModelAdmin):
    list_display = ("name", "name_en", "slug", "audience", "sort_order")
    search_fields = ("name", "name_en", "slug")


class BundleItemInline(admin.TabularInline):
    model = BundleItem
    extra = 0
    raw_id_fields = ("item",)


@admin.register(Bundle)
class BundleAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "region", "audience", "promised_days", "is_active")
    search_fields = ("name", "slug")
    raw_id_fields = ("region",)
    inlines = [BundleItemInline]


@admin.register(Synonym)
class SynonymAdmin(admin.ModelAdmin):
    list_display = ("phrase", "expansion", "is_active", "note")
    list_filter = ("is_active",)
    search_fields = ("phrase", "expansion")

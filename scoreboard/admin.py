"""Admin of the board: new weight versions (never an edit of an old one), snapshots and scores
read-only, and a "recompute" action that calls the same service as the nightly task."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from zheliban.core.admin import ReadOnlyAdmin

from . import services
from .forms import WeightSetAddForm, weight_field
from .metrics import METRICS
from .models import Score, Snapshot, WeightSet


@admin.register(WeightSet)
class WeightSetAdmin(admin.ModelAdmin):
    """Adding saves a new version through ``services.weights_save``; versions already saved
    explain the snapshots computed with them and are only shown."""

    list_display = ("__str__", "min_volume", "note", "created_by", "created_at")
    list_select_related = ("created_by",)
    readonly_fields = ("version", "weights_table", "min_volume", "note", "created_by", "created_at")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = WeightSetAddForm
            kwargs["fields"] = None
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["min_volume", "note", *(weight_field(m.key) for m in METRICS)]
        return list(self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    @admin.display(description=_("weights"))
    def weights_table(self, obj):
        return format_html_join(
            "",
            "<div>{}: {}</div>",
            ((m.label, obj.weights.get(m.key, 0)) for m in METRICS),
        )

    def save_model(self, request, obj, form, change):
        saved = services.weights_save(
            actor=request.user,
            weights=form.weights(),
            min_volume=form.cleaned_data["min_volume"],
            note=form.cleaned_data.get("note", ""),
        )
        obj.pk = saved.pk
        obj.refresh_from_db()


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "period", "start", "end", "weight_set", "computed_at", "seconds")
    list_filter = ("period",)
    list_select_related = ("weight_set",)
    date_hierarchy = "start"
    actions = ["recompute"]

    @admin.action(description=_("Recompute (with the newest weights)"))
    def recompute(self, request, queryset):
        for snapshot in list(queryset):
            # The last day of the period names it for every kind (rolling: the day it ends).
            day = snapshot.end - dt.timedelta(days=1)
            fresh = services.snapshot_compute(period=snapshot.period, day=day)
            self.message_user(
                request,
                _("%(snapshot)s recomputed with weights v%(version)d.")
                % {"snapshot": fresh, "version": fresh.weight_set.version},
                messages.SUCCESS,
            )

    def has_change_permission(self, request, obj=None):
        # The action needs a permission to show; the form stays read-only through the fields.
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("scoreboard.add_snapshot") and not request.user.is_superuser:
            actions.pop("recompute", None)
        return actions


@admin.register(Score)
class ScoreAdmin(ReadOnlyAdmin):
    list_display = ("snapshot", "department", "region", "level", "score", "rank", "ranked")
    list_filter = ("level", "ranked", "snapshot__period")
    list_select_related = ("snapshot", "department", "region")
    search_fields = ("department__code", "department__name", "region__name")

from django.contrib import admin

from .models import CalendarDay, CalendarYear


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

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "zheliban.core"
    label = "core"
    verbose_name = _("Infrastructure")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save
        from django.utils.module_loading import autodiscover_modules

        from .models import CalendarDay, CalendarYear
        from .workdays import calendar_changed

        # Counted deadlines read a per-process copy of the calendar; any change makes it stale.
        for model in (CalendarYear, CalendarDay):
            for signal in (post_save, post_delete):
                signal.connect(calendar_changed, sender=model, dispatch_uid="core.workdays")

        # Every app's Celery tasks are registered before the first request, so the outbox finds
        # a message's task from whichever thread of the web process commits it.
        autodiscover_modules("tasks")

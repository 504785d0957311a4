from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CitizenConfig(AppConfig):
    """A citizen's own pages that gather what several apps hold about them (the top floor)."""

    name = "citizen"
    verbose_name = _("My page")

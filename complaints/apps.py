from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Consultations and complaints")

    def seed_demo(self, *, stdout):
        from .knowledge.seed import seed_demo

        return seed_demo(stdout=stdout)

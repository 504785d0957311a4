from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistersConfig(AppConfig):
    name = "registers"
    verbose_name = _("Registers")

    role_permissions = {
        "clerk": {
            "registers.view_record",
            "registers.view_correctionrequest",
            "registers.change_correctionrequest",
        },
        "supervisor": {
            "registers.view_record",
            "registers.view_correctionrequest",
            "registers.change_correctionrequest",
        },
        "admin": {
            "registers.view_record",
            "registers.add_record",
            "registers.change_record",
            "registers.delete_record",
            "registers.view_correctionrequest",
            "registers.change_correctionrequest",
        },
    }

    def seed_demo(self, *, stdout):
        from .demo import seed

        return seed(stdout=stdout)

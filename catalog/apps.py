from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Service catalog")

    role_permissions = {
        "clerk": {"catalog.view_serviceitem"},
        "dispatcher": {"catalog.view_serviceitem"},
        "supervisor": {
            "catalog.view_serviceitem",
            "catalog.change_serviceitem",
            "catalog.view_material",
            "catalog.add_material",
            "catalog.change_material",
            "catalog.delete_material",
        },
        "admin": {
            "catalog.view_serviceitem",
            "catalog.add_serviceitem",
            "catalog.change_serviceitem",
            "catalog.view_material",
            "catalog.add_material",
            "catalog.change_material",
            "catalog.delete_material",
            "catalog.view_jointstage",
            "catalog.add_jointstage",
            "catalog.change_jointstage",
            "catalog.delete_jointstage",
            "catalog.view_serviceitemversion",
        },
    }

    def seed_demo(self, *, stdout):
        from .demo import seed

        return seed(stdout=stdout)

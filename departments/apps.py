from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DepartmentsConfig(AppConfig):
    name = "departments"
    verbose_name = _("Departments")

    # Model permissions each staff role carries, by app. Higher apps declare their own in the
    # same attribute of their AppConfig; the role backend gathers them all.
    role_permissions = {
        "clerk": {
            "departments.view_department",
            "departments.view_servicelocation",
            "departments.view_membership",
        },
        "dispatcher": {"departments.view_department", "departments.view_servicelocation"},
        "supervisor": {
            "departments.view_department",
            "departments.view_servicelocation",
            "departments.change_servicelocation",
            "departments.view_membership",
        },
        "admin": {
            "departments.view_department",
            "departments.change_department",
            "departments.view_servicelocation",
            "departments.add_servicelocation",
            "departments.change_servicelocation",
            "departments.delete_servicelocation",
            "departments.view_membership",
            "departments.add_membership",
            "departments.change_membership",
            "departments.delete_membership",
            "accounts.view_user",
        },
    }

    def seed_demo(self, *, stdout):
        from .demo import seed

        return seed(stdout=stdout)

    def demo_login_help(self) -> list[str]:
        from .demo import login_help

        return login_help()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_READ = {
    "workflows.view_application",
    "workflows.view_task",
    "workflows.view_taskevent",
    "workflows.view_attachment",
    "workflows.view_extension",
    "workflows.view_specialprocedure",
    "workflows.view_supervision",
}


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = _("Applications and joint handling")

    role_permissions = {
        "clerk": _READ | {"workflows.view_workflowdefinition"},
        "supervisor": _READ
        | {
            "workflows.view_workflowdefinition",
            "workflows.view_rating",
            "workflows.view_rectification",
            "workflows.change_rectification",
            "departments.view_datagrant",
        },
        "admin": _READ
        | {
            "workflows.view_workflowdefinition",
            "workflows.add_workflowdefinition",
            "workflows.change_workflowdefinition",
            "workflows.view_rating",
            "workflows.view_rectification",
            "departments.view_datagrant",
            "departments.add_datagrant",
            "departments.change_datagrant",
        },
    }

    def seed_demo(self, *, stdout):
        from .demo import seed

        return seed(stdout=stdout)

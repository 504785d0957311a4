from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_READ = {
    "complaints.view_ticket",
    "complaints.view_ticketevent",
    "complaints.view_ticketdepartment",
    "complaints.view_article",
}
_SUPERVISE = {"complaints.view_reporteraccess", "complaints.view_assistantquestion"}
_DISPATCH = {
    "complaints.view_dispatchrule",
    "complaints.add_dispatchrule",
    "complaints.change_dispatchrule",
    "complaints.view_assistantquestion",
    "complaints.view_pinnedanswer",
    "complaints.add_pinnedanswer",
    "complaints.change_pinnedanswer",
}
_KNOWLEDGE = {
    "complaints.add_article",
    "complaints.change_article",
    "complaints.view_open311key",
}


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Consultations and complaints")

    role_permissions = {
        "clerk": _READ,
        "supervisor": _READ | _SUPERVISE,
        "dispatcher": _READ | _DISPATCH,
        "admin": _READ | _DISPATCH | _KNOWLEDGE,
    }

    def seed_demo(self, *, stdout):
        from .demo import seed as seed_tickets
        from .knowledge.seed import seed_demo

        seed_demo(stdout=stdout)
        seed_tickets(stdout=stdout)

    def demo_login_help(self) -> list[str]:
        from .demo import login_help

        return login_help()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "zheliban.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def seed_demo(self, *, stdout):
        from .demo import seed

        return seed(stdout=stdout)

    def demo_login_help(self) -> list[str]:
        from .demo import login_help

        return login_help()

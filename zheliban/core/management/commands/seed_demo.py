from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Create or refresh the demo province (idempotent): regions, departments, people, data."

    def handle(self, *args, **options):
        # Each app seeds its own part through a ``seed_demo`` hook on its AppConfig, ground floor
        # first, so no app needs to import a higher one.
        with transaction.atomic():
            for config in apps.get_app_configs():
                hook = getattr(config, "seed_demo", None)
                if hook is not None:
                    hook(stdout=self.stdout)
        # The tasks the seeding queued run as it commits and log as they go: how to log in is
        # said after them, where it stays in view.
        self.stdout.write(self.style.SUCCESS("Demo province ready."))
        for line in login_help():
            self.stdout.write(line)


def login_help() -> list[str]:
    """How to log in to the demo, from each app's ``demo_login_help`` hook, ground floor first."""
    lines: list[str] = []
    for config in apps.get_app_configs():
        hook = getattr(config, "demo_login_help", None)
        if hook is not None:
            lines.extend(hook())
    return lines

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Set up the embedded demo (migrate, seed) and serve it on http://127.0.0.1:8000/."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--no-serve", action="store_true", help="Prepare the database and stop without serving."
        )

    def handle(self, *args, addrport, no_serve, **options):
        from django.conf import settings

        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo")
        if not no_serve:
            self.stdout.write(f"Serving the demo on http://{addrport}/ (Ctrl+C stops it).")
            call_command("runserver", addrport, use_reloader=False)

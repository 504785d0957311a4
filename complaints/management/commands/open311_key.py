"""``open311_key NAME``: issue an integrator's Open311 api_key and print it, once."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from complaints.open311.keys import open311_key_issue


class Command(BaseCommand):
    help = (
        "Issue an Open311 api_key for an integrator and print it. Only its hash is stored: "
        "the key cannot be shown again. Deactivate keys in admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The integrator's name (unique).")

    def handle(self, *args, **options):
        try:
            row, key = open311_key_issue(name=options["name"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stderr.write(
            _("Open311 key for “%(name)s” (prefix %(prefix)s); it is shown only this once:")
            % {"name": row.name, "prefix": row.prefix}
        )
        self.stdout.write(key)

"""``import_items PATH --format gdzwfw``: import a government-service feed into the catalog."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from catalog.importers.gdzwfw import ImportFailed, gdzwfw_import

IMPORTERS = {"gdzwfw": gdzwfw_import}


class Command(BaseCommand):
    help = (
        "Import service items from a feed file, all or nothing. Idempotent: unchanged items are "
        "left alone; every new or changed one is published as a new version. Prints every "
        "skipped row and corrected field with its reason, and the counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="Feed file (JSON lines).")
        parser.add_argument(
            "--format", required=True, choices=sorted(IMPORTERS), help="Feed format."
        )
        parser.add_argument("--report", type=Path, help="Also write the report as JSON lines.")
        parser.add_argument(
            "--no-progress", action="store_true", help="No progress bar, even on a terminal."
        )

    def handle(self, *args, **options):
        progress = not options["no_progress"] and self.stdout.isatty()
        importer = IMPORTERS[options["format"]]
        try:
            report = importer(path=options["path"], progress=progress)
        except ImportFailed as error:
            raise CommandError(f"Nothing imported: {error}") from error
        except DatabaseError as error:
            raise CommandError(f"Nothing imported, database error: {error}") from error
        for line in report.text_lines():
            self.stdout.write(line)
        if options["report"]:
            try:
                with options["report"].open("w", encoding="utf-8") as out:
                    out.writelines(f"{line}\n" for line in report.json_lines())
            except OSError as error:
                raise CommandError(f"Imported, but cannot write the report: {error}") from error
            self.stdout.write(f"Report written to {options['report']}.")

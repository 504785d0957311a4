from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from departments.services import streets_import, streets_read
from zheliban.core.datasets import data_dir


class Command(BaseCommand):
    help = (
        "Create or update the streets, towns and townships (街道, 镇, 乡) below the counties "
        "already in the database, from the official division codes. Idempotent; rows whose "
        "county is not in the database are skipped and counted."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "csv",
            nargs="?",
            help="CSV file with the columns code, name, areaCode (default: "
            "$ZHELIBAN_DATA_DIR or ../shared/data, regions/zhejiang_streets.csv).",
        )

    def handle(self, *args, **options):
        path = (
            Path(options["csv"])
            if options["csv"]
            else data_dir() / "regions" / "zhejiang_streets.csv"
        )
        try:
            rows = streets_read(path)
        except FileNotFoundError as exc:
            raise CommandError(f"Streets not imported, nothing changed: no file {path}") from exc
        except (OSError, ValueError) as exc:
            raise CommandError(f"Streets not imported, nothing changed: {exc}") from exc
        report = streets_import(rows)
        for bad in report["invalid"]:
            self.stderr.write(
                f"{path.name}, line {bad['row'] + 1} ({bad['code'] or 'no code'}): "
                f"{bad['reason']}; not imported."
            )
        counties = report["skipped_counties"]
        self.stdout.write(
            f"Streets, towns and townships: {report['created']} created, "
            f"{report['updated']} updated, {report['unchanged']} unchanged, "
            f"{report['skipped']} skipped (in {len(counties)} counties not in the database), "
            f"{len(report['invalid'])} invalid."
        )
        if counties and options["verbosity"] >= 2:
            self.stdout.write(f"Counties not in the database: {', '.join(counties)}.")

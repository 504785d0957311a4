from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from departments.services import boundaries_import
from zheliban.core.datasets import data_dir


class Command(BaseCommand):
    help = (
        "Load the province's administrative boundaries (GeoJSON, GCJ-02), which Open311 uses to "
        "tell the region a reported point lies in. All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "directory",
            nargs="?",
            help="Folder of 330000_full.json and 33xx00_full.json (default: "
            "$ZHELIBAN_DATA_DIR or ../shared/data, regions/boundaries/).",
        )

    def handle(self, *args, **options):
        directory = (
            Path(options["directory"])
            if options["directory"]
            else data_dir() / "regions" / "boundaries"
        )
        try:
            report = boundaries_import(directory)
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"Boundaries not loaded, nothing changed: {exc}") from exc
        self.stdout.write(
            f"Loaded {report.cities} city and {report.counties} district or county boundaries. "
            f"Merged since publication, mapped to today's district: {', '.join(report.remapped)}. "
            f"Split since publication, a point there resolves to its city only: "
            f"{', '.join(report.approximate)}. Districts without a published boundary: "
            f"{', '.join(report.without_boundary)}."
        )

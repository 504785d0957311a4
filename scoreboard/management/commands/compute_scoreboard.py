"""``compute_scoreboard [--period P] [--date YYYY-MM-DD]``: compute and store the board."""

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError

from scoreboard.models import Snapshot
from scoreboard.services import snapshot_compute


class Command(BaseCommand):
    help = (
        "Compute the sunning board of the periods containing a day (default: today; every kind "
        "of period unless --period), replacing any earlier snapshot of the same periods."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", choices=Snapshot.Period.values, action="append")
        parser.add_argument("--date", help="A day in the period, YYYY-MM-DD (default: today).")

    def handle(self, *args, **options):
        day = None
        if options["date"]:
            try:
                day = dt.date.fromisoformat(options["date"])
            except ValueError as error:
                raise CommandError(f"--date: give a day as YYYY-MM-DD ({error})") from error
        for period in options["period"] or Snapshot.Period.values:
            started = time.perf_counter()
            snapshot = snapshot_compute(period=period, day=day)
            self.stdout.write(
                f"{snapshot.get_period_display()} {snapshot.start}–{snapshot.end}: "
                f"{snapshot.scores.count()} rows, weights v{snapshot.weight_set.version}, "
                f"{time.perf_counter() - started:.2f} s"
            )

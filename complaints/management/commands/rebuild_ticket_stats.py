"""``rebuild_ticket_stats [--since DATE]``: roll the tickets up again for the leaders' statistics.

Run it after tickets were written around the services (a bulk load, an import, a restored
backup): it counts every day again from the month of ``--since`` (by default the month of the
first ticket) to today, and sums every week and month in between. The moves made through the
services keep the roll-ups true on their own (``complaints.rollups``).
"""

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError

from complaints.rollups import ticket_stats_rebuild


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since: {value!r} is not a date like 2025-03-01") from None


class Command(BaseCommand):
    help = "Count the tickets again into the roll-ups of the leaders' statistics."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--since",
            type=str,
            help="First day to count again (YYYY-MM-DD; from the first of its month). "
            "Default: the month of the first ticket.",
        )

    def handle(self, *args, since: str | None = None, **options) -> None:
        started = time.perf_counter()
        done = ticket_stats_rebuild(since=_date(since) if since else None)
        self.stdout.write(
            f"Rolled up {done['first']} to {done['last']}: {done['days']} days, "
            f"{done['weeks']} weeks, {done['months']} months "
            f"in {time.perf_counter() - started:.1f} s."
        )

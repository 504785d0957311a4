"""Recompute every item's search text (after an import, a migration or a change to the rules)."""

import time

from django.core.management.base import BaseCommand

from catalog.models import ServiceItem
from catalog.search import reindex_items


class Command(BaseCommand):
    help = "Re-index catalog items for search (all of them, or those with the given codes)."

    def add_arguments(self, parser):
        parser.add_argument("codes", nargs="*", help="Implementation codes; all items if none.")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, codes, batch_size, **options):
        started = time.monotonic()
        queryset = ServiceItem.objects.filter(code__in=codes) if codes else None
        count = reindex_items(queryset, batch_size=batch_size)
        seconds = time.monotonic() - started
        self.stdout.write(f"Indexed {count} items in {seconds:.1f} s.")

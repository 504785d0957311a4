"""``seed_knowledge [PATH]``: province articles from the official replies (idempotent)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from complaints.knowledge.seed import SeedDataError, default_replies_path, knowledge_seed_replies


class Command(BaseCommand):
    help = (
        "Seed the knowledge base with province articles from real official replies (JSON lines "
        "with id, topic and reply): question = topic, answer = the reply without its salutation "
        "and closing. Idempotent: a second run writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path",
            nargs="?",
            type=Path,
            help="Replies file (default: $ZHELIBAN_DATA_DIR or ../shared/data, "
            "complaints/messages_with_replies.jsonl).",
        )

    def handle(self, *args, **options):
        path = options["path"] or default_replies_path()
        if not path.is_file():
            raise CommandError(f"no replies file at {path}")
        try:
            report = knowledge_seed_replies(path=path)
        except SeedDataError as error:
            raise CommandError(str(error)) from error
        for problem in report.problems[:20]:
            self.stderr.write(f"skipped {problem}")
        self.stdout.write(report.line())

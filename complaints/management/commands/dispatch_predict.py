"""``dispatch_predict [--model PATH] [--region CODE]``: JSON lines in, departments out.

Each text is decided as the desk decides a ticket (``complaints.dispatch.decision``): the staff's
rules from admin and the rules file first, then the model, then the nearest department of the
kind to ``--region``.
"""

import json
import sys
from itertools import islice
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from complaints.dispatch.model import DispatchModelError
from complaints.dispatch.predictor import MAX_TEXT_CHARS, Predictor
from complaints.dispatch.rules import DispatchRulesError
from departments.models import region_code_validator

BATCH = 256


class Command(BaseCommand):
    help = (
        'Read JSON lines {"id", "text"} on stdin and write {"id", "department": {"code", '
        '"name"}, "confidence", "category", "automatic", "reasons"} on stdout, one per line; '
        'a bad line gets {"id", "error"}. Exit status 2 when the model cannot be loaded.'
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", type=Path, help="Model file (default: the newest).")
        parser.add_argument(
            "--region", help="Region code (6 digits): dispatch to that region's departments."
        )

    def handle(self, *args, **options):
        region = options["region"]
        if region is not None and not region_code_validator.regex.fullmatch(region):
            raise CommandError(_("A region code has exactly six digits."))
        try:
            predictor = Predictor.load(options["model"])
        except (DispatchModelError, DispatchRulesError) as error:
            raise CommandError(str(error), returncode=2) from error
        lines = iter(sys.stdin)
        while batch := list(islice(lines, BATCH)):
            self._batch(predictor, batch, region)

    def _batch(self, predictor: Predictor, lines: list[str], region: str | None) -> None:
        parsed: list[tuple[object, str | None, str | None]] = [_parse(line) for line in lines]
        texts = [text for _, text, error in parsed if error is None and text is not None]
        predictions = iter(predictor.predict(texts, region=region))
        for ticket_id, text, error in parsed:
            if error is None and text is None:  # a blank line
                continue
            if error is not None:
                out = {"id": ticket_id, "error": error}
            else:
                prediction = next(predictions)
                out = {
                    "id": ticket_id,
                    "department": {
                        "code": prediction.department.code,
                        "name": prediction.department.name,
                    },
                    "confidence": round(prediction.confidence, 4),
                    "category": prediction.category,
                    "automatic": prediction.automatic,
                    "reasons": list(prediction.reasons),
                }
            self.stdout.write(json.dumps(out, ensure_ascii=False))


def _parse(line: str) -> tuple[object, str | None, str | None]:
    """(id, text, error) of one input line; (None, None, None) for a blank line."""
    if not line.strip():
        return None, None, None
    try:
        row = json.loads(line)
    except ValueError:
        return None, None, _("not a JSON object")
    if not isinstance(row, dict):
        return None, None, _("not a JSON object")
    ticket_id = row.get("id")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        return ticket_id, None, _("missing text")
    if len(text) > MAX_TEXT_CHARS:
        return (
            ticket_id,
            None,
            _("text longer than %(limit)s characters") % {"limit": f"{MAX_TEXT_CHARS:,}"},
        )
    return ticket_id, text, None

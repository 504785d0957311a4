"""Import a register's records from CSV (a header row of field names) or JSON lines."""

import csv
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from departments.models import Department
from registers import services
from registers.schema import REGISTERS
from zheliban.core.errors import Refused


class Command(BaseCommand):
    help = (
        "Import records into a register from a CSV file (header row of field names) or a JSON "
        "lines file (one object a line). Every row is checked first; one wrong row refuses the "
        "whole file and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("register", choices=sorted(REGISTERS))
        parser.add_argument("path", help="a .csv or .jsonl file")
        parser.add_argument(
            "--department", required=True, help="the code of the department holding the records"
        )

    def handle(self, *args, register, path, department, **options):
        owner = Department.objects.filter(code=department).first()
        if owner is None:
            raise CommandError(f"No department with code {department}.")
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"No file at {path}.")
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise CommandError("The file is not UTF-8 text.") from None
        if file.suffix.lower() == ".csv":
            rows = list(csv.DictReader(text.splitlines()))
        elif file.suffix.lower() in (".jsonl", ".ndjson"):
            rows = []
            for number, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CommandError(f"Line {number}: not JSON ({exc.msg}).") from None
                if not isinstance(row, dict):
                    raise CommandError(f"Line {number}: each line must be one JSON object.")
                rows.append(row)
        else:
            raise CommandError("Give a .csv or a .jsonl file.")
        try:
            report = services.records_import(
                register=register, owner=owner, rows=rows, source=file.name
            )
        except Refused as exc:
            raise CommandError(f"Nothing was imported.\n{exc.message}") from None
        self.stdout.write(
            f"{register}: {report.created} records created, {report.updated} updated "
            f"(held by {owner.code})."
        )

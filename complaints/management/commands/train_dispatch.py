"""``train_dispatch [--data PATH] [--out DIR] [--no-returns]``: train, evaluate, save the model."""

import hashlib
import unicodedata
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from complaints.dispatch.model import (
    FOLDS,
    TARGET_PRECISION,
    DispatchDataError,
    LabelledData,
    dispatch_train,
    labelled_load,
    model_dir,
    model_save,
)
from complaints.services import returned_examples
from zheliban.core.datasets import data_dir


def with_returns(data: LabelledData, returns: list[tuple[str, str]]) -> LabelledData:
    """The labelled messages plus the returned tickets, each under the category of the
    department that finally signed for it."""
    if not returns:
        return data
    digest = hashlib.sha256(data.sha256.encode())
    for text, category in returns:
        digest.update(f"\n{category}\t{text}".encode())
    return LabelledData(
        data.texts + [text for text, _category in returns],
        data.categories + [category for _text, category in returns],
        digest.hexdigest(),
        f"{data.source} + {len(returns)} returned tickets",
    )


def default_data_path() -> Path:
    return data_dir() / "complaints" / "labelled_messages.jsonl"


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int, *, right: bool = False) -> str:
    gap = " " * max(0, size - width(text))
    return gap + text if right else text + gap


class Command(BaseCommand):
    help = (
        "Train the dispatch model on labelled messages (JSON lines with topic, detail and "
        f"category): choose a pipeline by {FOLDS}-fold stratified cross-validation, print "
        "accuracy, macro-F1, the confusion table and precision at each coverage, and write "
        "dispatch-<version>.joblib with its JSON metadata."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--data",
            type=Path,
            help="Labelled messages (default: $ZHELIBAN_DATA_DIR or ../shared/data, "
            "complaints/labelled_messages.jsonl).",
        )
        parser.add_argument(
            "--out", type=Path, help="Model directory (default: settings DISPATCH_MODEL_DIR)."
        )
        parser.add_argument(
            "--no-returns",
            action="store_true",
            help="Leave out the tickets a department returned and another then signed for "
            "(by default they are added: the returns teach the model).",
        )

    def handle(self, *args, **options):
        path = options["data"] or default_data_path()
        try:
            data = labelled_load(path)
        except DispatchDataError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{len(data.texts)} labelled messages from {path}")
        if not options["no_returns"]:
            data = with_returns(data, returned_examples())
        result = dispatch_train(data=data)
        evaluation = result.evaluation

        self.stdout.write(f"\nCandidates ({FOLDS}-fold stratified cross-validation):")
        for name, score in result.candidates.items():
            mark = "*" if name == result.candidate else " "
            self.stdout.write(
                f" {mark} {name:<16} accuracy {score['accuracy']:.3f}  "
                f"macro-F1 {score['macro_f1']:.3f}"
            )
        self.stdout.write(f"\nChosen: {result.candidate}")
        self.stdout.write(f"Accuracy: {evaluation.accuracy:.3f}")
        self.stdout.write(f"Macro-F1: {evaluation.macro_f1:.3f}")
        self._confusion(evaluation.classes, evaluation.confusion)

        self.stdout.write("\nPrecision at each coverage (by confidence threshold):")
        self.stdout.write("  coverage  threshold  precision")
        for row in evaluation.coverage:
            self.stdout.write(
                f"  {row['coverage']:>7.0%}  {row['threshold']:>9.3f}  {row['precision']:>9.1%}"
            )
        if evaluation.threshold is None:
            self.stdout.write(
                f"No threshold reaches {TARGET_PRECISION:.0%} precision: every ticket will "
                "wait for a dispatcher."
            )
        else:
            self.stdout.write(
                f"Threshold for automatic dispatch: {evaluation.threshold:.3f} "
                f"(precision {evaluation.threshold_precision:.1%}, "
                f"coverage {evaluation.threshold_coverage:.1%})"
            )
        directory = options["out"] or model_dir()
        try:
            model_path = model_save(result, directory)
        except OSError as error:
            raise CommandError(f"Cannot write the model to {directory}: {error}") from error
        self.stdout.write(f"\nModel {result.version} written to {model_path}")
        self.stdout.write(f"Metadata written to {model_path.with_suffix('.json')}")

    def _confusion(self, classes: list[str], matrix: list[list[int]]) -> None:
        self.stdout.write("\nConfusion table (rows: true category, columns: predicted):")
        first = max(width(c) for c in classes) + 2
        cells = [max(width(c), 4) + 2 for c in classes]
        header = pad("", first) + "".join(
            pad(c, w, right=True) for c, w in zip(classes, cells, strict=True)
        )
        self.stdout.write(header + "   recall")
        for name, row in zip(classes, matrix, strict=True):
            recall = row[classes.index(name)] / sum(row) if sum(row) else 0.0
            line = pad(name, first) + "".join(
                pad(str(n), w, right=True) for n, w in zip(row, cells, strict=True)
            )
            self.stdout.write(f"{line}   {recall:6.1%}")

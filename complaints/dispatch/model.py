"""Training and evaluating the dispatch model, and its versioned files.

A model is two files in the model directory (settings ``DISPATCH_MODEL_DIR``, by default
``VAR_DIR / "models"``): ``dispatch-<version>.joblib``, the fitted scikit-learn pipeline, and
``dispatch-<version>.json``, its metadata (metrics, classes, the automatic-dispatch threshold,
the scikit-learn version). The version is the training time (UTC) and a short hash of the data,
so names sort by age and the newest is loaded by default.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from django.conf import settings
from django.utils.translation import gettext as _
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from .categories import CATEGORIES
from .segmenter import Segmenter
from .text import ticket_text

FORMAT = 1
FOLDS = 5
SEED = 0
TARGET_PRECISION = 0.9
COVERAGE_LEVELS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
PREFIX = "dispatch-"
WORD_PATTERN = r"\S+"


class DispatchModelError(Exception):
    """The model cannot be loaded (missing, unreadable, or from another scikit-learn)."""


class DispatchDataError(ValueError):
    """The labelled data cannot be used for training."""


def _words_vectorizer() -> TfidfVectorizer:
    # The Segmenter has already cut and cleaned the words; split on the spaces it put.
    return TfidfVectorizer(token_pattern=WORD_PATTERN, lowercase=False)


def _calibrated(estimator) -> CalibratedClassifierCV:
    # Sigmoid calibration on internal folds, one final estimator fitted on all the data: the
    # confidence reads as a probability and the reasons come from a single linear model.
    return CalibratedClassifierCV(estimator, method="sigmoid", cv=FOLDS, ensemble=False)


# The pipelines train_dispatch chooses among by cross-validated macro-F1. Complement naive
# Bayes on jieba words did best on the labelled messages; a linear SVM stays as a contender.
CANDIDATES: dict[str, Callable[[], Pipeline]] = {
    "words-cnb-0.05": lambda: _pipeline(ComplementNB(alpha=0.05)),
    "words-cnb-0.1": lambda: _pipeline(ComplementNB(alpha=0.1)),
    "words-cnb-0.2": lambda: _pipeline(ComplementNB(alpha=0.2)),
    "words-svm": lambda: _pipeline(LinearSVC(C=1.0)),
}


def _pipeline(estimator) -> Pipeline:
    return Pipeline(
        [
            ("segment", Segmenter()),
            ("tfidf", _words_vectorizer()),
            ("classify", _calibrated(estimator)),
        ]
    )


@dataclass
class LabelledData:
    texts: list[str]
    categories: list[str]
    sha256: str
    source: str


def labelled_load(path: Path) -> LabelledData:
    """Read JSON lines with ``topic``, ``detail`` and ``category`` (one of CATEGORIES)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise DispatchDataError(f"cannot read {path}: {error}") from error
    texts: list[str] = []
    categories: list[str] = []
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DispatchDataError(f"{path}:{number}: not JSON ({error})") from error
        category = row.get("category") if isinstance(row, dict) else None
        if category not in CATEGORIES:
            raise DispatchDataError(f"{path}:{number}: unknown category {category!r}")
        text = ticket_text(str(row.get("topic") or ""), str(row.get("detail") or ""))
        if not text.strip():
            raise DispatchDataError(f"{path}:{number}: no topic and no detail")
        texts.append(text)
        categories.append(category)
    counts = {c: categories.count(c) for c in set(categories)}
    if len(counts) < 2 or min(counts.values()) < FOLDS:
        raise DispatchDataError(
            f"{path}: need at least two categories with {FOLDS} messages each, got {counts}"
        )
    return LabelledData(texts, categories, hashlib.sha256(raw).hexdigest(), str(path))


@dataclass
class Evaluation:
    """Out-of-fold predictions of one pipeline and what they say."""

    classes: list[str]
    accuracy: float
    macro_f1: float
    confusion: list[list[int]]  # rows: true category, columns: predicted, in ``classes`` order
    coverage: list[dict[str, float]]  # {"coverage", "threshold", "precision"}, most covered first
    threshold: float | None  # lowest confidence keeping precision >= TARGET_PRECISION
    threshold_precision: float | None
    threshold_coverage: float


def cross_validate(
    pipeline: Pipeline, segmented: Sequence[str], categories: Sequence[str], *, seed: int = SEED
) -> tuple[list[str], np.ndarray]:
    """Stratified k-fold out-of-fold probabilities of ``pipeline`` on already segmented texts."""
    docs = np.asarray(segmented, dtype=object)
    labels = np.asarray(categories, dtype=object)
    classes = sorted(set(categories))
    probabilities = np.zeros((len(docs), len(classes)))
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    for train, test in folds.split(docs, labels):
        model = clone(pipeline).set_params(segment="passthrough")
        model.fit(list(docs[train]), list(labels[train]))
        columns = [classes.index(c) for c in model.classes_]
        probabilities[np.ix_(test, columns)] = model.predict_proba(list(docs[test]))
    return classes, probabilities


def evaluate(
    classes: list[str], probabilities: np.ndarray, categories: Sequence[str]
) -> Evaluation:
    truth = np.asarray(categories, dtype=object)
    predicted = np.asarray(classes, dtype=object)[probabilities.argmax(axis=1)]
    confidence = probabilities.max(axis=1)
    correct = predicted == truth
    order = np.argsort(-confidence, kind="stable")
    coverage = []
    for level in COVERAGE_LEVELS:
        kept = order[: max(1, math.ceil(level * len(order)))]
        coverage.append(
            {
                "coverage": level,
                "threshold": float(confidence[kept[-1]]),
                "precision": float(correct[kept].mean()),
            }
        )
    threshold, threshold_precision, threshold_coverage = choose_threshold(confidence, correct)
    return Evaluation(
        classes=list(classes),
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, average="macro", labels=classes)),
        confusion=confusion_matrix(truth, predicted, labels=classes).tolist(),
        coverage=coverage,
        threshold=threshold,
        threshold_precision=threshold_precision,
        threshold_coverage=threshold_coverage,
    )


def choose_threshold(
    confidence: np.ndarray, correct: np.ndarray, target: float = TARGET_PRECISION
) -> tuple[float | None, float | None, float]:
    """The lowest confidence above which precision stays >= ``target``, covering the most.

    Returns (threshold, precision, coverage); (None, None, 0.0) when no threshold reaches it.
    """
    best: tuple[float | None, float | None, float] = (None, None, 0.0)
    for threshold in np.unique(confidence):
        kept = confidence >= threshold
        precision = float(correct[kept].mean())
        share = float(kept.mean())
        if precision >= target and share > best[2]:
            best = (float(threshold), precision, share)
    return best


@dataclass
class TrainingResult:
    version: str
    candidate: str
    evaluation: Evaluation
    candidates: dict[str, dict[str, float]]
    pipeline: Pipeline
    metadata: dict[str, Any] = field(default_factory=dict)


def dispatch_train(
    *, data: LabelledData, candidates: Sequence[str] | None = None, now: datetime | None = None
) -> TrainingResult:
    """Choose a pipeline by cross-validated macro-F1, evaluate it, and fit it on all the data."""
    names = list(candidates or CANDIDATES)
    segmented = Segmenter().transform(data.texts)
    scores: dict[str, dict[str, float]] = {}
    evaluations: dict[str, Evaluation] = {}
    for name in names:
        classes, probabilities = cross_validate(CANDIDATES[name](), segmented, data.categories)
        evaluations[name] = evaluate(classes, probabilities, data.categories)
        scores[name] = {
            "accuracy": evaluations[name].accuracy,
            "macro_f1": evaluations[name].macro_f1,
        }
    # Ties go to the earlier candidate: the order of CANDIDATES is the order of preference.
    chosen = max(names, key=lambda n: (round(scores[n]["macro_f1"], 6), -names.index(n)))
    pipeline = CANDIDATES[chosen]().set_params(segment="passthrough")
    pipeline.fit(segmented, data.categories)
    pipeline.set_params(segment=Segmenter())
    now = now or datetime.now(UTC)
    version = f"{now:%Y%m%dT%H%M%SZ}-{data.sha256[:8]}"
    evaluation = evaluations[chosen]
    metadata = {
        "format": FORMAT,
        "version": version,
        "trained_at": now.isoformat(),
        "sklearn_version": sklearn.__version__,
        "python_version": platform.python_version(),
        "data": {"source": data.source, "sha256": data.sha256, "messages": len(data.texts)},
        "pipeline": chosen,
        "classes": list(pipeline.classes_),
        "departments": {c: asdict(CATEGORIES[c]) for c in pipeline.classes_},
        "folds": FOLDS,
        "candidates": scores,
        "metrics": asdict(evaluation),
        "target_precision": TARGET_PRECISION,
        "threshold": evaluation.threshold,
    }
    return TrainingResult(version, chosen, evaluation, scores, pipeline, metadata)


def model_dir() -> Path:
    configured = getattr(settings, "DISPATCH_MODEL_DIR", None)
    return Path(configured) if configured else Path(settings.VAR_DIR) / "models"


def model_save(result: TrainingResult, directory: Path | None = None) -> Path:
    """Write the model and its metadata; returns the model file's path."""
    directory = Path(directory or model_dir())
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / f"{PREFIX}{result.version}.joblib"
    metadata_path = model_path.with_suffix(".json")
    # Metadata last: a model without it is never picked as the newest.
    joblib.dump(result.pipeline, model_path, compress=3)
    metadata_path.write_text(
        json.dumps(result.metadata, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return model_path


def latest_model_path(directory: Path | None = None) -> Path:
    directory = Path(directory or model_dir())
    found = sorted(
        path for path in directory.glob(f"{PREFIX}*.joblib") if path.with_suffix(".json").is_file()
    )
    if not found:
        raise DispatchModelError(
            _("No dispatch model in %(directory)s. Train one with: python manage.py train_dispatch")
            % {"directory": directory}
        )
    return found[-1]


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def model_load(path: Path | None = None) -> tuple[Pipeline, dict[str, Any]]:
    """The fitted pipeline and its metadata, newest in the model directory unless ``path``."""
    path = Path(path) if path else latest_model_path()
    if not path.is_file():
        raise DispatchModelError(
            _("No dispatch model at %(path)s. Train one with: python manage.py train_dispatch")
            % {"path": path}
        )
    metadata_path = path.with_suffix(".json")
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DispatchModelError(
            _(
                "Cannot read the dispatch model's metadata %(path)s (%(error)s). Train a model "
                "with: python manage.py train_dispatch"
            )
            % {"path": metadata_path, "error": error}
        ) from error
    trained_with = str(metadata.get("sklearn_version", "?"))
    if _major_minor(trained_with) != _major_minor(sklearn.__version__):
        raise DispatchModelError(
            _(
                "The dispatch model %(path)s was trained with scikit-learn %(trained)s, this "
                "is scikit-learn %(running)s. Retrain it with: python manage.py train_dispatch"
            )
            % {"path": path, "trained": trained_with, "running": sklearn.__version__}
        )
    try:
        pipeline = joblib.load(path)
    except Exception as error:  # a damaged file fails in many ways inside unpickling
        raise DispatchModelError(
            _("Cannot load the dispatch model %(path)s (%(error)s).")
            % {"path": path, "error": error}
        ) from error
    return pipeline, metadata

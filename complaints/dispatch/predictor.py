"""Predicting the handling department of complaint texts, with a confidence and reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from .decision import MAX_TEXT_CHARS, dispatch_decide
from .departments import DepartmentRef, department_ref
from .model import model_load
from .rules import Rule, dispatch_rules
from .text import recognisable

REASONS = 5


@dataclass(frozen=True)
class Prediction:
    category: str | None  # None when a rule sends the text to a kind no category maps to
    department_kind: str
    confidence: float
    reasons: tuple[str, ...]  # the words that weigh most for the category, or "rule: ..."
    department: DepartmentRef
    automatic: bool  # confident enough to dispatch without a human dispatcher


class Predictor:
    """A loaded dispatch model and the rules applied before it.

    ``threshold`` comes from the model's metadata: the lowest confidence at which the
    cross-validated precision stayed at the target (90 %); below it a ticket waits for a human.
    """

    def __init__(
        self, pipeline: Pipeline, metadata: dict[str, Any], rules: Sequence[Rule] = ()
    ) -> None:
        self.pipeline = pipeline
        self.metadata = metadata
        self.version: str = metadata.get("version", "")
        self.threshold: float | None = metadata.get("threshold")
        self.rules = list(rules)
        self._segment = pipeline.named_steps["segment"]
        self._vectorize = pipeline.named_steps["tfidf"]
        self._classify = pipeline.named_steps["classify"]
        self._terms = self._vectorize.get_feature_names_out()
        self._margins, self._margin_classes = _class_margins(self._classify)

    @classmethod
    def load(
        cls, path: Path | str | None = None, *, rules: Sequence[Rule] | None = None
    ) -> Predictor:
        """The newest model (or ``path``) with ``rules``, by default the desk's own
        (``dispatch_rules``: the staff's from admin, then the rules file's)."""
        pipeline, metadata = model_load(Path(path) if path else None)
        return cls(pipeline, metadata, dispatch_rules() if rules is None else rules)

    def predict(self, texts: Sequence[str], *, region: str | None = None) -> list[Prediction]:
        """One prediction per text, decided as the desk decides (``decision.dispatch_decide``):
        the rules, then the model; ``region`` (a 6-digit code) picks the nearest department of
        the kind, and without one (or with none of the kind nearby) the kind and its generic
        name stand in."""
        for text in texts:
            if len(text) > MAX_TEXT_CHARS:
                raise ValueError(f"text longer than {MAX_TEXT_CHARS} characters")
        decisions = dispatch_decide(texts, region_code=region, rules=self.rules, guesser=self)
        return [
            Prediction(
                category=decision.category,
                department_kind=decision.department_kind,
                confidence=decision.confidence,
                reasons=decision.reasons,
                department=department_ref(decision.department_kind, decision.department),
                automatic=decision.automatic,
            )
            for decision in decisions
        ]

    def guess(self, texts: Sequence[str]) -> list[tuple[str, float, tuple[str, ...]]]:
        """The model alone: (category, confidence, reasons) per text; no rules, no departments."""
        if not texts:
            return []
        features = self._vectorize.transform(self._segment.transform(list(texts)))
        probabilities = self._classify.predict_proba(features)
        classes = self._classify.classes_
        found = []
        for row in range(len(texts)):
            best = int(np.argmax(probabilities[row]))
            category = str(classes[best])
            reasons = self._reasons(features, row, category)
            found.append((category, float(probabilities[row, best]), reasons))
        return found

    def is_automatic(self, confidence: float) -> bool:
        return self.threshold is not None and confidence >= self.threshold

    def _reasons(self, features, row: int, category: str) -> tuple[str, ...]:
        start, end = features.indptr[row], features.indptr[row + 1]
        columns = features.indices[start:end]
        weights = features.data[start:end] * self._margins[self._margin_classes[category], columns]
        found: list[str] = []
        for i in np.argsort(-weights, kind="stable"):
            if weights[i] <= 0 or len(found) >= REASONS:
                break
            term = str(self._terms[columns[i]])
            if recognisable(term):  # no function words, digits or lone characters
                found.append(term)
        return tuple(found)


def _class_margins(calibrated) -> tuple[np.ndarray, dict[str, int]]:
    """Per class and word, how much the word favours the class over the others on average.

    The calibrated classifier wraps one linear model (``ensemble=False``): a linear SVM's
    ``coef_`` or complement naive Bayes' ``feature_log_prob_`` (its scores are X · that).
    """
    estimator = calibrated.calibrated_classifiers_[0].estimator
    weights = getattr(estimator, "coef_", None)
    if weights is None:
        weights = estimator.feature_log_prob_
    weights = np.asarray(weights, dtype=float)
    if weights.shape[0] == 1:  # two classes: one row, for the second class
        weights = np.vstack([-weights[0], weights[0]])
    count = weights.shape[0]
    others = (weights.sum(axis=0, keepdims=True) - weights) / (count - 1)
    return weights - others, {str(c): i for i, c in enumerate(estimator.classes_)}

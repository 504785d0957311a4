"""The one dispatch decision: which department a matter goes to, how sure we are, and why.

In order: the application the matter is about (its department handles it), else the first
matching rule (``rules.dispatch_rules``: the staff's, then the file's), else the model; the
department is the one of the chosen kind nearest to the region (``departments_nearest``). The
desk (``complaints.services.dispatch_suggest``) and ``dispatch_predict``
(``Predictor.predict``) both decide here, so they cannot disagree on the same text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from departments.models import Department

from .categories import CATEGORIES, CATEGORY_BY_KIND
from .departments import departments_nearest
from .rules import Rule, rule_match

if TYPE_CHECKING:
    from workflows.models import Application

NO_MODEL = "no dispatch model"
APPLICATION = "application"
MAX_TEXT_CHARS = 20_000  # what the model reads of a text


class Guesser(Protocol):
    """The model's side of a decision (``Predictor``)."""

    version: str

    def guess(self, texts: Sequence[str]) -> list[tuple[str, float, tuple[str, ...]]]: ...

    def is_automatic(self, confidence: float) -> bool: ...


@dataclass(frozen=True)
class Decision:
    category: str | None  # None when the kind chosen is one no category maps to, or none was
    department_kind: str  # "" when nothing was chosen (no rule matched and no model)
    department: Department | None  # the nearest active department of the kind, if any
    confidence: float
    reasons: tuple[str, ...]  # "application", "rule: ...", or the words that weigh most
    automatic: bool  # sure enough to dispatch without a human dispatcher
    model_version: str = ""


def _category_of(kind: str) -> str | None:
    category = CATEGORY_BY_KIND.get(kind)
    return category.name if category else None


def application_department(application: Application) -> Department | None:
    """The department of the application's most recently moved task: the one handling it."""
    task = application.tasks.select_related("department").order_by("-updated_at", "-id").first()
    return task.department if task is not None else None


def dispatch_decide(
    texts: Sequence[str],
    *,
    region_code: str | None = None,
    rules: Sequence[Rule] = (),
    guesser: Guesser | None = None,
    applications: Sequence[Application | None] = (),
) -> list[Decision]:
    """One decision per text (``applications``, when given, pairs each text with the
    application it is about, or None). One query for the departments of the whole batch, plus
    one per application."""
    handled_by: list[Department | None] = [
        application_department(application) if application is not None else None
        for application in applications
    ]
    handled_by += [None] * (len(texts) - len(handled_by))
    ruled = [
        None if department is not None else rule_match(rules, text)
        for text, department in zip(texts, handled_by, strict=True)
    ]
    modelled = [
        i
        for i, (rule, department) in enumerate(zip(ruled, handled_by, strict=True))
        if rule is None and department is None
    ]
    guesses = {}
    if guesser is not None:
        found = guesser.guess([texts[i] for i in modelled])
        guesses = dict(zip(modelled, found, strict=True))
    kinds = {rule.kind for rule in ruled if rule is not None}
    kinds |= {CATEGORIES[category].department_kind for category, _, _ in guesses.values()}
    nearest = departments_nearest(kinds=kinds, region_code=region_code)
    decisions = []
    for index, (rule, department) in enumerate(zip(ruled, handled_by, strict=True)):
        if department is not None:
            decision = Decision(
                _category_of(department.kind),
                department.kind,
                department,
                1.0,
                (APPLICATION,),
                True,
            )
        elif rule is not None:
            decision = Decision(
                _category_of(rule.kind),
                rule.kind,
                nearest.get(rule.kind),
                1.0,
                (rule.reason,),
                True,
            )
        elif guesser is None:
            decision = Decision(None, "", None, 0.0, (NO_MODEL,), False)
        else:
            category, confidence, reasons = guesses[index]
            kind = CATEGORIES[category].department_kind
            decision = Decision(
                category,
                kind,
                nearest.get(kind),
                confidence,
                reasons,
                guesser.is_automatic(confidence),
                guesser.version,
            )
        decisions.append(decision)
    return decisions

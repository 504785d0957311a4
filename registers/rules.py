"""Eligibility rules: who may apply, written by staff and checked against the registers.

A rule compares a fact with a value or another fact::

    any_parent.hukou_city == region.city
    baby.age_days <= 30
    applicant.medical_insured == true

Facts are about the applicant, the baby a hospital registered to them, its mother and father, the
applicant's spouse, and the region of the service (``FACTS`` lists them). ``any_parent.x`` holds
when it holds for the mother or the father. A fact the registers do not hold is unknown: the rule
is then left to the department rather than refusing the citizen. This module touches no models;
``registers.selectors.facts_for`` gathers the facts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

PERSON_FACTS = {
    "registered": bool,
    "hukou_region": str,
    "hukou_city": str,
    "hukou_province": str,
    "age_years": int,
    "sex": str,
    "social_insured": bool,
    "medical_insured": bool,
}
FACTS: dict[str, dict[str, type]] = {
    "applicant": {**PERSON_FACTS, "is_parent": bool, "married": bool},
    "mother": PERSON_FACTS,
    "father": PERSON_FACTS,
    "any_parent": PERSON_FACTS,
    "spouse": PERSON_FACTS,
    "baby": {
        "registered": bool,
        "age_days": int,
        "sex": str,
        "has_certificate": bool,
    },
    "region": {"code": str, "city": str, "province": str},
}
SUBJECT_LABELS = {
    "applicant": gettext_lazy("the applicant"),
    "mother": gettext_lazy("the mother"),
    "father": gettext_lazy("the father"),
    "any_parent": gettext_lazy("at least one parent"),
    "spouse": gettext_lazy("the spouse"),
    "baby": gettext_lazy("the baby"),
    "region": gettext_lazy("this service's region"),
}
OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
_OPERAND = r"""(?:[a-z_]+\.[a-z_]+|-?\d+|"[^"]*"|'[^']*'|true|false)"""
RULE_RE = re.compile(rf"\s*({_OPERAND})\s*(==|!=|<=|>=|<|>)\s*({_OPERAND})\s*\Z")
PATH_RE = re.compile(r"([a-z_]+)\.([a-z_]+)\Z")


@dataclass(frozen=True)
class Operand:
    path: tuple[str, str] | None = None
    literal: Any = None

    @property
    def type(self) -> type:
        if self.path is not None:
            return FACTS[self.path[0]][self.path[1]]
        return type(self.literal)


@dataclass(frozen=True)
class Rule:
    text: str
    left: Operand
    op: str
    right: Operand


class RuleError(ValueError):
    pass


def _operand(text: str) -> Operand:
    match = PATH_RE.match(text)
    if match:
        subject, attr = match.groups()
        if subject not in FACTS:
            raise RuleError(
                _("unknown subject “%(subject)s”; the subjects are: %(known)s.")
                % {"subject": subject, "known": ", ".join(FACTS)}
            )
        if attr not in FACTS[subject]:
            raise RuleError(
                _("unknown fact “%(fact)s”; %(subject)s has: %(known)s.")
                % {"fact": text, "subject": subject, "known": ", ".join(FACTS[subject])}
            )
        return Operand(path=(subject, attr))
    if text in ("true", "false"):
        return Operand(literal=text == "true")
    if text[0] in "\"'":
        return Operand(literal=text[1:-1])
    return Operand(literal=int(text))


def parse_rule(text: str) -> Rule:
    """One rule, checked: known facts, comparable types; RuleError says what is wrong."""
    match = RULE_RE.match(text or "")
    if not match:
        raise RuleError(
            _(
                "write a rule as “fact operator value”, e.g. “baby.age_days <= 30”; the "
                "operators are %(ops)s."
            )
            % {"ops": " ".join(OPERATORS)}
        )
    left, op, right = _operand(match.group(1)), match.group(2), _operand(match.group(3))
    if left.path is None and right.path is None:
        raise RuleError(_("a rule compares at least one fact."))
    if left.type is not right.type:
        raise RuleError(
            _("“%(left)s” and “%(right)s” cannot be compared: one is %(a)s, the other %(b)s.")
            % {
                "left": match.group(1),
                "right": match.group(3),
                "a": _type_name(left.type),
                "b": _type_name(right.type),
            }
        )
    if op not in ("==", "!=") and left.type is not int:
        raise RuleError(
            _("“%(op)s” compares numbers only; use == or != for %(kind)s.")
            % {"op": op, "kind": _type_name(left.type)}
        )
    return Rule(text=" ".join(text.split()), left=left, op=op, right=right)


def _type_name(kind: type) -> str:
    return {int: _("a number"), bool: _("true or false"), str: _("text")}[kind]


def _compare(a: Any, op: str, b: Any) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<=":
        return a <= b
    if op == ">=":
        return a >= b
    if op == "<":
        return a < b
    return a > b


Facts = Mapping[str, Mapping[str, Any] | None]


def _values(operand: Operand, facts: Facts, parent: str | None) -> Any:
    if operand.path is None:
        return operand.literal
    subject, attr = operand.path
    if subject == "any_parent":
        subject = parent or "mother"
    known = facts.get(subject)
    if known is None:
        return None
    return known.get(attr)


def evaluate(rule: Rule, facts: Facts) -> bool | None:
    """True or False, or None when the registers do not hold a fact the rule reads."""
    parents = (
        ("mother", "father")
        if "any_parent" in {o.path[0] for o in (rule.left, rule.right) if o.path}
        else (None,)
    )
    results = []
    for parent in parents:
        a, b = _values(rule.left, facts, parent), _values(rule.right, facts, parent)
        results.append(None if a is None or b is None else _compare(a, rule.op, b))
    if any(r is True for r in results):
        return True
    if any(r is None for r in results):
        return None
    return False


def plain(rule: Rule) -> str:
    """A rule in words, for a rule its author gave no wording of its own."""

    def words(o: Operand) -> str:
        if o.path is None:
            if isinstance(o.literal, bool):
                return _("yes") if o.literal else _("no")
            return str(o.literal)
        return f"{SUBJECT_LABELS[o.path[0]]} · {o.path[1]}"

    return f"{words(rule.left)} {rule.op} {words(rule.right)}"

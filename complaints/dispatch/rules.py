"""Rules staff add for what the model gets wrong: a keyword or a regular expression, and the
kind of department it sends a ticket to. The first matching rule wins, before the model.

The rules are those staff keep in admin (``DispatchRule``, by priority), then those of a file;
``dispatch_rules`` reads both, for the desk and ``dispatch_predict`` alike. The file (settings
``DISPATCH_RULES_PATH``, JSON or YAML) holds a list of entries, each with ``keyword`` or
``regex`` and ``kind`` (a Department.Kind value)::

    - {keyword: 噪音扰民, kind: shengtai}
    - {regex: "公交|地铁", kind: jiaotong}
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from django.conf import settings
from django.utils.translation import gettext as _

from departments.models import Department

from ..models import DispatchRule
from .text import normalize


class DispatchRulesError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    pattern: str
    kind: str
    is_regex: bool = False

    def __post_init__(self) -> None:
        if self.kind not in Department.Kind.values:
            raise DispatchRulesError(
                _("Unknown department kind in a dispatch rule: %(kind)s") % {"kind": self.kind}
            )
        if not self.pattern:
            raise DispatchRulesError(_("A dispatch rule needs a keyword or a regex."))
        if self.is_regex:
            try:
                re.compile(self.pattern)
            except re.error as error:
                raise DispatchRulesError(
                    _("Bad regex in a dispatch rule: %(pattern)s (%(error)s)")
                    % {"pattern": self.pattern, "error": error}
                ) from error

    def matches(self, normalized_text: str) -> bool:
        if self.is_regex:
            return re.search(self.pattern, normalized_text) is not None
        return normalize(self.pattern) in normalized_text

    @property
    def reason(self) -> str:
        return f"rule: {self.pattern}"


def rule_match(rules: Iterable[Rule], text: str) -> Rule | None:
    rules = list(rules)
    if not rules:
        return None
    normalized = normalize(text)
    return next((rule for rule in rules if rule.matches(normalized)), None)


def rules_parse(entries) -> list[Rule]:
    if not isinstance(entries, list):
        raise DispatchRulesError(_("Dispatch rules must be a list."))
    rules = []
    for entry in entries:
        if not isinstance(entry, dict) or ("keyword" in entry) == ("regex" in entry):
            raise DispatchRulesError(
                _("Each dispatch rule needs exactly one of keyword or regex, and a kind.")
            )
        is_regex = "regex" in entry
        pattern = str(entry["regex"] if is_regex else entry["keyword"])
        rules.append(Rule(pattern=pattern, kind=str(entry.get("kind", "")), is_regex=is_regex))
    return rules


def rules_load(path: Path | str | None = None) -> list[Rule]:
    """The rules in ``path``, or in settings ``DISPATCH_RULES_PATH``; none when unset."""
    path = path or getattr(settings, "DISPATCH_RULES_PATH", None)
    if not path:
        return []
    path = Path(path)
    try:
        content = path.read_text(encoding="utf-8")
        entries = json.loads(content) if path.suffix == ".json" else yaml.safe_load(content)
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise DispatchRulesError(
            _("Cannot read the dispatch rules %(path)s (%(error)s).")
            % {"path": path, "error": error}
        ) from error
    return rules_parse(entries or [])


@functools.lru_cache(maxsize=8)
def _file_rules(path: str, modified_ns: int) -> list[Rule]:
    return rules_load(path)


def dispatch_rules() -> list[Rule]:
    """The staff's active rules from admin, by priority, then those of the rules file
    (settings ``DISPATCH_RULES_PATH``), read again only when the file changes."""
    rules = [
        Rule(pattern=r.regex or r.keyword, kind=r.kind, is_regex=bool(r.regex))
        for r in DispatchRule.objects.filter(is_active=True)
    ]
    path = getattr(settings, "DISPATCH_RULES_PATH", None)
    if not path:
        return rules
    try:
        modified = os.stat(path).st_mtime_ns
    except OSError:
        return rules + rules_load(path)  # says what is wrong with the file
    return rules + _file_rules(str(path), modified)

"""The workflow-definition language: YAML text written by staff, parsed and checked.

A definition names what is applied for (one `bundle` or one `item`), the fields the citizen is
asked once (`asks`), and the `steps`, each a task for one department::

    bundle: newborn
    asks: [mother_id_number, baby_name]
    steps:
      birth_certificate: {item: "C1", by: 卫健委, due: 1 workday, gives: [birth_certificate_no]}
      hukou: {item: "C2", by: 公安局, after: [birth_certificate], needs: [birth_certificate_no],
              due: 3 workdays}

Steps run in parallel unless `after` orders them. A field a step `needs` must be `given` by a
step ordered before it, so it can be handed on without the citizen carrying it.

This module touches no models: the caller injects functions that resolve item codes,
departments and bundles, so the language can be checked anywhere and tested without a database.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import yaml
from django.utils.translation import gettext as _

from registers.rules import RuleError, parse_rule

MAX_TEXT_BYTES = 64 * 1024
MAX_STEPS = 100
MAX_DUE_WORKDAYS = 365

IDENTIFIER_RE = re.compile(r"[a-z][a-z0-9_]*\Z")
SLUG_RE = re.compile(r"[-a-zA-Z0-9_]+\Z")
DURATION_RE = re.compile(r"([0-9]+)\s*(?:workdays?|个?\s*工作日)?\Z", re.IGNORECASE)

TOP_LEVEL_KEYS = ("title", "bundle", "item", "asks", "eligible", "steps")
RULE_KEYS = ("rule", "says", "instead")
MAX_RULES = 20
STEP_KEYS = ("item", "by", "after", "gives", "needs", "due", "label")

_YAML_TAG_PREFIX = "tag:yaml.org,2002:"
# The tags a plain YAML document resolves to on its own; an explicit tag such as
# `!!python/object` is refused even though composing never constructs it.
_ALLOWED_TAGS = frozenset(
    _YAML_TAG_PREFIX + name
    for name in ("str", "int", "float", "bool", "null", "timestamp", "merge", "value", "seq", "map")
)
_NULL_TAG = _YAML_TAG_PREFIX + "null"


@dataclass(frozen=True)
class Step:
    name: str
    item: str
    department: str
    after: tuple[str, ...]
    gives: tuple[str, ...]
    needs: tuple[str, ...]
    due_workdays: int
    label: str = ""
    line: int = field(default=0, compare=False)

    @property
    def display_name(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class Eligibility:
    """Who may apply: a rule on the registers' facts (``registers.rules``), what it means in
    plain words (``says``) and what to do instead when it does not hold."""

    rule: str
    says: str = ""
    instead: str = ""
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Definition:
    subject_kind: Literal["bundle", "item"]
    subject: str
    asks: tuple[str, ...]
    steps: tuple[Step, ...]
    """In topological order; steps free to run at the same point keep their order in the text."""
    title: str = ""
    eligible: tuple[Eligibility, ...] = ()

    @cached_property
    def _by_name(self) -> dict[str, Step]:
        return {step.name: step for step in self.steps}

    def step(self, name: str) -> Step:
        """The step called `name`; KeyError if there is none."""
        return self._by_name[name]

    def roots(self) -> tuple[Step, ...]:
        """The steps that start as soon as the application is accepted."""
        return tuple(step for step in self.steps if not step.after)

    def successors(self, name: str) -> tuple[Step, ...]:
        """The steps that come directly after `name`."""
        self.step(name)
        return tuple(step for step in self.steps if name in step.after)

    def ancestors(self, name: str) -> frozenset[str]:
        """Names of every step ordered before `name`, directly or through others."""
        seen: set[str] = set()
        pending = list(self.step(name).after)
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                pending.extend(self.step(current).after)
        return frozenset(seen)

    def depths(self) -> dict[str, int]:
        """Longest number of `after` hops from a root to each step (roots are 0)."""
        depth: dict[str, int] = {}
        for step in self.steps:
            depth[step.name] = max((depth[before] + 1 for before in step.after), default=0)
        return depth

    def data_sources(self, name: str) -> dict[str, str]:
        """For each field step `name` needs, the step that gives it.

        When several steps ordered before it give the same field, the latest in order wins.
        """
        before = self.ancestors(name)
        sources: dict[str, str] = {}
        for need in self.step(name).needs:
            for step in self.steps:
                if step.name in before and need in step.gives:
                    sources[need] = step.name
        return sources

    def critical_path_workdays(self) -> int:
        """Working days from start to finish when every parallel branch takes its full time."""
        finish: dict[str, int] = {}
        for step in self.steps:
            start = max((finish[before] for before in step.after), default=0)
            finish[step.name] = start + step.due_workdays
        return max(finish.values(), default=0)


@dataclass(frozen=True)
class DefinitionErrorItem:
    line: int
    column: int
    message: str
    code: str = ""

    def __str__(self) -> str:
        return _("line %(line)d: %(message)s") % {"line": self.line, "message": self.message}


class DefinitionError(ValueError):
    """Every problem found in a definition text, each with its 1-based line and column."""

    def __init__(self, errors: list[DefinitionErrorItem]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


ItemResolver = Callable[[str], str | None]
DepartmentResolver = Callable[[str], str | None]
BundleResolver = Callable[[str], Collection[str] | None]


def parse_definition(
    text: str,
    *,
    resolve_item: ItemResolver,
    resolve_department: DepartmentResolver,
    item_department: ItemResolver | None = None,
    resolve_bundle_items: BundleResolver | None = None,
) -> Definition:
    """Parse and check a definition; raise DefinitionError listing every problem found.

    `resolve_item(code)` gives the canonical item code or None; `resolve_department(ref)` the
    canonical department code or None; `item_department(code)` the department of an item, used
    when a step has no `by`; `resolve_bundle_items(slug)` the item codes of a bundle or None.
    """
    parser = _Parser(
        resolve_item=resolve_item,
        resolve_department=resolve_department,
        item_department=item_department,
        resolve_bundle_items=resolve_bundle_items,
    )
    return parser.parse(text)


def parse_duration(value: str) -> int | None:
    """Working days in `3 workdays`, `1 workday`, `3 工作日`, `3个工作日` or `3`; else None. `0
    workdays` is the same working day (an item handled on the spot)."""
    match = DURATION_RE.match(value.strip())
    if match is None:
        return None
    days = int(match.group(1))
    return days if 0 <= days <= MAX_DUE_WORKDAYS else None


def definition_to_text(defn: Definition) -> str:
    """Write a definition as text that parses back to the same definition.

    Departments are written as their codes, so the department resolver must accept codes.
    """
    lines: list[str] = []
    if defn.title:
        lines.append(f"title: {_quoted(defn.title)}")
    subject = defn.subject if defn.subject_kind == "bundle" else _quoted(defn.subject)
    lines.append(f"{defn.subject_kind}: {subject}")
    if defn.asks:
        lines.append(f"asks: {_flow_list(defn.asks)}")
    if defn.eligible:
        lines.append("eligible:")
        for rule in defn.eligible:
            parts = [f"rule: {_quoted(rule.rule)}"]
            if rule.says:
                parts.append(f"says: {_quoted(rule.says)}")
            if rule.instead:
                parts.append(f"instead: {_quoted(rule.instead)}")
            lines.append(f"  - {{{', '.join(parts)}}}")
    lines.append("steps:")
    for step in defn.steps:
        parts = [f"item: {_quoted(step.item)}", f"by: {_quoted(step.department)}"]
        if step.after:
            parts.append(f"after: {_flow_list(step.after)}")
        if step.needs:
            parts.append(f"needs: {_flow_list(step.needs)}")
        if step.gives:
            parts.append(f"gives: {_flow_list(step.gives)}")
        unit = "workday" if step.due_workdays == 1 else "workdays"
        parts.append(f"due: {step.due_workdays} {unit}")
        if step.label:
            parts.append(f"label: {_quoted(step.label)}")
        lines.append(f"  {step.name}: {{{', '.join(parts)}}}")
    return "\n".join(lines) + "\n"


def _quoted(value: str) -> str:
    dumped = yaml.safe_dump(value, allow_unicode=True, default_style='"', width=1 << 30)
    return dumped.rstrip("\n")


def _flow_list(names: Collection[str]) -> str:
    return "[" + ", ".join(names) + "]"


def _short_tag(tag: str) -> str:
    if tag.startswith(_YAML_TAG_PREFIX):
        return "!!" + tag.removeprefix(_YAML_TAG_PREFIX)
    return tag


@dataclass
class _RawStep:
    name: str
    index: int
    key_node: yaml.Node
    item: str | None = None
    department: str | None = None
    after: list[tuple[str, yaml.Node]] = field(default_factory=list)
    gives: list[tuple[str, yaml.Node]] = field(default_factory=list)
    needs: list[tuple[str, yaml.Node]] = field(default_factory=list)
    due_workdays: int | None = None
    label: str = ""
    item_node: yaml.Node | None = None

    @property
    def line(self) -> int:
        return self.key_node.start_mark.line + 1


class _Parser:
    def __init__(
        self,
        *,
        resolve_item: ItemResolver,
        resolve_department: DepartmentResolver,
        item_department: ItemResolver | None,
        resolve_bundle_items: BundleResolver | None,
    ) -> None:
        self.resolve_item = resolve_item
        self.resolve_department = resolve_department
        self.item_department = item_department
        self.resolve_bundle_items = resolve_bundle_items
        self.errors: list[DefinitionErrorItem] = []

    # Reporting

    def error(self, node: yaml.Node | None, code: str, message: str) -> None:
        if node is None:
            line, column = 1, 1
        else:
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
        self.errors.append(DefinitionErrorItem(line, column, message, code))

    def fail(self) -> DefinitionError:
        return DefinitionError(sorted(self.errors, key=lambda error: (error.line, error.column)))

    # Reading nodes

    def compose(self, text: str) -> yaml.Node | None:
        try:
            # SafeLoader composes nodes only: no object is constructed from any tag.
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or ""
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        except yaml.reader.ReaderError as exc:
            problem = exc.reason
            line = text.count("\n", 0, exc.position) + 1
            column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        except yaml.YAMLError as exc:
            problem, line, column = str(exc), 1, 1
        self.errors.append(
            DefinitionErrorItem(
                line,
                column,
                _("The text is not valid YAML: %(problem)s.") % {"problem": problem},
                "yaml_syntax",
            )
        )
        return None

    def check_tags(self, root: yaml.Node) -> None:
        seen: set[int] = set()
        pending = [root]
        while pending:
            node = pending.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node.tag not in _ALLOWED_TAGS:
                self.error(
                    node,
                    "tag_not_allowed",
                    _("Tags such as “%(tag)s” are not allowed.") % {"tag": _short_tag(node.tag)},
                )
            if isinstance(node, yaml.SequenceNode):
                pending.extend(reversed(node.value))
            elif isinstance(node, yaml.MappingNode):
                for key, value in reversed(node.value):
                    pending.extend((value, key))

    def mapping(
        self, node: yaml.MappingNode, *, allowed: Collection[str] | None
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """Keys of a mapping with their key and value nodes; reports bad, unknown, repeated keys."""
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _NULL_TAG:
                self.error(key_node, "bad_key", _("A key must be a plain name."))
                continue
            key = key_node.value
            if key in entries:
                first_line = entries[key][0].start_mark.line + 1
                self.error(
                    key_node,
                    "duplicate_key",
                    _("Duplicate key “%(key)s”, first given on line %(line)d.")
                    % {"key": key, "line": first_line},
                )
                continue
            entries[key] = (key_node, value_node)
            if allowed is not None and key not in allowed:
                self.error(
                    key_node,
                    "unknown_key",
                    _("Unknown key “%(key)s”. Expected one of: %(expected)s.")
                    % {"key": key, "expected": ", ".join(allowed)},
                )
        return entries

    def scalar(self, node: yaml.Node, key: str) -> str | None:
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _NULL_TAG:
                self.error(node, "empty_value", _("“%(key)s” has no value.") % {"key": key})
                return None
            return node.value
        self.error(
            node,
            "wrong_type",
            _("“%(key)s” must be a single value, not a list or mapping.") % {"key": key},
        )
        return None

    def identifiers(self, node: yaml.Node, key: str) -> list[tuple[str, yaml.Node]]:
        """A list of identifiers with their nodes; reports wrong types, bad and repeated names."""
        if not isinstance(node, yaml.SequenceNode):
            self.error(
                node,
                "wrong_type",
                _("“%(key)s” must be a list, such as [a, b].") % {"key": key},
            )
            return []
        names: list[tuple[str, yaml.Node]] = []
        seen: set[str] = set()
        for entry in node.value:
            value = self.scalar(entry, key)
            if value is None:
                continue
            if not self.check_identifier(entry, value):
                continue
            if value in seen:
                self.error(
                    entry,
                    "listed_twice",
                    _("“%(name)s” is listed twice in “%(key)s”.") % {"name": value, "key": key},
                )
                continue
            seen.add(value)
            names.append((value, entry))
        return names

    def check_identifier(self, node: yaml.Node, value: str) -> bool:
        if IDENTIFIER_RE.match(value):
            return True
        self.error(
            node,
            "bad_name",
            _(
                "“%(name)s” is not a valid name: use lower-case letters, digits and underscores, "
                "starting with a letter."
            )
            % {"name": value},
        )
        return False

    def item(self, node: yaml.Node) -> str | None:
        code = self.scalar(node, "item")
        if code is None:
            return None
        canonical = self.resolve_item(code.strip())
        if canonical is None:
            self.error(node, "unknown_item", _("Unknown item code “%(code)s”.") % {"code": code})
        return canonical

    # The document

    def parse(self, text: str) -> Definition:
        if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
            self.error(
                None,
                "too_long",
                _("The definition is longer than %(limit)d KB; split the workflow.")
                % {"limit": MAX_TEXT_BYTES // 1024},
            )
            raise self.fail()
        root = self.compose(text)
        if self.errors:
            raise self.fail()
        if root is None:
            self.error(None, "empty", _("The definition is empty."))
            raise self.fail()
        self.check_tags(root)
        if not isinstance(root, yaml.MappingNode):
            self.error(
                root, "not_mapping", _("The definition must be a mapping of keys to values.")
            )
            raise self.fail()

        top = self.mapping(root, allowed=TOP_LEVEL_KEYS)
        title = ""
        if "title" in top:
            title = self.scalar(top["title"][1], "title") or ""
        subject_kind, subject, bundle_items = self.subject(root, top)
        asks: list[tuple[str, yaml.Node]] = []
        if "asks" in top:
            asks = self.identifiers(top["asks"][1], "asks")
        eligible = self.eligibility(top["eligible"][1]) if "eligible" in top else []
        raw_steps = self.steps(root, top)
        self.check_needs(raw_steps, {name for name, _node in asks})
        order = self.check_order(raw_steps)
        if bundle_items is not None and subject is not None:
            self.check_bundle(top["bundle"][1], subject, bundle_items, raw_steps)

        if self.errors:
            raise self.fail()
        assert subject_kind is not None and subject is not None and order is not None
        return Definition(
            subject_kind=subject_kind,
            subject=subject,
            asks=tuple(name for name, _node in asks),
            steps=tuple(self.finished_step(raw_steps[name]) for name in order),
            title=title,
            eligible=tuple(eligible),
        )

    def eligibility(self, node: yaml.Node) -> list[Eligibility]:
        """``eligible``: a list of rules, each a rule's text or ``{rule, says, instead}``."""
        if not isinstance(node, yaml.SequenceNode):
            self.error(
                node,
                "wrong_type",
                _("“eligible” must be a list of rules, such as [baby.age_days <= 30]."),
            )
            return []
        if len(node.value) > MAX_RULES:
            self.error(
                node, "too_many_rules", _("At most %(n)d eligibility rules.") % {"n": MAX_RULES}
            )
            return []
        rules: list[Eligibility] = []
        for entry in node.value:
            says = instead = ""
            rule_node: yaml.Node = entry
            if isinstance(entry, yaml.MappingNode):
                fields = self.mapping(entry, allowed=RULE_KEYS)
                if "rule" not in fields:
                    self.error(entry, "no_rule", _("An eligibility entry needs a “rule”."))
                    continue
                rule_node = fields["rule"][1]
                says = (self.scalar(fields["says"][1], "says") or "") if "says" in fields else ""
                instead = (
                    (self.scalar(fields["instead"][1], "instead") or "")
                    if "instead" in fields
                    else ""
                )
            text = self.scalar(rule_node, "eligible")
            if text is None:
                continue
            try:
                parsed = parse_rule(text)
            except RuleError as exc:
                self.error(
                    rule_node,
                    "bad_rule",
                    _("eligibility rule “%(rule)s”: %(problem)s") % {"rule": text, "problem": exc},
                )
                continue
            rules.append(
                Eligibility(
                    rule=parsed.text,
                    says=says.strip(),
                    instead=instead.strip(),
                    line=rule_node.start_mark.line + 1,
                )
            )
        return rules

    def subject(
        self, root: yaml.Node, top: dict[str, tuple[yaml.Node, yaml.Node]]
    ) -> tuple[Literal["bundle", "item"] | None, str | None, Collection[str] | None]:
        if "bundle" in top and "item" in top:
            later = max(top["bundle"][0], top["item"][0], key=lambda node: node.start_mark.index)
            self.error(later, "two_subjects", _("Give either “bundle” or “item”, not both."))
            return None, None, None
        if "item" in top:
            return "item", self.item(top["item"][1]), None
        if "bundle" not in top:
            self.error(root, "no_subject", _("The definition needs a “bundle” or an “item” line."))
            return None, None, None
        node = top["bundle"][1]
        slug = self.scalar(node, "bundle")
        if slug is None:
            return "bundle", None, None
        if not SLUG_RE.match(slug):
            self.error(
                node,
                "bad_bundle",
                _("“%(slug)s” is not a valid bundle slug.") % {"slug": slug},
            )
            return "bundle", None, None
        if self.resolve_bundle_items is None:
            return "bundle", slug, None
        items = self.resolve_bundle_items(slug)
        if items is None:
            self.error(node, "unknown_bundle", _("Unknown bundle “%(slug)s”.") % {"slug": slug})
            return "bundle", None, None
        return "bundle", slug, items

    def steps(
        self, root: yaml.Node, top: dict[str, tuple[yaml.Node, yaml.Node]]
    ) -> dict[str, _RawStep]:
        if "steps" not in top:
            self.error(root, "no_steps", _("The definition needs a “steps” mapping."))
            return {}
        key_node, node = top["steps"]
        if not isinstance(node, yaml.MappingNode):
            self.error(
                node,
                "wrong_type",
                _("“steps” must be a mapping of step names to steps."),
            )
            return {}
        if not node.value:
            self.error(key_node, "no_steps", _("“steps” must list at least one step."))
            return {}
        if len(node.value) > MAX_STEPS:
            self.error(
                key_node,
                "too_many_steps",
                _("Too many steps: %(count)d given, at most %(limit)d allowed.")
                % {"count": len(node.value), "limit": MAX_STEPS},
            )
            return {}
        raw_steps: dict[str, _RawStep] = {}
        for index, (name, (name_node, step_node)) in enumerate(
            self.mapping(node, allowed=None).items()
        ):
            if not self.check_identifier(name_node, name):
                continue
            raw_steps[name] = self.step(name, index, name_node, step_node)
        self.check_after(raw_steps)
        return raw_steps

    def step(self, name: str, index: int, name_node: yaml.Node, node: yaml.Node) -> _RawStep:
        raw = _RawStep(name=name, index=index, key_node=name_node)
        if not isinstance(node, yaml.MappingNode):
            self.error(
                node,
                "wrong_type",
                _("Step “%(step)s” must be a mapping of keys to values.") % {"step": name},
            )
            return raw
        entries = self.mapping(node, allowed=STEP_KEYS)
        if "item" in entries:
            raw.item_node = entries["item"][1]
            raw.item = self.item(raw.item_node)
        else:
            self.error(
                name_node,
                "missing_key",
                _("Step “%(step)s” needs an “item”.") % {"step": name},
            )
        if "by" in entries:
            by_node = entries["by"][1]
            ref = self.scalar(by_node, "by")
            if ref is not None:
                raw.department = self.resolve_department(ref.strip())
                if raw.department is None:
                    self.error(
                        by_node,
                        "unknown_department",
                        _("Unknown department “%(ref)s”.") % {"ref": ref},
                    )
        elif raw.item is not None:
            if self.item_department is not None:
                raw.department = self.item_department(raw.item)
            if raw.department is None:
                self.error(
                    name_node,
                    "missing_key",
                    _("Step “%(step)s” needs “by”: the department of item “%(code)s” is not known.")
                    % {"step": name, "code": raw.item},
                )
        for key in ("after", "gives", "needs"):
            if key in entries:
                setattr(raw, key, self.identifiers(entries[key][1], key))
        if "due" in entries:
            raw.due_workdays = self.due(entries["due"][1])
        else:
            self.error(
                name_node,
                "missing_key",
                _("Step “%(step)s” needs a “due” time in working days, such as “3 workdays”.")
                % {"step": name},
            )
        if "label" in entries:
            raw.label = (self.scalar(entries["label"][1], "label") or "").strip()
        return raw

    def due(self, node: yaml.Node) -> int | None:
        value = self.scalar(node, "due")
        if value is None:
            return None
        days = parse_duration(value)
        if days is None:
            self.error(
                node,
                "bad_duration",
                _(
                    "Bad duration “%(value)s”: write a number of working days from 0 (the "
                    "same working day) to %(limit)d, such as “3 workdays”."
                )
                % {"value": value, "limit": MAX_DUE_WORKDAYS},
            )
        return days

    # Relations between steps

    def check_after(self, raw_steps: dict[str, _RawStep]) -> None:
        """Drop `after` entries naming no step, reporting each."""
        for raw in raw_steps.values():
            kept = []
            for before, node in raw.after:
                if before == raw.name:
                    self.error(
                        node,
                        "after_itself",
                        _("Step “%(step)s” cannot come after itself.") % {"step": raw.name},
                    )
                elif before not in raw_steps:
                    self.error(
                        node,
                        "unknown_step",
                        _("Step “%(step)s” comes after “%(after)s”, which is not a step.")
                        % {"step": raw.name, "after": before},
                    )
                else:
                    kept.append((before, node))
            raw.after = kept

    def check_order(self, raw_steps: dict[str, _RawStep]) -> list[str] | None:
        """Steps in topological order, ties by text order; None (with errors) on a cycle."""
        for component in _strongly_connected(raw_steps):
            if len(component) > 1:
                path = _cycle_path(raw_steps, component)
                self.error(
                    raw_steps[path[0]].key_node,
                    "cycle",
                    _("Steps form a cycle: %(path)s.") % {"path": " → ".join(path)},
                )
        if self.errors:
            return None
        waiting = {name: len(raw.after) for name, raw in raw_steps.items()}
        followers: dict[str, list[str]] = {name: [] for name in raw_steps}
        for raw in raw_steps.values():
            for before, _node in raw.after:
                followers[before].append(raw.name)
        ready = [(raw.index, name) for name, raw in raw_steps.items() if not raw.after]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _index, name = heapq.heappop(ready)
            order.append(name)
            for follower in followers[name]:
                waiting[follower] -= 1
                if waiting[follower] == 0:
                    heapq.heappush(ready, (raw_steps[follower].index, follower))
        return order

    def check_needs(self, raw_steps: dict[str, _RawStep], asked: set[str]) -> None:
        givers: dict[str, list[str]] = {}
        for raw in sorted(raw_steps.values(), key=lambda raw: raw.index):
            for given, _node in raw.gives:
                givers.setdefault(given, []).append(raw.name)
        for raw in raw_steps.values():
            before = _ancestors(raw_steps, raw.name)
            for need, node in raw.needs:
                candidates = givers.get(need, [])
                if any(giver in before for giver in candidates):
                    continue
                others = [giver for giver in candidates if giver != raw.name]
                values = {"step": raw.name, "field": need}
                if others:
                    self.error(
                        node,
                        "need_not_ordered",
                        _(
                            "Step “%(step)s” needs “%(field)s”, which step “%(giver)s” gives: "
                            "add “%(giver)s” to the “after” list of “%(step)s”."
                        )
                        % {**values, "giver": others[0]},
                    )
                elif candidates:
                    self.error(
                        node,
                        "need_own",
                        _("Step “%(step)s” needs “%(field)s”, which it gives itself.") % values,
                    )
                elif need in asked:
                    self.error(
                        node,
                        "need_asked",
                        _(
                            "Step “%(step)s” needs “%(field)s”, which the citizen is asked for: "
                            "every step sees the asked fields, so leave it out of “needs”."
                        )
                        % values,
                    )
                else:
                    self.error(
                        node,
                        "unresolved_need",
                        _("Step “%(step)s” needs “%(field)s”, but no step gives it.") % values,
                    )

    def check_bundle(
        self,
        bundle_node: yaml.Node,
        slug: str,
        bundle_items: Collection[str],
        raw_steps: dict[str, _RawStep],
    ) -> None:
        members = set(bundle_items)
        for raw in raw_steps.values():
            if raw.item is not None and raw.item not in members:
                self.error(
                    raw.item_node,
                    "not_in_bundle",
                    _("Item “%(code)s” is not part of bundle “%(bundle)s”.")
                    % {"code": raw.item, "bundle": slug},
                )
        covered = {raw.item for raw in raw_steps.values()}
        for code in bundle_items:
            if code not in covered:
                self.error(
                    bundle_node,
                    "bundle_item_uncovered",
                    _("Bundle “%(bundle)s” includes item “%(code)s”, which no step handles.")
                    % {"bundle": slug, "code": code},
                )

    def finished_step(self, raw: _RawStep) -> Step:
        assert raw.item is not None and raw.department is not None
        assert raw.due_workdays is not None
        return Step(
            name=raw.name,
            item=raw.item,
            department=raw.department,
            after=tuple(name for name, _node in raw.after),
            gives=tuple(name for name, _node in raw.gives),
            needs=tuple(name for name, _node in raw.needs),
            due_workdays=raw.due_workdays,
            label=raw.label,
            line=raw.line,
        )


def _ancestors(raw_steps: dict[str, _RawStep], name: str) -> set[str]:
    seen: set[str] = set()
    pending = [before for before, _node in raw_steps[name].after]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(before for before, _node in raw_steps[current].after)
    return seen


def _strongly_connected(raw_steps: dict[str, _RawStep]) -> Iterator[list[str]]:
    """Tarjan's components of the `after` graph (edges run from a step to the ones after it)."""
    followers: dict[str, list[str]] = {name: [] for name in raw_steps}
    for raw in raw_steps.values():
        for before, _node in raw.after:
            followers[before].append(raw.name)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for follower in followers[name]:
            if follower not in index:
                visit(follower)
                low[name] = min(low[name], low[follower])
            elif follower in on_stack:
                low[name] = min(low[name], index[follower])
        if low[name] == index[name]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == name:
                    break
            components.append(component)

    for name in raw_steps:
        if name not in index:
            visit(name)
    yield from components


def _cycle_path(raw_steps: dict[str, _RawStep], component: list[str]) -> list[str]:
    """A shortest cycle through the earliest-written step of a component, closed on itself."""
    members = set(component)
    start = min(component, key=lambda name: raw_steps[name].index)
    followers: dict[str, list[str]] = {name: [] for name in members}
    for name in sorted(members, key=lambda name: raw_steps[name].index):
        for before, _node in raw_steps[name].after:
            if before in members:
                followers[before].append(name)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        next_frontier = []
        for current in frontier:
            for follower in followers[current]:
                if follower == start:
                    path = [start]
                    step = current
                    while step != start:
                        path.append(step)
                        step = came_from[step]
                    return [start, *reversed(path[1:]), start]
                if follower not in came_from:
                    came_from[follower] = current
                    next_frontier.append(follower)
        frontier = next_frontier
    raise AssertionError("a strongly connected component always holds a cycle")

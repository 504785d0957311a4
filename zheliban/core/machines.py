"""State machines as data: each machine's moves are a table declared next to its model.

A ``Transition`` row names an action, the states it may start from, the state or states it may
lead to (none: the state stays as it is) and who makes it. The machine's chokepoint asks the
table before it changes anything (``Machine.require`` refuses a move the table does not list
with ``Conflict`` and the app's ``wrong_state`` code) and checks any state it computed against
it (``Machine.require_target``). The same table is drawn in admin (``Machine.drawing``) and
listed in the README (``markdown``), so the code, the pictures and the docs cannot drift apart.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import override

from .errors import Conflict, Refused

# The kind of actor of the moves the services make on their own (readiness, derived statuses).
SYSTEM = "system"
# ``targets`` of a move that leaves the state as it is (a claim, an assisting department's sign).
STAY: tuple[str, ...] = ()

_MACHINES: dict[str, Machine] = {}


@dataclass(frozen=True)
class Transition:
    """One row of a machine's table. ``when`` says what picks the target among several."""

    action: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    who: str
    when: str | Promise = ""

    def __post_init__(self) -> None:
        for name in ("sources", "targets"):
            value = getattr(self, name)
            values = (value,) if isinstance(value, str) else tuple(value)
            object.__setattr__(self, name, tuple(str(v) for v in values))

    def targets_from(self, source: str) -> tuple[str, ...]:
        return self.targets or (source,)


class Machine:
    """A state field's table of moves and the questions its chokepoint asks of it."""

    def __init__(
        self,
        *,
        name: str,
        title: str | Promise,
        model: str,
        field: str,
        states: type[models.TextChoices],
        who: Mapping[str, str | Promise],
        transitions: Iterable[Transition],
        code: str,
        refusal: str | Promise,
    ) -> None:
        self.name = name
        self.title = title
        self.model = model
        self.field = field
        self.state_choices = states
        self.states: tuple[str, ...] = tuple(str(v) for v in states.values)
        self.who_labels = dict(who)
        self.transitions = tuple(transitions)
        self.code = code
        self.refusal_message = refusal
        self._check()
        if name in _MACHINES:
            raise ValueError(f"Two state machines are named {name}.")
        _MACHINES[name] = self

    def __repr__(self) -> str:
        return f"<Machine {self.name}>"

    def _check(self) -> None:
        seen: set[tuple[str, str, str]] = set()
        for row in self.transitions:
            unknown = [s for s in (*row.sources, *row.targets) if s not in self.states]
            if unknown or not row.sources:
                raise ValueError(f"{self.name}: {row.action} names unknown states {unknown}.")
            if row.who not in self.who_labels:
                raise ValueError(f"{self.name}: {row.action} is made by unknown {row.who!r}.")
            for source in row.sources:
                key = (source, row.action, row.who)
                if key in seen:
                    raise ValueError(f"{self.name}: {key} is listed twice.")
                seen.add(key)

    # ---------------------------------------------------------------- questions

    def rows(
        self, *, state: str | None = None, action: str | None = None, who: str | None = None
    ) -> list[Transition]:
        return [
            row
            for row in self.transitions
            if (state is None or state in row.sources)
            and (action is None or row.action == action)
            and (who is None or row.who == who)
        ]

    def actions(self, *, exclude: Iterable[str] = ()) -> tuple[str, ...]:
        """The actions in the table's order, leaving out those only ``exclude`` make."""
        excluded = set(exclude)
        return tuple(
            dict.fromkeys(row.action for row in self.transitions if row.who not in excluded)
        )

    def who(self, action: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(row.who for row in self.rows(action=action)))

    def sources(self, action: str, *, who: str | None = None) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(s for row in self.rows(action=action, who=who) for s in row.sources)
        )

    def allowed(self, state: str, action: str, *, who: str | None = None) -> bool:
        return bool(self.rows(state=state, action=action, who=who))

    def targets(self, state: str, action: str, *, who: str | None = None) -> tuple[str, ...]:
        """Where ``action`` may lead from ``state`` (empty: it may not be made there)."""
        return tuple(
            dict.fromkeys(
                t
                for row in self.rows(state=state, action=action, who=who)
                for t in row.targets_from(state)
            )
        )

    def target(
        self,
        state: str,
        action: str,
        *,
        who: str | None = None,
        to: str | None = None,
        refuse: Callable[[], Refused] | None = None,
    ) -> str:
        """The state ``action`` leads to from ``state``, as the chokepoint's one question: a move
        the table does not list is refused as ``require`` refuses it; ``to`` (the target the
        chokepoint computed, where the table offers several) is refused unless the table lists
        it; without ``to`` the table must give one target only."""
        targets = self.require(state, action, who=who, refuse=refuse)
        if to is not None:
            self.require_target(state, action, to, who=who)
            return to
        if len(targets) != 1:
            raise ValueError(
                f"{self.name}: {action} from {state} leads to any of {targets}; say which."
            )
        return targets[0]

    def pairs(self) -> set[tuple[str, str]]:
        """Every (state, action) the table allows, whoever makes it."""
        return {(s, row.action) for row in self.transitions for s in row.sources}

    def state_label(self, state: str) -> str:
        try:
            return str(self.state_choices(state).label)
        except ValueError:
            return state

    # ---------------------------------------------------------------- refusals

    def refusal(self, state: str) -> Conflict:
        return Conflict(
            str(self.refusal_message) % {"state": self.state_label(state)}, code=self.code
        )

    def require(
        self,
        state: str,
        action: str,
        *,
        who: str | None = None,
        refuse: Callable[[], Refused] | None = None,
    ) -> tuple[str, ...]:
        """The targets of ``action`` from ``state``; when the table does not allow it, raises
        what ``refuse`` makes (the chokepoint's own words) or else the machine's ``Conflict``."""
        targets = self.targets(state, action, who=who)
        if not targets:
            raise refuse() if refuse is not None else self.refusal(state)
        return targets

    def require_target(
        self, state: str, action: str, target: str, *, who: str | None = None
    ) -> None:
        """Refuse a move to a ``target`` the chokepoint computed when the table does not list it
        among the targets of ``action`` from ``state``."""
        if target not in self.targets(state, action, who=who):
            raise Conflict(
                _("“%(source)s” cannot become “%(target)s” by “%(action)s”.")
                % {
                    "source": self.state_label(state),
                    "target": self.state_label(target),
                    "action": action,
                },
                code=self.code,
            )

    # ---------------------------------------------------------------- drawings and docs

    def edges(self) -> list[tuple[str, str, str, str]]:
        """(source, target, action, who) of every move that changes the state, in table order."""
        return list(
            dict.fromkeys(
                (source, target, row.action, row.who)
                for row in self.transitions
                for source in row.sources
                for target in row.targets_from(source)
                if target != source
            )
        )

    def stays(self) -> dict[str, list[str]]:
        """For each state, the actions that leave it as it is."""
        found: dict[str, list[str]] = {}
        for row in self.transitions:
            for source in row.sources:
                if source in row.targets_from(source) and row.action not in found.get(source, []):
                    found.setdefault(source, []).append(row.action)
        return found

    def drawing(self, *, action_labels: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What admin shows of the machine: its title, the graph and the table."""
        return {
            "name": self.name,
            "title": self.title,
            "svg": render_svg(self, action_labels=action_labels or {}),
            "table": render_table(self, action_labels=action_labels or {}),
        }

    def markdown(self) -> str:
        lines = [
            f"### {self.title} (`{self.model}.{self.field}`)",
            "",
            "| From | Action | To | Who |",
            "| --- | --- | --- | --- |",
        ]
        for row in self.transitions:
            sources = ", ".join(f"`{s}`" for s in row.sources)
            targets = " or ".join(f"`{t}`" for t in row.targets) or "(stays)"
            if row.when:
                targets += f": {row.when}"
            lines.append(f"| {sources} | `{row.action}` | {targets} | {row.who} |")
        return "\n".join(lines)


def machines() -> list[Machine]:
    """Every machine declared, in the order the apps declared them."""
    return list(_MACHINES.values())


def markdown() -> str:
    """The README's listing of every machine, in English."""
    with override("en"):
        return "\n\n".join(machine.markdown() for machine in machines())


class MachineChangelist:
    """A ModelAdmin mixin: the changelist ends with the graphs and tables of ``machines``."""

    change_list_template = "admin/state_machines/change_list.html"
    machines: tuple[Machine, ...] = ()
    machine_action_labels: Mapping[str, Any] = {}

    def changelist_view(self, request, extra_context=None):
        drawings = [m.drawing(action_labels=self.machine_action_labels) for m in self.machines]
        return super().changelist_view(  # type: ignore[misc]
            request, {**(extra_context or {}), "state_machines": drawings}
        )


# ---------------------------------------------------------------- the table in HTML


def render_table(machine: Machine, *, action_labels: Mapping[str, Any]) -> SafeString:
    def states(values: Iterable[str]) -> SafeString:
        return format_html_join(
            ", ", "{} <code>{}</code>", ((machine.state_label(v), v) for v in values)
        )

    def action(code: str) -> SafeString:
        label = action_labels.get(code)
        return (
            format_html("{} <code>{}</code>", label, code)
            if label
            else format_html("<code>{}</code>", code)
        )

    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                states(row.sources),
                action(row.action),
                states(row.targets) if row.targets else _("stays as it is"),
                machine.who_labels[row.who],
                row.when,
            )
            for row in machine.transitions
        ),
    )
    return format_html(
        '<table class="state-machine-table"><caption>{}</caption><thead><tr>'
        '<th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th>'
        '<th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>{}</tbody></table>',
        _("Every move of “%(machine)s” the services allow") % {"machine": machine.title},
        _("From"),
        _("Action"),
        _("To"),
        _("Who"),
        _("When"),
        rows,
    )


# ---------------------------------------------------------------- the graph in SVG

BOX_WIDTH = 230
BOX_HEIGHT = 44
ROW_GAP = 26
MARGIN = 16
ARC_BASE = 36
ARC_STEP = 30
LABEL_LINE = 13
UNIT_PX = 6  # one Latin character at the label's size; a CJK one is two units

INK = "#1f2937"
MUTED = "#4b5563"
EDGE = "#6b7280"
BOX_FILL = "#ffffff"
FINAL_FILL = "#f3f4f6"

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    return html.escape(_NOT_XML.sub("", str(value)), quote=True)


def _units(text: str) -> int:
    return sum(2 if ord(char) >= 0x2E80 else 1 for char in text)


def _fit(text: str, limit: int) -> str:
    if _units(text) <= limit:
        return text
    kept, used = [], 1
    for char in text:
        used += _units(char)
        if used > limit:
            break
        kept.append(char)
    return "".join(kept) + "…"


@dataclass
class _Arc:
    source: int
    target: int
    label: str
    tooltip: str
    back: bool
    level: int = 0
    y1: float = 0
    y2: float = 0

    @property
    def low(self) -> int:
        return min(self.source, self.target)

    @property
    def high(self) -> int:
        return max(self.source, self.target)


def _arcs(machine: Machine, action_labels: Mapping[str, Any]) -> list[_Arc]:
    """One arc per (source, target): forward moves on the right, moves back on the left."""
    index = {state: i for i, state in enumerate(machine.states)}
    grouped: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for source, target, action, who in machine.edges():
        grouped.setdefault((source, target), []).append((action, who))
    arcs = []
    for (source, target), moves in grouped.items():
        actions = list(dict.fromkeys(str(action_labels.get(a, a)) for a, _who in moves))
        tooltip = "; ".join(
            f"{machine.state_label(source)} → {machine.state_label(target)}: "
            f"{action_labels.get(a, a)} ({machine.who_labels[w]})"
            for a, w in moves
        )
        arcs.append(
            _Arc(
                index[source],
                index[target],
                _fit(", ".join(actions), 34),
                tooltip,
                back=index[target] < index[source],
            )
        )
    for back in (False, True):
        placed: list[_Arc] = []
        for arc in sorted(
            (a for a in arcs if a.back == back), key=lambda a: (a.high - a.low, a.low)
        ):
            level = 0
            while any(
                other.level == level and arc.low < other.high and other.low < arc.high
                for other in placed
            ):
                level += 1
            arc.level = level
            placed.append(arc)
    return arcs


def _anchor_rows(arcs: list[_Arc]) -> None:
    """Spread the arcs meeting one side of one box over its height, the nearest ends first."""
    ends: dict[tuple[int, bool], list[tuple[float, _Arc, str]]] = {}
    for arc in arcs:
        ends.setdefault((arc.source, arc.back), []).append((arc.target, arc, "y1"))
        ends.setdefault((arc.target, arc.back), []).append((arc.source, arc, "y2"))
    for (row, _back), items in ends.items():
        items.sort(key=lambda item: (item[0], item[1].level))
        top = MARGIN + row * (BOX_HEIGHT + ROW_GAP)
        for position, (_other, arc, end) in enumerate(items, start=1):
            setattr(arc, end, top + BOX_HEIGHT * position / (len(items) + 1))


def render_svg(machine: Machine, *, action_labels: Mapping[str, Any]) -> SafeString:
    """The machine as an inline SVG: the states top to bottom in the table's order, each move
    an arc (back moves dashed, on the left) and each state's moves that leave it as it is
    written in its box. Safe under the CSP: presentation attributes only, all text escaped."""
    arcs = _arcs(machine, action_labels)
    _anchor_rows(arcs)
    stays = machine.stays()
    finals = {state for state in machine.states if not any(e[0] == state for e in machine.edges())}

    def reach(side: bool) -> int:
        widths = [
            round(0.75 * (ARC_BASE + arc.level * ARC_STEP)) + 8 + _units(arc.label) * UNIT_PX
            for arc in arcs
            if arc.back == side
        ]
        return max(widths, default=0)

    left, right = reach(True), reach(False)
    box_x = MARGIN + left
    width = box_x + BOX_WIDTH + right + MARGIN
    height = 2 * MARGIN + len(machine.states) * (BOX_HEIGHT + ROW_GAP) - ROW_GAP
    prefix = "sm-" + re.sub(r"[^a-z0-9]+", "-", machine.name.lower())

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="state-machine" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{prefix}-title {prefix}-desc" '
        f'font-family="system-ui, -apple-system, &quot;Noto Sans SC&quot;, sans-serif">',
        f'<title id="{prefix}-title">{_text(machine.title)}</title>',
        f'<desc id="{prefix}-desc">{_text(_describe(machine, action_labels))}</desc>',
        f'<defs><marker id="{prefix}-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        f'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{EDGE}"/></marker></defs>',
    ]
    taken: list[tuple[float, float, float, float]] = []
    for arc in arcs:
        reach_x = ARC_BASE + arc.level * ARC_STEP
        if arc.back:
            x, bend, apex = box_x, box_x - reach_x, box_x - 0.75 * reach_x
        else:
            x = box_x + BOX_WIDTH
            bend, apex = x + reach_x, x + 0.75 * reach_x
        label_width = _units(arc.label) * UNIT_PX
        label_x = apex - 4 - label_width if arc.back else apex + 4
        label_y = (arc.y1 + arc.y2) / 2 + 4
        for _try in range(8):
            box = (label_x, label_y - LABEL_LINE + 3, label_x + label_width, label_y + 3)
            if not any(
                box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3] for t in taken
            ):
                break
            label_y += LABEL_LINE
        taken.append(box)
        dash = ' stroke-dasharray="5 3"' if arc.back else ""
        parts.append(
            f'<g class="state-machine-move"><title>{_text(arc.tooltip)}</title>'
            f'<path d="M{x},{arc.y1:.1f} C{bend},{arc.y1:.1f} {bend},{arc.y2:.1f} {x},{arc.y2:.1f}"'
            f' fill="none" stroke="{EDGE}" stroke-width="1.5"{dash} '
            f'marker-end="url(#{prefix}-arrow)"/>'
            f'<text x="{label_x:.0f}" y="{label_y:.0f}" font-size="11" fill="{INK}" '
            f'stroke="#ffffff" stroke-width="4" stroke-linejoin="round" paint-order="stroke">'
            f"{_text(arc.label)}</text></g>"
        )
    for row, state in enumerate(machine.states):
        y = MARGIN + row * (BOX_HEIGHT + ROW_GAP)
        detail = state
        if state in stays:
            detail += " · " + ", ".join(str(action_labels.get(a, a)) for a in stays[state])
        parts.append(
            f'<g class="state-machine-state"><title>{_text(machine.state_label(state))}</title>'
            f'<rect x="{box_x}" y="{y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="8" ry="8" '
            f'fill="{FINAL_FILL if state in finals else BOX_FILL}" stroke="{MUTED}" '
            f'stroke-width="{2.5 if state in finals else 1.5}"/>'
            f'<text x="{box_x + 10}" y="{y + 18}" font-size="13" font-weight="600" fill="{INK}">'
            f"{_text(_fit(machine.state_label(state), 34))}</text>"
            f'<text x="{box_x + 10}" y="{y + 35}" font-size="11" fill="{MUTED}">'
            f"{_text(_fit(detail, 36))}</text></g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above goes through _text


def _describe(machine: Machine, action_labels: Mapping[str, Any]) -> str:
    """The graph in words, for people who cannot see it."""
    sentences = [
        _("%(states)d states, %(moves)d moves; the table below lists each of them.")
        % {"states": len(machine.states), "moves": len(machine.edges())}
    ]
    for source, target, action, who in machine.edges():
        sentences.append(
            _("%(action)s: %(source)s → %(target)s, by %(who)s.")
            % {
                "action": action_labels.get(action, action),
                "source": machine.state_label(source),
                "target": machine.state_label(target),
                "who": machine.who_labels[who],
            }
        )
    return " ".join(sentences)


if __name__ == "__main__":  # the README's listing: .venv/bin/python -m zheliban.core.machines
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zheliban.settings")
    django.setup()
    # run as a script this file is ``__main__``; the apps declared their machines in the module
    from zheliban.core.machines import markdown as listing

    print(listing())

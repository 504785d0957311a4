"""Draw a workflow definition as an inline SVG.

The drawing is self-contained and safe under a strict Content Security Policy: no scripts, no
external assets and no style attributes, only presentation attributes and class names. Steps are
boxes in columns by their longest distance from a start; arrows follow `after`, labelled with the
fields that travel along them.
"""

from __future__ import annotations

import html
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .definition import Definition, Step

BOX_WIDTH = 216
BOX_HEIGHT = 76
STATE_HEIGHT = 18
COLUMN_GAP = 150
ROW_GAP = 28
MARGIN = 16
LINE_HEIGHT = 14

# Text widths are estimated in "units": one for a Latin character, two for a CJK one.
TITLE_UNITS = 27
DETAIL_UNITS = 31
EDGE_LABEL_UNITS = 23

INK = "#1f2937"
MUTED = "#4b5563"
EDGE = "#6b7280"
# (fill, border, state text); every state text keeps a 4.5:1 contrast on its fill.
DEFAULT_COLOURS = ("#ffffff", "#4b5563", INK)
_WAITING = ("#f1f5f9", "#94a3b8", "#475569")
_ACTIVE = ("#e0f2fe", "#0369a1", "#075985")
_CORRECTION = ("#fef3c7", "#b45309", "#92400e")
_DONE = ("#dcfce7", "#15803d", "#166534")
_REJECTED = ("#fee2e2", "#b91c1c", "#991b1b")
_STOPPED = ("#f3f4f6", "#6b7280", "#4b5563")
STATE_COLOURS: dict[str, tuple[str, str, str]] = {
    "waiting": _WAITING,
    "pending": _WAITING,
    "ready": _ACTIVE,
    "open": _ACTIVE,
    "accepted": _ACTIVE,
    "in_progress": _ACTIVE,
    "correction": _CORRECTION,
    "needs_correction": _CORRECTION,
    "completed": _DONE,
    "done": _DONE,
    "rejected": _REJECTED,
    "cancelled": _STOPPED,
    "skipped": _STOPPED,
}


def _state_labels() -> dict[str, str]:
    return {
        "waiting": _("Waiting"),
        "pending": _("Waiting"),
        "ready": _("Ready"),
        "open": _("Ready"),
        "accepted": _("Accepted"),
        "in_progress": _("In progress"),
        "correction": _("Correction requested"),
        "needs_correction": _("Correction requested"),
        "completed": _("Completed"),
        "done": _("Completed"),
        "rejected": _("Rejected"),
        "cancelled": _("Cancelled"),
        "skipped": _("Skipped"),
    }


@dataclass(frozen=True)
class _Box:
    step: Step
    x: int
    y: int
    height: int


def render_svg(
    defn: Definition,
    *,
    names: Mapping[str, str] | None = None,
    states: Mapping[str, str] | None = None,
) -> str:
    """The definition as an SVG document fragment; all text in it is escaped.

    `names` maps department codes to display names; `states` maps step names to task states,
    which colour the boxes and are also written in them, so colour is never the only signal.
    """
    names = names or {}
    states = states or {}
    labels = _state_labels()
    prefix = f"wf{zlib.crc32(repr(defn).encode('utf-8')):08x}"
    box_height = BOX_HEIGHT + (STATE_HEIGHT if states else 0)
    boxes = _layout(defn, box_height)
    depth_count = max(defn.depths().values(), default=0) + 1
    rows = max((box.y for box in boxes.values()), default=0) + box_height
    width = 2 * MARGIN + depth_count * BOX_WIDTH + (depth_count - 1) * COLUMN_GAP
    height = rows + 2 * MARGIN

    def state_label(state: str) -> str:
        return labels.get(state, state.replace("_", " "))

    title = defn.title or (
        _("Workflow for bundle “%(subject)s”")
        if defn.subject_kind == "bundle"
        else _("Workflow for item “%(subject)s”")
    ) % {"subject": defn.subject}
    description = _describe(defn, names, {key: state_label(value) for key, value in states.items()})

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{prefix}-title {prefix}-desc" '
        f'font-family="system-ui, -apple-system, &quot;Noto Sans SC&quot;, sans-serif">',
        f'<title id="{prefix}-title">{_text(title)}</title>',
        f'<desc id="{prefix}-desc">{_text(description)}</desc>',
        "<defs>",
        f'<marker id="{prefix}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        f'markerHeight="8" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{EDGE}"/></marker>',
        "</defs>",
        '<g class="workflow-edges">',
    ]
    for step in defn.steps:
        flowing = _data_by_edge(defn, step)
        for before in step.after:
            parts.append(_edge(boxes[before], boxes[step.name], flowing[before], prefix))
    parts.append("</g>")
    parts.append('<g class="workflow-steps">')
    for step in defn.steps:
        state = states.get(step.name)
        parts.append(
            _box(
                boxes[step.name],
                prefix=prefix,
                department=names.get(step.department, step.department),
                state=state,
                state_text=state_label(state) if state else "",
            )
        )
    parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _data_by_edge(defn: Definition, step: Step) -> dict[str, list[str]]:
    """The fields `step` needs, each on the first incoming edge its giver is reached through."""
    flowing: dict[str, list[str]] = {before: [] for before in step.after}
    for need, giver in defn.data_sources(step.name).items():
        for before in step.after:
            if giver == before or giver in defn.ancestors(before):
                flowing[before].append(need)
                break
    return flowing


def _layout(defn: Definition, box_height: int) -> dict[str, _Box]:
    """Columns by depth; within a column, order by the rows of the steps before, then by text."""
    depths = defn.depths()
    columns: dict[int, list[Step]] = {}
    for step in defn.steps:
        columns.setdefault(depths[step.name], []).append(step)
    tallest = max(len(column) for column in columns.values())
    row_of: dict[str, float] = {}
    boxes: dict[str, _Box] = {}
    for depth in sorted(columns):
        column = columns[depth]
        if depth:
            column = sorted(
                column,
                key=lambda step: sum(row_of[name] for name in step.after) / len(step.after),
            )
        offset = (tallest - len(column)) / 2
        for row, step in enumerate(column):
            row_of[step.name] = row + offset
            boxes[step.name] = _Box(
                step=step,
                x=MARGIN + depth * (BOX_WIDTH + COLUMN_GAP),
                y=MARGIN + round((row + offset) * (box_height + ROW_GAP)),
                height=box_height,
            )
    return boxes


def _box(box: _Box, *, prefix: str, department: str, state: str | None, state_text: str) -> str:
    step = box.step
    fill, stroke, state_ink = STATE_COLOURS.get(state or "", DEFAULT_COLOURS)
    classes = "workflow-step"
    if state:
        classes += " workflow-state-" + "".join(
            char if char.isascii() and (char.isalnum() or char in "-_") else "-" for char in state
        )
    due = ngettext("%(count)d working day", "%(count)d working days", step.due_workdays) % {
        "count": step.due_workdays
    }
    tooltip = step.display_name if not step.label else f"{step.label} ({step.name})"
    x, y = box.x, box.y
    lines = [
        f'<g class="{_attr(classes)}" id="{prefix}-step-{_attr(step.name)}">',
        f"<title>{_text(tooltip)}</title>",
        f'<rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{box.height}" rx="8" ry="8" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>',
        f'<text x="{x + 12}" y="{y + 22}" font-size="14" font-weight="600" fill="{INK}">'
        f"{_text(_fit(step.display_name, TITLE_UNITS))}</text>",
        f'<text x="{x + 12}" y="{y + 22 + LINE_HEIGHT + 6}" font-size="12" fill="{MUTED}">'
        f"{_text(_fit(department, DETAIL_UNITS))}</text>",
        f'<text x="{x + 12}" y="{y + 22 + 2 * (LINE_HEIGHT + 6)}" font-size="12" fill="{MUTED}">'
        f"{_text(_fit(due, DETAIL_UNITS))}</text>",
    ]
    if state_text:
        lines.append(
            f'<text x="{x + 12}" y="{y + 22 + 3 * (LINE_HEIGHT + 6)}" font-size="12" '
            f'font-weight="600" fill="{state_ink}">{_text(_fit(state_text, DETAIL_UNITS))}</text>'
        )
    lines.append("</g>")
    return "".join(lines)


def _edge(source: _Box, target: _Box, fields: Sequence[str], prefix: str) -> str:
    x1, y1 = source.x + BOX_WIDTH, source.y + source.height // 2
    x2, y2 = target.x, target.y + target.height // 2
    bend = max(40, (x2 - x1) // 2)
    path = (
        f'<path d="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}" fill="none" '
        f'stroke="{EDGE}" stroke-width="1.5" marker-end="url(#{prefix}-arrow)"/>'
    )
    edge_name = f"{source.step.name} → {target.step.name}"
    if not fields:
        return f'<g class="workflow-edge"><title>{_text(edge_name)}</title>{path}</g>'
    mid_x, mid_y = (x1 + x2) // 2, (y1 + y2) // 2
    first_y = mid_y - (len(fields) - 1) * LINE_HEIGHT // 2 - 4
    spans = "".join(
        f'<tspan x="{mid_x}" y="{first_y + index * LINE_HEIGHT}">'
        f"{_text(_fit(name, EDGE_LABEL_UNITS))}</tspan>"
        for index, name in enumerate(fields)
    )
    label = (
        f'<text class="workflow-edge-label" text-anchor="middle" font-size="11" fill="{INK}" '
        f'stroke="#ffffff" stroke-width="4" stroke-linejoin="round" paint-order="stroke">'
        f"{spans}</text>"
    )
    tooltip = f"{edge_name}: {', '.join(fields)}"
    return f'<g class="workflow-edge"><title>{_text(tooltip)}</title>{path}{label}</g>'


def _describe(defn: Definition, names: Mapping[str, str], states: Mapping[str, str]) -> str:
    """The diagram in words, step by step in order, for people who cannot see it."""
    sentences = [
        ngettext(
            "%(count)d step; the longest chain takes %(days)d working days.",
            "%(count)d steps; the longest chain takes %(days)d working days.",
            len(defn.steps),
        )
        % {"count": len(defn.steps), "days": defn.critical_path_workdays()}
    ]
    for position, step in enumerate(defn.steps, start=1):
        due = ngettext("%(count)d working day", "%(count)d working days", step.due_workdays) % {
            "count": step.due_workdays
        }
        details = [names.get(step.department, step.department), due]
        if step.after:
            after = ", ".join(defn.step(name).display_name for name in step.after)
            details.append(_("after %(steps)s") % {"steps": after})
        else:
            details.append(_("starts at once"))
        if step.needs:
            details.append(_("needs %(fields)s") % {"fields": ", ".join(step.needs)})
        if step.gives:
            details.append(_("gives %(fields)s") % {"fields": ", ".join(step.gives)})
        if step.name in states:
            details.append(_("state: %(state)s") % {"state": states[step.name]})
        sentences.append(
            _("%(position)d. %(step)s: %(details)s.")
            % {"position": position, "step": step.display_name, "details": "; ".join(details)}
        )
    return " ".join(sentences)


def _units(char: str) -> int:
    return 2 if ord(char) >= 0x2E80 else 1


def _fit(text: str, limit: int) -> str:
    """`text`, cut with an ellipsis when wider than `limit` units."""
    if sum(_units(char) for char in text) <= limit:
        return text
    kept, used = [], 1
    for char in text:
        used += _units(char)
        if used > limit:
            break
        kept.append(char)
    return "".join(kept) + "…"


# Characters XML 1.0 forbids even when escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("", value))


def _attr(value: str) -> str:
    return html.escape(_NOT_XML.sub("", value), quote=True)

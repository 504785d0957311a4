"""Chart geometry for the board's inline SVG (drawn by templates, no script: the CSP forbids it).

Each function turns figures into coordinates and labels only; the templates give every chart a
title and point to the table with the same figures, which is the chart's text alternative.
"""

from __future__ import annotations

WIDTH = 320
BAR_ROW = 34
BAR_LIMIT = 20
LINE_HEIGHT = 170
LINE_LEFT = 36
LINE_BOTTOM = 22
LINE_TOP = 10


def bar_chart(
    rows: list[tuple[str, float | None, str]],
    *,
    key: str,
    title: str,
    peak: float = 100.0,
    target: float | None = None,
    target_label: str = "",
) -> dict:
    """Horizontal bars, a label above each, read well at 320 px: ``rows`` are
    ``(label, value on the 0..peak scale or None, shown text)``; ``target`` draws a dashed line."""
    shown = [row for row in rows if row[1] is not None][:BAR_LIMIT]
    room = WIDTH - 52
    bars = []
    for index, (label, value, text) in enumerate(shown):
        top = index * BAR_ROW + 14
        width = round(max(0.0, min(value, peak)) / peak * room, 1)
        bars.append(
            {
                "label": label,
                "text": text,
                "text_y": top + 12,
                "bar_y": top + 16,
                "width": max(width, 1.0),
                "value_x": round(max(width, 1.0) + 4, 1),
                "value_y": top + 27,
            }
        )
    height = max(len(bars) * BAR_ROW + 18, BAR_ROW + 18)
    line = None
    if target is not None:
        x = round(min(target, peak) / peak * room, 1)
        line = {
            "x": x,
            "y1": 12,
            "y2": height,
            "label": target_label,
            "label_x": x,
            "anchor": "end" if x > room / 2 else "start",
        }
    return {
        "id": f"chart-{key}",
        "title": title,
        "width": WIDTH,
        "height": height,
        "bars": bars,
        "target": line,
        "truncated": len([r for r in rows if r[1] is not None]) > len(shown),
        "shown": len(shown),
    }


def line_chart(points: list[tuple[str, float | None]], *, key: str, title: str) -> dict:
    """One line over time (``(label, value 0..100 or None)``), gaps where a value is missing."""
    plot_width = WIDTH - LINE_LEFT - 8
    plot_height = LINE_HEIGHT - LINE_TOP - LINE_BOTTOM
    baseline = LINE_TOP + plot_height
    step = plot_width / max(len(points) - 1, 1)
    segments: list[list[str]] = [[]]
    dots = []
    for index, (label, value) in enumerate(points):
        x = LINE_LEFT + (index * step if len(points) > 1 else plot_width / 2)
        if value is None:
            if segments[-1]:
                segments.append([])
            continue
        y = baseline - max(0.0, min(value, 100.0)) / 100 * plot_height
        segments[-1].append(f"{x:.1f},{y:.1f}")
        dots.append({"x": round(x, 1), "y": round(y, 1), "label": label, "value": value})
    ticks = []
    if points:
        for index in sorted({0, len(points) - 1}):
            ticks.append(
                {
                    "x": round(
                        LINE_LEFT + (index * step if len(points) > 1 else plot_width / 2), 1
                    ),
                    "label": points[index][0],
                    "anchor": "start" if index == 0 and len(points) > 1 else "end",
                }
            )
    return {
        "id": f"chart-{key}",
        "title": title,
        "width": WIDTH,
        "height": LINE_HEIGHT,
        "left": LINE_LEFT,
        "right": WIDTH - 8,
        "top": LINE_TOP,
        "middle": round(LINE_TOP + plot_height / 2, 1),
        "baseline": baseline,
        "label_y": LINE_HEIGHT - 6,
        "lines": [" ".join(s) for s in segments if len(s) > 1],
        "dots": dots,
        "ticks": ticks,
    }

"""How the board shows its figures: "92% (88–95%)", "3.2 days", "▲2"."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from zheliban.core.text import rounded_number

from ..metrics import METRIC_BY_KEY, Metric

register = template.Library()


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def value_text(metric: Metric, value: float | None) -> str:
    if value is None:
        return "—"
    if metric.kind in ("mean", "quantile"):
        return _("%(n)s days") % {"n": rounded_number(value, 1)}
    return percent(value)


def interval_text(figure: dict | None) -> str:
    if not figure or figure.get("low") is None or figure.get("high") is None:
        return ""
    return f"({round(figure['low'] * 100)}–{round(figure['high'] * 100)}%)"


def figure_text(metric: Metric, figure: dict | None) -> str:
    """The value and, for a rate, its 95 % interval: ``92% (88–95%)``."""
    value = value_text(metric, (figure or {}).get("value"))
    interval = interval_text(figure)
    return f"{value} {interval}" if interval else value


def counts_text(metric: Metric, figure: dict | None) -> str:
    """What the value is made of: ``23 / 25`` (days and sums for means and ratios)."""
    if not figure or not figure.get("den"):
        return _("no rows")
    num, den = figure["num"], figure["den"]
    if metric.kind == "quantile":
        return _("of %(n)s steps") % {"n": number_format(den, 0)}
    if metric.kind == "mean":
        return _("%(days)s days over %(n)s") % {
            "days": rounded_number(num, 1),
            "n": number_format(den, 0),
        }
    return f"{number_format(num, 0)} / {number_format(den, 0)}"


def change_text(change: int | None) -> tuple[str, str]:
    """(symbol, words) for a change in rank: ``▲2`` and "up 2 places"."""
    if change is None:
        return "—", _("no earlier rank")
    if change > 0:
        return f"▲{change}", ngettext("up %(n)d place", "up %(n)d places", change) % {"n": change}
    if change < 0:
        n = -change
        return f"▼{n}", ngettext("down %(n)d place", "down %(n)d places", n) % {"n": n}
    return "=", _("same place")


def score_text(score: float | None) -> str:
    return "—" if score is None else rounded_number(score, 1)


def target_text(metric: Metric) -> str:
    return "" if metric.target is None else percent(metric.target)


@register.filter
def metric_label(key: str) -> str:
    metric = METRIC_BY_KEY.get(key)
    return str(metric.label) if metric else key

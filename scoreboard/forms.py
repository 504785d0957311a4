"""The board's query parameters (pages and API alike) and the admin's new weight version.

A refused parameter is answered 400 with the message of its field, and nothing else happens.
"""

from __future__ import annotations

import unicodedata

from django import forms
from django.utils.translation import gettext_lazy as _

from departments.models import Region
from scoreboard.errors import ScoreboardErrorCode

from .metrics import METRICS
from .models import WeightSet

SORT_KEYS = ("rank", "score", *(m.key for m in METRICS))
DIRECTIONS = ("asc", "desc")
FORMATS = ("html", "csv", "json")
SHOW = ("all", "counted", "not")
DEFAULT_PERIOD = "month"
DEFAULT_LEVEL = Region.Level.CITY


def _choice(name: str, choices, message) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=name,
        required=False,
        choices=[("", "")] + [(c, c) if isinstance(c, str) else c for c in choices],
        error_messages={"invalid_choice": message},
    )


def _period_field() -> forms.ChoiceField:
    from .models import Snapshot

    return _choice(
        "period",
        Snapshot.Period.choices,
        _("Choose the period: month, quarter, year or rolling30."),
    )


class PeriodForm(forms.Form):
    """``period`` (default month) and ``start`` (a stored snapshot's first day; default the
    newest), and ``format`` for the downloads."""

    start = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("Give the period's first day as YYYY-MM-DD.")},
    )
    format = _choice("format", FORMATS, _("Choose the format: html, csv or json."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"] = _period_field()

    def clean(self):
        data = super().clean()
        data["period"] = data.get("period") or DEFAULT_PERIOD
        data["format"] = data.get("format") or "html"
        return data


def _page_field() -> forms.IntegerField:
    return forms.IntegerField(
        required=False,
        min_value=1,
        max_value=100_000,
        error_messages={
            "invalid": _("The page is a whole number from 1."),
            "min_value": _("The page is a whole number from 1."),
            "max_value": _("There are not that many pages."),
        },
    )


SEARCH_MAX_LENGTH = 60


class BoardForm(PeriodForm):
    q = forms.CharField(
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        error_messages={
            "max_length": _("Search with at most %(limit_value)d characters."),
            "null_characters_not_allowed": _("The search may not contain control characters."),
        },
    )
    page = _page_field()
    level = _choice(
        "level", Region.Level.values, _("Choose the level: province, city, county or street.")
    )
    regions = _choice(
        "regions",
        ("0", "1"),
        _("regions is 1 (the regions' rows) or 0 (the departments'), or left out."),
    )
    sort = _choice(
        "sort",
        SORT_KEYS,
        _("Sort by rank, score or a metric key (%(keys)s).")
        % {"keys": ", ".join(m.key for m in METRICS)},
    )
    dir = _choice("dir", DIRECTIONS, _("dir is asc or desc."))

    def clean_q(self) -> str:
        value = self.cleaned_data["q"]
        if any(unicodedata.category(c) == "Cc" for c in value):
            raise forms.ValidationError(
                _("The search may not contain control characters."),
                code=ScoreboardErrorCode.CONTROL_CHARACTERS,
            )
        return value

    def clean(self):
        data = super().clean()
        data["q"] = data.get("q") or ""
        data["page"] = data.get("page") or 1
        data["level"] = data.get("level") or DEFAULT_LEVEL
        data["regions"] = data.get("regions") == "1"
        data["sort"] = data.get("sort") or "rank"
        data["dir"] = data.get("dir") or default_direction(data["sort"])
        return data


class BreakdownForm(PeriodForm):
    """The public drill-down: which snapshot, the page of its items, the format."""

    page = _page_field()

    def clean(self):
        data = super().clean()
        data["page"] = data.get("page") or 1
        return data


class DrilldownForm(BreakdownForm):
    """The staff drill-down to the rows: also which rows (counted or not)."""

    show = _choice("show", SHOW, _("show is all, counted or not."))

    def clean(self):
        data = super().clean()
        data["show"] = data.get("show") or "all"
        return data


def default_direction(sort: str) -> str:
    """The first click on a column shows its best first."""
    if sort == "rank":
        return "asc"
    if sort == "score":
        return "desc"
    metric = next(m for m in METRICS if m.key == sort)
    return "desc" if metric.higher_is_better else "asc"


class WeightSetAddForm(forms.ModelForm):
    """A new version of the weights: one number per metric, and the minimum volume.

    The admin saves it through ``services.weights_save``; the checks here only give the same
    rules as that service a message beside the field."""

    class Meta:
        model = WeightSet
        fields = ["min_volume", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        latest = WeightSet.objects.order_by("-version").first()
        current = latest.weights if latest else {m.key: m.weight for m in METRICS}
        if latest and not self.is_bound:
            self.initial.setdefault("min_volume", latest.min_volume)
        for metric in METRICS:
            self.fields[weight_field(metric.key)] = forms.FloatField(
                label=metric.label,
                min_value=0,
                max_value=1000,
                initial=current.get(metric.key, 0),
                help_text=_("Counts %(numerator)s, over %(denominator)s.")
                % {"numerator": metric.numerator, "denominator": metric.denominator},
            )

    def clean(self):
        data = super().clean()
        weights = self.weights()
        if len(weights) == len(METRICS) and not any(weights.values()):
            raise forms.ValidationError(
                _("At least one weight must be above 0."), code=ScoreboardErrorCode.WEIGHTS_ALL_ZERO
            )
        return data

    def weights(self) -> dict[str, float]:
        data = getattr(self, "cleaned_data", {})
        return {m.key: data[weight_field(m.key)] for m in METRICS if weight_field(m.key) in data}


def weight_field(key: str) -> str:
    return f"weight_{key}"

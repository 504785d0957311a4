"""The sunning board's pages: the public board, a department's page, the public drill-down
behind each figure (its counts broken down by item, month and category), the staff drill-down to
the rows themselves, and the staff view with its flags.

Views are thin: the rows come from ``scoreboard.selectors`` in a fixed number of queries whatever
the number of departments or cases; what is here only sorts them, formats them and turns them
into chart geometry. Every table downloads as CSV or JSON with ``?format=csv|json``; the public
ones give what the API gives (``scoreboard.api.serializers``), never a case or ticket number.
"""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from departments.models import Department, Region
from zheliban.core.text import rounded_number

from . import charts, selectors
from .api.serializers import board_data, breakdown_data, history_data, snapshot_data
from .forms import BoardForm, BreakdownForm, DrilldownForm, PeriodForm, default_direction
from .metrics import METRIC_BY_KEY, METRICS, Metric
from .models import Score, Snapshot
from .services import PRIOR_STRENGTH, figure, minimum_volume, wilson
from .templatetags.scoreboard_tags import (
    change_text,
    counts_text,
    figure_text,
    interval_text,
    percent,
    score_text,
    target_text,
    value_text,
)

BOARD_PAGE_SIZE = 20
UNRANKED_SHOWN = 30  # the rest are found with the search
BREAKDOWN_PAGE_SIZE = 50
DRILLDOWN_PAGE_SIZE = 50
WORST_ITEMS = 10
RED_MARGIN = 0.10  # points below target that make a red flag
RANK_FALL = 3  # places lost that make a yellow flag


# ---------------------------------------------------------------- shared pieces


def _errors(form) -> list[str]:
    return [str(error) for errors in form.errors.values() for error in errors]


def _snapshot_for(query: dict) -> Snapshot | None:
    if query["start"]:
        return selectors.snapshot_get(query["period"], query["start"])
    return selectors.snapshot_latest(query["period"])


def _period_query(snapshot: Snapshot) -> str:
    return urlencode({"period": snapshot.period, "start": snapshot.start.isoformat()})


def _cell(value) -> str:
    """A CSV text cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    response.write("\ufeff")  # Excel reads UTF-8 Chinese only with the BOM
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) if isinstance(v, str) else ("" if v is None else v) for v in row])
    return response


def _json(filename: str, payload: dict) -> JsonResponse:
    response = JsonResponse(payload, json_dumps_params={"ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="{filename}.json"'
    return response


FIGURE_PARTS = ("num", "den", "value", "low", "high")


def _metric_columns() -> list[str]:
    return [f"{m.key}_{part}" for m in METRICS for part in FIGURE_PARTS]


def _metric_values(score: Score) -> list:
    empty: dict = {}
    return [score.metrics.get(m.key, empty).get(part) for m in METRICS for part in FIGURE_PARTS]


def _download_links(request: HttpRequest, *, drop=("page",)) -> dict:
    query = request.GET.copy()
    for name in drop:
        query.pop(name, None)
    links = {}
    for fmt in ("csv", "json"):
        query["format"] = fmt
        links[fmt] = f"?{query.urlencode()}"
    return links


# ---------------------------------------------------------------- the board


def _figure_of_score(score: Score, key: str) -> dict:
    """One figure of a row, whether the row was loaded with every figure or only this one."""
    if "sorted_figure" in score.__dict__:
        return score.sorted_figure or {}
    return score.metrics.get(key) or {}


def sort_scores(rows: list[Score], *, sort: str, direction: str) -> list[Score]:
    """Ranked rows first, then the unranked, each sorted by the column; missing values last."""

    def key_of(score: Score):
        if sort == "rank":
            return score.rank
        if sort == "score":
            return score.score
        return _figure_of_score(score, sort).get("value")

    def ordered(group: list[Score]) -> list[Score]:
        present = [s for s in group if key_of(s) is not None]
        missing = [s for s in group if key_of(s) is None]
        present.sort(key=key_of, reverse=direction == "desc")
        return present + missing

    return ordered([s for s in rows if s.ranked]) + ordered([s for s in rows if not s.ranked])


def _row_name(score: Score) -> str:
    return score.department.name if score.department_id else score.region.name


def _row_code(score: Score) -> str:
    return score.department.code if score.department_id else score.region.code


@functools.lru_cache(maxsize=16384)
def _url(name: str, *args: str) -> str:
    return reverse(name, args=args)


def _board_row(score: Score, period_query: str, metric: Metric | None) -> dict:
    department = score.department
    symbol, words = change_text(score.rank_change)
    row = {
        "name": _row_name(score),
        "code": department.code if department else score.region.code,
        "url": (
            _url("scoreboard:department", department.code) + f"?{period_query}"
            if department
            else ""
        ),
        "rank": score.rank,
        "peers": score.peers,
        "change_symbol": symbol,
        "change_words": words,
        "change_class": (
            "" if not score.rank_change else "change-up" if score.rank_change > 0 else "change-down"
        ),
        "score": score_text(score.score),
        "volume": score.volume,
        "cell": None,
    }
    if metric is not None:
        fig = _figure_of_score(score, metric.key)
        row["cell"] = {
            "key": metric.key,
            "text": value_text(metric, fig.get("value")),
            "interval": interval_text(fig),
            "counts": counts_text(metric, fig),
            "url": (
                _url("scoreboard:drilldown", department.code, metric.key) + f"?{period_query}"
                if department is not None and not metric.by_region
                else ""
            ),
        }
    return row


def _query_url(request: HttpRequest, *, drop=("format", "page"), **changes) -> str:
    query = request.GET.copy()
    for name in drop:
        query.pop(name, None)
    for name, value in changes.items():
        if value in (None, ""):
            query.pop(name, None)
        else:
            query[name] = value
    return f"?{query.urlencode()}"


def _headers(request: HttpRequest, sort: str, direction: str, metric: Metric | None) -> list:
    columns = [("rank", _("Rank")), ("score", _("Score"))]
    if metric is not None:
        columns.append((metric.key, str(metric.label)))
    headers = []
    for key, label in columns:
        if key == sort:
            new_direction = "asc" if direction == "desc" else "desc"
        else:
            new_direction = default_direction(key)
        headers.append(
            {
                "key": key,
                "label": label,
                "url": _query_url(request, sort=key, dir=new_direction),
                "aria_sort": (
                    ("ascending" if direction == "asc" else "descending") if key == sort else ""
                ),
            }
        )
    return headers


def _board_chart(rows: list[Score], metric: Metric | None) -> dict | None:
    """The ranked rows of the page as bars: their score, or the figure they are sorted by with
    the province's target drawn as a line."""
    if metric is None:
        chart = charts.bar_chart(
            [(_row_name(s), s.score, score_text(s.score)) for s in rows],
            key="score",
            title=_("Score of each ranked row on this page"),
        )
    elif metric.kind == "rate" or metric.kind == "ratio":
        values = []
        for score in rows:
            value = _figure_of_score(score, metric.key).get("value")
            values.append(
                (_row_name(score), None if value is None else value * 100, percent(value))
            )
        target = metric.target * 100 if metric.target is not None else None
        chart = charts.bar_chart(
            values,
            key=metric.key,
            title=(
                _("%(metric)s of each ranked row on this page, with the province's target")
                % {"metric": metric.label}
                if target is not None
                else _("%(metric)s of each ranked row on this page") % {"metric": metric.label}
            ),
            target=target,
            target_label=(
                _("target %(target)s") % {"target": percent(metric.target)}
                if target is not None
                else ""
            ),
        )
    else:
        return None
    return chart if chart["bars"] else None


def _definitions(snapshot: Snapshot | None) -> list[dict]:
    weights = snapshot.weight_set.weights if snapshot else {}
    return [
        {
            "key": m.key,
            "label": m.label,
            "numerator": m.numerator,
            "denominator": m.denominator,
            "kind": m.kind,
            "better": _("higher is better") if m.higher_is_better else _("lower is better"),
            "target": target_text(m),
            "weight": weights.get(m.key, 0) if snapshot else None,
        }
        for m in METRICS
    ]


def _board_csv(snapshot: Snapshot, rows: list[Score]) -> HttpResponse:
    header = [
        "kind",
        "code",
        "name",
        "region",
        "level",
        "ranked",
        "unranked_reason",
        "rank",
        "peers",
        "rank_change",
        "score",
        "volume",
        *_metric_columns(),
    ]
    lines = (
        [
            "region" if s.department_id is None else "department",
            s.region.code if s.department_id is None else s.department.code,
            _row_name(s),
            s.region.code,
            s.level,
            int(s.ranked),
            selectors.unranked_reason(s, snapshot.weight_set) or "",
            s.rank,
            s.peers,
            s.rank_change,
            s.score,
            s.volume,
            *_metric_values(s),
        ]
        for s in rows
    )
    return _csv(f"board-{snapshot.period}-{snapshot.start}", header, lines)


def unranked_reason_text(reason: str, weight_set) -> str:
    """A reason a row is not ranked, in a citizen's words."""
    if reason == selectors.UNRANKED_NO_ACTIVITY:
        return _("no activity in this period")
    if reason == selectors.UNRANKED_LOW_VOLUME:
        return _("below the minimum volume of %(n)d") % {"n": minimum_volume(weight_set)}
    return _("nothing it did is scored at this level")


def _unranked_summary(rows: list[Score], weight_set, *, regions: bool) -> dict:
    """The unranked rows in one line: how many, and how many for each reason."""
    from collections import Counter

    reasons = Counter(selectors.unranked_reason(s, weight_set) for s in rows)
    n = len(rows)
    heading = (
        ngettext("%(n)d region is not ranked", "%(n)d regions are not ranked", n)
        if regions
        else ngettext("%(n)d department is not ranked", "%(n)d departments are not ranked", n)
    ) % {"n": n}
    parts = [
        _("%(n)d: %(reason)s") % {"n": reasons[r], "reason": unranked_reason_text(r, weight_set)}
        for r in selectors.UNRANKED_REASONS
        if reasons[r]
    ]
    return {
        "count": n,
        "line": _("%(heading)s (%(reasons)s).")
        % {"heading": heading, "reasons": _("; ").join(parts)},
        "counts": {r: reasons[r] for r in selectors.UNRANKED_REASONS},
    }


def _unranked_rows(rows: list[Score], weight_set, period_query: str) -> list[dict]:
    """The unranked rows a page lists, those nearest to being ranked first."""
    nearest = sorted(rows, key=lambda s: (-s.volume, _row_code(s)))
    return [
        {
            "name": _row_name(s),
            "code": _row_code(s),
            "url": (
                _url("scoreboard:department", s.department.code) + f"?{period_query}"
                if s.department_id
                else ""
            ),
            "reason": selectors.unranked_reason(s, weight_set),
            "reason_text": unranked_reason_text(
                selectors.unranked_reason(s, weight_set), weight_set
            ),
            "volume": s.volume,
        }
        for s in nearest[:UNRANKED_SHOWN]
    ]


def _level_links(request: HttpRequest, snapshot: Snapshot, query: dict) -> list[dict]:
    counts = selectors.board_level_counts(snapshot, regions=query["regions"])
    links = []
    for value, label in Region.Level.choices:
        ranked, total = counts.get(value, (0, 0))
        if value == Region.Level.STREET and not total:
            continue  # streets are ranked once their offices are scored
        links.append(
            {
                "value": value,
                "label": label,
                "counts": _("%(ranked)d ranked of %(total)d") % {"ranked": ranked, "total": total},
                "url": _query_url(request, drop=("format", "page", "q"), level=value),
                "current": value == query["level"],
            }
        )
    return links


def _interval_example() -> dict:
    """The example the board explains its intervals with, computed as the board computes them:
    1 case of 2 on time."""
    low, high = wilson(1, 2)
    return {"low": round(low * 100), "high": round(high * 100)}


def _board_context_base(form) -> dict:
    return {
        "form": form,
        "periods": Snapshot.Period.choices,
        "levels": Region.Level.choices,
        "definitions": _definitions(None),
        "prior_strength": PRIOR_STRENGTH,
        "interval_example": _interval_example(),
        "sort_choices": [("rank", _("Rank")), ("score", _("Score"))]
        + [(m.key, m.label) for m in METRICS],
    }


@require_GET
def board(request: HttpRequest) -> HttpResponse:
    form = BoardForm(request.GET)
    context = _board_context_base(form)
    if not form.is_valid():
        context["errors"] = _errors(form)
        return render(request, "scoreboard/board.html", context, status=400)
    query = form.cleaned_data
    context["query"] = query
    snapshot = _snapshot_for(query)
    context["starts"] = selectors.snapshot_starts(query["period"])
    if snapshot is None:
        status = 404 if query["start"] else 200
        return render(request, "scoreboard/board.html", context, status=status)
    if query["format"] in ("csv", "json"):
        # The downloads are the level's whole board, as the API gives it.
        rows = sort_scores(
            list(selectors.board_scores(snapshot, level=query["level"], regions=query["regions"])),
            sort=query["sort"],
            direction=query["dir"],
        )
        if query["format"] == "csv":
            return _board_csv(snapshot, rows)
        return _json(
            f"board-{snapshot.period}-{snapshot.start}",
            board_data(snapshot, rows, level=query["level"], regions=query["regions"]),
        )
    metric = METRIC_BY_KEY.get(query["sort"])
    rows = sort_scores(
        list(
            selectors.board_scores(
                snapshot,
                level=query["level"],
                regions=query["regions"],
                search=query["q"],
                figure=metric.key if metric else None,
            )
        ),
        sort=query["sort"],
        direction=query["dir"],
    )
    ranked = [s for s in rows if s.ranked]
    unranked = [s for s in rows if not s.ranked]
    paginator = Paginator(ranked, BOARD_PAGE_SIZE)
    if query["page"] > max(paginator.num_pages, 1):
        context["errors"] = [_("There are not that many pages.")]
        return render(request, "scoreboard/board.html", context, status=404)
    page = paginator.page(query["page"])
    period_query = _period_query(snapshot)
    weight_set = snapshot.weight_set
    context.update(
        {
            "snapshot": snapshot,
            "weight_set": weight_set,
            "min_volume": minimum_volume(weight_set),
            "definitions": _definitions(snapshot),
            "level_links": _level_links(request, snapshot, query),
            "level_label": dict(Region.Level.choices)[query["level"]],
            "sorted_metric": metric,
            "ranked_rows": [_board_row(s, period_query, metric) for s in page.object_list],
            "ranked_count": len(ranked),
            "page": page,
            "page_links": _page_links(request, page),
            "unranked": _unranked_summary(unranked, weight_set, regions=query["regions"])
            if unranked
            else None,
            "unranked_rows": _unranked_rows(unranked, weight_set, period_query),
            "headers": _headers(request, query["sort"], query["dir"], metric),
            "chart": _board_chart(list(page.object_list), metric),
            "clear_search": _query_url(request, drop=("format", "page", "q")),
            "downloads": _download_links(request, drop=("page", "q")),
            "api_url": reverse("api:scoreboard")
            + "?"
            + urlencode(
                {
                    "period": snapshot.period,
                    "start": snapshot.start.isoformat(),
                    "level": query["level"],
                    "regions": "1" if query["regions"] else "0",
                }
            ),
        }
    )
    return render(request, "scoreboard/board.html", context)


# ---------------------------------------------------------------- a department's page


def _department_or_404(code: str) -> Department:
    department = selectors.department_get_for_board(code)
    if department is None:
        raise Http404(_("No department has this code."))
    return department


@require_GET
def department(request: HttpRequest, code: str) -> HttpResponse:
    department = _department_or_404(code)
    form = PeriodForm(request.GET)
    context: dict = {"department": department, "form": form, "periods": Snapshot.Period.choices}
    if not form.is_valid():
        context["errors"] = _errors(form)
        return render(request, "scoreboard/department.html", context, status=400)
    query = form.cleaned_data
    context["query"] = query
    history = list(selectors.department_history(department, query["period"]))
    if query["start"]:
        current = next((s for s in history if s.snapshot.start == query["start"]), None)
        if current is None:
            context["errors"] = [_("This department has no figures for that period.")]
            return render(request, "scoreboard/department.html", context, status=404)
    else:
        current = history[-1] if history else None
    if query["format"] in ("csv", "json"):
        return _history_download(department, query["period"], history, query["format"])
    context["history"] = [
        {
            "start": s.snapshot.start,
            "end": s.snapshot.end,
            "score": score_text(s.score),
            "rank": s.rank,
            "peers": s.peers,
            "volume": s.volume,
            "current": s is current,
            "url": f"?{_period_query(s.snapshot)}",
        }
        for s in history
    ]
    context["trend"] = charts.line_chart(
        [(s.snapshot.start.isoformat(), s.score) for s in history],
        key="trend",
        title=_("Score of %(department)s per period") % {"department": department.name},
    )
    context["worst_items"] = [
        {
            "item": item,
            "misses": [
                label
                for missed, label in (
                    (not item.online, _("not online")),
                    (not item.mobile, _("not on a phone")),
                    (item.trips > 0, _("needs a trip to the hall")),
                    (not item.id_only, _("needs more than the ID card")),
                )
                if missed
            ],
        }
        for item in selectors.items_missing_targets(department, limit=WORST_ITEMS)
    ]
    context["downloads"] = _download_links(request)
    if current is not None:
        snapshot = current.snapshot
        period_query = _period_query(snapshot)
        symbol, words = change_text(current.rank_change)
        context.update(
            {
                "current": current,
                "snapshot": snapshot,
                "score": score_text(current.score),
                "unranked_reason": (
                    ""
                    if current.ranked
                    else unranked_reason_text(
                        selectors.unranked_reason(current, snapshot.weight_set),
                        snapshot.weight_set,
                    )
                ),
                "change_symbol": symbol,
                "change_words": words,
                "figures": [
                    _department_figure(m, current.metrics.get(m.key), department, period_query)
                    for m in METRICS
                ],
            }
        )
    return render(request, "scoreboard/department.html", context)


def _department_figure(metric: Metric, fig: dict | None, department, period_query: str) -> dict:
    value = (fig or {}).get("value")
    misses = metric.target is not None and value is not None and value < metric.target
    return {
        "key": metric.key,
        "label": metric.label,
        "text": figure_text(metric, fig),
        "counts": counts_text(metric, fig),
        "target": target_text(metric),
        "misses_target": misses,
        "url": (
            reverse("scoreboard:drilldown", args=[department.code, metric.key]) + f"?{period_query}"
            if not metric.by_region
            else ""
        ),
    }


def _history_download(department, period: str, history: list[Score], fmt: str) -> HttpResponse:
    filename = f"board-{department.code}-{period}"
    if fmt == "json":
        return _json(filename, history_data(department, period, history))
    header = ["start", "end", "ranked", "rank", "peers", "rank_change", "score", "volume"]
    lines = (
        [
            s.snapshot.start.isoformat(),
            s.snapshot.end.isoformat(),
            int(s.ranked),
            s.rank,
            s.peers,
            s.rank_change,
            s.score,
            s.volume,
            *_metric_values(s),
        ]
        for s in history
    )
    return _csv(filename, [*header, *_metric_columns()], lines)


# ---------------------------------------------------------------- the drill-down (public)


def _metric_or_404(key: str) -> Metric:
    found = METRIC_BY_KEY.get(key)
    if found is None or found.by_region:  # a region's figure has no department rows
        raise Http404(_("The board has no such figure."))
    return found


def _no_snapshot_errors(query: dict) -> list[str]:
    return [
        _("No board of that period has been computed.")
        if query["start"]
        else _("No board of this kind of period has been computed yet.")
    ]


def _figure_context(metric: Metric, snapshot: Snapshot, score: Score | None, totals: dict) -> dict:
    """The board's figure next to the one the counts below give again, for both drill-downs."""
    fig = (score.metrics.get(metric.key) if score else None) or None
    return {
        "snapshot": snapshot,
        "score": score,
        "board_figure": figure_text(metric, fig),
        "board_counts": counts_text(metric, fig),
        "list_figure": figure_text(metric, _figure_of(metric, totals)),
        "list_counts": counts_text(metric, totals),
        "totals": totals,
        "matches": _matches(fig, totals),
    }


def _figure_of(metric: Metric, totals: dict) -> dict:
    return figure(metric, totals["num"], totals["den"])


def _matches(fig: dict | None, totals: dict) -> bool:
    return (
        fig is not None
        and abs(fig["num"] - totals["num"]) < 1e-6
        and abs(fig["den"] - totals["den"]) < 1e-6
    )


def _dimension_labels(dimension: str) -> tuple[str, str]:
    """(heading, first column) of a dimension's table."""
    return {
        selectors.DIMENSION_ITEM: (_("By item"), _("Item")),
        selectors.DIMENSION_MONTH: (_("By month"), _("Month")),
        selectors.DIMENSION_CATEGORY: (_("By category"), _("Category")),
        selectors.DIMENSION_DAYS: (_("By handling days"), _("Handling days")),
    }[dimension]


def _group_columns(metric: Metric, dimension: str) -> list[str]:
    if dimension == selectors.DIMENSION_DAYS:
        return [_("Steps"), _("Steps so far")]
    if metric.kind == "rate":
        return [_("Counted"), _("Not counted"), _("Rate")]
    if metric.kind == "ratio":
        return [_("Days saved"), _("Statutory days"), _("Compression")]
    return [_("Steps"), _("Days in all"), _("Average")]


def _group_cells(metric: Metric, dimension: str, group) -> list[str]:
    if dimension == selectors.DIMENSION_DAYS:
        return [number_format(group.rows, 0), number_format(group.num, 0)]
    if metric.kind == "rate":
        value = group.num / group.den if group.den else None
        return [number_format(group.num, 0), number_format(group.not_counted, 0), percent(value)]
    if metric.kind == "ratio":
        value = group.num / group.den if group.den else None
        return [number_format(group.num, 0), number_format(group.den, 0), percent(value)]
    average = group.num / group.den if group.den else None
    return [
        number_format(group.rows, 0),
        rounded_number(group.num, 1),
        "—" if average is None else _("%(n)s days") % {"n": rounded_number(average, 1)},
    ]


def _breakdown_tables(metric: Metric, breakdown, request: HttpRequest, page_number: int):
    """Each dimension as a table; the items' (which may be many) one page at a time."""
    tables, item_page = [], None
    for dimension, groups in breakdown.dimensions.items():
        shown = groups
        if dimension == selectors.DIMENSION_ITEM:
            item_page = Paginator(groups, BREAKDOWN_PAGE_SIZE).page(page_number)
            shown = item_page.object_list
        heading, key_label = _dimension_labels(dimension)
        columns = _group_columns(metric, dimension)
        tables.append(
            {
                "dimension": dimension,
                "label": heading,
                "key_label": key_label,
                "columns": columns,
                "groups": [
                    {
                        "key": g.key,
                        "label": g.label,
                        "link": _url("catalog:item", g.item_code) if g.item_code else "",
                        "cells": list(
                            zip(columns, _group_cells(metric, dimension, g), strict=True)
                        ),
                        "holds_figure": g.holds_figure,
                    }
                    for g in shown
                ],
                "page": item_page if dimension == selectors.DIMENSION_ITEM else None,
            }
        )
    return tables, item_page


@require_GET
def drilldown(request: HttpRequest, code: str, metric: str) -> HttpResponse:
    """The figure broken down by item, month and category: counts only, open to everyone."""
    department = _department_or_404(code)
    metric = _metric_or_404(metric)
    form = BreakdownForm(request.GET)
    context: dict = {"department": department, "metric": metric, "form": form}
    if not form.is_valid():
        context["errors"] = _errors(form)
        return render(request, "scoreboard/drilldown.html", context, status=400)
    query = form.cleaned_data
    context["query"] = query
    snapshot = _snapshot_for(query)
    if snapshot is None:
        context["errors"] = _no_snapshot_errors(query)
        return render(request, "scoreboard/drilldown.html", context, status=404)
    score = selectors.department_score(snapshot, department)
    breakdown = selectors.drilldown_breakdown(metric, department, snapshot)
    if query["format"] in ("csv", "json"):
        return _breakdown_download(query["format"], department, snapshot, score, breakdown)
    items = breakdown.dimensions.get(selectors.DIMENSION_ITEM, [])
    if query["page"] > max(1, math.ceil(len(items) / BREAKDOWN_PAGE_SIZE)):
        context["errors"] = [_("There are not that many pages.")]
        return render(request, "scoreboard/drilldown.html", context, status=404)
    tables, item_page = _breakdown_tables(metric, breakdown, request, query["page"])
    totals = breakdown.totals
    period_query = _period_query(snapshot)
    context.update(
        {
            **_figure_context(metric, snapshot, score, totals),
            "tables": tables,
            "page_links": _page_links(request, item_page) if item_page else {},
            "item_page": item_page,
            "department_url": reverse("scoreboard:department", args=[department.code])
            + f"?{period_query}",
            "staff_url": (
                reverse("scoreboard:staff-drilldown", args=[department.code, metric.key])
                + f"?{period_query}"
                if selectors.may_see_drilldown_rows(request.user, department)
                else ""
            ),
            "downloads": _download_links(request, drop=("page",)),
            "api_url": reverse("api:scoreboard-breakdown", args=[department.code, metric.key])
            + f"?{period_query}",
            "is_items": breakdown.model == "serviceitem",
        }
    )
    return render(request, "scoreboard/drilldown.html", context)


def _breakdown_download(fmt, department, snapshot, score, breakdown) -> HttpResponse:
    metric = breakdown.metric
    filename = f"board-{department.code}-{metric.key}-{snapshot.period}-{snapshot.start}"
    payload = breakdown_data(department, snapshot, score, breakdown)
    if fmt == "json":
        return _json(filename, payload)
    header = ["dimension", "key", "label", "rows", "num", "den", "not_counted", "holds_figure"]
    lines = (
        [
            dimension["dimension"],
            group["key"],
            group["label"],
            group["rows"],
            group["num"],
            group["den"],
            "" if group["not_counted"] is None else group["not_counted"],
            int(group["holds_figure"]),
        ]
        for dimension in payload["dimensions"]
        for group in dimension["groups"]
    )
    return _csv(filename, header, lines)


def _page_links(request: HttpRequest, page) -> dict:
    def url(number: int) -> str:
        query = request.GET.copy()
        query.pop("format", None)
        query["page"] = str(number)
        return f"?{query.urlencode()}"

    return {
        "previous": url(page.previous_page_number()) if page.has_previous() else "",
        "next": url(page.next_page_number()) if page.has_next() else "",
    }


# ---------------------------------------------------------------- the rows behind a figure (staff)


@dataclass
class DrilldownRow:
    cells: list = field(default_factory=list)
    link: str = ""
    counted: bool | None = None
    amount: str = ""


def _ticket_title(kind: str, title: str) -> str:
    # A report (举报) is shown by its number only: its title may point to the reporter.
    return "" if kind == "report" else title


def _drilldown_columns(model: str, metric: Metric) -> list[str]:
    columns = {
        "serviceitem": [_("Item code"), _("Item")],
        "task": [
            _("Application"),
            _("Step"),
            _("Due date"),
            _("Finished"),
            _("State"),
        ],
        "ticket": [_("Ticket"), _("Title"), _("Received")],
        "ticketdepartment": [_("Ticket"), _("Title"), _("Dispatched"), _("State")],
        "rating": [_("Application"), _("Rating"), _("Rated on")],
        "rectification": [_("Application"), _("Rating"), _("Fix due"), _("Fixed on"), _("State")],
    }[model]
    if metric.kind == "ratio":
        columns += [_("Statutory days"), _("Promised days")]
    return columns


def _date(value) -> str:
    if value is None:
        return "—"
    if hasattr(value, "hour"):
        value = timezone.localtime(value).date()
    return value.isoformat()


def _drilldown_cells(model: str, metric: Metric, obj) -> list:
    if model == "serviceitem":
        cells = [obj.code, obj.name]
        if metric.kind == "ratio":
            cells += [obj.statutory_days, obj.promised_days]
        return cells
    if model == "task":
        return [
            obj.application.reference or "—",
            obj.label or obj.item.name,
            _date(obj.due_date),
            _date(obj.finished_at),
            obj.get_state_display(),
        ]
    if model == "ticket":
        return [obj.number, _ticket_title(obj.kind, obj.title), _date(obj.created_at)]
    if model == "ticketdepartment":
        ticket = obj.ticket
        return [
            ticket.number,
            _ticket_title(ticket.kind, ticket.title),
            _date(obj.created_at),
            obj.get_state_display(),
        ]
    if model == "rating":
        return [obj.application.reference or "—", obj.score, _date(obj.created_at)]
    return [
        obj.rating.application.reference or "—",
        obj.rating.score,
        _date(obj.fix_due),
        _date(obj.fixed_at),
        obj.get_state_display(),
    ]


def _amount(metric: Metric, obj):
    if metric.kind == "rate":
        return None
    amount = obj.amount
    if amount is None:
        return None
    if hasattr(amount, "total_seconds"):
        return round(amount.total_seconds() / 86400, 3)
    return amount


@login_required
@require_GET
def staff_drilldown(request: HttpRequest, code: str, metric: str) -> HttpResponse:
    """The rows behind a figure (case and ticket numbers), for staff of the department's scope."""
    department = selectors.department_get_for_staff_rows(user=request.user, code=code)
    metric = _metric_or_404(metric)
    form = DrilldownForm(request.GET)
    context: dict = {"department": department, "metric": metric, "form": form}
    if not form.is_valid():
        context["errors"] = _errors(form)
        return render(request, "scoreboard/staff_drilldown.html", context, status=400)
    query = form.cleaned_data
    snapshot = _snapshot_for(query)
    if snapshot is None:
        context["errors"] = _no_snapshot_errors(query)
        return render(request, "scoreboard/staff_drilldown.html", context, status=404)
    counted = {"all": None, "counted": True, "not": False}[query["show"]]
    rows = selectors.drilldown_rows(metric, department, snapshot, counted=counted)
    context["query"] = query
    score = selectors.department_score(snapshot, department)
    totals = selectors.drilldown_totals(metric, department, snapshot)
    model = rows.model._meta.model_name
    columns = _drilldown_columns(model, metric)
    if query["format"] in ("csv", "json"):
        return _drilldown_download(query["format"], department, metric, snapshot, rows, totals)
    paginator = Paginator(rows, DRILLDOWN_PAGE_SIZE)
    if query["page"] > max(paginator.num_pages, 1):
        context["errors"] = [_("There are not that many pages.")]
        return render(request, "scoreboard/staff_drilldown.html", context, status=404)
    page = paginator.page(query["page"])
    period_query = _period_query(snapshot)
    context.update(
        {
            **_figure_context(metric, snapshot, score, totals),
            "columns": columns,
            "rows": [
                DrilldownRow(
                    cells=list(zip(columns, _drilldown_cells(model, metric, obj), strict=True)),
                    link=obj.get_absolute_url() if model == "serviceitem" else "",
                    counted=getattr(obj, "counted", None),
                    amount=_amount(metric, obj),
                )
                for obj in page.object_list
            ],
            "page": page,
            "page_links": _page_links(request, page),
            "filters": _show_links(request, query["show"]) if metric.kind == "rate" else [],
            "public_url": reverse("scoreboard:drilldown", args=[department.code, metric.key])
            + f"?{period_query}",
            "downloads": _download_links(request, drop=("page",)),
            "is_items": model == "serviceitem",
        }
    )
    return render(request, "scoreboard/staff_drilldown.html", context)


def _show_links(request: HttpRequest, show: str) -> list[dict]:
    labels = {"all": _("All rows"), "counted": _("Counted"), "not": _("Not counted")}
    links = []
    for value, label in labels.items():
        query = request.GET.copy()
        query.pop("page", None)
        query.pop("format", None)
        query["show"] = value
        links.append(
            {
                "value": value,
                "label": label,
                "url": f"?{query.urlencode()}",
                "current": value == show,
            }
        )
    return links


def _drilldown_download(fmt, department, metric, snapshot, rows, totals) -> HttpResponse:
    model = rows.model._meta.model_name
    columns = _drilldown_columns(model, metric)
    keys = [f"c{n}" for n in range(len(columns))]
    filename = f"board-{department.code}-{metric.key}-{snapshot.period}-{snapshot.start}-rows"
    lines = []
    for obj in rows.iterator(chunk_size=2000):
        cells = _drilldown_cells(model, metric, obj)
        lines.append(
            {
                "cells": cells,
                "counted": getattr(obj, "counted", None),
                "amount": _amount(metric, obj),
            }
        )
    if fmt == "json":
        return _json(
            filename,
            {
                "department": department.code,
                "metric": metric.key,
                "snapshot": snapshot_data(snapshot),
                "totals": totals,
                "columns": [str(c) for c in columns],
                "rows": [
                    {
                        **dict(zip(keys, line["cells"], strict=True)),
                        "counted": line["counted"],
                        "amount": line["amount"],
                    }
                    for line in lines
                ],
            },
        )
    return _csv(
        filename,
        [*[str(c) for c in columns], "counted", "amount"],
        (
            [
                *line["cells"],
                "" if line["counted"] is None else int(line["counted"]),
                line["amount"],
            ]
            for line in lines
        ),
    )


# ---------------------------------------------------------------- the staff view


def peer_averages(scores: list[Score]) -> dict[str, dict[str, float | None]]:
    """Each level's average of each metric (Σnum / Σden over its departments), as the
    computation's priors are."""
    sums: dict[str, dict[str, list[float]]] = {}
    for score in scores:
        level = sums.setdefault(score.level, {m.key: [0.0, 0.0] for m in METRICS})
        for metric in METRICS:
            fig = score.metrics.get(metric.key) or {}
            level[metric.key][0] += fig.get("num") or 0
            level[metric.key][1] += fig.get("den") or 0
    return {
        level: {key: (num / den if den else None) for key, (num, den) in by_key.items()}
        for level, by_key in sums.items()
    }


def flags_for(score: Score, averages: dict[str, float | None]) -> tuple[list[str], list[str]]:
    """(red, yellow) flags of one department's row.

    Red: a figure more than 10 points below its target, or a rate whose whole interval is on the
    worse side of the peers' average. Yellow: below target, or 3 or more places lost."""
    red, yellow = [], []
    for metric in METRICS:
        fig = score.metrics.get(metric.key) or {}
        value = fig.get("value")
        if value is None:
            continue
        if metric.target is not None and value < metric.target:
            words = _("%(metric)s %(value)s is below the target of %(target)s") % {
                "metric": metric.label,
                "value": percent(value),
                "target": percent(metric.target),
            }
            (red if value < metric.target - RED_MARGIN - 1e-9 else yellow).append(words)
        average = averages.get(metric.key)
        if metric.kind != "rate" or average is None or fig.get("low") is None:
            continue
        worse = fig["high"] < average if metric.higher_is_better else fig["low"] > average
        if worse:
            red.append(
                _("%(metric)s %(figure)s is surely worse than the peers' average of %(avg)s")
                % {
                    "metric": metric.label,
                    "figure": figure_text(metric, fig),
                    "avg": percent(average),
                }
            )
    if score.rank_change is not None and score.rank_change <= -RANK_FALL:
        yellow.append(_("Fell %(n)d places in the ranking") % {"n": -score.rank_change})
    return red, yellow


@login_required
@require_GET
def staff(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied
    form = PeriodForm(request.GET)
    context: dict = {"form": form, "periods": Snapshot.Period.choices}
    if not form.is_valid():
        context["errors"] = _errors(form)
        return render(request, "scoreboard/staff.html", context, status=400)
    query = form.cleaned_data
    context["query"] = query
    context["starts"] = selectors.snapshot_starts(query["period"])
    snapshot = _snapshot_for(query)
    if snapshot is None:
        return render(
            request, "scoreboard/staff.html", context, status=404 if query["start"] else 200
        )
    scores = selectors.snapshot_department_scores(snapshot)
    allowed = selectors.department_ids_in_scope(request.user)
    averages = peer_averages(scores)
    period_query = _period_query(snapshot)
    rows = []
    for score in scores:
        if score.department_id not in allowed:
            continue
        red, yellow = flags_for(score, averages.get(score.level, {}))
        symbol, words = change_text(score.rank_change)
        rows.append(
            {
                "department": score.department,
                "url": reverse("scoreboard:department", args=[score.department.code])
                + f"?{period_query}",
                "level": score.get_level_display(),
                "score": score_text(score.score),
                "rank": score.rank,
                "peers": score.peers,
                "change_symbol": symbol,
                "change_words": words,
                "red": red,
                "yellow": yellow,
            }
        )
    rows.sort(key=lambda r: (-len(r["red"]), -len(r["yellow"]), r["department"].code))
    context.update({"snapshot": snapshot, "rows": rows, "sees_all": request.user.is_superuser})
    return render(request, "scoreboard/staff.html", context)

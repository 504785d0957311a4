"""The leaders' statistics page of the complaints desk, with inline SVG charts and a CSV download.

The view is thin: the scope and the figures come from ``complaints.stats``; what is here only
turns them into chart geometry and display strings. Charts are SVG drawn by the template from
the numbers computed below (no script: the CSP forbids inline script), each with a title and the
same figures as a table.
"""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from complaints import stats
from complaints.dispatch.categories import CATEGORIES
from complaints.models import Ticket
from zheliban.core.text import rounded_number

CHART_WIDTH = 320
BAR_ROW_HEIGHT = 34
BAR_CHART_LIMIT = 15
SERIES_HEIGHT = 170
SERIES_LEFT = 36
SERIES_BOTTOM = 22
SERIES_TOP = 8


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rounded_number(rate * 100, 1)}%"


def average(value: float | None) -> str:
    return "—" if value is None else rounded_number(value, 2)


def bar_chart(rows: list[dict], *, key: str, title: str) -> dict:
    """Horizontal bars (one per row, label above its bar), read well at 320 px wide."""
    shown = rows[:BAR_CHART_LIMIT]
    peak = max((row["count"] for row in shown), default=0) or 1
    room = CHART_WIDTH - 48
    bars = []
    for index, row in enumerate(shown):
        top = index * BAR_ROW_HEIGHT
        width = round(row["count"] / peak * room, 1)
        bars.append(
            {
                "label": row["label"],
                "value": row["count"],
                "text_y": top + 13,
                "bar_y": top + 18,
                "width": max(width, 1.0) if row["count"] else 0,
                "value_x": round(max(width, 1.0) + 4, 1),
                "value_y": top + 28,
            }
        )
    return {
        "id": f"chart-{key}",
        "title": title,
        "width": CHART_WIDTH,
        "height": max(len(bars) * BAR_ROW_HEIGHT + 4, BAR_ROW_HEIGHT),
        "bars": bars,
        "truncated": len(rows) > len(shown),
        "shown": len(shown),
        "total": len(rows),
    }


def series_chart(series: dict, *, title: str) -> dict:
    """Received as bars and closed as a line, per period, with the peak marked on the axis."""
    points = series["points"]
    plot_width = CHART_WIDTH - SERIES_LEFT - 4
    plot_height = SERIES_HEIGHT - SERIES_TOP - SERIES_BOTTOM
    peak = max((max(p["received"], p["closed"]) for p in points), default=0) or 1
    slot = plot_width / max(len(points), 1)
    bars, line = [], []
    baseline = SERIES_TOP + plot_height
    for index, point in enumerate(points):
        x = SERIES_LEFT + index * slot
        height = point["received"] / peak * plot_height
        bars.append(
            {
                "x": round(x + slot * 0.15, 2),
                "y": round(baseline - height, 2),
                "width": round(max(slot * 0.7, 0.5), 2),
                "height": round(height, 2),
                "label": point["start"],
                "received": point["received"],
                "closed": point["closed"],
            }
        )
        line.append(f"{x + slot / 2:.2f},{baseline - point['closed'] / peak * plot_height:.2f}")
    ticks = []
    if points:
        for index in sorted({0, len(points) // 2, len(points) - 1}):
            ticks.append(
                {
                    "x": round(SERIES_LEFT + index * slot + slot / 2, 2),
                    "label": points[index]["start"][5:] if len(points) > 1 else points[0]["start"],
                    "anchor": "start"
                    if index == 0
                    else "end"
                    if index == len(points) - 1
                    else "middle",
                }
            )
    return {
        "id": "chart-series",
        "title": title,
        "width": CHART_WIDTH,
        "height": SERIES_HEIGHT,
        "left": SERIES_LEFT,
        "right": CHART_WIDTH - 4,
        "top": SERIES_TOP,
        "baseline": baseline,
        "label_y": SERIES_HEIGHT - 6,
        "peak": peak,
        "bars": bars,
        "line": " ".join(line),
        "ticks": ticks,
    }


def _displayed(rows: list[dict]) -> list[dict]:
    return [
        {
            **row,
            "signed_display": percent(row["signed_on_time_rate"]),
            "answered_display": percent(row["answered_on_time_rate"]),
            "satisfaction_display": average(row["satisfaction_average"]),
            "unsatisfied_display": percent(row["unsatisfied_share"]),
        }
        for row in rows
    ]


def _figures(result: stats.TicketStats) -> dict:
    totals, timely, satisfied = result.totals, result.timeliness, result.satisfaction
    return {
        "key_figures": [
            (_("Received"), number_format(totals["received"]), ""),
            (_("Open"), number_format(totals["open"]), ""),
            (_("Closed"), number_format(totals["closed"]), ""),
            (_("Overdue (open)"), number_format(totals["overdue"]), ""),
            (_("Linked duplicates"), number_format(totals["linked"]), ""),
            (
                _("Signed for on time"),
                percent(timely["signed_on_time_rate"]),
                _("of %(n)s signed for") % {"n": number_format(timely["signed"])},
            ),
            (
                _("Answered on time"),
                percent(timely["answered_on_time_rate"]),
                _("of %(n)s answered") % {"n": number_format(timely["answered"])},
            ),
            (
                _("Average satisfaction"),
                average(satisfied["average"]),
                _("out of 5, %(n)s rated") % {"n": number_format(satisfied["rated"])},
            ),
            (_("Satisfied (4–5)"), percent(satisfied["satisfied_share"]), ""),
            (_("Unsatisfied (1–2)"), percent(satisfied["unsatisfied_share"]), ""),
            (
                _("Dispatched automatically"),
                percent(totals["auto_dispatch_share"]),
                _("of %(n)s dispatched") % {"n": number_format(totals["dispatched"])},
            ),
            (
                _("Returned at least once"),
                percent(totals["returned_share"]),
                number_format(totals["returned"]),
            ),
            (
                _("Reopened"),
                percent(totals["reopened_share"]),
                number_format(totals["reopened"]),
            ),
        ]
    }


def _breakdowns(result: stats.TicketStats) -> list[dict]:
    sections = [
        ("department", _("By lead department"), _("Department"), result.by_department),
        ("category", _("By category"), _("Category"), result.by_category),
        ("city", _("By city"), _("City"), result.by_city),
        ("region", _("By region (county or district)"), _("Region"), result.by_region),
        ("kind", _("By kind"), _("Kind"), result.by_kind),
        ("channel", _("By channel"), _("Channel"), result.by_channel),
    ]
    return [
        {
            "key": key,
            "title": title,
            "column": column,
            "chart": bar_chart(
                rows, key=key, title=_("Tickets received: %(what)s") % {"what": title}
            ),
            "rows": _displayed(rows),
        }
        for key, title, column, rows in sections
    ]


def _csv_response(result: stats.TicketStats) -> HttpResponse:
    filters = result.filters
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="ticket-stats-{filters.date_from}-{filters.date_to}.csv"'
    )
    response.write("\ufeff")  # Excel reads UTF-8 Chinese only with the BOM
    writer = csv.writer(response)
    writer.writerow(["dimension", "key", "label", *stats.BREAKDOWN_COLUMNS])
    for dimension, row in stats.breakdown_rows(result):
        writer.writerow(
            [
                dimension,
                _cell(row["key"]),
                _cell(row["label"]),
                *("" if row[column] is None else row[column] for column in stats.BREAKDOWN_COLUMNS),
            ]
        )
    return response


def _cell(value) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _form_values(form: stats.TicketStatsFilterForm) -> dict:
    names = (
        "date_from",
        "date_to",
        "period",
        "department",
        "category",
        "region",
        "kind",
        "channel",
    )
    if form.is_valid():
        return {name: value or "" for name, value in form.filters.as_dict().items()}
    return {name: form.data.get(name, "") for name in names}


@login_required
@require_GET
def ticket_stats(request: HttpRequest) -> HttpResponse:
    scope = stats.stats_scope_for(request.user)
    form = stats.TicketStatsFilterForm(request.GET, scope=scope)
    departments = stats.department_choices(scope)
    context = {
        "form": form,
        "values": _form_values(form),
        "departments": departments,
        "regions": stats.region_choices(),
        "categories": list(CATEGORIES),
        "kinds": Ticket.Kind.choices,
        "channels": Ticket.Channel.choices,
        "periods": [("day", _("Day")), ("week", _("Week")), ("month", _("Month"))],
        "sees_all": scope.sees_all,
    }
    if not form.is_valid():
        return render(request, "complaints/stats.html", context, status=400)
    result = stats.ticket_stats(scope=scope, filters=form.filters)
    if request.GET.get("format") == "csv":
        return _csv_response(result)
    query = request.GET.copy()
    query.pop("format", None)
    csv_query = query.copy()
    csv_query["format"] = "csv"
    context.update(
        {
            "result": result,
            **_figures(result),
            "series": series_chart(
                result.series,
                title={
                    "day": _("Tickets received and closed per day"),
                    "week": _("Tickets received and closed per week"),
                    "month": _("Tickets received and closed per month"),
                }[result.filters.period],
            ),
            "breakdowns": _breakdowns(result),
            "top_categories": [
                {**row, "share_display": percent(row["share"])}
                for row in result.top_issues["categories"]
            ],
            "top_by_department": result.top_issues["by_department"][:BAR_CHART_LIMIT],
            "csv_query": csv_query.urlencode(),
            "api_query": query.urlencode(),
        }
    )
    return render(request, "complaints/stats.html", context)


urlpatterns = [path("staff/tickets/stats/", ticket_stats, name="stats")]

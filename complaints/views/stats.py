"""The leaders' statistics page of the complaints desk, with inline SVG charts and downloads.

The view is thin: the scope and the figures come from ``complaints.stats``; what is here only
turns them into chart geometry, display strings and files. Charts are SVG drawn by the template
from the numbers computed below (no script: the CSP forbids inline script), each with a title and
the same figures as a table. Every table can be downloaded (``?format=csv|json&table=<name>``,
the names in ``TicketStats.TABLES``); ``?format=csv`` alone is every breakdown in one file.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from html import escape
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.utils.formats import get_format, number_format
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from complaints import stats
from complaints.dispatch.categories import CATEGORIES
from complaints.models import Ticket
from departments.models import Region
from zheliban.core.text import rounded_number

CHART_WIDTH = 320
BAR_ROW_HEIGHT = 34
BAR_CHART_LIMIT = 15
SERIES_HEIGHT = 170
SERIES_LEFT = 36
SERIES_BOTTOM = 22
SERIES_TOP = 8


FORMATS = ("csv", "json")


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rounded_number(rate * 100, 1)}%"


def percent_of(part: int, whole: int) -> str:
    """The share as the page shows it, rounded half up from the counts (4 of 11: 36.4%)."""
    exact = stats.percent(part, whole)
    return "—" if exact is None else f"{rounded_number(exact, 1)}%"


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
        # SVG numbers as text here (never localised), the label cut here: once, not per tag
        bars.append(
            {
                "label": row["label"],
                "short_label": Truncator(row["label"]).chars(26),
                "value": row["count"],
                "text_y": top + 13,
                "bar_y": top + 18,
                "width": str(max(width, 1.0) if row["count"] else 0),
                "value_x": str(round(max(width, 1.0) + 4, 1)),
                "value_y": top + 28,
            }
        )
    # the bars written here, every value escaped (see ``_rows_html``)
    bars_html = mark_safe(  # noqa: S308 (every value is escaped)
        "".join(
            f'<g><text x="0" y="{bar["text_y"]}" fill="#1b1b1f">'
            f"{escape(str(bar['short_label']))}</text>"
            f'<rect x="0" y="{bar["bar_y"]}" width="{bar["width"]}" height="12" '
            'fill="#a4161a"></rect>'
            f'<text x="{bar["value_x"]}" y="{bar["value_y"]}" fill="#1b1b1f">'
            f"{bar['value']}</text></g>"
            for bar in bars
        )
    )
    return {
        "id": f"chart-{key}",
        "title": title,
        "width": CHART_WIDTH,
        "height": max(len(bars) * BAR_ROW_HEIGHT + 4, BAR_ROW_HEIGHT),
        "bars": bars,
        "bars_html": bars_html,
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
                "x": str(round(x + slot * 0.15, 2)),
                "y": str(round(baseline - height, 2)),
                "width": str(round(max(slot * 0.7, 0.5), 2)),
                "height": str(round(height, 2)),
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
                    "x": str(round(SERIES_LEFT + index * slot + slot / 2, 2)),
                    "label": points[index]["start"][5:] if len(points) > 1 else points[0]["start"],
                    "anchor": "start"
                    if index == 0
                    else "end"
                    if index == len(points) - 1
                    else "middle",
                }
            )
    received, closed = escape(str(_("Received"))), escape(str(_("Closed")))
    # the bars and the table's rows written here, every value escaped (see ``_rows_html``)
    rects_html = mark_safe(  # noqa: S308 (numbers only)
        "".join(
            f'<rect x="{bar["x"]}" y="{bar["y"]}" width="{bar["width"]}" '
            f'height="{bar["height"]}" fill="#a4161a"></rect>'
            for bar in bars
        )
    )
    rows_html = mark_safe(  # noqa: S308 (every value is escaped)
        "".join(
            f'<tr><th scope="row">{escape(bar["label"])}</th>'
            f'<td data-label="{received}">{bar["received"]}</td>'
            f'<td data-label="{closed}">{bar["closed"]}</td></tr>'
            for bar in bars
        )
    )
    return {
        "id": "chart-series",
        "rects_html": rects_html,
        "rows_html": rows_html,
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


class _Numbers:
    """Figures written as the page's language writes numbers, its formats looked up once: a
    large breakdown has hundreds of rows, and ``number_format`` looks them up for every one."""

    def __init__(self) -> None:
        self.grouped = settings.USE_THOUSAND_SEPARATOR
        self.separator = get_format("DECIMAL_SEPARATOR")

    def count(self, value: int) -> str:
        return number_format(value) if self.grouped else str(value)

    def decimal(self, value: Decimal, places: int) -> str:
        if self.grouped:
            return number_format(value, places)
        return f"{value:.{places}f}".replace(".", self.separator)

    def percent(self, part: int, whole: int) -> str:
        """As ``percent_of``."""
        exact = stats.percent(part, whole)
        return "—" if exact is None else f"{self.decimal(exact, 1)}%"

    def average(self, value: float | None) -> str:
        """As ``average``: the figure is already rounded half up to two decimals."""
        return "—" if value is None else self.decimal(Decimal(str(value)), 2)


def _displayed(rows: list[dict]) -> list[dict]:
    """The rows with their figures as the table shows them, formatted here once per row rather
    than tag by tag in the template."""
    numbers = _Numbers()
    shown = []
    for row in rows:
        counts = row["_counts"]
        shown.append(
            {
                **row,
                "key_text": row["key"] or "",
                "senders": numbers.count(row["senders"]),
                "matters": numbers.count(row["matters"]),
                "open": numbers.count(row["open"]),
                "overdue": numbers.count(row["overdue"]),
                "closed": numbers.count(row["closed"]),
                "rated_display": ngettext("%(n)s rating", "%(n)s ratings", row["rated"])
                % {"n": numbers.count(row["rated"])},
                "signed_display": numbers.percent(counts["signed_on_time"], counts["signed"]),
                "answered_display": numbers.percent(counts["answered_on_time"], counts["answered"]),
                "satisfaction_display": numbers.average(row["satisfaction_average"]),
                "unsatisfied_display": numbers.percent(counts["unsatisfied"], counts["rated"]),
            }
        )
    return shown


def _figures(result: stats.TicketStats) -> dict:
    totals, counts = result.totals, result.counts
    return {
        "key_figures": [
            (
                _("Senders: all tickets received"),
                number_format(totals["senders"]),
                "",
            ),
            (_("Open"), number_format(totals["open"]), ""),
            (_("Closed"), number_format(totals["closed"]), ""),
            (_("Overdue (open)"), number_format(totals["overdue"]), ""),
            (_("Linked duplicates"), number_format(totals["linked"]), ""),
            (
                _("Matters: linked duplicates counted once"),
                number_format(totals["matters"]),
                "",
            ),
            (
                _("Signed for on time"),
                percent_of(counts["signed_on_time"], counts["signed"]),
                _("of %(n)s signed for") % {"n": number_format(counts["signed"])},
            ),
            (
                _("Answered on time"),
                percent_of(counts["answered_on_time"], counts["answered"]),
                _("of %(n)s answered") % {"n": number_format(counts["answered"])},
            ),
            (
                _("Average satisfaction"),
                average(result.satisfaction["average"]),
                _("out of 5, %(n)s rated") % {"n": number_format(counts["rated"])},
            ),
            (_("Satisfied (4–5)"), percent_of(counts["satisfied"], counts["rated"]), ""),
            (_("Unsatisfied (1–2)"), percent_of(counts["unsatisfied"], counts["rated"]), ""),
            (
                _("Dispatched automatically"),
                percent_of(counts["dispatched_automatically"], counts["dispatched"]),
                _("of %(n)s dispatched") % {"n": number_format(counts["dispatched"])},
            ),
            (
                _("Returned at least once"),
                percent_of(counts["returned"], counts["received"]),
                number_format(counts["returned"]),
            ),
            (
                _("Reopened"),
                percent_of(counts["reopened"], counts["received"]),
                number_format(counts["reopened"]),
            ),
        ]
    }


def _rows_html(rows: list[dict]) -> str:
    """A breakdown table's body. Written here, every value escaped, rather than tag by tag in the
    template: the department breakdown has a row per department, hundreds, and the template
    engine's cost per tag was most of the page's time."""
    labels = [
        escape(str(label))
        for label in (
            _("Senders (all tickets)"),
            _("Matters (linked counted once)"),
            _("Open"),
            _("Overdue"),
            _("Closed"),
            _("Signed for on time"),
            _("Answered on time"),
            _("Average satisfaction"),
            _("Unsatisfied"),
        )
    ]
    columns = (
        "senders",
        "matters",
        "open",
        "overdue",
        "closed",
        "signed_display",
        "answered_display",
        "satisfaction_display",
        "unsatisfied_display",
    )
    lines = []
    for row in rows:
        cells = [escape(str(row[column])) for column in columns]
        if row["rated"]:
            cells[7] += f' <span class="note">({escape(str(row["rated_display"]))})</span>'
        lines.append(
            f'<tr data-key="{escape(str(row["key_text"]))}">'
            f'<th scope="row">{escape(str(row["label"]))}</th>'
            + "".join(
                f'<td data-label="{label}">{cell}</td>'
                for label, cell in zip(labels, cells, strict=True)
            )
            + "</tr>"
        )
    return mark_safe("\n".join(lines))  # noqa: S308 (every value is escaped)


def _breakdowns(result: stats.TicketStats, downloads: dict) -> list[dict]:
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
            "rows": rows,
            "rows_html": _rows_html(_displayed(rows)),
            "downloads": downloads[f"by_{key}"],
        }
        for key, title, column, rows in sections
    ]


def _csv_file(name: str) -> tuple[HttpResponse, Any]:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.write("\ufeff")  # Excel reads UTF-8 Chinese only with the BOM
    return response, csv.writer(response)


def _number(value) -> str:
    """A figure in a CSV cell: shares are percentages with one decimal, nothing counted empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.1f}"
    return str(value)


def _csv_response(result: stats.TicketStats) -> HttpResponse:
    """Every breakdown in one file, a column saying which."""
    filters = result.filters
    response, writer = _csv_file(f"ticket-stats-{filters.date_from}-{filters.date_to}")
    writer.writerow(["dimension", "key", "label", *stats.BREAKDOWN_COLUMNS])
    for dimension, row in stats.breakdown_rows(result):
        writer.writerow(
            [
                dimension,
                _cell(row["key"]),
                _cell(row["label"]),
                *map(_number, stats.breakdown_values(row)),
            ]
        )
    return response


def _table_csv(result: stats.TicketStats, table: str) -> HttpResponse:
    filters = result.filters
    response, writer = _csv_file(f"ticket-stats-{table}-{filters.date_from}-{filters.date_to}")
    if table == "totals":
        counts = result.counts
        writer.writerow(["figure", "value"])
        shares = {
            "auto_dispatch_share": ("dispatched_automatically", "dispatched"),
            "returned_share": ("returned", "received"),
            "reopened_share": ("reopened", "received"),
            "signed_on_time_rate": ("signed_on_time", "signed"),
            "answered_on_time_rate": ("answered_on_time", "answered"),
            "satisfied_share": ("satisfied", "rated"),
            "unsatisfied_share": ("unsatisfied", "rated"),
        }
        for group in (result.totals, result.timeliness, result.satisfaction):
            for name, value in group.items():
                if name in shares:
                    part, whole = shares[name]
                    name = name.rsplit("_", 1)[0] + "_percent"
                    value = stats.percent(counts[part], counts[whole])
                elif name == "average":
                    name = "satisfaction_average"
                writer.writerow([name, _number(value)])
    elif table == "series":
        writer.writerow(["start", "received", "closed"])
        for point in result.series["points"]:
            writer.writerow([point["start"], point["received"], point["closed"]])
    elif table == "top_issues":
        writer.writerow(["section", "department_key", "department", "category", "count", "percent"])
        for row in result.top_issues["categories"]:
            share = stats.percent(row["_counts"]["part"], row["_counts"]["whole"])
            writer.writerow(["top", "", "", _cell(row["category"]), row["count"], _number(share)])
        for entry in result.top_issues["by_department"]:
            for row in entry["categories"]:
                writer.writerow(
                    [
                        "department",
                        _cell(entry["key"]),
                        _cell(entry["label"]),
                        _cell(row["category"]),
                        row["count"],
                        "",
                    ]
                )
    else:
        writer.writerow(["key", "label", *stats.BREAKDOWN_COLUMNS])
        for row in getattr(result, table):
            writer.writerow(
                [_cell(row["key"]), _cell(row["label"]), *map(_number, stats.breakdown_values(row))]
            )
    return response


def _json_response(result: stats.TicketStats, table: str | None) -> HttpResponse:
    """The API's document, or one table's part of it."""
    filters = result.filters
    body = result.as_dict() if table is None else result.table_dict(table)
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    name = f"ticket-stats-{table or 'all'}-{filters.date_from}-{filters.date_to}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _download_refusal(request: HttpRequest) -> str | None:
    """Why the asked-for download cannot be made, or ``None`` (a page, or a known table)."""
    wanted = request.GET.get("format", "")
    table = request.GET.get("table")
    if wanted and wanted not in FORMATS:
        return _("Choose the format csv or json (format=csv or format=json).")
    if table is not None and table not in stats.TicketStats.TABLES:
        return _("There is no table “%(table)s”. Choose one of: %(tables)s.") % {
            "table": table[:40],
            "tables": ", ".join(stats.TicketStats.TABLES),
        }
    if table is not None and not wanted:
        return _("A table is downloaded as CSV or JSON: add format=csv or format=json.")
    return None


def _cell(value) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _options(choices, selected: str) -> str:
    """A select's options, the chosen one selected. Written here, each value escaped, as the
    department and region lists are hundreds long (see ``_rows_html``)."""
    return mark_safe(  # noqa: S308 (every value is escaped)
        "".join(
            f'<option value="{escape(str(value))}"{" selected" if value == selected else ""}>'
            f"{escape(str(label))}</option>"
            for value, label in choices
        )
    )


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
    refusal = _download_refusal(request)
    if refusal is not None:
        return HttpResponseBadRequest(refusal, content_type="text/plain; charset=utf-8")
    form = stats.TicketStatsFilterForm(request.GET, scope=scope)
    departments = stats.department_choices(scope)
    values = _form_values(form)
    regions = stats.region_choices()
    indent = {Region.Level.CITY: "· ", Region.Level.COUNTY: "·· "}
    context = {
        "form": form,
        "values": values,
        "departments": departments,
        # (value, label, selected) of each filter's options, worked out once here: the
        # department and region lists are long
        "department_options": _options(departments, values["department"]),
        "region_options": _options(
            ((code, f"{indent.get(level, '')}{name}") for code, name, level in regions),
            values["region"],
        ),
        "category_options": _options(((c, c) for c in CATEGORIES), values["category"]),
        "kind_options": _options(Ticket.Kind.choices, values["kind"]),
        "channel_options": _options(Ticket.Channel.choices, values["channel"]),
        "period_options": _options(
            [("day", _("Day")), ("week", _("Week")), ("month", _("Month"))], values["period"]
        ),
        "sees_all": scope.sees_all,
    }
    if not form.is_valid():
        return render(request, "complaints/stats.html", context, status=400)
    result = stats.ticket_stats(scope=scope, filters=form.filters)
    wanted, table = request.GET.get("format"), request.GET.get("table")
    if wanted == "csv":
        return _csv_response(result) if table is None else _table_csv(result, table)
    if wanted == "json":
        return _json_response(result, table)
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("table", None)
    csv_query = query.copy()
    csv_query["format"] = "csv"
    downloads = {}
    for name in stats.TicketStats.TABLES:
        links = {}
        for kind in FORMATS:
            link = query.copy()
            link["format"], link["table"] = kind, name
            links[kind] = link.urlencode()
        downloads[name] = links
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
            "breakdowns": _breakdowns(result, downloads),
            "top_categories": [
                {
                    **row,
                    "share_display": percent_of(row["_counts"]["part"], row["_counts"]["whole"]),
                }
                for row in result.top_issues["categories"]
            ],
            "top_by_department": result.top_issues["by_department"][:BAR_CHART_LIMIT],
            "downloads": downloads,
            "csv_query": csv_query.urlencode(),
            "api_query": query.urlencode(),
        }
    )
    return render(request, "complaints/stats.html", context)


urlpatterns = [path("staff/tickets/stats/", ticket_stats, name="stats")]

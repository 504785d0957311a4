"""Reading the board: snapshots, a department's history, the public breakdown of each figure and,
for staff within their scope, the rows behind it."""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils.translation import gettext as _

from departments.models import Department

from .metrics import METRIC_BY_KEY, Metric, Period, counted_expression
from .models import Score, Snapshot
from .services import minimum_volume


@functools.cache
def _board_version_sql() -> str:
    """``Snapshot.objects.aggregate(Max("id"), Count("id"))``, written once per process: the
    ORM would build and compile it anew for every view of a kept board."""
    quote = connection.ops.quote_name
    pk = quote(Snapshot._meta.pk.column)
    table = quote(Snapshot._meta.db_table)
    return f"SELECT MAX({pk}), COUNT({pk}) FROM {table}"  # noqa: S608 - the model's own names


def board_version(request, *args, **kwargs) -> list:
    """What the board's pages show changes only with a new snapshot: one is replaced by a new
    row (a new id) and nothing edits one (nor its scores or weights) in place. For the board
    kept whole (``zheliban.core.page_cache``); one small query."""
    with connection.cursor() as cursor:
        cursor.execute(_board_version_sql())
        last, count = cursor.fetchone()
    return [last, count]


def snapshot_latest(period: str) -> Snapshot | None:
    return (
        Snapshot.objects.filter(period=period)
        .select_related("weight_set")
        .order_by("-start")
        .first()
    )


def snapshot_get(period: str, start) -> Snapshot | None:
    return Snapshot.objects.filter(period=period, start=start).select_related("weight_set").first()


def board_level_counts(snapshot: Snapshot, *, regions: bool = False) -> dict[str, tuple[int, int]]:
    """``{level: (ranked rows, rows)}`` of a snapshot's departments (or regions), one query."""
    found = (
        snapshot.scores.filter(department__isnull=regions)
        .values("level")
        .annotate(ranked_rows=Count("pk", filter=Q(ranked=True)), rows=Count("pk"))
        .order_by()
    )
    return {row["level"]: (row["ranked_rows"], row["rows"]) for row in found}


def board_scores(
    snapshot: Snapshot,
    *,
    level: str,
    regions: bool = False,
    search: str = "",
    figure: str | None = "*",
) -> QuerySet[Score]:
    """The rows of one level, ranked first (by rank), then the unranked by code.

    ``search`` keeps the rows whose department (or region) name or code contains it.
    ``figure``: ``"*"`` loads every figure (downloads, API); a metric key loads that figure
    alone as ``sorted_figure``; ``None`` loads none (a page sorted by rank or score)."""
    qs = snapshot.scores.filter(level=level, department__isnull=regions)
    if search:
        if regions:
            qs = qs.filter(Q(region__name__icontains=search) | Q(region__code__icontains=search))
        else:
            qs = qs.filter(
                Q(department__name__icontains=search) | Q(department__code__icontains=search)
            )
    if figure != "*":
        qs = qs.defer("metrics")
        if figure is not None:
            qs = qs.annotate(sorted_figure=F(f"metrics__{METRIC_BY_KEY[figure].key}"))
    return qs.select_related("department", "region").order_by(
        F("rank").asc(nulls_last=True), "department__code", "region__code"
    )


UNRANKED_NO_ACTIVITY = "no_activity"
UNRANKED_LOW_VOLUME = "below_min_volume"
UNRANKED_NOT_SCORED = "not_scored"
UNRANKED_REASONS = (UNRANKED_NO_ACTIVITY, UNRANKED_LOW_VOLUME, UNRANKED_NOT_SCORED)


def unranked_reason(score: Score, weight_set) -> str | None:
    """Why a row has no rank: nothing done in the period, fewer things done than the weight
    version's minimum volume, or (rarely) nothing weighted measured at its level."""
    if score.ranked:
        return None
    if not score.volume:
        return UNRANKED_NO_ACTIVITY
    if score.volume < minimum_volume(weight_set):
        return UNRANKED_LOW_VOLUME
    return UNRANKED_NOT_SCORED


def department_history(department: Department, period: str) -> QuerySet[Score]:
    """A department's scores over time (one query): the trend costs no computation."""
    return (
        Score.objects.filter(department=department, snapshot__period=period)
        .select_related("snapshot__weight_set")
        .order_by("snapshot__start")
    )


def _department_rows(metric: Metric, department: Department, snapshot: Snapshot) -> QuerySet:
    """The rows of one department's figure, not yet made distinct nor annotated."""
    period = Period(snapshot.start, snapshot.end)
    if metric.by_region:  # nothing of it belongs to a department
        return metric.rows(period).none()
    return metric.rows(period).filter(**{metric.department: department})


def _repeats(metric: Metric) -> bool:
    """Whether the path to the department is a join that may repeat a row."""
    return "__" in metric.department


def drilldown(metric: Metric | str, department: Department, snapshot: Snapshot) -> QuerySet:
    """The rows behind one department's figure, each with ``counted`` (rates) or ``amount``
    (ratios and means): the figure is their count, or their sums, again.

    Row-level: only staff see these, for a department ``department_get_for_staff_rows`` gives
    them; the public sees ``drilldown_breakdown``."""
    metric = METRIC_BY_KEY[metric] if isinstance(metric, str) else metric
    rows = _department_rows(metric, department, snapshot)
    if _repeats(metric):
        rows = rows.distinct()
    if metric.kind == "rate":
        return rows.annotate(counted=counted_expression(metric)).order_by("pk")
    if metric.kind == "ratio":
        statutory, promised = metric.ratio_sums
        return rows.annotate(amount=F(statutory) - F(promised), base=F(statutory)).order_by("pk")
    if metric.kind == "quantile":  # in order: the figure is the row at ⌈q·n⌉
        return rows.annotate(amount=metric.expression()).order_by("amount", "pk")
    return rows.annotate(amount=metric.expression()).order_by("pk")


# ---------------------------------------------------------------- pages and API (additions)

EARLIER_SNAPSHOTS_SHOWN = 36


def snapshot_starts(period: str, *, limit: int = EARLIER_SNAPSHOTS_SHOWN) -> list:
    """The starts of the stored snapshots of one kind, newest first (one query)."""
    return list(
        Snapshot.objects.filter(period=period)
        .order_by("-start")
        .values_list("start", flat=True)[:limit]
    )


def snapshot_department_scores(snapshot: Snapshot) -> list[Score]:
    """Every department's row of a snapshot, with its department and region (one query)."""
    return list(
        snapshot.scores.filter(department__isnull=False)
        .select_related("department", "region")
        .order_by("level", F("rank").asc(nulls_last=True), "department__code")
    )


def department_get_for_board(code: str) -> Department | None:
    return Department.objects.filter(code=code).select_related("region").first()


def department_score(snapshot: Snapshot, department: Department) -> Score | None:
    return snapshot.scores.filter(department=department).first()


def items_missing_targets(department: Department, *, limit: int = 10) -> list:
    """The department's published items that miss a catalog target (not online, not mobile,
    needing a trip, not ID-only), most targets missed first, then the most used (one query)."""
    from catalog.models import ServiceItem

    def missed(condition: Q):
        return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())

    return list(
        ServiceItem.objects.filter(department=department, is_active=True)
        .annotate(
            misses_online=missed(Q(online=False)),
            misses_mobile=missed(Q(mobile=False)),
            misses_trips=missed(Q(trips__gt=0)),
            misses_id_only=missed(Q(id_only=False)),
        )
        .annotate(
            misses=F("misses_online") + F("misses_mobile") + F("misses_trips") + F("misses_id_only")
        )
        .filter(misses__gt=0)
        .only("pk", "code", "name", "online", "mobile", "trips", "id_only", "popularity")
        .order_by("-misses", "-popularity", "code")[:limit]
    )


# What a drill-down row may show: never an applicant's name, a ticket's sender or its content.
_DRILLDOWN_FIELDS = {
    "catalog.serviceitem": (
        (),
        ("pk", "code", "name", "online", "mobile", "trips", "id_only"),
    ),
    "workflows.task": (
        ("application", "item"),
        (
            "pk",
            "step",
            "label",
            "state",
            "due_date",
            "ready_at",
            "finished_at",
            "application__reference",
            "item__name",
        ),
    ),
    "complaints.ticket": (
        (),
        (
            "pk",
            "kind",
            "title",
            "created_at",
            "state",
            "signed_on_time",
            "answered_on_time",
            "satisfaction",
            "reopen_count",
        ),
    ),
    "complaints.ticketdepartment": (
        ("ticket",),
        ("pk", "state", "created_at", "ticket__kind", "ticket__title"),
    ),
    "workflows.rating": (
        ("application",),
        ("pk", "score", "created_at", "application__reference"),
    ),
    "workflows.rectification": (
        ("rating__application",),
        ("pk", "state", "fix_due", "fixed_at", "rating__score", "rating__application__reference"),
    ),
}


def drilldown_totals(metric: Metric | str, department: Department, snapshot: Snapshot) -> dict:
    """The figure again, by one aggregation over the drill-down's rows:
    ``{"rows", "num", "den"}`` (``num``/``den`` as the snapshot stores them)."""
    metric = METRIC_BY_KEY[metric] if isinstance(metric, str) else metric
    rows = drilldown(metric, department, snapshot).order_by()
    if metric.kind == "rate":
        found = rows.aggregate(rows=Count("pk"), num=Count("pk", filter=Q(counted=True)))
        found["den"] = found["rows"]
    elif metric.kind == "ratio":
        found = rows.aggregate(rows=Count("pk"), num=Sum("amount"), den=Sum("base"))
    elif metric.kind == "quantile":
        found = rows.aggregate(rows=Count("pk"))
        found["den"] = found["rows"]
        position = math.ceil(found["rows"] * metric.rank) if found["rows"] else 0
        found["num"] = (
            drilldown(metric, department, snapshot).values_list("amount", flat=True)[position - 1]
            if position
            else 0
        )
    else:
        found = rows.aggregate(rows=Count("pk"), num=Sum("amount"))
        found["den"] = found["rows"]
    num = found["num"] or 0
    if isinstance(num, dt.timedelta):
        num = num.total_seconds() / 86400
    return {"rows": found["rows"], "num": float(num), "den": float(found["den"] or 0)}


def drilldown_rows(
    metric: Metric | str, department: Department, snapshot: Snapshot, *, counted: bool | None = None
) -> QuerySet:
    """The drill-down's rows with only the columns a page may show (no personal data);
    ``counted`` keeps only the rows counted (or not) in a rate's numerator."""
    metric = METRIC_BY_KEY[metric] if isinstance(metric, str) else metric
    rows = drilldown(metric, department, snapshot)
    if counted is not None and metric.kind == "rate":
        rows = rows.filter(counted=counted)
    related, fields = _DRILLDOWN_FIELDS[rows.model._meta.label_lower]
    if related:
        rows = rows.select_related(*related)
    return rows.only(*fields)


def department_ids_in_scope(user) -> set[int]:
    """The departments a member of staff may watch on the staff board (superusers: all)."""
    from departments.scoping import scope_queryset

    return set(
        scope_queryset(Department.objects.all(), user, department_field="pk").values_list(
            "pk", flat=True
        )
    )


def department_get_for_staff_rows(*, user, code: str) -> Department:
    """The department whose rows behind a figure (case and ticket numbers) a member of staff
    may read: one in their scope (``departments.scoping``). Unknown: ``Http404``; anyone else,
    staff of other departments included: ``PermissionDenied``."""
    department = department_get_for_board(code)
    if department is None:
        raise Http404(_("No department has this code."))
    if not may_see_drilldown_rows(user, department):
        raise PermissionDenied
    return department


def may_see_drilldown_rows(user, department: Department) -> bool:
    """Whether the public drill-down may point this visitor to the rows (one query for staff,
    none for anyone else)."""
    from departments.scoping import in_scope

    return bool(
        user.is_authenticated
        and user.is_staff
        and in_scope(department, user, department_field="pk")
    )


# ---------------------------------------------------------------- what the public may see
#
# The public drill-down is the figure broken down: the same counts (or sums) grouped by item,
# by month and, for tickets, by category, never a row. A group is named by a catalog object
# (an item or a bundle, which are public), a month, one of the dispatch model's fixed categories
# or a band of days; nothing in it names a case, a ticket, a person or what someone wrote.
# Every public surface of the board (the page, its CSV and JSON, the API) reads this.

DIMENSION_ITEM = "item"
DIMENSION_MONTH = "month"
DIMENSION_CATEGORY = "category"
DIMENSION_DAYS = "days"


@dataclass(frozen=True)
class _Paths:
    """Where a row model keeps what a breakdown groups by (``None``: not grouped that way)."""

    item: str | None  # a catalog item ("" for the item itself)
    bundle: str | None = None  # the bundle of a case filed for one
    month: str | None = None  # the date or time that places a row in a month
    category: str | None = None  # a ticket's dispatch category


_BREAKDOWN_PATHS = {
    "catalog.serviceitem": _Paths(item=""),
    "workflows.task": _Paths(item="item", month="finished_at"),
    "complaints.ticket": _Paths(item=None, month="created_at", category="category"),
    "complaints.ticketdepartment": _Paths(
        item=None, month="created_at", category="ticket__category"
    ),
    "workflows.rating": _Paths(
        item="application__item", bundle="application__bundle", month="created_at"
    ),
    "workflows.rectification": _Paths(
        item="rating__application__item", bundle="rating__application__bundle", month="fix_due"
    ),
}


@dataclass
class BreakdownGroup:
    """One group of a breakdown: its rows, what they count (``num``) and over what (``den``):
    rows for rates and means, the sum of statutory days for the compression ratio."""

    key: str
    label: str
    rows: int
    num: float
    den: float
    item_code: str = ""  # a published item the group is: the page links to it
    holds_figure: bool = False  # days: the band holding the quantile's row

    @property
    def not_counted(self) -> int:
        return self.rows - int(self.num)


@dataclass
class Breakdown:
    metric: Metric
    model: str  # the rows' model: serviceitem, task, ticket, ticketdepartment, rating …
    totals: dict  # ``drilldown_totals``: the figure from the rows, in one aggregation
    dimensions: dict[str, list[BreakdownGroup]] = field(default_factory=dict)


def _group_aggregates(metric: Metric) -> dict:
    distinct = _repeats(metric)
    if metric.kind == "rate":
        return {
            "g_rows": Count("pk", distinct=distinct),
            "g_num": Count("pk", filter=metric.counted, distinct=distinct),
        }
    if metric.kind == "ratio":
        statutory, promised = metric.ratio_sums
        return {
            "g_rows": Count("pk"),
            "g_num": Sum(F(statutory) - F(promised)),
            "g_den": Sum(statutory),
        }
    return {"g_rows": Count("pk"), "g_num": Sum(metric.expression())}


def _group(metric: Metric, key: str, label: str, found: dict, **extra) -> BreakdownGroup:
    rows = found["g_rows"] or 0
    num = _as_days(found["g_num"] or 0)
    den = _as_days(found["g_den"] or 0) if metric.kind == "ratio" else float(rows)
    return BreakdownGroup(key=key, label=label, rows=rows, num=num, den=den, **extra)


def _as_days(value) -> float:
    return value.total_seconds() / 86400 if isinstance(value, dt.timedelta) else float(value)


def _path(prefix: str, name: str) -> str:
    return f"{prefix}__{name}" if prefix else name


def _by_item(metric: Metric, rows: QuerySet, item: str, bundle: str | None) -> list[BreakdownGroup]:
    names = {
        "i_code": _path(item, "code"),
        "i_name": _path(item, "name"),
        "i_active": _path(item, "is_active"),
    }
    if bundle:
        names |= {"b_slug": f"{bundle}__slug", "b_name": f"{bundle}__name"}
    groups = []
    for found in rows.values(**{k: F(v) for k, v in names.items()}).annotate(
        **_group_aggregates(metric)
    ):
        if found["i_code"]:
            key, label = found["i_code"], found["i_name"]
        elif found.get("b_slug"):
            key, label = f"bundle:{found['b_slug']}", found["b_name"]
        else:
            key, label = "", str(_("Without an item"))
        code = found["i_code"] if found["i_code"] and found["i_active"] else ""
        groups.append(_group(metric, key, label, found, item_code=code or ""))
    return groups


def _by_month(metric: Metric, rows: QuerySet, path: str) -> list[BreakdownGroup]:
    groups = []
    for found in (
        rows.annotate(g_month=TruncMonth(path))
        .values("g_month")
        .annotate(**_group_aggregates(metric))
    ):
        month = found["g_month"]
        key = f"{month:%Y-%m}" if month is not None else ""
        groups.append(_group(metric, key, key or "—", found))
    return sorted(groups, key=lambda g: g.key)


def _by_category(metric: Metric, rows: QuerySet, category: str) -> list[BreakdownGroup]:
    from complaints.dispatch.categories import CATEGORIES

    merged: dict[str, BreakdownGroup] = {}
    for found in rows.values(g_category=F(category)).annotate(**_group_aggregates(metric)):
        # Only the dispatch model's fixed categories are named; anything else is "other".
        name = found["g_category"] if found["g_category"] in CATEGORIES else ""
        group = _group(metric, name, name or str(_("Other or not classified")), found)
        if name in merged:
            kept = merged[name]
            kept.rows, kept.num, kept.den = (
                kept.rows + group.rows,
                kept.num + group.num,
                kept.den + group.den,
            )
        else:
            merged[name] = group
    return list(merged.values())


def _by_days(metric: Metric, rows: QuerySet, totals: dict) -> list[BreakdownGroup]:
    """Whole-day bands of a quantile's rows, shortest first; the band holding the ⌈q·n⌉-th row
    is marked: the figure lies in it."""
    bands: dict[int, int] = {}
    for amount in rows.annotate(amount=metric.expression()).values_list("amount", flat=True):
        band = max(0, math.floor(_as_days(amount)))
        bands[band] = bands.get(band, 0) + 1
    position = math.ceil(totals["rows"] * metric.rank) if totals["rows"] else 0
    groups, seen = [], 0
    for band in sorted(bands):
        count = bands[band]
        holds = seen < position <= seen + count
        seen += count
        groups.append(
            BreakdownGroup(
                key=str(band),
                label=str(_("%(low)d to %(high)d days") % {"low": band, "high": band + 1}),
                rows=count,
                num=float(seen),  # the rows up to this band: the running count
                den=float(totals["rows"]),
                holds_figure=holds,
            )
        )
    return groups


def _worse_first(metric: Metric, group: BreakdownGroup):
    if metric.kind == "rate":
        worse = group.rows - group.num if metric.higher_is_better else group.num
        return (-worse, -group.rows, group.key)
    return (-group.rows, group.key)


def drilldown_breakdown(
    metric: Metric | str, department: Department, snapshot: Snapshot
) -> Breakdown:
    """One department's figure broken down by item, month and category (tickets), or by bands
    of days (quantiles): each dimension's groups add up to the figure (``totals``) again."""
    metric = METRIC_BY_KEY[metric] if isinstance(metric, str) else metric
    totals = drilldown_totals(metric, department, snapshot)
    rows = _department_rows(metric, department, snapshot).order_by()
    paths = _BREAKDOWN_PATHS[rows.model._meta.label_lower]
    found = Breakdown(metric=metric, model=rows.model._meta.model_name, totals=totals)
    if paths.item is not None:
        found.dimensions[DIMENSION_ITEM] = sorted(
            _by_item(metric, rows, paths.item, paths.bundle), key=lambda g: _worse_first(metric, g)
        )
    if paths.category is not None:
        found.dimensions[DIMENSION_CATEGORY] = sorted(
            _by_category(metric, rows, paths.category), key=lambda g: _worse_first(metric, g)
        )
    if paths.month is not None:
        found.dimensions[DIMENSION_MONTH] = _by_month(metric, rows, paths.month)
    if metric.kind == "quantile":
        found.dimensions[DIMENSION_DAYS] = _by_days(metric, rows, totals)
    return found

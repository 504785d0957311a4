"""What the board measures: each metric is a set of rows (its denominator) and a condition on
them (its numerator), or a value per row to average, all read from what actually happened.

The same definition gives the snapshot's figure (one SQL aggregation per metric, grouped by
department) and the drill-down list (the rows themselves, each marked counted or not), so every
published figure can be recomputed from its list. Applications count only through the history
the transition services write: a task counts as finished when a ``complete`` or ``reject``
history row says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import BooleanField as BooleanOutput
from django.db.models import (
    Case,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    When,
)
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from catalog.models import ServiceItem
from complaints.models import AssistantQuestion, Ticket, TicketDepartment
from workflows.models import Rating, Rectification, Task, TaskEvent


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # exclusive

    @property
    def since(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.start, dt.time.min))

    @property
    def until(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.end, dt.time.min))


@dataclass(frozen=True)
class Metric:
    key: str
    label: Promise
    group: str  # catalog, applications, complaints, ratings
    numerator: Promise  # what is counted (rates) or averaged (means)
    denominator: Promise  # over which rows
    rows: Callable[[Period], QuerySet]  # the denominator's rows
    department: str  # the path from a row to its department
    counted: Q | None = None  # rates: the numerator's condition
    value: Callable[[], object] | None = None  # means: the expression averaged
    kind: str = "rate"  # rate | ratio | mean | quantile
    ratio: tuple[str, str] | None = None  # ratios: (numerator sum, denominator sum) expressions
    quantile: float | None = None  # quantiles: which (nearest rank: the ⌈q·n⌉-th smallest)
    by_region: bool = False  # measured per region only (``department`` is then a region path)
    higher_is_better: bool = True
    target: float | None = None
    weight: float = 1.0  # the default weight in a new weight set
    row_model: str = field(default="")

    @property
    def direction(self) -> str:
        return "up" if self.higher_is_better else "down"

    def expression(self):
        """The expression a mean or a quantile reads from each row."""
        if self.value is None:
            raise TypeError(f"The metric {self.key} reads no value from its rows.")
        return self.value()

    @property
    def ratio_sums(self) -> tuple[str, str]:
        """A ratio's (statutory, promised) sums."""
        if self.ratio is None:
            raise TypeError(f"The metric {self.key} is not a ratio.")
        return self.ratio

    @property
    def rank(self) -> float:
        """A quantile's q."""
        if self.quantile is None:
            raise TypeError(f"The metric {self.key} is not a quantile.")
        return self.quantile


# ---------------------------------------------------------------- rows


def _items(period: Period) -> QuerySet:
    # The catalog as published now: an item's channels and limits are a state, not an event.
    return ServiceItem.objects.filter(is_active=True)


def _items_with_limits(period: Period) -> QuerySet:
    return ServiceItem.objects.filter(is_active=True, statutory_days__gt=0)


def _finished_tasks(period: Period) -> QuerySet:
    """Tasks a department finished (completed or rejected) in the period, by the history."""
    finished = TaskEvent.objects.filter(
        task=OuterRef("pk"),
        action__in=["complete", "reject"],
        at__gte=period.since,
        at__lt=period.until,
    )
    return Task.objects.filter(
        Exists(finished), state__in=[Task.State.COMPLETED, Task.State.REJECTED]
    )


def _completed_tasks(period: Period) -> QuerySet:
    return _finished_tasks(period).filter(state=Task.State.COMPLETED)


def _corrected() -> Q:
    return Q(Exists(TaskEvent.objects.filter(task=OuterRef("pk"), action="correction")))


def _extended() -> Q:
    return Q(Exists(TaskEvent.objects.filter(task=OuterRef("pk"), action="extend_approve")))


def _signed_tickets(period: Period) -> QuerySet:
    return Ticket.objects.filter(
        created_at__gte=period.since, created_at__lt=period.until, signed_on_time__isnull=False
    )


def _answered_tickets(period: Period) -> QuerySet:
    return Ticket.objects.filter(
        created_at__gte=period.since, created_at__lt=period.until, answered_on_time__isnull=False
    )


def _dispatched_parts(period: Period) -> QuerySet:
    return TicketDepartment.objects.filter(
        created_at__gte=period.since, created_at__lt=period.until, is_lead=True
    )


def _rated_tickets(period: Period) -> QuerySet:
    return Ticket.objects.filter(
        created_at__gte=period.since, created_at__lt=period.until, satisfaction__isnull=False
    )


def _questions(period: Period) -> QuerySet:
    return AssistantQuestion.objects.filter(asked_at__gte=period.since, asked_at__lt=period.until)


def _ratings(period: Period) -> QuerySet:
    """Ratings of the period, reaching the departments that carried out a step of the case
    (completed or rejected it), as the rectifications do; a cancelled step is nobody's."""
    return Rating.objects.filter(
        created_at__gte=period.since, created_at__lt=period.until
    ).annotate(
        carried_out=FilteredRelation(
            "application__tasks",
            condition=Q(application__tasks__state__in=[Task.State.COMPLETED, Task.State.REJECTED]),
        )
    )


def _rectifications_due(period: Period) -> QuerySet:
    return Rectification.objects.filter(fix_due__gte=period.start, fix_due__lt=period.end)


def _timed_tasks(period: Period) -> QuerySet:
    return _finished_tasks(period).filter(ready_at__isnull=False)


def _handling_days():
    return ExpressionWrapper(F("finished_at") - F("ready_at"), output_field=DurationField())


METRICS: tuple[Metric, ...] = (
    Metric(
        "online",
        _("Online rate"),
        "catalog",
        _("published items that can be handled online"),
        _("published items"),
        _items,
        "department",
        counted=Q(online=True),
        target=1.0,
    ),
    Metric(
        "mobile",
        _("Mobile rate"),
        "catalog",
        _("published items that can be handled on a phone"),
        _("published items"),
        _items,
        "department",
        counted=Q(mobile=True),
        target=0.8,
    ),
    Metric(
        "zero_trips",
        _("Zero-trip rate"),
        "catalog",
        _("published items needing no trip to the hall"),
        _("published items"),
        _items,
        "department",
        counted=Q(trips=0),
        target=0.9,
    ),
    Metric(
        "id_only",
        _("ID-only rate"),
        "catalog",
        _("published items for which the ID card alone suffices"),
        _("published items"),
        _items,
        "department",
        counted=Q(id_only=True),
        target=0.9,
    ),
    Metric(
        "compression",
        _("Promised-limit compression"),
        "catalog",
        _("sum of (statutory − promised) days"),
        _("sum of statutory days, over published items with a statutory limit"),
        _items_with_limits,
        "department",
        kind="ratio",
        ratio=("statutory_days", "promised_days"),
    ),
    Metric(
        "on_time",
        _("On-time completion"),
        "applications",
        _("steps completed by their due date"),
        _("steps completed in the period"),
        _completed_tasks,
        "department",
        counted=Q(finished_at__date__lte=F("due_date")),
    ),
    Metric(
        "handling_days",
        _("Average handling days"),
        "applications",
        _("days from a step being ready to it being finished"),
        _("steps finished in the period"),
        _timed_tasks,
        "department",
        kind="mean",
        value=_handling_days,
        higher_is_better=False,
        weight=0.0,
    ),
    Metric(
        "handling_days_p90",
        _("90th percentile of handling days"),
        "applications",
        _("days of the step at the 90th percentile, the ⌈0.9·n⌉-th shortest"),
        _("steps finished in the period"),
        _timed_tasks,
        "department",
        kind="quantile",
        value=_handling_days,
        quantile=0.9,
        higher_is_better=False,
        weight=0.0,
    ),
    Metric(
        "correction",
        _("Correction rate"),
        "applications",
        _("finished steps that asked the citizen for a correction"),
        _("steps finished in the period"),
        _finished_tasks,
        "department",
        counted=_corrected(),
        higher_is_better=False,
        weight=0.5,
    ),
    Metric(
        "extension",
        _("Extension rate (延期)"),
        "applications",
        _("finished steps given more time by an approved extension"),
        _("steps finished in the period"),
        _finished_tasks,
        "department",
        counted=_extended(),
        higher_is_better=False,
        weight=0.0,
    ),
    Metric(
        "rejection",
        _("Rejection rate"),
        "applications",
        _("finished steps that were rejected"),
        _("steps finished in the period"),
        _finished_tasks,
        "department",
        counted=Q(state=Task.State.REJECTED),
        higher_is_better=False,
        weight=0.5,
    ),
    Metric(
        "sign_on_time",
        _("Sign-for timeliness"),
        "complaints",
        _("tickets signed for by their deadline"),
        _("tickets received in the period and signed for"),
        _signed_tickets,
        "department",
        counted=Q(signed_on_time=True),
    ),
    Metric(
        "reply_on_time",
        _("Reply timeliness"),
        "complaints",
        _("tickets answered by their deadline"),
        _("tickets received in the period and answered"),
        _answered_tickets,
        "department",
        counted=Q(answered_on_time=True),
    ),
    Metric(
        "returns",
        _("Return rate (退单)"),
        "complaints",
        _("tickets the department returned as not its own"),
        _("tickets dispatched to it to lead in the period"),
        _dispatched_parts,
        "department",
        counted=Q(state=TicketDepartment.State.RETURNED),
        higher_is_better=False,
        weight=0.5,
    ),
    Metric(
        "satisfaction",
        _("Satisfaction"),
        "complaints",
        _("tickets rated satisfied or very satisfied (4–5)"),
        _("tickets received in the period and rated"),
        _rated_tickets,
        "department",
        counted=Q(satisfaction__gte=4),
    ),
    Metric(
        "reopened",
        _("Reopen rate"),
        "complaints",
        _("answered tickets reopened because the citizen was not satisfied"),
        _("tickets received in the period and answered"),
        _answered_tickets,
        "department",
        counted=Q(reopen_count__gt=0),
        higher_is_better=False,
        weight=0.5,
    ),
    Metric(
        "ticket_delay",
        _("Extension and suspension rate (延期/挂起)"),
        "complaints",
        _("answered tickets given more time by an approved 延期 or 挂起"),
        _("tickets received in the period and answered"),
        _answered_tickets,
        "department",
        counted=Q(delay_count__gt=0),
        higher_is_better=False,
        weight=0.0,
    ),
    Metric(
        "assistant_answered",
        _("Assistant answer rate"),
        "complaints",
        _("questions the assistant answered from its sources"),
        _("questions asked in the period from the region (regions only)"),
        _questions,
        "region",
        counted=Q(answered=True),
        by_region=True,
        weight=0.5,
    ),
    Metric(
        "bad_ratings",
        _("Bad-rating rate"),
        "ratings",
        _("ratings of 1 or 2 (差评)"),
        _("ratings in the period of cases the department took part in"),
        _ratings,
        "carried_out__department",
        counted=Q(score__lte=2),
        higher_is_better=False,
    ),
    Metric(
        "rectified_on_time",
        _("Rectification on time"),
        "ratings",
        _("rectifications fixed by their due date"),
        _("rectifications due in the period"),
        _rectifications_due,
        "department",
        counted=Q(state=Rectification.State.FIXED, fixed_at__date__lte=F("fix_due")),
    ),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}


def counted_expression(metric: Metric):
    """A row's flag: counted in the numerator (rates)."""
    return Case(When(metric.counted, then=True), default=False, output_field=BooleanOutput())


def default_weights() -> dict[str, float]:
    return {m.key: m.weight for m in METRICS}

"""The roll-ups of the leaders' statistics: what ``complaints.rollups`` keeps and
``complaints.stats`` reads.

A *cell* holds the counts of the tickets received in one bucket of days (a day, a week from
Monday, or a calendar month, in local time) that share the values of some of the five dimensions
the statistics filter and break down by: region, lead department, category, kind and channel.
``dims`` says which ones the cell keeps (a bit each, ``complaints.rollups.REGION``...); a
dimension it does not keep is empty (null or ``""``) and the cell counts every value of it. The
cells of one ``dims`` over one bucket are a *cuboid*: the five-dimension one by day is the base
that every other cell is summed from, and the smaller ones exist only to be read fast.

Every count is of the tickets in their current state: a ticket that moves changes the cells of
the day it was received, which is why the day is marked (``TicketStatsChange``) in the move's
transaction and its cells recomputed after the commit. Nothing here is edited by hand: the cells
are derived, and ``rebuild_ticket_stats`` derives them again from the tickets.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from departments.models import Department, Region

__all__ = ["TicketClosedCell", "TicketStatsBucket", "TicketStatsCell", "TicketStatsChange"]


class RollupLevel(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")


class CellKey(models.Model):
    """What every cell is the counts of: a bucket of days and the dimensions kept. The foreign
    keys carry no database constraint: a cell is derived data, and its region or department is
    looked up only to name it (their rows are protected by the tickets that use them)."""

    level = models.CharField(_("bucket"), max_length=5, choices=RollupLevel.choices)
    start = models.DateField(_("first day"))
    dims = models.PositiveSmallIntegerField(_("dimensions kept"))
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the cells' indexes lead with ``dims``
        related_name="+",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("lead department"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the cells' indexes lead with ``dims``
        related_name="+",
    )
    category = models.CharField(_("category"), max_length=20, blank=True)
    kind = models.CharField(_("kind"), max_length=12, blank=True)
    channel = models.CharField(_("channel"), max_length=8, blank=True)

    class Meta:
        abstract = True


class TicketStatsCell(CellKey):
    """The counts of the tickets received in a bucket of days with the same kept dimensions."""

    # What each figure of the page sums; ``complaints.rollups.ticket_counts`` defines each.
    received = models.IntegerField(_("received"), default=0)
    open = models.IntegerField(_("open"), default=0)
    closed = models.IntegerField(_("closed"), default=0)
    linked = models.IntegerField(_("linked"), default=0)
    overdue = models.IntegerField(
        _("overdue"),
        default=0,
        help_text=_("Open and due before the day its bucket's days were counted on."),
    )
    signed = models.IntegerField(_("signed for"), default=0)
    signed_on_time = models.IntegerField(_("signed for on time"), default=0)
    answered = models.IntegerField(_("answered"), default=0)
    answered_on_time = models.IntegerField(_("answered on time"), default=0)
    rated = models.IntegerField(_("rated"), default=0)
    satisfied = models.IntegerField(_("satisfied"), default=0)
    unsatisfied = models.IntegerField(_("unsatisfied"), default=0)
    satisfaction_sum = models.IntegerField(_("sum of the ratings"), default=0)
    dispatched = models.IntegerField(_("dispatched"), default=0)
    dispatched_automatically = models.IntegerField(_("dispatched automatically"), default=0)
    returned = models.IntegerField(_("returned"), default=0)
    reopened = models.IntegerField(_("reopened"), default=0)

    class Meta:
        verbose_name = _("ticket statistics cell")
        verbose_name_plural = _("ticket statistics cells")
        indexes = [
            models.Index(fields=["dims", "level", "start"], name="ticket_cell_idx"),
            models.Index(fields=["dims", "department", "start"], name="ticket_cell_dept_idx"),
            models.Index(fields=["dims", "region", "start"], name="ticket_cell_region_idx"),
            models.Index(fields=["dims", "category", "start"], name="ticket_cell_cat_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.level} {self.start} /{self.dims}: {self.received}"


class TicketClosedCell(CellKey):
    """How many of the tickets received in a bucket of days, with the same kept dimensions,
    were closed on ``closed_day`` (local time): the "closed" line of the time series."""

    closed_day = models.DateField(_("closed on"))
    closed = models.IntegerField(_("closed"), default=0)

    class Meta:
        verbose_name = _("ticket statistics closing cell")
        verbose_name_plural = _("ticket statistics closing cells")
        indexes = [
            models.Index(fields=["dims", "level", "start"], name="ticket_closed_cell_idx"),
            models.Index(
                fields=["dims", "department", "start"], name="ticket_closed_cell_dept_idx"
            ),
            models.Index(fields=["dims", "region", "start"], name="ticket_closed_cell_region_idx"),
            models.Index(fields=["dims", "category", "start"], name="ticket_closed_cell_cat_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.level} {self.start} /{self.dims} → {self.closed_day}: {self.closed}"


class TicketStatsBucket(models.Model):
    """Whether the cells of a bucket of days may be read: a day's once it has been counted (and
    no move marked it since, ``TicketStatsChange``), a week's or a month's once it was summed from
    its days' cells and none of them was counted again since."""

    level = models.CharField(_("bucket"), max_length=5, choices=RollupLevel.choices)
    start = models.DateField(_("first day"))
    fresh = models.BooleanField(_("up to date"), default=False)
    as_of = models.DateField(
        _("overdue as of"),
        null=True,
        blank=True,
        help_text=_("A day's cells count as overdue the open tickets due before this day."),
    )
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket statistics bucket")
        verbose_name_plural = _("ticket statistics buckets")
        constraints = [
            models.UniqueConstraint(fields=["level", "start"], name="ticket_stats_bucket_unique")
        ]

    def __str__(self) -> str:
        return f"{self.level} {self.start} ({'fresh' if self.fresh else 'stale'})"


class TicketStatsChange(models.Model):
    """A day whose tickets changed since its cells were counted: written in the transaction of
    the change, removed when the day is counted again. While it is here the statistics count
    that day from the tickets themselves."""

    day = models.DateField(_("day received"), db_index=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("ticket statistics change")
        verbose_name_plural = _("ticket statistics changes")

    def __str__(self) -> str:
        return f"{self.day} ({self.at:%Y-%m-%d %H:%M})"

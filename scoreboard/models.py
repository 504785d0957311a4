"""The sunning board (晾晒台): versioned weights and stored snapshots of measured service.

A snapshot holds, for one period, one row per department and per region with every metric's
numerator and denominator, its interval, the weighted score and the rank among peers. It is
computed by SQL aggregation (``scoreboard.services.snapshot_compute``) and replaced as a whole,
so history and trends are read, never recomputed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from departments.models import Department, Region
from zheliban.core.models import TimeStampedModel


class WeightSet(TimeStampedModel):
    """The weight of each metric in the score. Never edited once used: a change is a new version,
    so every snapshot stays explained by the weights it was computed with."""

    version = models.PositiveIntegerField(_("version"), unique=True, editable=False)
    weights = models.JSONField(_("weights"), default=dict)
    min_volume = models.PositiveIntegerField(
        _("minimum volume to be ranked"),
        default=20,
        help_text=_(
            "A department with fewer cases, tickets and items than this is listed, not ranked."
        ),
    )
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("weight set")
        verbose_name_plural = _("weight sets")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version}"


class Snapshot(models.Model):
    """The board of one period, computed at one moment with one weight set."""

    class Period(models.TextChoices):
        MONTH = "month", _("Month")
        QUARTER = "quarter", _("Quarter")
        YEAR = "year", _("Year")
        ROLLING = "rolling30", _("Last 30 days")

    period = models.CharField(_("period"), max_length=10, choices=Period.choices)
    start = models.DateField(_("from"))
    end = models.DateField(_("until (exclusive)"))
    weight_set = models.ForeignKey(
        WeightSet, verbose_name=_("weights"), on_delete=models.PROTECT, related_name="snapshots"
    )
    computed_at = models.DateTimeField(_("computed at"))
    seconds = models.FloatField(_("computation time (s)"), default=0)

    class Meta:
        verbose_name = _("snapshot")
        verbose_name_plural = _("snapshots")
        ordering = ["-start", "period"]
        constraints = [
            models.UniqueConstraint(fields=["period", "start"], name="snapshot_unique_period"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="snapshot_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.get_period_display()} {self.start:%Y-%m-%d}"


class Score(models.Model):
    """One department's (or one region's) figures in a snapshot.

    ``metrics`` maps each metric key to ``{"num", "den", "value", "low", "high"}`` (value and the
    95 % Wilson interval for rates, or the mean for averages); ``estimate`` is the volume-aware
    score used for ranking."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="scores")
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.CASCADE, related_name="+"
    )
    level = models.CharField(_("level"), max_length=10, choices=Region.Level.choices)
    metrics = models.JSONField(_("figures"), default=dict)
    volume = models.PositiveIntegerField(_("volume"), default=0)
    score = models.FloatField(_("score"), null=True, blank=True)
    ranked = models.BooleanField(_("ranked"), default=False)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)
    peers = models.PositiveIntegerField(_("ranked peers"), default=0)
    rank_change = models.IntegerField(_("change in rank"), null=True, blank=True)

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        ordering = ["snapshot_id", "level", "rank", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "department"],
                condition=Q(department__isnull=False),
                name="score_unique_department",
            ),
            models.UniqueConstraint(
                fields=["snapshot", "region"],
                condition=Q(department__isnull=True),
                name="score_unique_region",
            ),
        ]
        indexes = [models.Index(fields=["department", "snapshot"], name="score_department_idx")]

    def __str__(self) -> str:
        return f"{self.snapshot} · {self.department or self.region}"

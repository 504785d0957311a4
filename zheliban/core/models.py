import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zheliban.core.errors import CoreErrorCode


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class OutboxMessage(models.Model):
    """A side effect recorded in the same transaction as the change that causes it.

    It is handed to Celery after commit and stays open until its task's receipt is written, in
    the same transaction as the task's effect (``done_at``). The relay re-publishes an open
    message when it falls due (``next_attempt_at``: not yet sent, its task failed, or no receipt
    came back in time), with backoff, until ``OUTBOX_MAX_AGE_HOURS``; then it is ``failed``,
    the admins are told, and staff may retry it in admin. So a broker or database outage, or a
    worker lost with its message, delays the work but never loses it. The message id is the
    Celery task id, which lets the consuming task recognise a second delivery.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task_name = models.CharField(_("task"), max_length=200)
    kwargs = models.JSONField(_("arguments"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("send attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(sent_at__isnull=True), name="outbox_unsent_idx"
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(done_at__isnull=True, failed_at__isnull=True),
                name="outbox_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} {self.id}"

    @property
    def state(self) -> str:
        if self.done_at:
            return "done"
        if self.failed_at:
            return "failed"
        return "sent" if self.sent_at else "waiting"


class TaskReceipt(models.Model):
    """One row per outbox message a task has carried out, written in the task's own transaction."""

    message_id = models.UUIDField(primary_key=True)
    task_name = models.CharField(max_length=200)
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("task receipt")
        verbose_name_plural = _("task receipts")

    def __str__(self) -> str:
        return f"{self.task_name} {self.message_id}"


class CalendarYear(models.Model):
    """One year of the working-day calendar, as entered by staff.

    A published year is authoritative: its days replace every other source for that year. A year
    that is not published yet (a draft) is ignored when counting working days.
    """

    year = models.PositiveSmallIntegerField(
        _("year"), unique=True, validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    published = models.BooleanField(
        _("published"),
        default=False,
        help_text=_(
            "Tick once every holiday and adjusted working day of the State Council schedule for "
            "this year is entered; deadlines then follow this calendar instead of the built-in one."
        ),
    )
    source = models.CharField(
        _("source"),
        max_length=500,
        blank=True,
        help_text=_("The notice the days are taken from, e.g. its title or web address."),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """A date that differs from the plain Monday–Friday week: a day off or a working weekend day.

    Marking a weekend day as a holiday is harmless (it is a rest day either way) and lets a
    holiday's whole span be entered as announced.
    """

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("holiday (day off)")
        WORKDAY = "workday", _("adjusted working day")

    year = models.ForeignKey(
        CalendarYear, on_delete=models.CASCADE, related_name="days", verbose_name=_("year")
    )
    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(
        _("name"), max_length=50, blank=True, help_text=_("The holiday it belongs to.")
    )

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["holiday", "workday"]), name="calendar_day_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()}"

    def clean(self) -> None:
        super().clean()
        # In an admin inline the parent year is attached but not saved yet: read the object.
        try:
            year = self.year.year
        except CalendarDay.year.RelatedObjectDoesNotExist:
            return
        if self.date and year is not None and self.date.year != year:
            raise ValidationError(
                {
                    "date": ValidationError(
                        _("%(date)s is not in %(year)s."),
                        code=CoreErrorCode.DATE_OUTSIDE_YEAR,
                        params={"date": self.date.isoformat(), "year": year},
                    )
                }
            )


class Notice(models.Model):
    """A message in a person's inbox; each channel's delivery is tracked on its own.

    ``link`` is the page the notice is about (an application, a ticket), ``link_label`` its
    reference; ``source`` names the event that caused it (``<app>.<model>:<pk>``), at most one
    notice per source."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices"
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    link = models.CharField(_("link"), max_length=200, blank=True)
    link_label = models.CharField(_("link label"), max_length=60, blank=True)
    source = models.CharField(_("source"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "-created_at"], name="notice_recipient_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["source"], condition=~Q(source=""), name="notice_source_unique"
            )
        ]

    def __str__(self) -> str:
        return self.subject


class NoticeDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("channel"), max_length=8)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    provider_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice delivery")
        verbose_name_plural = _("notice deliveries")
        constraints = [
            models.UniqueConstraint(fields=["notice", "channel"], name="delivery_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id} {self.channel} {self.state}"


class NoticePreference(models.Model):
    """Which channels besides the inbox a person wants notices on."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_preference"
    )
    email = models.EmailField(_("e-mail address"), blank=True)
    by_email = models.BooleanField(_("by e-mail"), default=False)
    by_sms = models.BooleanField(_("by SMS"), default=True)

    class Meta:
        verbose_name = _("notice preference")
        verbose_name_plural = _("notice preferences")

    def __str__(self) -> str:
        return str(self.user)


class IdempotencyRecord(models.Model):
    """What a submission made with an ``Idempotency-Key`` was: the digest of its body, so that a
    retry with the same key and another body is refused rather than answered with the first."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(_("scope"), max_length=40)
    key = models.CharField(_("key"), max_length=64)
    body_digest = models.CharField(_("body digest"), max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "scope", "key"], name="idempotency_record_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"

"""The transactional outbox: side effects recorded with the change, sent after commit."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any

from celery import current_app, shared_task
from django.conf import settings
from django.core.mail import mail_admins
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import OutboxMessage, TaskReceipt

logger = logging.getLogger(__name__)


_GIVE_UP: dict[str, Callable[..., Any]] = {}
_RETRY: dict[str, Callable[..., Any]] = {}


def _backoff(attempts: int) -> dt.timedelta:
    """The wait before attempt ``attempts + 1``: the relay's grace, doubled each time, capped."""
    base = settings.OUTBOX_RELAY_GRACE_SECONDS
    seconds = min(settings.OUTBOX_RETRY_MAX_SECONDS, base * 2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=seconds)


def outbox_enqueue(task_name: str, /, **kwargs: Any) -> OutboxMessage:
    """Record a task to run once the surrounding transaction commits.

    Call it inside the service's ``transaction.atomic`` block: if the change rolls back, so does
    the message. The arguments must be JSON-serialisable and the task an ``outbox_task``.
    """
    message = OutboxMessage.objects.create(
        task_name=task_name,
        kwargs=kwargs,
        next_attempt_at=timezone.now() + dt.timedelta(seconds=settings.OUTBOX_RELAY_GRACE_SECONDS),
    )
    transaction.on_commit(functools.partial(outbox_publish, message_id=message.pk, known=message))
    return message


def _open() -> Any:
    return OutboxMessage.objects.filter(done_at__isnull=True, failed_at__isnull=True)


def outbox_publish(*, message_id: uuid.UUID, known: OutboxMessage | None = None) -> bool:
    """Hand one open message to the broker; True when it was handed over now.

    ``known`` is the message as its own transaction just wrote it (the on-commit send), which
    saves reading it back. Publishing twice is harmless: the task's receipt runs it once. After
    a publish the message waits ``OUTBOX_RECEIPT_SECONDS`` (with backoff) for its receipt before
    the relay publishes it again.
    """
    message = known or _open().filter(pk=message_id).first()
    if message is None:
        return False
    # Every app's tasks module is imported at start (``CoreConfig.ready``).
    task = current_app.tasks.get(message.task_name)
    attempts = message.attempts + 1
    try:
        if task is None:
            raise LookupError(f"no task named {message.task_name!r} is registered")
        task.apply_async(kwargs=message.kwargs, task_id=str(message.pk), retry=False)
    except Exception as exc:
        OutboxMessage.objects.filter(pk=message.pk).update(
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=timezone.now() + _backoff(attempts),
        )
        logger.warning("outbox message %s not sent yet: %s", message.pk, exc)
        return False
    wait = max(_backoff(attempts), dt.timedelta(seconds=settings.OUTBOX_RECEIPT_SECONDS))
    # Eagerly run (no broker) the task has closed the message already: it keeps no next attempt.
    OutboxMessage.objects.filter(pk=message.pk, done_at__isnull=True).update(
        sent_at=timezone.now(),
        attempts=attempts,
        last_error="",
        next_attempt_at=timezone.now() + wait,
    )
    OutboxMessage.objects.filter(pk=message.pk, done_at__isnull=False).update(
        sent_at=timezone.now(), attempts=attempts, last_error=""
    )
    return True


def outbox_relay(*, older_than: dt.timedelta | None = None, limit: int = 500) -> int:
    """Publish the open messages that are due; returns how many were handed over.

    Due: never handed over and older than the grace (``older_than``, which also overrides the
    backoff of a failed hand-over), or handed over and still without a receipt when its
    ``next_attempt_at`` has come (the task failed, or its message was lost with a broker or a
    worker). A message older than ``OUTBOX_MAX_AGE_HOURS`` is given up instead (``failed``).
    """
    now = timezone.now()
    outbox_give_up(older_than=dt.timedelta(hours=settings.OUTBOX_MAX_AGE_HOURS), now=now)
    force = older_than is not None
    if older_than is None:
        older_than = dt.timedelta(seconds=settings.OUTBOX_RELAY_GRACE_SECONDS)
    cutoff = now - older_than
    old_enough = Q(created_at__lte=cutoff)
    unsent = Q(sent_at__isnull=True) & (
        Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True) & old_enough
    )
    if force:
        unsent |= Q(sent_at__isnull=True) & old_enough
    unanswered = Q(sent_at__isnull=False, next_attempt_at__lte=now)
    due = list(
        _open()
        .filter(unsent | unanswered)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(outbox_publish(message_id=pk) for pk in due)


def outbox_give_up(*, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Mark open messages older than ``older_than`` failed, run their tasks' give-up hooks (a
    delivery becomes ``failed``, never ``pending`` for ever) and tell the admins."""
    now = now or timezone.now()
    stale = list(_open().filter(created_at__lte=now - older_than).order_by("created_at")[:500])
    for message in stale:
        with transaction.atomic():
            if not _open().filter(pk=message.pk).update(failed_at=now):
                continue
            hook = _GIVE_UP.get(message.task_name)
            if hook is not None:
                hook(**message.kwargs, error=message.last_error or "no receipt")
    if stale:
        logger.error(
            "outbox: %d message(s) given up after %s, e.g. %s %s (%s)",
            len(stale),
            older_than,
            stale[0].task_name,
            stale[0].pk,
            stale[0].last_error or "no receipt",
        )
        mail_admins(
            "Outbox messages given up",
            "\n".join(f"{m.task_name} {m.pk}: {m.last_error or 'no receipt'}" for m in stale),
            fail_silently=True,
        )
    return len(stale)


@transaction.atomic
def outbox_retry(*, message_ids: list[uuid.UUID]) -> int:
    """Open failed messages again, due now, their age counted from now (staff's retry in
    admin), and run their tasks' retry hooks; returns how many."""
    failed = list(
        OutboxMessage.objects.select_for_update().filter(
            pk__in=message_ids, done_at__isnull=True, failed_at__isnull=False
        )
    )
    now = timezone.now()
    for message in failed:
        hook = _RETRY.get(message.task_name)
        if hook is not None:
            hook(**message.kwargs)
    return OutboxMessage.objects.filter(pk__in=[m.pk for m in failed]).update(
        failed_at=None, attempts=0, created_at=now, next_attempt_at=now
    )


def _note_failure(message_id: str, exc: Exception) -> None:
    """Record why a task failed on its message (in a transaction of its own, the task's being
    rolled back); the relay runs it again after the backoff. With the database down nothing can
    be written: the message is then due again when its receipt does not come."""
    try:
        message = OutboxMessage.objects.filter(pk=message_id).only("attempts").first()
        if message is None:
            return
        OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True).update(
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=timezone.now() + _backoff(max(message.attempts, 1)),
        )
    except DatabaseError as error:
        logger.warning("outbox message %s: could not record the failure: %s", message_id, error)


def outbox_task(
    name: str,
    *,
    on_give_up: Callable[..., Any] | None = None,
    on_retry: Callable[..., Any] | None = None,
    **options: Any,
) -> Callable[[Callable[..., Any]], Any]:
    """Declare a Celery task that carries out outbox messages exactly once.

    The task is acknowledged late and rejected back to the queue if its worker dies. Its body runs
    in one transaction with a receipt keyed by the message id, which also closes the message, so
    a second delivery of the same message (relay after a lost acknowledgement, a worker killed
    mid-task) does nothing, and a failure leaves the message open for the relay to run again
    after a backoff. ``on_give_up(**kwargs, error=...)`` runs when the relay gives the message up,
    ``on_retry(**kwargs)`` when staff open it again.
    """

    def decorate(func: Callable[..., Any]) -> Any:
        if on_give_up is not None:
            _GIVE_UP[name] = on_give_up
        if on_retry is not None:
            _RETRY[name] = on_retry

        @shared_task(name=name, bind=True, acks_late=True, reject_on_worker_lost=True, **options)
        @functools.wraps(func)
        def run(self, **kwargs: Any) -> Any:
            message_id = self.request.id
            try:
                with transaction.atomic():
                    TaskReceipt.objects.create(message_id=message_id, task_name=name)
                    result = func(**kwargs)
                    OutboxMessage.objects.filter(pk=message_id).update(
                        done_at=timezone.now(), next_attempt_at=None
                    )
                    return result
            except IntegrityError as exc:
                if TaskReceipt.objects.filter(message_id=message_id).exists():
                    logger.info("task %s %s already carried out", name, message_id)
                    OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True).update(
                        done_at=timezone.now(), next_attempt_at=None
                    )
                    return None
                _note_failure(message_id, exc)
                raise
            except Exception as exc:
                _note_failure(message_id, exc)
                raise

        return run

    return decorate

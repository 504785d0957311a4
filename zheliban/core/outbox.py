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
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import OutboxMessage, TaskReceipt

logger = logging.getLogger(__name__)


def outbox_enqueue(task_name: str, /, **kwargs: Any) -> OutboxMessage:
    """Record a task to run once the surrounding transaction commits.

    Call it inside the service's ``transaction.atomic`` block: if the change rolls back, so does
    the message. The arguments must be JSON-serialisable and the task an ``outbox_task``.
    """
    message = OutboxMessage.objects.create(task_name=task_name, kwargs=kwargs)
    transaction.on_commit(functools.partial(outbox_publish, message_id=message.pk, known=message))
    return message


def outbox_publish(*, message_id: uuid.UUID, known: OutboxMessage | None = None) -> bool:
    """Hand one unsent message to the broker; True when it was sent now.

    ``known`` is the message as its own transaction just wrote it (the on-commit send), which
    saves reading it back; the conditional update below still sends nothing twice.
    """
    message = known or OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True).first()
    if message is None:
        return False
    task = current_app.tasks.get(message.task_name)
    if task is None:
        # Workers and beat import every app's tasks module at start; a web process does it here.
        current_app.autodiscover_tasks(force=True)
        task = current_app.tasks.get(message.task_name)
    try:
        if task is None:
            raise LookupError(f"no task named {message.task_name!r} is registered")
        task.apply_async(kwargs=message.kwargs, task_id=str(message.pk), retry=False)
    except Exception as exc:
        OutboxMessage.objects.filter(pk=message.pk).update(
            attempts=message.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        logger.warning("outbox message %s not sent yet: %s", message.pk, exc)
        return False
    OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=True).update(
        sent_at=timezone.now(), attempts=message.attempts + 1, last_error=""
    )
    return True


def outbox_relay(*, older_than: dt.timedelta | None = None, limit: int = 500) -> int:
    """Re-send messages that are still unsent; returns how many were sent."""
    if older_than is None:
        older_than = dt.timedelta(seconds=settings.OUTBOX_RELAY_GRACE_SECONDS)
    cutoff = timezone.now() - older_than
    pending = list(
        OutboxMessage.objects.filter(sent_at__isnull=True, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(outbox_publish(message_id=pk) for pk in pending)


def outbox_task(name: str, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a Celery task that carries out outbox messages exactly once.

    The task is acknowledged late and rejected back to the queue if its worker dies. Its body runs
    in one transaction with a receipt keyed by the message id, so a second delivery of the same
    message (relay after a lost acknowledgement, a worker killed mid-task) does nothing.
    """

    def decorate(func: Callable[..., Any]) -> Any:
        @shared_task(name=name, bind=True, acks_late=True, reject_on_worker_lost=True, **options)
        @functools.wraps(func)
        def run(self, **kwargs: Any) -> Any:
            message_id = self.request.id
            try:
                with transaction.atomic():
                    TaskReceipt.objects.create(message_id=message_id, task_name=name)
                    return func(**kwargs)
            except IntegrityError:
                if TaskReceipt.objects.filter(message_id=message_id).exists():
                    logger.info("task %s %s already carried out", name, message_id)
                    return None
                raise

        return run

    return decorate

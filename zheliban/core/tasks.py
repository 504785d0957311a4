from celery import shared_task

from . import outbox


@shared_task(name="core.outbox_relay", acks_late=True, reject_on_worker_lost=True)
def outbox_relay() -> int:
    return outbox.outbox_relay()

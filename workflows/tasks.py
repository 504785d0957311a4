from celery import shared_task

from zheliban.core.outbox import outbox_task

from . import services


@outbox_task("workflows.deliver_task")
def deliver_task(*, task_id: int) -> bool:
    return services.task_mark_delivered(task_id=task_id)


@shared_task(name="workflows.deadlines_sweep", acks_late=True, reject_on_worker_lost=True)
def deadlines_sweep() -> dict[str, int]:
    return services.deadlines_sweep()

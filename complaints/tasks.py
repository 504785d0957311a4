from celery import shared_task

from . import services


@shared_task(name="complaints.tickets_sweep", acks_late=True, reject_on_worker_lost=True)
def tickets_sweep() -> dict[str, int]:
    """Remind the holders of tickets due soon and supervise (督办) the overdue ones."""
    return services.tickets_sweep()

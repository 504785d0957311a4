from celery import shared_task

from . import services


@shared_task(name="scoreboard.compute", acks_late=True, reject_on_worker_lost=True)
def compute() -> list[int]:
    """Recompute every kind of period containing today (idempotent: each replaces its own)."""
    return [snapshot.pk for snapshot in services.scoreboard_compute_all()]

from celery import shared_task

from . import rollups, services


@shared_task(name="complaints.tickets_sweep", acks_late=True, reject_on_worker_lost=True)
def tickets_sweep() -> dict[str, int]:
    """Remind the holders of tickets due soon and supervise (督办) the overdue ones."""
    return services.tickets_sweep()


@shared_task(name="complaints.ticket_stats_refresh", acks_late=True, reject_on_worker_lost=True)
def ticket_stats_refresh() -> dict[str, int]:
    """Keep the leaders' statistics roll-ups true: the days marked changed, yesterday and today,
    the days an open ticket fell due on, and the weeks and months summed again."""
    return rollups.ticket_stats_refresh(full=True)


@shared_task(name="complaints.ticket_stats_count", acks_late=True, reject_on_worker_lost=True)
def ticket_stats_count() -> dict[str, int]:
    """Count again the days of the leaders' statistics that moves marked changed (queued after
    each move's commit; skipped while another writer is at it, whose work or the beat's covers
    them)."""
    return rollups.ticket_stats_refresh(wait=False)

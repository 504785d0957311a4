from celery import shared_task

from . import notices, outbox


@shared_task(name="core.outbox_relay", acks_late=True, reject_on_worker_lost=True)
def outbox_relay() -> int:
    return outbox.outbox_relay()


def _deliver_notice(*, delivery_id: int) -> str:
    return notices.notice_deliver(delivery_id=delivery_id)


deliver_notice = outbox.outbox_task(
    notices.DELIVER_NOTICE_TASK,
    on_give_up=notices.notice_delivery_give_up,
    on_retry=notices.notice_delivery_reopen,
)(_deliver_notice)

# Messages published before notices moved to core carry the task's earlier name.
deliver_notice_earlier_name = outbox.outbox_task(
    "workflows.deliver_notice",
    on_give_up=notices.notice_delivery_give_up,
    on_retry=notices.notice_delivery_reopen,
)(_deliver_notice)

"""The outbox follows work to its end: a message stays open until its task's receipt closes it;
a failed task is run again after a backoff; a message given up is failed, its delivery too, the
admins told, and staff may retry it. SMS carry one idempotency key however often they are handed
over. Tasks run eagerly in this process (SQLite or PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import OperationalError, transaction
from django.test import Client
from django.utils import timezone

from tests.core.test_notify import gateway  # noqa: F401  (a local SMS gateway)
from tests.factories import DepartmentFactory, UserFactory
from zheliban.core.models import NoticeDelivery, OutboxMessage, TaskReceipt
from zheliban.core.notices import notify
from zheliban.core.outbox import (
    outbox_enqueue,
    outbox_give_up,
    outbox_relay,
    outbox_retry,
    outbox_task,
)

FLAKY = "tests.core.flaky_note"
FAILURES_LEFT = {"count": 0}


@outbox_task(FLAKY)
def flaky_note(*, department_id: int) -> None:
    """Appends a note; raises as a database outage would while ``FAILURES_LEFT`` lasts."""
    from departments.models import Department

    Department.objects.filter(pk=department_id).update(description="noted")
    if FAILURES_LEFT["count"] > 0:
        FAILURES_LEFT["count"] -= 1
        raise OperationalError("the database went away")


def enqueue(task: str, **kwargs) -> OutboxMessage:
    with transaction.atomic():
        return outbox_enqueue(task, **kwargs)


def due_now(message: OutboxMessage) -> None:
    OutboxMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )


@pytest.fixture
def flaky(db, django_capture_on_commit_callbacks):
    FAILURES_LEFT["count"] = 0
    yield
    FAILURES_LEFT["count"] = 0


def test_a_task_that_fails_leaves_its_message_open_and_runs_again_after_a_backoff(
    flaky, django_capture_on_commit_callbacks
):
    department = DepartmentFactory(description="")
    FAILURES_LEFT["count"] = 2
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue(FLAKY, department_id=department.pk)
    message.refresh_from_db()
    assert (message.done_at, message.failed_at, message.sent_at) == (None, None, None)
    assert message.attempts == 1
    assert message.last_error == "OperationalError: the database went away"
    first_wait = message.next_attempt_at - timezone.now()
    assert dt.timedelta(seconds=15) < first_wait <= dt.timedelta(seconds=20)
    department.refresh_from_db()
    assert department.description == ""  # the failed task's effect was rolled back
    assert TaskReceipt.objects.count() == 0

    assert outbox_relay() == 0  # not due yet
    due_now(message)
    assert outbox_relay() == 0  # due, run, failed again: not handed over
    message.refresh_from_db()
    assert message.attempts == 2
    assert (
        dt.timedelta(seconds=35)
        < message.next_attempt_at - timezone.now()
        <= dt.timedelta(seconds=40)
    )  # the wait doubles

    due_now(message)
    assert outbox_relay() == 1
    message.refresh_from_db()
    assert message.done_at is not None
    assert message.next_attempt_at is None
    assert message.last_error == ""
    assert message.attempts == 3
    assert TaskReceipt.objects.get().message_id == message.pk
    department.refresh_from_db()
    assert department.description == "noted"
    due_now(message)
    assert outbox_relay() == 0  # done: never handed over again


def test_a_message_handed_over_without_a_receipt_is_handed_over_again(flaky):
    department = DepartmentFactory(description="")
    message = enqueue(FLAKY, department_id=department.pk)  # on_commit never ran: as if lost
    OutboxMessage.objects.filter(pk=message.pk).update(
        sent_at=timezone.now(), attempts=1, next_attempt_at=timezone.now() + dt.timedelta(hours=1)
    )
    assert outbox_relay(older_than=dt.timedelta(0)) == 0  # sent, its receipt not overdue yet
    due_now(message)
    assert outbox_relay() == 1
    message.refresh_from_db()
    assert message.done_at is not None
    assert message.attempts == 2


def test_a_message_too_old_is_given_up_its_delivery_failed_and_the_admins_told(
    db, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ADMINS = [("Ops", "ops@example.gov.cn")]
    settings.NOTIFY_BACKENDS = {"sms": "zheliban.core.notify.HttpSMSBackend"}
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/send"  # nothing answers
    citizen = UserFactory(phone="13912345678")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notify(citizen, subject="受理通知", body="您的申请已受理。")
    delivery = NoticeDelivery.objects.get()
    message = OutboxMessage.objects.get()
    assert delivery.state == NoticeDelivery.State.PENDING  # will be tried again
    assert message.last_error.startswith("DeliveryFailed: The SMS gateway could not be reached")
    assert "13912345678" not in message.last_error

    OutboxMessage.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=settings.OUTBOX_MAX_AGE_HOURS, minutes=1)
    )
    assert outbox_relay() == 0
    message.refresh_from_db()
    delivery.refresh_from_db()
    assert message.failed_at is not None
    assert delivery.state == NoticeDelivery.State.FAILED
    assert delivery.error.startswith("DeliveryFailed: The SMS gateway could not be reached")
    assert [m.subject for m in mailoutbox] == ["[Django] Outbox messages given up"]
    assert str(message.pk) in mailoutbox[0].body
    assert outbox_give_up(older_than=dt.timedelta(0)) == 0  # once

    # Staff retry it from admin: due at once, and the relay hands it over again.
    assert outbox_retry(message_ids=[message.pk]) == 1
    message.refresh_from_db()
    assert (message.failed_at, message.attempts) == (None, 0)
    assert outbox_relay() == 0  # handed over, and the gateway is still down
    message.refresh_from_db()
    delivery.refresh_from_db()
    assert message.attempts == 1
    assert delivery.state == NoticeDelivery.State.PENDING


def test_an_sms_is_sent_once_with_one_idempotency_key_however_often_it_is_handed_over(
    db,
    gateway,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    citizen = UserFactory(phone="13912345678")
    gateway.status = 503  # busy: worth retrying
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notify(citizen, subject="受理通知", body="您的申请已受理。")
    delivery = NoticeDelivery.objects.get()
    message = OutboxMessage.objects.get()
    assert delivery.state == NoticeDelivery.State.PENDING
    assert message.last_error == "DeliveryFailed: The SMS gateway answered 503 for 139****5678."

    gateway.status = 200
    due_now(message)
    assert outbox_relay() == 1
    delivery.refresh_from_db()
    assert delivery.state == NoticeDelivery.State.SENT
    keys = [r["headers"].get("Idempotency-Key") for r in gateway.requests]
    assert keys == [f"zheliban-notice-delivery-{delivery.pk}"] * 2

    # Delivered again (a lost acknowledgement): the receipt stops it before the gateway.
    OutboxMessage.objects.filter(pk=message.pk).update(done_at=None)
    due_now(message)
    assert outbox_relay() == 1
    assert len(gateway.requests) == 2


def test_a_refused_sms_fails_at_once_and_is_not_retried(
    db,
    gateway,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    citizen = UserFactory(phone="13912345678")
    gateway.status = 400
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notify(citizen, subject="受理通知", body="您的申请已受理。")
    delivery = NoticeDelivery.objects.get()
    message = OutboxMessage.objects.get()
    assert delivery.state == NoticeDelivery.State.FAILED
    assert delivery.error == "The SMS gateway answered 400 for 139****5678."
    assert message.done_at is not None
    due_now(message)
    assert outbox_relay() == 0
    assert len(gateway.requests) == 1


def test_staff_retry_a_failed_message_from_admin(flaky, django_user_model):
    admin_user = django_user_model.objects.create_superuser(
        username="ops", password="x-Zheliban-2026", kind="staff"
    )
    department = DepartmentFactory(description="")
    failed = enqueue(FLAKY, department_id=department.pk)
    done = enqueue(FLAKY, department_id=department.pk)
    OutboxMessage.objects.filter(pk=failed.pk).update(failed_at=timezone.now(), attempts=9)
    OutboxMessage.objects.filter(pk=done.pk).update(done_at=timezone.now())
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin_user)
    listing = client.get("/admin/core/outboxmessage/?state=failed")
    assert listing.status_code == 200
    assert str(failed.pk) in listing.content.decode()
    assert str(done.pk) not in listing.content.decode()
    response = client.post(
        "/admin/core/outboxmessage/",
        {"action": "retry", "_selected_action": [str(failed.pk), str(done.pk)]},
        follow=True,
    )
    assert "1 条失败消息将重新尝试。" in response.content.decode()
    failed.refresh_from_db()
    done.refresh_from_db()
    assert (failed.failed_at, failed.attempts) == (None, 0)
    assert failed.next_attempt_at <= timezone.now()
    assert done.done_at is not None

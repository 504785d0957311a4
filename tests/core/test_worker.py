"""The outbox against a real Celery worker, a real Redis and the PostgreSQL test database.

Each test starts ``celery -A zheliban worker`` (prefork, one process) on a queue of its own and
points this process's Celery app at the same broker and queue, non-eagerly. The worker uses the
test database pytest-django created, so the tests use ``transactional_db``: what the test commits,
the worker sees, and the other way round.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest
from django.db import transaction

from departments.models import Department
from tests.conftest import require
from tests.factories import DepartmentFactory
from zheliban import celery_app
from zheliban.core.models import OutboxMessage, TaskReceipt
from zheliban.core.outbox import outbox_enqueue, outbox_relay

from .services import (
    RedisServer,
    celery_sending_to,
    delete_queue,
    free_port,
    wait_until,
)
from .worker_tasks import APPEND_NOTE, DIE_ONCE

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = (
    "zheliban",
    "departments",
    "catalog",
    "workflows",
    "complaints",
    "scoreboard",
    "citizen",
)


@pytest.fixture
def queue() -> str:
    return f"zheliban-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_server(tmp_path):
    require(RedisServer.binary() is not None, "needs redis-server on PATH")
    server = RedisServer(free_port(), tmp_path / "redis.log")
    server.start()
    yield server
    server.stop()


def receipt_for(message: OutboxMessage) -> TaskReceipt | None:
    return TaskReceipt.objects.filter(message_id=message.pk).first()


@pytest.mark.services
def test_worker_carries_out_a_committed_message(postgres_required, broker_url, queue, start_worker):
    department = DepartmentFactory(name="公安局")
    try:
        with celery_sending_to(broker_url, queue):
            worker = start_worker(broker_url, queue)
            with transaction.atomic():
                Department.objects.filter(pk=department.pk).update(name="公安局（新）")
                message = outbox_enqueue(APPEND_NOTE, department_id=department.pk, note="hello")

            message.refresh_from_db()
            assert message.sent_at is not None
            assert message.attempts == 1
            assert message.last_error == ""

            receipt = wait_until(lambda: receipt_for(message), describe=worker.log)
            worker.assert_alive()
    finally:
        delete_queue(broker_url, queue)

    assert receipt.task_name == APPEND_NOTE
    department.refresh_from_db()
    assert department.name == "公安局（新）"
    assert department.description == "hello"
    assert TaskReceipt.objects.count() == 1
    assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [message.pk]


@pytest.mark.services
def test_relay_sends_what_an_unreachable_broker_missed(
    postgres_required, redis_server, queue, start_worker
):
    department = DepartmentFactory(name="税务局")
    with celery_sending_to(redis_server.url, queue):
        redis_server.stop()

        with transaction.atomic():
            Department.objects.filter(pk=department.pk).update(name="税务局（新）")
            message = outbox_enqueue(APPEND_NOTE, department_id=department.pk, note="late")

        # The change is committed; the message waits, with the reason it was not sent.
        department.refresh_from_db()
        assert department.name == "税务局（新）"
        assert department.description == ""
        message.refresh_from_db()
        assert message.sent_at is None
        assert message.attempts == 1
        assert message.last_error.startswith("OperationalError: ")
        assert f"127.0.0.1:{redis_server.port}" in message.last_error
        assert "Connection refused" in message.last_error

        redis_server.start()
        worker = start_worker(redis_server.url, queue)
        assert outbox_relay(older_than=dt.timedelta(0)) == 1

        receipt = wait_until(lambda: receipt_for(message), describe=worker.log)
        assert outbox_relay(older_than=dt.timedelta(0)) == 0
        worker.assert_alive()

    assert receipt.task_name == APPEND_NOTE
    message.refresh_from_db()
    assert message.sent_at is not None
    assert message.attempts == 2
    assert message.last_error == ""
    department.refresh_from_db()
    assert department.description == "late"
    assert TaskReceipt.objects.count() == 1


@pytest.mark.services
def test_a_task_whose_worker_process_dies_is_requeued_and_done_once(
    postgres_required, broker_url, queue, start_worker, tmp_path
):
    department = DepartmentFactory(name="卫健委")
    attempts_file = tmp_path / "attempts.txt"
    try:
        with celery_sending_to(broker_url, queue):
            worker = start_worker(broker_url, queue)
            with transaction.atomic():
                message = outbox_enqueue(
                    DIE_ONCE,
                    department_id=department.pk,
                    note="once",
                    attempts_file=str(attempts_file),
                )

            receipt = wait_until(lambda: receipt_for(message), describe=worker.log)
            worker.assert_alive()
    finally:
        delete_queue(broker_url, queue)

    assert receipt.task_name == DIE_ONCE
    pids = attempts_file.read_text().split()
    assert len(pids) == 2, pids
    assert pids[0] != pids[1], "the second attempt ran in a new pool process"
    assert "WorkerLostError" in worker.log()
    department.refresh_from_db()
    assert department.description == "once"
    message.refresh_from_db()
    assert message.sent_at is not None
    assert message.attempts == 1
    assert TaskReceipt.objects.count() == 1


def test_beat_schedules_the_relay_exactly_once():
    schedule = celery_app.conf.beat_schedule
    relays = [name for name, entry in schedule.items() if entry["task"] == "core.outbox_relay"]
    assert relays == ["outbox-relay"]
    assert schedule["outbox-relay"]["schedule"] == 30.0

    celery_app.autodiscover_tasks(force=True)
    relay = celery_app.tasks["core.outbox_relay"]
    assert relay.acks_late is True
    assert relay.reject_on_worker_lost is True


def test_no_task_is_delayed_with_countdown_or_eta():
    """Redis hands ETA tasks out early and redelivers them after the visibility timeout."""
    pattern = re.compile(r"""\b(countdown|eta)\s*=|["'](countdown|eta)["']\s*:""")
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
        for package in PROJECT_PACKAGES
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert offenders == []

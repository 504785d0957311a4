"""No notice is lost: a stopped broker delays notices, a killed worker has them redone once.

A real prefork worker against Redis and the PostgreSQL test database (as in
tests/core/test_worker.py); SMS notices go to a file-writing backend in the worker, so what was
sent can be counted exactly.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.conftest import require
from tests.core.services import (
    CeleryWorker,
    RedisServer,
    celery_sending_to,
    delete_queue,
    free_port,
    wait_until,
)
from zheliban.core.models import NoticeDelivery, OutboxMessage
from zheliban.core.outbox import outbox_relay

pytestmark = pytest.mark.services


@pytest.fixture
def queue() -> str:
    return f"zheliban-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    workers: list[CeleryWorker] = []

    def start(broker_url: str, queue: str, **env: str) -> CeleryWorker:
        worker = CeleryWorker(
            broker_url=broker_url,
            queue=queue,
            log_path=tmp_path / f"worker-{len(workers)}.log",
            env=env,
        )
        workers.append(worker)
        worker.start()
        return worker

    yield start
    for worker in workers:
        worker.stop()


def sms_deliveries():
    return NoticeDelivery.objects.filter(channel="sms")


def test_a_stopped_broker_delays_notices_and_loses_none(
    postgres_required, scenario, queue, start_worker, tmp_path
):
    require(RedisServer.binary() is not None, "needs redis-server on PATH")
    server = RedisServer(free_port(), tmp_path / "redis.log")
    server.start()
    sent_file = tmp_path / "sms.txt"
    try:
        with celery_sending_to(server.url, queue):
            server.stop()
            app = scenario.submit()
            # The case exists; its notice and the department delivery wait in the outbox.
            assert app.tasks.get(step="birth_certificate").state == "ready"
            assert list(sms_deliveries().values_list("state", flat=True)) == ["pending"]
            assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 2

            server.start()
            worker = start_worker(server.url, queue, ZHELIBAN_TEST_SMS_FILE=str(sent_file))
            assert outbox_relay(older_than=dt.timedelta(0)) == 2
            wait_until(lambda: sms_deliveries().filter(state="sent").exists(), describe=worker.log)
            wait_until(
                lambda: app.tasks.filter(
                    step="birth_certificate", delivered_at__isnull=False
                ).exists(),
                describe=worker.log,
            )
            worker.assert_alive()
    finally:
        delete_queue(server.url, queue)
        server.stop()
    assert len(sent_file.read_text().splitlines()) == 1
    assert sms_deliveries().get().attempts == 1


def test_a_worker_killed_while_sending_redoes_the_notice_once(
    postgres_required, broker_url, scenario, queue, start_worker, tmp_path
):
    sent_file = tmp_path / "sms.txt"
    try:
        with celery_sending_to(broker_url, queue):
            worker = start_worker(
                broker_url,
                queue,
                ZHELIBAN_TEST_SMS_FILE=str(sent_file),
                ZHELIBAN_TEST_SMS_DIE_ONCE="1",
            )
            scenario.submit()
            wait_until(lambda: sms_deliveries().filter(state="sent").exists(), describe=worker.log)
            worker.assert_alive()
    finally:
        delete_queue(broker_url, queue)
    lines = sent_file.read_text().splitlines()
    # The first attempt died after handing the SMS over and before recording it: the message was
    # redelivered to a new pool process, which sent it and recorded it once.
    assert len(lines) == 2
    assert lines[0].split()[0] != lines[1].split()[0]
    assert "WorkerLostError" in worker.log()
    delivery = sms_deliveries().get()
    assert (delivery.state, delivery.attempts) == ("sent", 1)

"""The broker: RabbitMQ keeps what it was given, and a worker outlives any broker's restart.

The tests run brokers of their own (``rabbitmq-server``, shared by this module's tests, or
``redis-server``, one per test, on free ports), so they can stop and start them without
disturbing the shared services other tests use.
"""

from __future__ import annotations

import datetime as dt
import uuid

import amqp.exceptions
import kombu
import pytest
from django.db import transaction

from departments.models import Department
from tests.conftest import require
from tests.factories import DepartmentFactory
from zheliban.core.models import OutboxMessage, TaskReceipt
from zheliban.core.outbox import outbox_enqueue, outbox_relay

from .services import (
    RabbitMQServer,
    RedisServer,
    celery_sending_to,
    free_port,
    wait_until,
)
from .worker_tasks import APPEND_NOTE

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def rabbitmq_server(tmp_path_factory):
    """One RabbitMQ node for this module's tests (it takes seconds to start and to stop); each
    test may stop and start it, and leaves it running."""
    require(RabbitMQServer.binary() is not None, "needs rabbitmq-server")
    server = RabbitMQServer(free_port(), tmp_path_factory.mktemp("rabbitmq"))
    server.start()
    yield server
    if server.proc is not None:
        server.stop()


@pytest.fixture
def private_broker(request, tmp_path):
    """A broker of the kind the test is parametrised with, private to this module: RabbitMQ
    shared by its tests (started again if a test left it stopped), Redis one per test."""
    if request.param == "amqp":
        server = request.getfixturevalue("rabbitmq_server")
        if server.proc is None:
            server.start()
        yield server
        if server.proc is None:
            server.start()
        return
    require(RedisServer.binary() is not None, "needs redis-server on PATH")
    redis = RedisServer(free_port(), tmp_path / "redis.log")
    redis.start()
    yield redis
    if redis.proc is not None:
        redis.stop()


def _notes(department: Department) -> str:
    department.refresh_from_db()
    return department.description


BROKERS = pytest.mark.parametrize(
    "private_broker", ["amqp", "redis"], ids=["rabbitmq", "redis"], indirect=True
)


@BROKERS
def test_a_worker_outlives_its_brokers_restart_and_goes_on_working(
    postgres_required, private_broker, start_worker
):
    queue = f"zheliban-test-{uuid.uuid4().hex[:12]}"
    department = DepartmentFactory(name="交通运输局")
    with celery_sending_to(private_broker.url, queue):
        worker = start_worker(private_broker.url, queue)
        with transaction.atomic():
            first = outbox_enqueue(APPEND_NOTE, department_id=department.pk, note="a")
        wait_until(lambda: TaskReceipt.objects.filter(message_id=first.pk).exists())

        private_broker.stop()
        with transaction.atomic():
            during = outbox_enqueue(APPEND_NOTE, department_id=department.pk, note="b")
        during.refresh_from_db()
        assert during.sent_at is None
        assert during.last_error != ""
        worker.assert_alive()

        private_broker.start()
        # The same process, reconnected: it logs the loss and waits, it never exits.
        wait_until(lambda: worker.log().count("Connected to ") >= 2, describe=worker.log)
        assert outbox_relay(older_than=dt.timedelta(0)) == 1
        with transaction.atomic():
            after = outbox_enqueue(APPEND_NOTE, department_id=department.pk, note="c")
        wait_until(
            lambda: TaskReceipt.objects.filter(message_id__in=[during.pk, after.pk]).count() == 2,
            describe=worker.log,
        )
        worker.assert_alive()

    assert "Unrecoverable error" not in worker.log()
    assert sorted(_notes(department)) == ["a", "b", "c"]
    assert TaskReceipt.objects.count() == 3
    assert OutboxMessage.objects.filter(done_at__isnull=True).count() == 0


@pytest.mark.parametrize("private_broker", ["amqp"], ids=["rabbitmq"], indirect=True)
def test_rabbitmq_keeps_a_handed_over_message_across_its_restart(
    postgres_required, private_broker, start_worker
):
    """A message RabbitMQ confirmed is on disk in a durable quorum queue: it is carried out
    after a restart of the broker without the relay handing it over again."""
    queue = f"zheliban-test-{uuid.uuid4().hex[:12]}"
    department = DepartmentFactory(name="市场监管局")
    with celery_sending_to(private_broker.url, queue):
        worker = start_worker(private_broker.url, queue)
        worker.stop()
        with transaction.atomic():
            message = outbox_enqueue(APPEND_NOTE, department_id=department.pk, note="kept")
        message.refresh_from_db()
        assert message.sent_at is not None
        assert message.last_error == ""

        private_broker.stop()
        private_broker.start()
        worker = start_worker(private_broker.url, queue)
        wait_until(
            lambda: TaskReceipt.objects.filter(message_id=message.pk).exists(),
            describe=worker.log,
        )

    message.refresh_from_db()
    assert message.attempts == 1, "carried out from the broker's own copy, not the relay's"
    assert message.done_at is not None
    assert _notes(department) == "kept"


@pytest.mark.parametrize("private_broker", ["amqp"], ids=["rabbitmq"], indirect=True)
def test_rabbitmq_queues_are_durable_quorum_queues(postgres_required, private_broker, start_worker):
    queue = f"zheliban-test-{uuid.uuid4().hex[:12]}"
    with celery_sending_to(private_broker.url, queue):
        start_worker(private_broker.url, queue)
    with kombu.Connection(private_broker.url) as connection:
        channel = connection.channel()
        # Declaring a queue again with the same arguments succeeds; with others RabbitMQ refuses.
        channel.queue_declare(
            queue, durable=True, auto_delete=False, arguments={"x-queue-type": "quorum"}
        )
        channel = connection.channel()
        with pytest.raises(amqp.exceptions.PreconditionFailed, match="x-queue-type"):
            channel.queue_declare(
                queue, durable=True, auto_delete=False, arguments={"x-queue-type": "classic"}
            )

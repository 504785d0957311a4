"""The transactional outbox, with tasks run eagerly in this process (SQLite or PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from unittest import mock

import pytest
from django.db import IntegrityError, transaction
from kombu.exceptions import OperationalError

from departments.models import Department
from tests.factories import DepartmentFactory
from zheliban import celery_app
from zheliban.core.models import OutboxMessage, TaskReceipt
from zheliban.core.outbox import outbox_enqueue, outbox_publish, outbox_relay

from .services import celery_sending_to, free_port
from .worker_tasks import APPEND_NOTE, CLONE_DEPARTMENT, DIE_ONCE, append_note, clone_department

REPO_ROOT = Path(__file__).resolve().parents[2]


class Rollback(Exception):
    pass


@pytest.fixture
def department(db):
    return DepartmentFactory(name="公安局")


def rename_and_note(department: Department, note: str = "hello") -> OutboxMessage:
    """A service call: change a department and record a side effect, in one transaction."""
    with transaction.atomic():
        Department.objects.filter(pk=department.pk).update(name="公安局（新）")
        return outbox_enqueue(APPEND_NOTE, department_id=department.pk, note=note)


def test_rollback_discards_the_message_and_the_task_never_runs(
    department, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Rollback),
        transaction.atomic(),
    ):
        rename_and_note(department)
        raise Rollback

    assert callbacks == []
    assert OutboxMessage.objects.count() == 0
    assert TaskReceipt.objects.count() == 0
    department.refresh_from_db()
    assert department.name == "公安局"
    assert department.description == ""


def test_commit_sends_the_message_and_the_task_runs_once(
    department, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = rename_and_note(department)

    assert len(callbacks) == 1
    message.refresh_from_db()
    assert message.task_name == APPEND_NOTE
    assert message.kwargs == {"department_id": department.pk, "note": "hello"}
    assert message.sent_at is not None
    assert message.sent_at >= message.created_at
    assert message.attempts == 1
    assert message.last_error == ""
    receipt = TaskReceipt.objects.get()
    assert receipt.message_id == message.pk
    assert receipt.task_name == APPEND_NOTE
    department.refresh_from_db()
    assert department.name == "公安局（新）"
    assert department.description == "hello"


def test_publish_failure_keeps_the_change_and_the_relay_sends_the_message_once(
    transactional_db,
):
    department = DepartmentFactory(name="公安局")
    with mock.patch.object(
        append_note, "apply_async", side_effect=OperationalError("broker down")
    ) as apply_async:
        message = rename_and_note(department)  # a real commit: on_commit runs right away

    apply_async.assert_called_once_with(
        kwargs={"department_id": department.pk, "note": "hello"},
        task_id=str(message.pk),
        retry=False,
    )
    department.refresh_from_db()
    assert department.name == "公安局（新）"
    assert department.description == ""
    message.refresh_from_db()
    assert message.sent_at is None
    assert message.attempts == 1
    assert message.last_error == "OperationalError: broker down"
    assert TaskReceipt.objects.count() == 0

    # Within the grace period the relay leaves the message alone.
    assert outbox_relay() == 0
    message.refresh_from_db()
    assert message.attempts == 1

    assert outbox_relay(older_than=dt.timedelta(0)) == 1
    assert outbox_relay(older_than=dt.timedelta(0)) == 0

    message.refresh_from_db()
    assert message.sent_at is not None
    assert message.attempts == 2
    assert message.last_error == ""
    assert TaskReceipt.objects.get().message_id == message.pk
    department.refresh_from_db()
    assert department.description == "hello"


def test_an_unreachable_broker_leaves_the_message_for_the_relay(transactional_db):
    """Publish retries are off: the commit stands and the message waits, unsent, with the reason."""
    department = DepartmentFactory(name="公安局")
    port = free_port()  # nothing listens there
    with celery_sending_to(f"redis://127.0.0.1:{port}/0", f"zheliban-test-{uuid.uuid4().hex}"):
        message = rename_and_note(department)

    department.refresh_from_db()
    assert department.name == "公安局（新）"
    assert department.description == ""
    message.refresh_from_db()
    assert message.sent_at is None
    assert message.attempts == 1
    assert message.last_error.startswith("OperationalError: ")
    assert f"127.0.0.1:{port}" in message.last_error

    assert outbox_relay(older_than=dt.timedelta(0)) == 1  # eager again: runs in-process
    department.refresh_from_db()
    assert department.description == "hello"


def test_redelivery_of_a_message_does_the_work_once(department, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = rename_and_note(department)

    # The same message delivered again, as after a lost acknowledgement.
    result = append_note.apply(kwargs=message.kwargs, task_id=str(message.pk))
    assert result.successful()
    assert result.result is None

    # And sent again, as when the relay read the message before its task closed it.
    OutboxMessage.objects.filter(pk=message.pk).update(sent_at=None, done_at=None)
    assert outbox_relay(older_than=dt.timedelta(0)) == 1

    department.refresh_from_db()
    assert department.description == "hello"
    assert TaskReceipt.objects.count() == 1
    message.refresh_from_db()
    assert message.attempts == 2

    # Another message with the same arguments is other work, and is done.
    with django_capture_on_commit_callbacks(execute=True):
        second = rename_and_note(department)
    assert second.pk != message.pk
    department.refresh_from_db()
    assert department.description == "hellohello"
    assert TaskReceipt.objects.count() == 2


def test_an_integrity_error_in_the_task_body_is_raised_not_taken_for_a_redelivery(department):
    message_id = str(uuid.uuid4())
    with pytest.raises(IntegrityError):
        clone_department.apply(kwargs={"department_id": department.pk}, task_id=message_id)

    assert TaskReceipt.objects.count() == 0
    assert Department.objects.count() == 1


def test_a_message_for_an_unknown_task_waits_with_the_reason(
    department, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = outbox_enqueue("tests.core.no_such_task", department_id=department.pk)

    message.refresh_from_db()
    assert message.sent_at is None
    assert message.attempts == 1
    unknown = "LookupError: no task named 'tests.core.no_such_task' is registered"
    assert message.last_error == unknown
    assert outbox_publish(message_id=message.pk) is False
    message.refresh_from_db()
    assert message.attempts == 2


def test_publishing_a_sent_or_missing_message_does_nothing(
    department, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = rename_and_note(department)

    assert outbox_publish(message_id=message.pk) is False
    assert outbox_publish(message_id=uuid.uuid4()) is False
    message.refresh_from_db()
    assert message.attempts == 1
    department.refresh_from_db()
    assert department.description == "hello"


def test_outbox_tasks_are_acknowledged_late_and_rejected_when_their_worker_dies():
    for name in (APPEND_NOTE, DIE_ONCE, CLONE_DEPARTMENT):
        task = celery_app.tasks[name]
        assert task.acks_late is True, name
        assert task.reject_on_worker_lost is True, name


# What outbox_publish does, in a fresh process configured by the project's settings.
PUBLISH_PROBE = """
import time

import django

django.setup()

from tests.core.worker_tasks import APPEND_NOTE
from zheliban import celery_app

try:
    celery_app.tasks[APPEND_NOTE].apply_async(
        kwargs={"department_id": 1, "note": "x"}, task_id="probe", retry=False
    )
    outcome = "sent"
except Exception as exc:
    outcome = type(exc).__name__
print(outcome)
"""


def test_a_broker_that_never_answers_fails_the_publish_instead_of_hanging(tmp_path):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes the handshakes; nothing ever replies
        port = silent.getsockname()[1]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "ZHELIBAN_VAR_DIR": str(tmp_path),
            "PYTHONPATH": str(REPO_ROOT),
        }
        result = subprocess.run(
            [sys.executable, "-c", PUBLISH_PROBE],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=12,
            check=True,
        )

    # Without a socket timeout the publish would block until the subprocess timeout above.
    assert result.stdout.split()[-1] == "OperationalError"


@pytest.mark.parametrize("scheme", ["amqp", "redis"])
def test_a_broker_that_refuses_is_tried_once_per_publish(tmp_path, scheme):
    """The request that committed does not wait through connection retries: one attempt, an
    error, and the relay hands the message over later."""
    accepted = []
    with socket.socket() as closing:
        closing.bind(("127.0.0.1", 0))
        closing.listen(16)
        closing.settimeout(0.2)
        port = closing.getsockname()[1]
        url = (
            f"amqp://guest:guest@127.0.0.1:{port}//"
            if scheme == "amqp"
            else (f"redis://127.0.0.1:{port}/0")
        )
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "CELERY_BROKER_URL": url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "ZHELIBAN_VAR_DIR": str(tmp_path),
            "PYTHONPATH": str(REPO_ROOT),
        }
        probe = subprocess.Popen(
            [sys.executable, "-c", PUBLISH_PROBE],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        # Each connection is closed as soon as it comes: the broker "refuses" it.
        while probe.poll() is None:
            try:
                connection, _address = closing.accept()
            except TimeoutError:
                continue
            accepted.append(connection)
            connection.close()
        output = probe.communicate(timeout=30)[0]

    assert output.split()[-1] in ("OperationalError", "ConnectionError")
    assert len(accepted) == 1


def test_a_fresh_process_knows_every_outbox_task_from_any_thread():
    """The web process commits from many threads at once: each finds the message's task."""
    script = """
import threading, django
django.setup()
from celery import current_app
names = ("core.outbox_relay", "core.deliver_notice", "complaints.tickets_sweep",
         "scoreboard.compute")
found = []
def look():
    found.append(all(current_app.tasks.get(name) is not None for name in names))
threads = [threading.Thread(target=look) for _ in range(16)]
for thread in threads: thread.start()
for thread in threads: thread.join()
print(sum(found))
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "16"

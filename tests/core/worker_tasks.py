"""Outbox tasks used by the outbox tests, eagerly in-process and by a real Celery worker.

A real worker loads this module with ``--include tests.core.worker_tasks``. The work is appending a
note to a department's description, so the number of times it was done can be read back exactly:
``"hello"`` once, ``"hellohello"`` twice.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.db.models import Value
from django.db.models.functions import Concat

from departments.models import Department
from zheliban.core.outbox import outbox_task

APPEND_NOTE = "tests.core.append_note"
DIE_ONCE = "tests.core.die_once"
CLONE_DEPARTMENT = "tests.core.clone_department"

# Set in the environment of the worker subprocess only: a task never kills the test runner.
WORKER_ENV_FLAG = "ZHELIBAN_TEST_WORKER"


def _append(department_id: int, note: str) -> None:
    Department.objects.filter(pk=department_id).update(
        description=Concat("description", Value(note))
    )


@outbox_task(APPEND_NOTE)
def append_note(*, department_id: int, note: str) -> None:
    _append(department_id, note)


@outbox_task(DIE_ONCE)
def die_once(*, department_id: int, note: str, attempts_file: str) -> None:
    """Do the work, then, on the first attempt only, kill the pool process before commit.

    Every attempt appends its process id to ``attempts_file``; the file not existing yet is what
    makes an attempt the first one. The work and the task receipt are written but not committed
    when the process dies, so the database rolls both back.
    """
    path = Path(attempts_file)
    first_attempt = not path.exists()
    with path.open("a") as attempts:
        attempts.write(f"{os.getpid()}\n")
    _append(department_id, note)
    if first_attempt:
        if os.environ.get(WORKER_ENV_FLAG) != "1":
            raise RuntimeError("die_once only kills a process inside the test worker")
        os._exit(1)


@outbox_task(CLONE_DEPARTMENT)
def clone_department(*, department_id: int) -> None:
    """Copy a department under the same code: the body itself raises ``IntegrityError``."""
    original = Department.objects.get(pk=department_id)
    Department.objects.create(code=original.code, name=f"{original.name} 2", region=original.region)


class FileSMSBackend:
    """An SMS backend for the worker tests: each send appends a line to the file named by
    ``ZHELIBAN_TEST_SMS_FILE``; with ``ZHELIBAN_TEST_SMS_DIE_ONCE`` set, the first send kills
    the pool process after writing, before the task's transaction commits."""

    def send(self, *, to: str, subject: str, body: str, idempotency_key: str = "") -> str:
        path = Path(os.environ["ZHELIBAN_TEST_SMS_FILE"])
        first = not path.exists()
        with path.open("a") as sent:
            sent.write(f"{os.getpid()} {subject}\n")
        if first and os.environ.get("ZHELIBAN_TEST_SMS_DIE_ONCE") == "1":
            if os.environ.get(WORKER_ENV_FLAG) != "1":
                raise RuntimeError(
                    "the die-once backend only kills a process inside the test worker"
                )
            os._exit(1)
        return f"file-{os.getpid()}"

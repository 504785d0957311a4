"""The one write of a task's state and the one write of an application's status: each checked
against its machine's table (``TASK_MACHINE``, ``APPLICATION_MACHINE``), with its history row."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from zheliban.core.errors import Refused

from ..models import APPLICATION_MACHINE, TASK_MACHINE, Application, Task, TaskEvent


def _task_move(
    task: Task,
    action: str,
    *,
    who: str,
    to: str | None = None,
    actor=None,
    note: str = "",
    update_fields: Iterable[str] | None = None,
) -> TaskEvent:
    """Move ``task`` by ``action`` to ``to`` (by default the one target the table gives) and
    write the history row. A move the table does not list raises ``Conflict`` before anything
    is written; the caller's transaction holds the task's row."""
    source = task.state
    target = TASK_MACHINE.target(source, action, who=who, to=to)
    task.state = target
    task.version += 1
    if update_fields is None:
        task.save()
    else:
        task.save(update_fields=["state", "version", *update_fields])
    return TaskEvent.objects.create(
        application_id=task.application_id,
        task=task,
        action=action,
        from_state=source,
        to_state=target,
        actor=actor,
        note=note,
    )


def _application_move(
    app: Application,
    action: str,
    *,
    who: str,
    to: str | None = None,
    actor=None,
    refuse: Callable[[], Refused] | None = None,
    update_fields: Iterable[str] | None = None,
) -> TaskEvent:
    """Move the application by ``action`` to ``to`` (by default the one target the table gives),
    save it (with the fields the caller set, ``update_fields``; all of them by default) and write
    the history row. A move the table does not list raises what ``refuse`` makes, else the
    machine's ``Conflict``, before anything is written; the caller's transaction holds the row."""
    source = app.status
    target = APPLICATION_MACHINE.target(source, action, who=who, to=to, refuse=refuse)
    app.status = target
    if update_fields is None:
        app.save()
    else:
        app.save(update_fields=["status", *update_fields])
    return TaskEvent.objects.create(
        application=app, action=action, from_state=source, to_state=target, actor=actor
    )


def _task_note(task: Task, action: str, *, actor=None, note: str = "") -> TaskEvent:
    """A history row about a task that leaves its state as it is: a pause, a request for more
    time, a special procedure, a 督办 and its reply."""
    return TaskEvent.objects.create(
        application_id=task.application_id,
        task=task,
        action=action,
        from_state=task.state,
        to_state=task.state,
        actor=actor,
        note=note,
    )

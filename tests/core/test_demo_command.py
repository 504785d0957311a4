"""``manage.py demo``: the address it serves on, a port in use, and how to log in kept in view."""

import contextlib
import io
import logging
import socket
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from zheliban.core.management.commands import demo, seed_demo


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Commands(list):
    """The commands ``demo`` ran, as (name, *args); those named in ``through`` really run."""

    def __init__(self):
        super().__init__()
        self.through: set[str] = set()

    def names(self) -> list[str]:
        return [name for name, *_ in self]


@pytest.fixture
def commands(monkeypatch) -> Commands:
    """The commands ``demo`` runs, recorded instead of run."""
    ran = Commands()
    real = call_command

    def record(name, *args, **options):
        ran.append((name, *args))
        if name in ran.through:
            real(name, *args, **options)

    monkeypatch.setattr(demo, "call_command", record)
    return ran


@pytest.mark.parametrize(
    ("addrport", "expected"),
    [
        ("8010", ("127.0.0.1", 8010, False)),
        ("127.0.0.1:8010", ("127.0.0.1", 8010, False)),
        ("0.0.0.0:8010", ("0.0.0.0", 8010, False)),  # noqa: S104
        ("localhost:8010", ("localhost", 8010, False)),
        ("[::1]:8010", ("::1", 8010, True)),
    ],
)
def test_a_port_or_an_address_and_port_as_runserver_takes_them(addrport, expected):
    assert demo.parse_addrport(addrport) == expected


@pytest.mark.parametrize("addrport", ["http://127.0.0.1:8010/", "8010:127.0.0.1", "port"])
def test_anything_else_is_refused_with_an_example(addrport, commands):
    with pytest.raises(CommandError, match=r"manage\.py demo 8010"):
        call_command("demo", addrport)
    assert commands == []


def test_a_bare_port_is_served_on_127_0_0_1(commands):
    port = free_port()
    out = io.StringIO()
    call_command("demo", str(port), stdout=out)
    assert f"Serving the demo on http://127.0.0.1:{port}/ " in out.getvalue()
    assert commands.names() == ["migrate", "seed_demo", "runserver"]
    assert commands[-1] == ("runserver", f"127.0.0.1:{port}")


def test_an_address_and_port_are_served_as_given(commands):
    port = free_port()
    out = io.StringIO()
    call_command("demo", f"localhost:{port}", stdout=out)
    assert f"Serving the demo on http://localhost:{port}/ " in out.getvalue()
    assert commands[-1] == ("runserver", f"localhost:{port}")


def test_a_busy_port_fails_before_migrating_naming_the_port_and_how_to_choose_another(commands):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError) as refused:
            call_command("demo", str(port), stdout=io.StringIO())
    message = str(refused.value)
    assert f"Port {port} on 127.0.0.1 is already in use" in message
    assert "Choose another port, for example: manage.py demo 8010" in message
    assert commands == []  # nothing migrated, nothing seeded, nothing served


def test_preparing_without_serving_does_not_ask_for_the_port(commands):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        call_command("demo", str(busy.getsockname()[1]), "--no-serve", stdout=io.StringIO())
    assert commands.names() == ["migrate", "seed_demo"]


def _seed_that_queues_a_task(*, stdout):
    """A part of the seeding that queues a task: it runs, and logs, once the seeding commits."""
    stdout.write("Seeded a part that queues a task.")
    transaction.on_commit(lambda: logging.getLogger("zheliban.test.demo").warning("Task ran"))


@pytest.fixture
def seeding_commits(monkeypatch, django_capture_on_commit_callbacks):
    """``seed_demo``'s transaction commits as it ends (inside the test's own transaction, its
    on-commit callbacks run right there, as a real commit would run them)."""

    @contextlib.contextmanager
    def atomic_that_commits():
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            yield

    monkeypatch.setattr(seed_demo, "transaction", SimpleNamespace(atomic=atomic_that_commits))


@pytest.mark.django_db
def test_how_to_log_in_is_printed_last_after_the_log_lines_just_before_serving(
    commands, monkeypatch, seeding_commits
):
    # The people and departments are seeded for real (their hooks print the help); the rest of
    # the province stands in as parts whose tasks log after the commit, as the demo's do.
    for label in ("catalog", "workflows", "complaints", "scoreboard"):
        monkeypatch.setattr(apps.get_app_config(label), "seed_demo", _seed_that_queues_a_task)
    commands.through.add("seed_demo")
    out = io.StringIO()
    log_to_out = logging.StreamHandler(out)  # the log lines and the output, as a terminal shows
    logging.getLogger().addHandler(log_to_out)
    try:
        call_command("demo", str(free_port()), stdout=out)
    finally:
        logging.getLogger().removeHandler(log_to_out)
    lines = out.getvalue().splitlines()
    help_lines = seed_demo.login_help()
    assert any(line.startswith("Accounts (password for all:") for line in help_lines)
    assert any(line.startswith("Staff log in as") for line in help_lines)
    assert any(line.startswith("Complaints desk (12345) staff log in as") for line in help_lines)
    serving = next(i for i, line in enumerate(lines) if line.startswith("Serving the demo on"))
    assert serving == len(lines) - 1
    assert lines[serving - len(help_lines) : serving] == help_lines
    assert lines[serving - len(help_lines) - 1] == "Demo province ready."
    assert lines.count("Task ran") == 4
    assert lines.index("Task ran") < serving - len(help_lines)

"""State machines as data: the tables' checks, their drawings in admin and their README listing."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.db.models import TextChoices
from django.utils import translation

from complaints.models import PART_MACHINE, TICKET_MACHINE, Ticket, TicketDepartment
from complaints.templatetags.ticket_tags import ACTIONS as TICKET_ACTIONS
from tests.factories import (
    DepartmentFactory,
    RegionFactory,
    ServiceItemFactory,
    StaffFactory,
    UserFactory,
)
from workflows.models import (
    APPLICATION_MACHINE,
    RECTIFICATION_MACHINE,
    TASK_MACHINE,
    Application,
    Rating,
    Rectification,
    Task,
)
from workflows.templatetags.workflow_tags import ACTIONS as CASE_ACTIONS
from zheliban.core.errors import Conflict
from zheliban.core.machines import STAY, Machine, Transition, machines, markdown

README = Path(settings.BASE_DIR) / "README.md"
BLOCK = re.compile(r"<!-- machines:start -->\n(.*)\n<!-- machines:end -->", re.DOTALL)
REGENERATE = (
    "README.md's state machines are not the tables': replace what stands between "
    "<!-- machines:start --> and <!-- machines:end --> with the output of "
    "`.venv/bin/python -m zheliban.core.machines`"
)


# ---------------------------------------------------------------- the README


def test_the_readme_lists_each_machine_exactly_as_its_table():
    found = BLOCK.findall(README.read_text(encoding="utf-8"))
    assert len(found) == 1, REGENERATE
    assert found[0] == markdown(), REGENERATE


def test_the_listing_names_every_machine_and_every_row():
    listing = markdown()
    assert [m.name for m in machines()] == [
        "workflows.application",
        "workflows.task",
        "workflows.rectification",
        "complaints.ticket",
        "complaints.ticketdepartment",
        "complaints.ticketdelay",
    ]
    for machine in machines():
        with translation.override("en"):
            header = f"### {machine.title} (`{machine.model}.{machine.field}`)"
        section = listing.split(header, 1)[1].split("\n\n### ", 1)[0]
        rows = [line for line in section.splitlines() if line.startswith("| `")]
        assert [r.split(" | ")[1] for r in rows] == [f"`{t.action}`" for t in machine.transitions]


def test_the_regenerating_command_prints_the_listing():
    done = subprocess.run(
        [sys.executable, "-m", "zheliban.core.machines"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout == markdown() + "\n"
    assert done.stderr == ""


# ---------------------------------------------------------------- the tables' checks


class Light(TextChoices):
    OFF = "off", "Off"
    ON = "on", "On"
    BROKEN = "broken", "Broken"


def light(*transitions: Transition) -> Machine:
    return Machine(
        name="tests.light",
        title="Light",
        model="tests.Light",
        field="state",
        states=Light,
        who={"anyone": "anyone"},
        transitions=transitions,
        code="wrong_state",
        refusal="The light is “%(state)s”.",
    )


@pytest.mark.parametrize(
    "rows, message",
    [
        ([Transition("fly", "off", "flying", "anyone")], "fly names unknown states ['flying']"),
        ([Transition("on", (), "on", "anyone")], "on names unknown states []"),
        ([Transition("on", "off", "on", "nobody")], "on is made by unknown 'nobody'"),
        (
            [Transition("on", "off", "on", "anyone"), Transition("on", "off", STAY, "anyone")],
            "('off', 'on', 'anyone') is listed twice",
        ),
    ],
)
def test_a_table_that_names_what_does_not_exist_is_refused_and_not_kept(rows, message):
    before = machines()
    with pytest.raises(ValueError, match=re.escape(message)):
        light(*rows)
    assert machines() == before


def test_two_machines_of_one_name_are_refused():
    with pytest.raises(ValueError, match=r"Two state machines are named workflows\.task"):
        Machine(
            name="workflows.task",
            title="Task",
            model="workflows.Task",
            field="state",
            states=Task.State,
            who={},
            transitions=[],
            code="wrong_state",
            refusal="",
        )
    assert machines().count(TASK_MACHINE) == 1


def test_the_chokepoint_s_questions():
    S = Task.State
    assert TASK_MACHINE.target(S.READY, "accept", who="staff") == S.ACCEPTED
    assert TASK_MACHINE.target(S.ACCEPTED, "claim", who="staff") == S.ACCEPTED  # stays
    assert TASK_MACHINE.target(S.CORRECTION, "resubmit", who="applicant", to=S.READY) == S.READY
    with pytest.raises(ValueError, match="resubmit from correction leads to any of"):
        TASK_MACHINE.target(S.CORRECTION, "resubmit", who="applicant")
    with pytest.raises(Conflict) as refused:
        TASK_MACHINE.target(S.CORRECTION, "resubmit", who="applicant", to=S.COMPLETED)
    assert refused.value.code == "wrong_state"
    with translation.override("en"):
        with pytest.raises(Conflict) as refused:
            TASK_MACHINE.target(S.COMPLETED, "accept", who="staff")
        assert refused.value.message == ("This task is “Completed”; it cannot be moved that way.")
    assert refused.value.code == "wrong_state"
    # the table's own words are replaced by the chokepoint's when it gives them
    with pytest.raises(Conflict, match="claimed already"):
        TASK_MACHINE.target(
            S.COMPLETED,
            "claim",
            who="staff",
            refuse=lambda: Conflict("claimed already", code="wrong_state"),
        )
    # a move someone else makes is not the staff's
    assert not TASK_MACHINE.allowed(S.WAITING, "ready", who="staff")
    assert TASK_MACHINE.allowed(S.WAITING, "ready", who="system")
    assert TASK_MACHINE.actions(exclude=("system",)) == (
        "claim",
        "release",
        "hand_over",
        "send_back",
        "accept",
        "correction",
        "complete",
        "reject",
        "resubmit",
    )


# ---------------------------------------------------------------- admin

CHANGELISTS = [
    ("/admin/workflows/task/", (TASK_MACHINE,), CASE_ACTIONS),
    ("/admin/workflows/application/", (APPLICATION_MACHINE,), CASE_ACTIONS),
    ("/admin/workflows/rectification/", (RECTIFICATION_MACHINE,), {}),
    ("/admin/complaints/ticket/", (TICKET_MACHINE, PART_MACHINE), TICKET_ACTIONS),
]


def fill(size: int) -> None:
    """``size`` rows of each model whose changelist draws a machine."""
    department = DepartmentFactory()
    item = ServiceItemFactory(department=department)
    region = RegionFactory()
    today = dt.date(2026, 12, 7)
    for n in range(size):
        app = Application.objects.create(
            applicant=UserFactory(),
            item=item,
            idempotency_key=f"k-{n}",
            reference=f"ZB20261207FILL{n:04d}",
            status=Application.Status.COMPLETED,
        )
        Task.objects.create(
            application=app,
            step="only",
            item=item,
            department=department,
            due_workdays=1,
            state=Task.State.COMPLETED,
        )
        rating = Rating.objects.create(application=app, score=1)
        Rectification.objects.create(
            rating=rating, department=department, callback_due=today, fix_due=today
        )
        ticket = Ticket.objects.create(
            kind=Ticket.Kind.COMPLAINT,
            channel=Ticket.Channel.WEB,
            title=f"噪音扰民 {n}",
            content="夜间施工噪音扰民。",
            region=region,
            department=department,
            state=Ticket.State.DISPATCHED,
        )
        TicketDepartment.objects.create(ticket=ticket, department=department)


@pytest.mark.parametrize("size", [1, 3])
@pytest.mark.parametrize("url, drawn, labels", CHANGELISTS)
def test_each_changelist_ends_with_its_machines_drawn(
    client, db, django_assert_num_queries, url, drawn, labels, size
):
    fill(size)
    client.force_login(StaffFactory(is_superuser=True))
    # session, user, the rows counted twice (filtered and in all) and the rows with what they
    # show; the drawings read nothing
    with django_assert_num_queries(5):
        response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert len(re.findall(rf'<a href="{url}[^"/]+/change/', page)) == size
    with translation.override(response["Content-Language"]):
        drawings = [machine.drawing(action_labels=labels) for machine in drawn]
    listing = page.index('id="changelist"')
    for drawing in drawings:
        svg, table = str(drawing["svg"]), str(drawing["table"])
        assert page.index(svg) > listing and page.index(table) > page.index(svg)
        assert " style=" not in svg + table and "<script" not in svg + table
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="state-machine"') == len(drawn)
    assert page.count('<table class="state-machine-table">') == len(drawn)
    assert '<link rel="stylesheet" href="/static/css/state-machines.css">' in page
    assert finders.find("css/state-machines.css") is not None


def test_the_drawing_shows_every_state_and_move():
    for machine in machines():
        drawing = machine.drawing()
        svg, table = str(drawing["svg"]), str(drawing["table"])
        assert svg.count('<g class="state-machine-state">') == len(machine.states)
        assert svg.count('<g class="state-machine-move">') == len(
            {(source, target) for source, target, _action, _who in machine.edges()}
        )
        assert table.count("<tr><td>") == len(machine.transitions)

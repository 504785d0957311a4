"""The worklist that flies, in Chromium at phone width: a 卫健 clerk works 20 ready tasks claim →
accept → complete in at most 3 page loads each (counted as the main frame's real navigations),
from a filtered list that stays filtered; and the staff home fits 360 px and passes axe."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.test_newborn import fits_and_passes_axe
from tests.workflows.fixtures import OUTPUTS, newborn_demo, newborn_submit
from workflows.models import Task

pytestmark = pytest.mark.e2e

TASKS = 20
MAX_LOADS_PER_TASK = 3


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def test_twenty_ready_tasks_take_at_most_three_page_loads_each(new_context, log_in):
    demo = newborn_demo()
    apps = [newborn_submit(demo, key=f"e2e-worklist-{i}") for i in range(TASKS)]
    tasks = [app.tasks.get(step="birth_certificate") for app in apps]
    assert {t.state for t in tasks} == {Task.State.READY}
    clerk = demo.clerks["weijian"]
    page = new_context().new_page()
    log_in(page, clerk.username, demo.password)

    loads: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: loads.append(frame.url) if frame == page.main_frame else None,
    )
    # The clerk's list: this citizen's ready tasks in 卫健, by due date.
    query = {
        "department": demo.departments["weijian"].code,
        "state": "ready",
        "q": demo.citizen.id_number,
        "sort": "due",
    }
    assert page.goto(f"/staff/tasks/?{urlencode(query)}").status == 200
    fits_and_passes_axe(page)
    boxes = page.locator("#worklist input[name=tasks]")
    expect(boxes).to_have_count(TASKS)
    for i in range(TASKS):
        boxes.nth(i).check()
    with page.expect_navigation():
        page.locator("button[name=batch][value=sign]").click()
    first = urlparse(page.url)
    assert first.path == f"/staff/tasks/{tasks[0].pk}/"
    # The list comes along; signed for, its tasks are open rather than ready.
    assert parse_qs(first.query)["back"] == [
        urlencode({k: v for k, v in query.items() if k != "state"})
    ]
    fits_and_passes_axe(page)

    done: list[int] = []
    for _ in range(TASKS):
        pk = int(urlparse(page.url).path.strip("/").split("/")[-1])
        for name, value in OUTPUTS["birth_certificate"].items():
            page.locator(f"main form input[name=out_{name}]").fill(value)
        with page.expect_navigation():
            page.locator("main form button[name=action][value=complete]").click()
        done.append(pk)
    assert sorted(done) == sorted(t.pk for t in tasks)
    for task in tasks:
        task.refresh_from_db()
        assert (task.state, task.claimed_by_id) == (Task.State.COMPLETED, clerk.pk)
        assert task.outputs == OUTPUTS["birth_certificate"]
    # Where the last move leads: the list, still filtered, or the next task of it.
    last = urlparse(page.url)
    assert last.path.startswith("/staff/tasks/")
    assert "q=" in last.query or "back=" in last.query
    assert len(loads) <= MAX_LOADS_PER_TASK * TASKS
    assert len(loads) == 1 + 1 + TASKS  # the list, the batch, one per completed task


def test_the_staff_home_and_the_worklist_fit_a_phone(new_context, log_in):
    demo = newborn_demo()
    for i in range(3):
        newborn_submit(demo, key=f"e2e-home-{i}")
    page = new_context().new_page()
    log_in(page, demo.clerks["weijian"].username, demo.password)
    assert page.goto("/staff/").status == 200
    expect(page.locator("#ready")).to_be_visible()
    fits_and_passes_axe(page)
    assert page.goto("/staff/tasks/?sort=due").status == 200
    fits_and_passes_axe(page)
    # Keyboard: the first checkbox, then the task link of its row, are reached with Tab.
    first_box = page.locator("#worklist input[name=tasks]").first
    first_box.focus()
    page.keyboard.press("Space")
    expect(first_box).to_be_checked()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href') || ''")
    assert focused.startswith("/staff/tasks/")

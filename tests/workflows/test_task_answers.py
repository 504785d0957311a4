"""A task's answers, masked by one rule (``task_answers_shown``) on the staff page and the API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from workflows.selectors import task_answers_shown

from .test_api import TASKS, Joint, act, api, joint  # noqa: F401  (``joint`` is a fixture)

pytestmark = pytest.mark.django_db


def masked(id_number: str) -> str:
    return id_number[:3] + "*" * 11 + id_number[-4:]


def page_answers(user, task) -> dict[str, str]:
    response = api(user).get(reverse("workflows:task", args=[task.pk]))
    assert response.status_code == 200
    return {f.name: value for f, value in response.context["answers"]}


def api_answers(user, task) -> dict[str, str]:
    response = api(user).get(f"{TASKS}{task.pk}/")
    assert response.status_code == 200
    return {a["name"]: a["value"] for a in response.json()["answers"]}


def test_the_page_and_the_api_show_each_viewer_the_same_answers(joint: Joint):  # noqa: F811
    task = joint.submit().tasks.get(step="birth_certificate")
    id_number = joint.citizen.id_number
    # What the birth item asks: the hukou item's address and phone are the police's to know.
    expected_unclaimed = {
        "baby_name": "陈小满",
        "birth_date": "2026-03-20",
        "mother_id_number": masked(id_number),
    }
    for viewer in (joint.clerk_a, joint.clerk_a2):
        assert page_answers(viewer, task) == api_answers(viewer, task) == expected_unclaimed

    assert act(api(joint.clerk_a), task, "claim").status_code == 200
    task.refresh_from_db()
    holder = page_answers(joint.clerk_a, task)
    assert holder == api_answers(joint.clerk_a, task)
    assert holder == {**expected_unclaimed, "mother_id_number": id_number}
    # the colleague who does not hold the claim still sees it masked, on both
    colleague = page_answers(joint.clerk_a2, task)
    assert colleague == api_answers(joint.clerk_a2, task) == expected_unclaimed


def test_a_missing_answer_shows_empty_on_both(joint: Joint):  # noqa: F811
    app = joint.submit()
    app.data = {k: v for k, v in app.data.items() if k not in ("mother_id_number", "baby_name")}
    app.data["birth_date"] = None
    app.save(update_fields=["data"])
    task = app.tasks.get(step="birth_certificate")
    shown = {a.field.name: a.value for a in task_answers_shown(task=task, viewer=joint.clerk_a)}
    assert (shown["mother_id_number"], shown["baby_name"], shown["birth_date"]) == ("", "", "")
    assert page_answers(joint.clerk_a, task)["mother_id_number"] == ""

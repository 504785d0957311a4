"""The fair clock: a correction (补正) stops the clock; an extension (延期) needs a supervisor."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from workflows import selectors, services
from workflows.models import Extension, Task, TaskEvent
from zheliban.core.errors import Refused
from zheliban.core.models import Notice
from zheliban.core.workdays import add_workdays, is_workday

TASKS = "/api/v1/tasks/"


class Clock:
    """Django's clock, set by the test (``timezone.now`` and everything derived from it)."""

    def __init__(self, monkeypatch) -> None:
        self.moment = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.moment)

    def set(self, day: dt.date, hour: int = 10) -> None:
        self.moment = timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour, 0))


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


def row(task: Task) -> dict:
    """The task's row as the database holds it."""
    return Task.objects.filter(pk=task.pk).values().get()


def api(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["zhb_lang"] = "en"
    client.force_login(user)
    return client


MONDAY = dt.date(2026, 9, 28)


def started(scenario, clock):
    """A case filed on Monday 2026-09-28; the birth certificate (1 working day) is due on the
    29th; the clerk holds and accepted it."""
    clock.set(MONDAY)
    app = scenario.submit()
    task = scenario.act(app, "birth_certificate", "claim", "accept")
    assert task.due_date == dt.date(2026, 9, 29)
    return app, task


# ---------------------------------------------------------------- the pause


def test_the_calendar_has_the_national_day_holiday():
    # The dates below rely on it: 29 and 30 September and 8 October are working days, 1–7
    # October are not.
    assert [is_workday(dt.date(2026, 9, 29) + dt.timedelta(days=i))[0] for i in range(10)] == [
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
    ]


def test_a_correction_across_national_day_stops_the_clock(scenario, clock):
    app, task = started(scenario, clock)
    clerk = scenario.clerks["weijian"]
    scenario.act(
        app, "birth_certificate", "correction", reason="出生日期有误", fields=["birth_date"]
    )
    task.refresh_from_db()
    assert (task.state, task.paused_since) == ("correction", MONDAY)

    # Waiting: the old due date (29 September) passes, and nobody counts it against the clerk.
    for day in (dt.date(2026, 9, 30), dt.date(2026, 10, 5), dt.date(2026, 10, 8)):
        clock.set(day)
        assert services.deadlines_sweep(today=day) == {"reminded": 0, "escalated": 0}
        assert list(selectors.worklist(user=clerk, overdue=True)) == []
        assert task.is_overdue(day) is False
    body = api(clerk).get(TASKS, {"overdue": "1"}).json()
    assert body["count"] == 0
    listed = api(clerk).get(TASKS).json()["results"]
    assert [(t["id"], t["overdue"]) for t in listed] == [(task.pk, False)]
    assert Task.objects.get(pk=task.pk).reminded_at is None
    assert Task.objects.get(pk=task.pk).escalated_at is None
    assert TaskEvent.objects.filter(task=task, action="escalate").count() == 0

    # Resubmitted on Thursday 8 October: it waited 29 and 30 September and 8 October, 3 working
    # days (1–7 October are the holiday), so the due date moves from 29 September by 3 working
    # days: 30 September, 8 and 9 October.
    services.correction_resubmit(
        applicant=scenario.citizen, task_id=task.pk, answers={"birth_date": "2026-09-27"}
    )
    task.refresh_from_db()
    assert (task.state, task.due_date, task.paused_workdays, task.paused_since) == (
        "accepted",
        dt.date(2026, 10, 9),
        3,
        None,
    )
    assert list(
        TaskEvent.objects.filter(task=task, action="pause").values_list("note", "to_state")
    ) == [("3", "accepted")]
    assert list(selectors.worklist(user=clerk, overdue=True)) == []

    # From now on the moved date counts: reminded the day before it, supervised after it.
    assert services.deadlines_sweep(today=dt.date(2026, 10, 8)) == {"reminded": 1, "escalated": 0}
    assert services.deadlines_sweep(today=dt.date(2026, 10, 9)) == {"reminded": 0, "escalated": 0}
    late = dt.date(2026, 10, 10)
    clock.set(late)
    assert [t.pk for t in selectors.worklist(user=clerk, overdue=True)] == [task.pk]
    assert services.deadlines_sweep(today=late) == {"reminded": 0, "escalated": 1}


def test_the_case_page_says_how_long_the_clock_stood_still(scenario, clock):
    app, task = started(scenario, clock)
    scenario.act(
        app, "birth_certificate", "correction", reason="出生日期有误", fields=["birth_date"]
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["zhb_lang"] = "en"
    client.force_login(scenario.citizen)
    url = reverse("workflows:application", kwargs={"pk": app.pk})
    assert "The clock is paused until you send the correction." in client.get(url).content.decode()
    clock.set(dt.date(2026, 10, 8))
    services.correction_resubmit(
        applicant=scenario.citizen, task_id=task.pk, answers={"birth_date": "2026-09-27"}
    )
    page = client.get(url).content.decode()
    assert page.count("Clock paused 3 working days for your correction.") == 2
    notice = Notice.objects.filter(recipient=scenario.citizen).order_by("-id").first()
    assert "paused 3 working days" in notice.body
    assert "2026-10-09" in notice.body


def test_a_correction_answered_the_same_day_moves_nothing(scenario, clock):
    app, task = started(scenario, clock)
    scenario.act(
        app, "birth_certificate", "correction", reason="出生日期有误", fields=["birth_date"]
    )
    services.correction_resubmit(
        applicant=scenario.citizen, task_id=task.pk, answers={"birth_date": "2026-09-27"}
    )
    task.refresh_from_db()
    assert (task.due_date, task.paused_workdays) == (dt.date(2026, 9, 29), 0)
    assert TaskEvent.objects.filter(task=task, action="pause").count() == 0


# ---------------------------------------------------------------- extensions


def asked(scenario, clock, days: int = 2):
    app, task = started(scenario, clock)
    before = row(task)
    extension = services.extension_request(
        actor=scenario.clerks["weijian"], task_id=task.pk, workdays=days, reason="需现场核查"
    )
    # An unapproved request changes no date.
    assert row(task) == before
    assert extension.status == "requested"
    return app, task, extension


def test_an_approved_extension_moves_the_due_date(scenario, clock):
    app, task, extension = asked(scenario, clock)
    notices = Notice.objects.filter(recipient=scenario.citizen).count()
    services.extension_decide(
        actor=scenario.supervisors["weijian"],
        extension_id=extension.pk,
        approve=True,
        reason="同意，需核查",
    )
    task.refresh_from_db()
    extension.refresh_from_db()
    # 29 September + 2 working days: 30 September, then 8 October after the holiday.
    assert task.due_date == dt.date(2026, 10, 8)
    # Still within the case's promise: the promise stays.
    app.refresh_from_db()
    assert app.promised_date == dt.date(2026, 10, 13)
    assert (extension.status, extension.due_before, extension.due_after) == (
        "approved",
        dt.date(2026, 9, 29),
        dt.date(2026, 10, 8),
    )
    assert extension.decided_by == scenario.supervisors["weijian"]
    assert Notice.objects.filter(recipient=scenario.citizen).count() == notices + 1
    assert list(
        TaskEvent.objects.filter(task=task, action__startswith="extend_").values_list(
            "action", "note"
        )
    ) == [("extend_request", "需现场核查"), ("extend_approve", "同意，需核查")]


def test_a_refused_extension_changes_nothing(scenario, clock):
    _app, task, extension = asked(scenario, clock)
    before = row(task)
    notices = Notice.objects.filter(recipient=scenario.citizen).count()
    services.extension_decide(
        actor=scenario.supervisors["weijian"],
        extension_id=extension.pk,
        approve=False,
        reason="材料齐全，无需延期",
    )
    assert row(task) == before
    extension.refresh_from_db()
    assert (extension.status, extension.decision_reason) == ("refused", "材料齐全，无需延期")
    assert Notice.objects.filter(recipient=scenario.citizen).count() == notices + 1
    with pytest.raises(Refused) as exc:
        services.extension_decide(
            actor=scenario.supervisors["weijian"],
            extension_id=extension.pk,
            approve=True,
            reason="x",
        )
    assert exc.value.code == "decided"
    assert row(task) == before


@pytest.mark.parametrize(
    ("who", "code"),
    [("clerk", "not_supervisor"), ("foreign_supervisor", "not_found")],
)
def test_only_a_supervisor_of_the_department_decides(scenario, clock, who, code):
    _app, task, extension = asked(scenario, clock)
    actor = {
        "clerk": scenario.clerks["weijian"],
        "foreign_supervisor": scenario.supervisors["gongan"],
    }[who]
    before = (row(task), Extension.objects.values().get(pk=extension.pk), TaskEvent.objects.count())
    notices = Notice.objects.count()
    with pytest.raises(Refused) as exc:
        services.extension_decide(
            actor=actor, extension_id=extension.pk, approve=True, reason="同意"
        )
    assert exc.value.code == code
    after = (row(task), Extension.objects.values().get(pk=extension.pk), TaskEvent.objects.count())
    assert after == before
    assert Notice.objects.count() == notices


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"workdays": 2, "reason": " "}, "reason_missing"),
        ({"workdays": 0, "reason": "需核查"}, "extension_days"),
        ({"workdays": 61, "reason": "需核查"}, "extension_days"),
    ],
)
def test_a_request_needs_a_reason_and_a_sensible_length(scenario, clock, kwargs, code):
    _app, task = started(scenario, clock)
    before = row(task)
    with pytest.raises(Refused) as exc:
        services.extension_request(actor=scenario.clerks["weijian"], task_id=task.pk, **kwargs)
    assert exc.value.code == code
    assert row(task) == before
    assert Extension.objects.count() == 0


def test_only_the_holder_asks_and_one_request_waits_at_a_time(scenario, clock):
    _app, task, _extension = asked(scenario, clock)
    with pytest.raises(Refused) as exc:
        services.extension_request(
            actor=scenario.clerks["weijian"], task_id=task.pk, workdays=1, reason="再延"
        )
    assert exc.value.code == "extension_pending"
    with pytest.raises(Refused) as exc:
        services.extension_request(
            actor=scenario.clerks["gongan"], task_id=task.pk, workdays=1, reason="再延"
        )
    assert exc.value.code == "not_found"
    assert Extension.objects.count() == 1


def test_extension_through_the_pages_and_the_api(scenario, clock):
    _app, task = started(scenario, clock)
    clerk = Client(HTTP_ACCEPT_LANGUAGE="en")
    clerk.cookies["zhb_lang"] = "en"
    clerk.force_login(scenario.clerks["weijian"])
    url = reverse("workflows:task-extension", kwargs={"pk": task.pk})
    assert url in clerk.get(task.get_absolute_url()).content.decode()
    response = clerk.post(url, {"workdays": "2", "reason": "需现场核查"})
    assert response.status_code == 302
    extension = Extension.objects.get(task=task)
    # The clerk may not decide; the supervisor sees the decision form.
    response = clerk.post(url, {"extension": extension.pk, "decision": "approve", "reason": "ok"})
    assert response.status_code == 403
    boss = api(scenario.supervisors["weijian"])
    assert 'name="decision" value="approve"' in boss.get(task.get_absolute_url()).content.decode()
    response = boss.post(
        f"{TASKS}{task.pk}/extension-decision/",
        {"extension": extension.pk, "decision": "approve", "reason": "同意"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["due_date"] == "2026-10-08"
    assert [(x["id"], x["status"], x["workdays"]) for x in body["extensions"]] == [
        (extension.pk, "approved", 2)
    ]
    # Through the API as well: the request, and another department's supervisor sees no task.
    response = api(scenario.clerks["weijian"]).post(
        f"{TASKS}{task.pk}/extension/",
        {"workdays": 1, "reason": "再核查"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    second = Extension.objects.get(task=task, status="requested")
    before = row(task)
    response = api(scenario.supervisors["gongan"]).post(
        f"{TASKS}{task.pk}/extension-decision/",
        {"extension": second.pk, "decision": "approve", "reason": "同意"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert row(task) == before
    assert Extension.objects.get(pk=second.pk).status == "requested"


def test_a_step_extended_past_the_promise_moves_the_promise(scenario, clock):
    app, task, extension = asked(scenario, clock, days=8)
    services.extension_decide(
        actor=scenario.supervisors["weijian"],
        extension_id=extension.pk,
        approve=True,
        reason="同意",
    )
    task.refresh_from_db()
    app.refresh_from_db()
    # 29 September + 8 working days, past the promise of 13 October: the promise is never
    # earlier than a step's due date.
    expected = add_workdays(dt.date(2026, 9, 29), 8).date
    assert expected > dt.date(2026, 10, 13)
    assert task.due_date == expected
    assert app.promised_date == expected

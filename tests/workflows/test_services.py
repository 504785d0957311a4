import datetime as dt

import pytest
from django.utils import timezone, translation

from departments.models import DataGrant
from tests.factories import UserFactory
from workflows import services
from workflows.models import (
    Application,
    DataAccess,
    ELicence,
    Rating,
    Rectification,
    Task,
    TaskEvent,
)
from zheliban.core.errors import Conflict, Refused
from zheliban.core.models import Notice, NoticeDelivery, OutboxMessage

from .conftest import OUTPUTS
from .consent import approve_all, save_agree_activate

pytestmark = pytest.mark.django_db
S = Task.State


def finish(scenario, app, step):
    return scenario.act(app, step, "claim", "accept", "complete", outputs=OUTPUTS[step])


def snapshot(app):
    """Everything a refused move must leave as it was."""
    app.refresh_from_db()
    tasks = list(Task.objects.filter(application=app).order_by("id").values())
    return (
        app.status,
        app.data,
        tasks,
        TaskEvent.objects.count(),
        Notice.objects.count(),
        OutboxMessage.objects.count(),
        DataAccess.objects.count(),
    )


def test_submit_creates_one_task_per_step_and_only_the_first_is_ready(
    scenario, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        app = scenario.submit()
    states = dict(app.tasks.values_list("step", "state"))
    assert states == {
        "birth_certificate": S.READY,
        "hukou": S.WAITING,
        "social_card": S.WAITING,
        "child_insurance": S.WAITING,
    }
    assert app.status == Application.Status.IN_PROGRESS
    assert app.reference.startswith("ZB")
    first = app.tasks.get(step="birth_certificate")
    # Delivered to the department by the outbox task (eager in tests).
    assert first.delivered_at is not None
    assert first.acknowledged_at is None
    assert Notice.objects.filter(recipient=scenario.citizen).count() == 1


def test_submitting_twice_with_one_key_makes_one_application(scenario):
    draft = services.application_start(applicant=scenario.citizen, bundle=scenario.bundle)
    first, created = services.application_submit(
        applicant=scenario.citizen,
        application=draft,
        answers=scenario.answers(),
        idempotency_key="same",
    )
    again, created_again = services.application_submit(
        applicant=scenario.citizen,
        application=draft,
        answers=scenario.answers(),
        idempotency_key="same",
    )
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert Application.objects.filter(applicant=scenario.citizen).count() == 1
    assert Task.objects.count() == 4


def test_outputs_flow_through_a_grant_and_every_read_is_logged(scenario):
    app = scenario.submit()
    finish(scenario, app, "birth_certificate")
    hukou = app.tasks.get(step="hukou")
    assert hukou.state == S.READY
    assert hukou.inputs == {"birth_certificate_no": "Q330100260001"}
    read = DataAccess.objects.get(field="birth_certificate_no")
    assert (read.owner.kind, read.consumer.kind, read.outcome) == ("weijian", "gongan", "value")
    assert read.citizen == scenario.citizen and read.application == app
    licence = ELicence.objects.get(holder=scenario.citizen, field="birth_certificate_no")
    assert licence.value == "Q330100260001" and licence.issuer.kind == "weijian"


def test_without_a_grant_the_need_is_not_passed_and_the_refusal_is_logged(scenario):
    app = scenario.submit()
    DataGrant.objects.filter(consumer__kind="gongan").update(is_active=False)
    finish(scenario, app, "birth_certificate")
    hukou = app.tasks.get(step="hukou")
    assert hukou.inputs == {}
    assert DataAccess.objects.get(field="birth_certificate_no").outcome == "refused"
    assert "birth_certificate_no" in hukou.events.get(action="ready").note


def test_parallel_branches_are_ready_together_and_the_case_completes(scenario):
    app = scenario.submit()
    finish(scenario, app, "birth_certificate")
    finish(scenario, app, "hukou")
    assert set(app.tasks.filter(state=S.READY).values_list("step", flat=True)) == {
        "social_card",
        "child_insurance",
    }
    assert app.tasks.get(step="social_card").inputs == {"citizen_id_number": "330106202611200021"}
    finish(scenario, app, "child_insurance")
    app.refresh_from_db()
    assert app.status == Application.Status.IN_PROGRESS
    finish(scenario, app, "social_card")
    app.refresh_from_db()
    assert app.status == Application.Status.COMPLETED
    assert app.finished_at is not None


def test_each_transition_sends_exactly_one_notice(scenario, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        app = scenario.submit()
        before = Notice.objects.filter(recipient=scenario.citizen).count()
        scenario.act(app, "birth_certificate", "claim")
        # A claim is internal: the citizen is not told.
        assert Notice.objects.filter(recipient=scenario.citizen).count() == before
        scenario.act(app, "birth_certificate", "accept")
        scenario.act(app, "birth_certificate", "complete", outputs=OUTPUTS["birth_certificate"])
    notices = Notice.objects.filter(recipient=scenario.citizen).order_by("created_at", "id")
    assert notices.count() == before + 2
    # One SMS per notice (the citizen has a phone and the default channel).
    assert (
        NoticeDelivery.objects.filter(notice__in=notices, channel="sms").count() == notices.count()
    )
    assert set(NoticeDelivery.objects.values_list("state", flat=True)) == {"sent"}


def test_a_rejected_part_cancels_what_depends_on_it_and_the_rest_finishes(scenario):
    app = scenario.submit()
    finish(scenario, app, "birth_certificate")
    scenario.act(app, "hukou", "claim", "reject", reason="户籍不在本市")
    states = dict(app.tasks.values_list("step", "state"))
    assert states == {
        "birth_certificate": S.COMPLETED,
        "hukou": S.REJECTED,
        "social_card": S.CANCELLED,
        "child_insurance": S.CANCELLED,
    }
    app.refresh_from_db()
    assert app.status == Application.Status.PARTIAL
    last = Notice.objects.filter(recipient=scenario.citizen).order_by("-created_at", "-id").first()
    assert "户籍不在本市" in last.body


def test_correction_asks_only_the_ticked_fields_and_returns_the_task(scenario):
    app = scenario.submit()
    finish(scenario, app, "birth_certificate")
    scenario.act(
        app, "hukou", "claim", "accept", "correction", reason="门牌号不全", fields=["hukou_address"]
    )
    app.refresh_from_db()
    assert app.status == Application.Status.CORRECTION
    task = app.tasks.get(step="hukou")
    with pytest.raises(Refused):
        services.correction_resubmit(
            applicant=scenario.citizen, task_id=task.pk, answers={"baby_name": "改名"}
        )
    services.correction_resubmit(
        applicant=scenario.citizen, task_id=task.pk, answers={"hukou_address": "文三路 100 号 3 室"}
    )
    task.refresh_from_db()
    app.refresh_from_db()
    assert task.state == S.ACCEPTED and task.correction_fields == []
    assert app.status == Application.Status.IN_PROGRESS
    assert app.data["hukou_address"] == "文三路 100 号 3 室" and app.data["baby_name"] == "陈小满"


def test_another_departments_clerk_cannot_move_a_task(scenario):
    app = scenario.submit()
    task = app.tasks.get(step="birth_certificate")
    before = snapshot(app)
    with pytest.raises(Refused) as exc:
        services.task_transition(actor=scenario.clerks["gongan"], task_id=task.pk, action="claim")
    assert exc.value.code == "not_found"
    assert snapshot(app) == before


def test_a_task_claimed_by_someone_else_answers_409_naming_the_holder(scenario):
    from departments.models import Membership
    from tests.factories import MembershipFactory

    other = MembershipFactory(
        department=scenario.departments["weijian"],
        role=Membership.Role.CLERK,
        user__real_name="王五",
    ).user
    app = scenario.submit()
    task = scenario.act(app, "birth_certificate", "claim")
    before = snapshot(app)
    for action in ("claim", "accept"):
        with pytest.raises(Conflict) as exc:
            services.task_transition(actor=other, task_id=task.pk, action=action)
        assert exc.value.status == 409
        assert exc.value.holder == "weijian窗口"
        assert "weijian窗口" in exc.value.message
    assert snapshot(app) == before


def test_a_stale_page_and_a_second_completion_are_refused(scenario):
    app = scenario.submit()
    task = scenario.act(app, "birth_certificate", "claim", "accept")
    stale_version = task.version - 1
    before = snapshot(app)
    with pytest.raises(Conflict) as exc:
        services.task_transition(
            actor=scenario.clerks["weijian"],
            task_id=task.pk,
            action="complete",
            expected_version=stale_version,
            outputs=OUTPUTS["birth_certificate"],
        )
    assert exc.value.code == "stale"
    assert snapshot(app) == before
    scenario.act(app, "birth_certificate", "complete", outputs=OUTPUTS["birth_certificate"])
    before = snapshot(app)
    with pytest.raises(Conflict) as exc:
        scenario.act(app, "birth_certificate", "complete", outputs=OUTPUTS["birth_certificate"])
    assert exc.value.code == "wrong_state"
    assert "weijian窗口" in exc.value.message
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "action, kwargs, code",
    [
        ("complete", {"outputs": {}}, "outputs_missing"),
        ("reject", {"reason": "  "}, "reason_missing"),
        ("correction", {"reason": "x", "fields": []}, "correction_incomplete"),
        ("fly", {}, "unknown_action"),
    ],
)
def test_incomplete_moves_change_nothing(scenario, action, kwargs, code):
    app = scenario.submit()
    scenario.act(app, "birth_certificate", "claim", "accept")
    before = snapshot(app)
    with pytest.raises(Refused) as exc:
        scenario.act(app, "birth_certificate", action, **kwargs)
    assert exc.value.code == code
    assert snapshot(app) == before


def test_moves_need_a_claim_first(scenario):
    app = scenario.submit()
    before = snapshot(app)
    with pytest.raises(Conflict) as exc:
        scenario.act(app, "birth_certificate", "accept")
    assert exc.value.code == "not_claimed"
    assert snapshot(app) == before


def test_deadline_across_national_day_counts_working_days(scenario, monkeypatch):
    # Submitted on 2026-09-30: 1 working day for the birth certificate skips the 1–7 October
    # holiday (and the 8th and 9th are working days again).
    moment = timezone.make_aware(dt.datetime(2026, 9, 30, 10, 0))
    monkeypatch.setattr(timezone, "now", lambda: moment)
    app = scenario.submit()
    task = app.tasks.get(step="birth_certificate")
    assert task.due_date == dt.date(2026, 10, 8)
    assert task.due_provisional is False
    # The whole case: 1 + 3 + 3 working days along the longest chain: 8, 9, 10 (the adjusted
    # working Saturday), 12, 13, 14, 15 October.
    assert app.promised_date == dt.date(2026, 10, 15)
    assert app.promised_provisional is False


def test_deadline_in_an_unpublished_year_is_provisional(scenario, monkeypatch):
    moment = timezone.make_aware(dt.datetime(2026, 12, 30, 10, 0))
    monkeypatch.setattr(timezone, "now", lambda: moment)
    app = scenario.submit()
    assert app.promised_date == dt.date(2027, 1, 8)
    assert app.promised_provisional is True
    notice = Notice.objects.filter(recipient=scenario.citizen).latest("created_at")
    assert "2027-01-08" in notice.body


def test_verify_grant_answers_yes_or_no_and_never_the_value(scenario):
    citizen = scenario.citizen
    ELicence.objects.create(
        holder=citizen,
        field="hukou_region",
        name="户籍所在地",
        value="330106",
        issuer=scenario.departments["gongan"],
    )
    ask = dict(
        consumer=scenario.departments["renshe"],
        owner=scenario.departments["gongan"],
        citizen=citizen,
        field="hukou_region",
        purpose="核验",
        application=None,
        actor=scenario.clerks["renshe"],
    )
    yes = services.data_verify(expected="3301", match="starts_with", **ask)
    no = services.data_verify(expected="3302", match="starts_with", **ask)
    exact = services.data_verify(expected="330106", **ask)
    assert (yes.allowed, yes.result, no.result, exact.result) == (True, True, False, True)
    for answer in (yes, no, exact):
        assert "330106" not in repr(answer)
    # No view grant: the value itself cannot be read.
    value = services.data_read(
        consumer=scenario.departments["renshe"],
        owner=scenario.departments["gongan"],
        citizen=citizen,
        field="hukou_region",
        purpose="x",
        application=None,
        actor=None,
    )
    assert value is None
    outcomes = list(DataAccess.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["yes", "no", "yes", "refused"]
    # A department without any grant gets no answer at all.
    refused = services.data_verify(
        **{**ask, "consumer": scenario.departments["yibao"]}, expected="3301"
    )
    assert (refused.allowed, refused.result) == (False, None)


def test_rating_once_with_one_follow_up_and_a_bad_rating_opens_rectification(scenario, monkeypatch):
    app = scenario.submit()
    with pytest.raises(Refused) as exc:
        services.rating_submit(applicant=scenario.citizen, application=app, score=5)
    assert exc.value.code == "not_finished"
    for step in ("birth_certificate", "hukou", "social_card", "child_insurance"):
        finish(scenario, app, step)
    app.refresh_from_db()
    moment = timezone.make_aware(dt.datetime(2026, 9, 30, 10, 0))
    monkeypatch.setattr(timezone, "now", lambda: moment)
    monkeypatch.setattr(timezone, "localdate", lambda *a: moment.date())
    with pytest.raises(Refused):
        services.rating_submit(applicant=scenario.citizen, application=app, score=9)
    services.rating_submit(applicant=scenario.citizen, application=app, score=1, comment="太慢")
    with pytest.raises(Conflict):
        services.rating_submit(applicant=scenario.citizen, application=app, score=5)
    assert Rating.objects.get(application=app).score == 1
    rects = Rectification.objects.filter(rating__application=app)
    assert rects.count() == 4
    assert {(r.callback_due, r.fix_due) for r in rects} == {
        (dt.date(2026, 10, 8), dt.date(2026, 10, 27))
    }
    services.rating_follow_up(applicant=scenario.citizen, application=app, text="后来很快")
    with pytest.raises(Conflict):
        services.rating_follow_up(applicant=scenario.citizen, application=app, text="again")
    stranger = UserFactory()
    with pytest.raises(Refused):
        services.rating_follow_up(applicant=stranger, application=app, text="x")


def test_deadline_sweep_reminds_then_escalates_once(scenario):
    app = scenario.submit()
    task = app.tasks.get(step="birth_certificate")
    due = task.due_date
    counts = services.deadlines_sweep(today=due)
    assert counts == {"reminded": 1, "escalated": 0}
    assert services.deadlines_sweep(today=due) == {"reminded": 0, "escalated": 0}
    late = due + dt.timedelta(days=1)
    assert services.deadlines_sweep(today=late) == {"reminded": 0, "escalated": 1}
    assert services.deadlines_sweep(today=late) == {"reminded": 0, "escalated": 0}
    supervisor = scenario.supervisors["weijian"]
    assert Notice.objects.filter(recipient=supervisor, subject__contains=app.reference).count() == 1


def test_activation_refuses_a_need_without_a_grant(scenario):
    DataGrant.objects.all().delete()
    wf = services.definition_save(actor=None, text=scenario.workflow.text)
    with pytest.raises(Refused) as exc:
        services.definition_activate(actor=None, definition=wf)
    assert exc.value.code == "missing_grant"
    wf.refresh_from_db()
    scenario.workflow.refresh_from_db()
    assert wf.status == "draft" and scenario.workflow.status == "active"


def test_activation_refuses_a_need_only_a_verify_grant_covers(scenario):
    DataGrant.objects.filter(fields=["birth_certificate_no"]).update(mode=DataGrant.Mode.VERIFY)
    wf = services.definition_save(actor=None, text=scenario.workflow.text)
    approve_all(wf)
    with translation.override("en"), pytest.raises(Refused) as exc:
        services.definition_activate(actor=None, definition=wf)
    assert exc.value.code == "missing_grant"
    assert str(exc.value.message) == (
        "Line 5, step “hukou”: the grant “出生登记” lets 330100-gongan only verify "
        "“birth_certificate_no” held by 330100-weijian, not read it; a need is passed on as a "
        "value, which takes a grant to view."
    )
    wf.refresh_from_db()
    scenario.workflow.refresh_from_db()
    assert wf.status == "draft" and scenario.workflow.status == "active"
    DataGrant.objects.filter(fields=["birth_certificate_no"]).delete()
    with translation.override("en"), pytest.raises(Refused) as exc:
        services.definition_activate(actor=None, definition=wf)
    assert str(exc.value.message) == (
        "Line 5, step “hukou”: no data-sharing grant lets 330100-gongan read "
        "“birth_certificate_no” from 330100-weijian."
    )


def test_a_new_version_does_not_touch_running_cases(scenario):
    app = scenario.submit()
    text = scenario.workflow.text.replace("due: 1 workday", "due: 2 workdays")
    new = save_agree_activate(text)
    scenario.workflow.refresh_from_db()
    app.refresh_from_db()
    assert scenario.workflow.status == "retired" and new.status == "active"
    assert app.definition_id == scenario.workflow.pk
    assert app.tasks.get(step="birth_certificate").due_workdays == 1
    later = scenario.submit(key="k-2")
    assert later.definition_id == new.pk


def test_an_item_without_a_workflow_runs_its_joint_stages(db):
    from catalog.models import JointStage
    from tests.factories import DepartmentFactory, ServiceItemFactory

    a, b = DepartmentFactory(kind="gongan"), DepartmentFactory(kind="zhengwu")
    item = ServiceItemFactory(department=a, promised_days=4)
    JointStage.objects.create(item=item, department=b, stage="accept")
    JointStage.objects.create(item=item, department=a, stage="decide")
    JointStage.objects.create(item=item, department=b, stage="issue")
    wf = services.workflow_for(item=item)
    assert wf.source == "imported" and wf.status == "active"
    steps = [(s["name"], s["department"], s["after"]) for s in wf.compiled["steps"]]
    assert steps == [
        ("accept", b.code, []),
        ("decide", a.code, ["accept"]),
        ("issue", b.code, ["decide"]),
    ]
    citizen = UserFactory()
    draft = services.application_start(applicant=citizen, item=item)
    app, _ = services.application_submit(
        applicant=citizen, application=draft, answers={}, idempotency_key="x"
    )
    assert list(app.tasks.order_by("id").values_list("step", "state")) == [
        ("accept", "ready"),
        ("decide", "waiting"),
        ("issue", "waiting"),
    ]


def test_a_rectification_is_called_back_then_fixed_by_its_department_only(scenario):
    app = scenario.submit()
    for step in ("birth_certificate", "hukou", "social_card", "child_insurance"):
        finish(scenario, app, step)
    app.refresh_from_db()
    services.rating_submit(applicant=scenario.citizen, application=app, score=2)
    rect = Rectification.objects.get(department=scenario.departments["gongan"])
    with pytest.raises(Refused) as exc:
        services.rectification_transition(
            actor=scenario.clerks["weijian"], rectification_id=rect.pk, action="callback", note="x"
        )
    assert exc.value.code == "not_found"
    with pytest.raises(Conflict):
        services.rectification_transition(
            actor=scenario.clerks["gongan"], rectification_id=rect.pk, action="fix", note="已改"
        )
    rect.refresh_from_db()
    assert rect.state == "open"
    services.rectification_transition(
        actor=scenario.clerks["gongan"],
        rectification_id=rect.pk,
        action="callback",
        note="已电话回访",
    )
    services.rectification_transition(
        actor=scenario.clerks["gongan"],
        rectification_id=rect.pk,
        action="fix",
        note="已优化窗口流程",
    )
    rect.refresh_from_db()
    assert (rect.state, rect.callback_note, rect.outcome) == (
        "fixed",
        "已电话回访",
        "已优化窗口流程",
    )
    told = Notice.objects.filter(recipient=scenario.citizen).latest("created_at")
    assert told.body == "已优化窗口流程"

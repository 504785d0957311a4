"""One promise: for every demo bundle and item, the guide, the apply form, the case page and the
API give the promised time that ``workflows.selectors.promise_workdays`` computes, and a case
filed today is due on the date it gives."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.translation import override

from catalog.models import Bundle, JointStage, ServiceItem
from catalog.wording import working_days
from tests.factories import ServiceItemFactory
from workflows import selectors, services
from workflows.errors import WorkflowsErrorCode
from workflows.models import WorkflowDefinition
from zheliban.core.errors import Refused
from zheliban.core.workdays import add_workdays

from .fixtures import newborn_demo

pytestmark = pytest.mark.django_db


def page(client: Client, subject) -> str:
    return client.get(subject.get_absolute_url()).content.decode()


def promise_everywhere(client: Client, citizen, *, bundle=None, item=None) -> dict:
    """What each surface says of one subject's promise, and the case filed for it today."""
    subject = bundle or item
    wf = services.workflow_for(bundle=bundle, item=item)
    subject.refresh_from_db()
    days = selectors.promise_workdays(wf)
    draft = services.application_start(applicant=citizen, bundle=bundle, item=item)
    app, _created = services.application_submit(
        applicant=citizen,
        application=draft,
        answers={},
        idempotency_key=f"promise-{type(subject).__name__}-{subject.pk}",
    )
    kind, key = ("bundle", bundle.slug) if bundle else ("item", item.code)
    api = client.get(f"/api/v1/{'bundles' if bundle else 'items'}/{key}/").json()
    return {
        "days": days,
        "path": wf.compiled["critical_path_workdays"],
        "catalog": subject.promised_days,
        "api": api["promised_days"],
        "guide": page(client, subject),
        "form": client.get(f"/apply/{kind}/{key}/").content.decode(),
        "case_date": app.promised_date,
        "case_page": client.get(f"/my/applications/{app.pk}/").content.decode(),
        "case_api": client.get(f"/api/v1/applications/{app.pk}/").json()["promised_date"],
    }


def test_every_demo_bundle_and_item_promises_one_time_everywhere():
    demo = newborn_demo()
    client = Client()
    client.force_login(demo.citizen)
    today = timezone.localdate()
    subjects = [{"bundle": b} for b in Bundle.objects.filter(is_active=True).order_by("slug")]
    subjects += [{"item": i} for i in ServiceItem.objects.filter(is_active=True).order_by("code")]
    assert len(subjects) >= 40
    checked = 0
    for subject in subjects:
        seen = promise_everywhere(client, demo.citizen, **subject)
        name = str(next(iter(subject.values())))
        days = seen["days"]
        due = add_workdays(today, days).date
        with override("zh-hans"):
            shown = str(working_days(days))
        assert seen["path"] <= days, name  # the steps fit in the promise
        if "bundle" in subject:
            assert seen["path"] == days, name
        if seen["catalog"] is None:  # an item publishing no limit: due when its steps are done
            assert "bundle" not in subject and seen["api"] is None and days == seen["path"], name
        else:
            assert seen["catalog"] == seen["api"] == days, name
            assert shown in seen["guide"], name
        assert shown in seen["form"], name
        assert due.isoformat() in seen["form"], name
        assert seen["case_date"] == due, name
        assert due.isoformat() in seen["case_page"], name
        assert seen["case_api"] == due.isoformat(), name
        checked += 1
    assert checked == len(subjects)


def test_an_item_handled_on_the_spot_is_due_the_same_working_day():
    demo = newborn_demo()
    item = ServiceItem.objects.filter(is_active=True, promised_days=0).order_by("code").first()
    assert item is not None
    wf = services.workflow_for(item=item)
    assert wf.compiled["critical_path_workdays"] == 0
    assert {step["due_workdays"] for step in wf.compiled["steps"]} == {0}
    draft = services.application_start(applicant=demo.citizen, item=item)
    app, _ = services.application_submit(
        applicant=demo.citizen, application=draft, answers={}, idempotency_key="spot"
    )
    assert app.promised_date == add_workdays(timezone.localdate(), 0).date
    assert {t.due_date for t in app.tasks.exclude(due_date=None)} <= {app.promised_date}


@pytest.mark.parametrize(
    ("promised", "dues"), [(0, [0, 0, 0]), (1, [1, 0, 0]), (5, [2, 2, 1]), (6, [2, 2, 2])]
)
def test_joint_stages_share_the_items_promise_exactly(promised, dues):
    item = ServiceItemFactory(promised_days=promised, statutory_days=20)
    for stage in (JointStage.Stage.ACCEPT, JointStage.Stage.REVIEW, JointStage.Stage.DECIDE):
        JointStage.objects.create(item=item, stage=stage, department=item.department)
    wf = services.workflow_for(item=item)
    assert [step["due_workdays"] for step in wf.compiled["steps"]] == dues
    assert wf.compiled["critical_path_workdays"] == promised == selectors.promise_workdays(wf)


def test_an_item_workflow_longer_than_its_promise_is_not_activated():
    newborn_demo()
    item = ServiceItem.objects.filter(is_active=True, promised_days=1).order_by("code").first()
    before = services.workflow_for(item=item)
    text = (
        f'item: "{item.code}"\n'
        "steps:\n"
        f'  check: {{item: "{item.code}", by: {item.department.code}, due: 1 workday}}\n'
        f'  decide: {{item: "{item.code}", by: {item.department.code}, after: [check], '
        "due: 2 workdays}\n"
    )
    wf = services.definition_save(actor=None, text=text)
    assert not wf.needs_consent  # one department: no approvals to wait for
    with pytest.raises(Refused) as refused:
        services.definition_activate(actor=None, definition=wf)
    assert refused.value.code == WorkflowsErrorCode.OVER_PROMISE
    assert "3" in str(refused.value.message) and "1" in str(refused.value.message)
    active = WorkflowDefinition.objects.get(item=item, status=WorkflowDefinition.Status.ACTIVE)
    assert active.pk == before.pk

"""好差评 over every shape of case the demo province has, each rated 1 to 5 through the API.

A rating of 1 or 2 opens exactly one rectification for each department that carried out (completed
or rejected) a step of the case, however many steps it had; 3 to 5 open none. The newborn bundle
has two steps by 卫健 (the birth certificate and the vaccination card): before Task's default
ordering was cleared ahead of ``.distinct()``, 卫健 was counted twice and the rating answered 500.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from catalog.models import Bundle, BundleItem, ServiceItem
from departments.models import Membership
from workflows import services
from workflows.models import Application, Rectification, Task
from zheliban.accounts.models import User
from zheliban.core.models import Notice
from zheliban.core.workdays import add_workdays

from .fixtures import OUTPUTS, newborn_demo, newborn_submit

pytestmark = pytest.mark.django_db

SCORES = (1, 2, 3, 4, 5)


def clerk_of(task: Task) -> User:
    return User.objects.get(username=f"{task.department.code}-clerk")


def move(app: Application, step: str, *actions: str, reason: str = "") -> None:
    task = app.tasks.select_related("department").get(step=step)
    for action in ("claim", *actions):
        services.task_transition(
            actor=clerk_of(task),
            task_id=task.pk,
            action=action,
            outputs={g: f"{g}-{app.pk.hex[:6]}" for g in task.gives} | OUTPUTS.get(step, {}),
            reason=reason,
        )


def complete(app: Application, *steps: str) -> None:
    for step in steps:
        move(app, step, "accept", "complete")


def submit(citizen: User, key: str, *, bundle=None, item=None) -> Application:
    draft = services.application_start(applicant=citizen, bundle=bundle, item=item)
    app, _created = services.application_submit(
        applicant=citizen, application=draft, answers={}, idempotency_key=key
    )
    return app


def newborn_completed(demo, key):
    app = newborn_submit(demo, key=key)
    complete(app, "birth_certificate", "vaccination", "hukou", "social_card", "child_insurance")
    return app


def newborn_partly_rejected(demo, key):
    app = newborn_submit(demo, key=key)
    complete(app, "birth_certificate", "vaccination")
    move(app, "hukou", "accept", "reject", reason="户籍不在本市。")
    return app


def newborn_rejected_at_once(demo, key):
    app = newborn_submit(demo, key=key)
    move(app, "birth_certificate", "reject", reason="出生医学证明信息不符。")
    return app


def newborn_corrected_then_completed(demo, key):
    app = newborn_submit(demo, key=key)
    complete(app, "birth_certificate")
    task = app.tasks.get(step="hukou")
    clerk = clerk_of(task)
    for action in ("claim", "accept"):
        services.task_transition(actor=clerk, task_id=task.pk, action=action)
    services.task_transition(
        actor=clerk,
        task_id=task.pk,
        action="correction",
        reason="新生儿姓名用字不规范。",
        fields=["baby_name"],
    )
    services.correction_resubmit(
        applicant=demo.citizen, task_id=task.pk, answers={"baby_name": "张小禾"}
    )
    services.task_transition(
        actor=clerk, task_id=task.pk, action="complete", outputs=OUTPUTS["hukou"]
    )
    complete(app, "vaccination", "social_card", "child_insurance")
    return app


def parallel_bundle_completed(demo, key):
    app = submit(demo.citizen, key, bundle=Bundle.objects.get(slug="company-start"))
    complete(app, *app.tasks.order_by("id").values_list("step", flat=True))
    return app


def parallel_bundle_one_rejected(demo, key):
    app = submit(demo.citizen, key, bundle=Bundle.objects.get(slug="retirement"))
    first, *others = app.tasks.order_by("id").values_list("step", flat=True)
    move(app, first, "accept", "reject", reason="缴费年限不足。")
    complete(app, *others)
    return app


def single_item(department_code: str) -> ServiceItem:
    in_bundles = BundleItem.objects.values("item_id")
    return (
        ServiceItem.objects.filter(department__code=department_code)
        .exclude(pk__in=in_bundles)
        .order_by("code")
        .first()
    )


def single_item_completed(demo, key):
    app = submit(demo.citizen, key, item=single_item("330106-gongan"))
    complete(app, "handle")
    return app


def single_item_rejected(demo, key):
    app = submit(demo.citizen, key, item=single_item("330106-gongan"))
    move(app, "handle", "reject", reason="材料不全。")
    return app


# The item is handled on the spot (promised: 0 working days), so each step is due the same day.
ITEM_STAGES = """item: "{code}"
steps:
  accept: {{item: "{code}", due: 0 workdays, label: "受理"}}
  review: {{item: "{code}", after: [accept], due: 0 workdays, label: "审核"}}
  decide: {{item: "{code}", after: [review], due: 0 workdays, label: "决定"}}
"""


def item_several_steps_by_one_department(demo, key):
    item = single_item("330100-gongan")
    if not item.workflows.filter(status="active", source="staff").exists():
        admin = User.objects.get(username="330100-gongan-admin")
        wf = services.definition_save(actor=admin, text=ITEM_STAGES.format(code=item.code))
        assert wf.needs_consent is False
        services.definition_activate(actor=admin, definition=wf)
    app = submit(demo.citizen, key, item=item)
    complete(app, "accept", "review", "decide")
    return app


# shape: (builder, the case's status, the departments a bad rating opens a rectification for)
SHAPES = {
    "newborn, completed (two steps by 卫健)": (
        newborn_completed,
        "completed",
        ["330100-gongan", "330100-renshe", "330100-weijian", "330100-yibao"],
    ),
    "newborn, 公安 rejects (two steps cancelled)": (
        newborn_partly_rejected,
        "partial",
        ["330100-gongan", "330100-weijian"],
    ),
    "newborn, rejected at the first step": (
        newborn_rejected_at_once,
        "rejected",
        ["330100-weijian"],
    ),
    "newborn, corrected then completed": (
        newborn_corrected_then_completed,
        "completed",
        ["330100-gongan", "330100-renshe", "330100-weijian", "330100-yibao"],
    ),
    "parallel bundle, completed": (
        parallel_bundle_completed,
        "completed",
        ["330100-gongan", "330100-renshe", "330100-shichang", "330100-shuiwu", "330100-zhujian"],
    ),
    "parallel bundle, one part rejected": (
        parallel_bundle_one_rejected,
        "partial",
        ["330100-minzheng", "330100-renshe", "330100-yibao", "330100-zhujian"],
    ),
    "single item, completed": (single_item_completed, "completed", ["330106-gongan"]),
    "single item, rejected": (single_item_rejected, "rejected", ["330106-gongan"]),
    "item with three steps by one department": (
        item_several_steps_by_one_department,
        "completed",
        ["330100-gongan"],
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_score_on_every_case_shape_opens_exactly_the_rectifications_due(shape):
    build, status, bad_departments = SHAPES[shape]
    demo = newborn_demo()
    client = Client()
    client.force_login(demo.citizen)
    today = timezone.localdate()
    for score in SCORES:
        app = build(demo, f"rate-{score}")
        app.refresh_from_db()
        assert app.status == status
        rectifications_before = Rectification.objects.count()
        response = client.post(
            f"/api/v1/applications/{app.pk}/rating/",
            {"score": score, "comment": ""},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        assert response.json()["score"] == score
        opened = Rectification.objects.filter(rating__application=app).select_related("department")
        expected = bad_departments if score <= 2 else []
        assert sorted(r.department.code for r in opened) == expected
        assert Rectification.objects.count() == rectifications_before + len(expected)
        assert {(r.state, r.callback_due, r.fix_due) for r in opened} == (
            {("open", add_workdays(today, 1).date, add_workdays(today, 15).date)}
            if expected
            else set()
        )
        supervisors = Membership.objects.filter(
            department__code__in=expected, role=Membership.Role.SUPERVISOR
        ).values("user_id")
        told = Notice.objects.filter(
            recipient__in=supervisors, subject__contains=app.reference
        ).count()
        assert told == len(expected)

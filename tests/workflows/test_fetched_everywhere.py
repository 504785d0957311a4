"""Every material a form says is held is visible to the clerk who handles it, with its source:
over every demo item and bundle, filed by citizen1 (whom the registers know) and by citizen2
(whom they know less), so a register without the record asks instead of failing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from catalog.models import Bundle, ServiceItem
from workflows import selectors, services
from workflows.forms import Held
from workflows.models import Attachment, Task
from zheliban.accounts.models import User
from zheliban.core.identity import id_number_check_char, uscc_check_char

from .fixtures import demo_seeded_once  # noqa: F401

pytestmark = pytest.mark.django_db


def answer(field) -> str:
    """A valid answer of the field's type."""
    kind = field.type
    if kind == "id_number":
        return "33010619900101002" + id_number_check_char("33010619900101002")
    if kind == "uscc":
        return "91330106MA2H00002" + uscc_check_char("91330106MA2H00002")
    if kind == "date":
        return (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    if kind == "number":
        return "1"
    if kind == "phone":
        return "13800000009"
    if kind == "choice":
        return field.choices[0]
    return "测试"


def subjects():
    bundles = [("bundle", b) for b in Bundle.objects.filter(is_active=True).order_by("slug")]
    items = [("item", i) for i in ServiceItem.objects.filter(is_active=True).order_by("code")]
    return bundles + items


@pytest.mark.parametrize("username", ["citizen1", "citizen2"])
def test_every_held_material_reaches_its_clerk_with_its_source(demo, username):
    citizen = User.objects.get(username=username)
    viewer = User.objects.get(username="admin")
    checked = fetched = asked_with_reason = 0
    for n, (kind, subject) in enumerate(subjects()):
        scope = {"bundle": subject} if kind == "bundle" else {"item": subject}
        workflow = services.workflow_for(**scope)
        prepared = selectors.application_prepare(user=citizen, workflow=workflow, **scope)
        if prepared.refusals:
            continue
        spec = prepared.spec
        answers = {f.name: answer(f) for f in spec.fields if not f.confirmed and f.required}
        draft = services.application_start(applicant=citizen, **scope)
        app, created = services.application_submit(
            applicant=citizen,
            application=draft,
            answers=answers,
            idempotency_key=f"every-{username}-{n}",
            prepared=prepared,
        )
        assert created, subject
        attachments = {a.material_name: a for a in app.attachments.all()}
        tasks = list(Task.objects.filter(application=app).select_related("department", "item"))
        for m in spec.materials:
            if m.asked:
                asked_with_reason += bool(m.reason)
                continue
            checked += 1
            attachment = attachments[m.name]
            assert attachment.source != Attachment.Source.UPLOAD, (subject, m.name)
            assert attachment.source_label == m.source != "", (subject, m.name)
            if attachment.source == Attachment.Source.REGISTER:
                fetched += 1
                assert attachment.fetched_at is not None and attachment.record_id is not None
                assert m.held == Held.DEPARTMENT
            # Some task of the case shows it to its clerk, with the same source.
            shown = [
                s
                for task in tasks
                for s in selectors.task_shown(task=task, viewer=viewer).materials
                if s.name == m.name
            ]
            assert shown, (subject, m.name)
            assert {s.source_label for s in shown} == {m.source}, (subject, m.name)
    print(f"{username}: {checked} held, {fetched} fetched, {asked_with_reason} asked with a reason")
    assert checked > 0 and fetched > 0
    if username == "citizen2":
        # The catalog says a department holds them, but no register has them for her: asked,
        # with the reason, and the application was filed all the same.
        assert asked_with_reason > 0

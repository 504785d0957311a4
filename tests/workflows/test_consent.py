"""Who may change which workflow, and consent for shared workflows.

An item's workflow is written by its own department's administrators and runs in that department;
a bundle's workflow binds several departments, and a new version of it becomes active only once
the administrator of each has approved the steps concerning their department. Refused writes
change nothing.
"""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext

from catalog.models import JointStage
from departments.models import DataGrant, Department, Membership
from tests.factories import (
    CityFactory,
    DepartmentFactory,
    MembershipFactory,
    ServiceItemFactory,
    StaffFactory,
)
from workflows import selectors, services
from workflows.models import WorkflowApproval, WorkflowDefinition
from zheliban.accounts.models import User
from zheliban.core.errors import Conflict, Forbidden, Refused
from zheliban.core.models import Notice

from .consent import approve_all, department_admin, save_agree_activate

pytestmark = pytest.mark.django_db

APPROVED = WorkflowApproval.Decision.APPROVED
REFUSED = WorkflowApproval.Decision.REFUSED
CHANGELIST = "/admin/workflows/workflowdefinition/"
SOCIAL_CARD_3 = "needs: [citizen_id_number], due: 3 workdays, gives: [social_card_no]"
SOCIAL_CARD_1 = "needs: [citizen_id_number], due: 1 workday, gives: [social_card_no]"


@pytest.fixture(autouse=True)
def _chinese():
    """Services answer in the active language; the portal's default is Chinese."""
    with translation.override("zh-hans"):
        yield


def zh(message: str, **params) -> str:
    with translation.override("zh-hans"):
        text = gettext(message)
    return text % params if params else text


def names(*departments: Department) -> str:
    return "、".join(d.name for d in sorted(departments, key=lambda d: d.code))


def state():
    """Everything a refused write must leave as it was."""
    return (
        list(
            WorkflowDefinition.objects.order_by("pk").values_list(
                "pk", "version", "status", "text", "activated_at", "retired_at"
            )
        ),
        list(
            WorkflowDefinition.departments.through.objects.order_by("pk").values_list(
                "workflowdefinition_id", "department_id"
            )
        ),
        list(
            WorkflowApproval.objects.order_by("pk").values_list(
                "definition_id", "department_id", "approver_id", "decision", "note"
            )
        ),
        Notice.objects.count(),
    )


def item_text(item, *, by: str | None = None, due: int = 2) -> str:
    route = f", by: {by}" if by else ""
    step = f'{{item: "{item.code}"{route}, due: {due} workdays}}'
    return f'item: "{item.code}"\nsteps:\n  handle: {step}\n'


def admin_of(department) -> object:
    return department_admin(department)


def member(department, role):
    return MembershipFactory(department=department, role=role).user


@pytest.fixture
def outsider(db):
    """The administrator of a department no workflow here binds."""
    return admin_of(DepartmentFactory(code="330100-jiaoyu", kind="jiaoyu"))


# ---------------------------------------------------------------- who may change what


def test_an_items_workflow_is_saved_only_by_its_own_departments_admin(scenario, outsider):
    item = scenario.items["weijian"]
    before = state()
    for actor in (
        admin_of(scenario.departments["gongan"]),
        outsider,
        scenario.clerks["weijian"],
        scenario.supervisors["weijian"],
    ):
        with pytest.raises(Forbidden) as exc:
            services.definition_save(actor=actor, text=item_text(item))
        assert exc.value.code == "not_your_workflow"
        assert item.name in exc.value.message
        assert state() == before
    wf = services.definition_save(
        actor=admin_of(scenario.departments["weijian"]), text=item_text(item)
    )
    assert (wf.version, wf.status, wf.needs_consent) == (1, "draft", False)
    assert list(wf.departments.all()) == [scenario.departments["weijian"]]
    # Nobody else binds it: it needs no approval and is activated at once.
    assert services.definition_activate(actor=wf.author, definition=wf).status == "active"
    superuser = StaffFactory(is_superuser=True)
    assert services.definition_save(actor=superuser, text=item_text(item, due=3)).version == 2


def test_an_items_step_is_not_routed_to_another_department_by_anyone(scenario):
    item = scenario.items["weijian"]
    gongan = scenario.departments["gongan"]
    before = state()
    for actor in (admin_of(scenario.departments["weijian"]), StaffFactory(is_superuser=True), None):
        with pytest.raises(Refused) as exc:
            services.definition_save(actor=actor, text=item_text(item, by=gongan.code))
        assert exc.value.code == "foreign_department"
        assert exc.value.message == zh(
            "Step “%(step)s” is routed to %(dept)s, but item %(item)s is handled by %(own)s: an "
            "item's workflow runs in its own department; only a bundle's workflow may route a step "
            "to another department, with that department's approval.",
            step="handle",
            dept=gongan.code,
            item=item.code,
            own=scenario.departments["weijian"].code,
        )
        assert state() == before


def test_an_items_published_joint_stage_departments_take_steps_with_their_consent(scenario):
    item = scenario.items["weijian"]
    weijian, gongan = scenario.departments["weijian"], scenario.departments["gongan"]
    JointStage.objects.create(item=item, department=gongan, stage="issue")
    author = admin_of(weijian)
    text = (
        f'item: "{item.code}"\nsteps:\n'
        f'  review: {{item: "{item.code}", due: 2 workdays}}\n'
        f'  issue: {{item: "{item.code}", by: {gongan.code}, after: [review], due: 1 workday}}\n'
    )
    wf = services.definition_save(actor=author, text=text)
    assert wf.needs_consent is True
    assert set(wf.departments.all()) == {weijian, gongan}
    before = state()
    with pytest.raises(Refused) as exc:
        services.definition_activate(actor=author, definition=wf)
    assert exc.value.code == "approvals_missing"
    assert state() == before
    approve_all(wf)
    assert services.definition_activate(actor=author, definition=wf).status == "active"


def test_a_bundles_workflow_is_edited_by_the_departments_it_binds_and_its_coordinator(
    scenario, outsider
):
    bundle = scenario.bundle
    province = scenario.departments["weijian"].region
    city = CityFactory(code="330100", name="杭州市", parent=province)
    coordinators = {
        "province": DepartmentFactory(code="330000-zhengwu", kind="zhengwu", region=province),
        "city": DepartmentFactory(code="330100-zhengwu", kind="zhengwu", region=city),
    }
    # A step routed to a department that owns no item of the bundle binds it too.
    routed = DepartmentFactory(code="330000-minzheng", kind="minzheng", region=province)
    DataGrant.objects.create(
        owner=scenario.departments["gongan"],
        consumer=routed,
        fields=["citizen_id_number"],
        purpose="参保",
        legal_basis="社会保险法",
        mode=DataGrant.Mode.VIEW,
    )
    save_agree_activate(
        scenario.workflow.text.replace(
            "child_insurance: {item", f"child_insurance: {{by: {routed.code}, item"
        )
    )
    may = {
        "owner of an item": admin_of(scenario.departments["renshe"]),
        "routed a step in the active version": admin_of(routed),
        "province's service centre": admin_of(coordinators["province"]),
        "superuser": StaffFactory(is_superuser=True),
    }
    may_not = {
        "another department": outsider,
        "a city's service centre below the bundle's region": admin_of(coordinators["city"]),
        "clerk of an owner": scenario.clerks["renshe"],
        "supervisor of an owner": scenario.supervisors["renshe"],
        "nobody": None,
    }
    for who, user in may.items():
        assert selectors.workflow_may_edit(user=user, bundle=bundle), who
    for who, user in may_not.items():
        assert not selectors.workflow_may_edit(user=user, bundle=bundle), who
    text = scenario.workflow.text.replace(SOCIAL_CARD_3, SOCIAL_CARD_1)
    before = state()
    for who in ("another department", "a city's service centre below the bundle's region"):
        with pytest.raises(Forbidden):
            services.definition_save(actor=may_not[who], text=text)
        assert state() == before, who
    versions = [services.definition_save(actor=user, text=text).version for user in may.values()]
    assert versions == [3, 4, 5, 6]


# ---------------------------------------------------------------- consent


def test_a_bundle_version_is_activated_only_after_every_department_it_binds_approves(scenario):
    """The issue's case: 公安's admin cuts 人社's limit for the social security card from 3
    working days to 1. Nothing changes for new cases until 人社 (and every other department the
    bundle binds) has approved; 人社 refuses, so the author must write a new version."""
    d = scenario.departments
    author = admin_of(d["gongan"])
    v2 = services.definition_save(
        actor=author, text=scenario.workflow.text.replace(SOCIAL_CARD_3, SOCIAL_CARD_1)
    )
    assert (v2.version, v2.status, v2.needs_consent) == (2, "draft", True)
    assert set(v2.departments.all()) == set(d.values())

    def refused_activation(definition):
        before = state()
        with pytest.raises(Refused) as exc:
            services.definition_activate(actor=author, definition=definition)
        assert exc.value.code == "approvals_missing"
        assert state() == before
        scenario.workflow.refresh_from_db()
        assert scenario.workflow.status == "active"
        return exc.value.message

    intro = zh(
        "Version %(v)d cannot be activated before every department it binds approves it.", v=2
    )
    message = refused_activation(v2)
    assert message == intro + " " + zh("Still to approve: %(depts)s.", depts=names(*d.values()))

    for kind in ("weijian", "gongan", "yibao"):
        services.definition_decide(
            actor=admin_of(d[kind]), definition=v2, department=d[kind], decision=APPROVED
        )
    assert refused_activation(v2) == intro + " " + zh(
        "Still to approve: %(depts)s.", depts=d["renshe"].name
    )

    services.definition_decide(
        actor=admin_of(d["renshe"]),
        definition=v2,
        department=d["renshe"],
        decision=REFUSED,
        note="社保卡制卡需 3 个工作日，1 个工作日无法完成。",
    )
    assert refused_activation(v2) == intro + " " + zh(
        "Refused by %(depts)s; change the text to ask again.", depts=d["renshe"].name
    )
    # The author is told of each decision in the inbox.
    assert Notice.objects.filter(recipient=author).count() == 3
    assert "1 个工作日无法完成" in Notice.objects.filter(recipient=author).latest("id").body

    # Editing the text makes a new version, which needs every approval again.
    v3 = services.definition_save(
        actor=author,
        text=scenario.workflow.text.replace(
            SOCIAL_CARD_3, "needs: [citizen_id_number], due: 2 workdays, gives: [social_card_no]"
        ),
    )
    assert selectors.consent_of(v3).waiting == sorted(d.values(), key=lambda x: x.code)
    with pytest.raises(Refused):
        services.definition_activate(actor=author, definition=v3)
    approvals = approve_all(v3)
    assert [(a.department, a.approver, a.decision) for a in approvals] == [
        (dept, admin_of(dept), APPROVED) for dept in sorted(d.values(), key=lambda x: x.code)
    ]
    active = services.definition_activate(actor=author, definition=v3)
    scenario.workflow.refresh_from_db()
    v2.refresh_from_db()
    assert (active.status, scenario.workflow.status, v2.status) == ("active", "retired", "draft")
    assert scenario.workflow.retired_at == active.activated_at
    later = scenario.submit(key="after-v3")
    assert later.definition_id == v3.pk
    assert later.tasks.get(step="social_card").due_workdays == 2


def test_activation_by_someone_who_may_not_edit_the_workflow_is_refused(scenario, outsider):
    wf = services.definition_save(actor=None, text=scenario.workflow.text)
    approve_all(wf)
    before = state()
    for actor in (outsider, scenario.clerks["weijian"]):
        with pytest.raises(Forbidden) as exc:
            services.definition_activate(actor=actor, definition=wf)
        assert exc.value.code == "not_your_workflow"
        assert state() == before


def test_wrong_decisions_are_refused_and_change_nothing(scenario, outsider):
    d = scenario.departments
    wf = services.definition_save(
        actor=admin_of(d["gongan"]),
        text=scenario.workflow.text.replace(SOCIAL_CARD_3, SOCIAL_CARD_1),
    )
    renshe_admin = admin_of(d["renshe"])
    services.definition_decide(
        actor=admin_of(d["weijian"]), definition=wf, department=d["weijian"], decision=APPROVED
    )
    cases = [
        # (actor, definition, department, decision, note, error, code)
        (renshe_admin, wf, d["renshe"], "maybe", "", Refused, "bad_decision"),
        (scenario.clerks["renshe"], wf, d["renshe"], APPROVED, "", Forbidden,
         "not_department_admin"),
        (StaffFactory(is_superuser=True), wf, d["renshe"], APPROVED, "", Forbidden,
         "not_department_admin"),
        (renshe_admin, wf, d["yibao"], APPROVED, "", Forbidden, "not_department_admin"),
        (outsider, wf, Department.objects.get(code="330100-jiaoyu"), APPROVED, "",
         Refused, "not_asked"),
        (renshe_admin, wf, d["renshe"], REFUSED, "  ", Refused, "note_missing"),
        (admin_of(d["weijian"]), wf, d["weijian"], REFUSED, "改主意了", Conflict,
         "decided"),
        (renshe_admin, scenario.workflow, d["renshe"], APPROVED, "", Conflict,
         "not_draft"),
    ]  # fmt: skip
    for actor, definition, department, decision, note, error, code in cases:
        before = state()
        with pytest.raises(error) as exc:
            services.definition_decide(
                actor=actor,
                definition=definition,
                department=department,
                decision=decision,
                note=note,
            )
        assert exc.value.code == code
        assert state() == before, code
    single = services.definition_save(
        actor=admin_of(d["yibao"]), text=item_text(scenario.items["yibao"])
    )
    with pytest.raises(Refused) as exc:
        services.definition_decide(
            actor=admin_of(d["yibao"]), definition=single, department=d["yibao"], decision=APPROVED
        )
    assert exc.value.code == "not_asked"


def test_a_catalog_change_after_the_approvals_makes_the_author_save_again(scenario):
    d = scenario.departments
    wf = services.definition_save(actor=None, text=scenario.workflow.text)
    approve_all(wf)
    # hukou has no `by`: it runs in its item's department, which has just changed.
    moved = DepartmentFactory(code="330100-gongan-new", kind="gongan")
    scenario.items["gongan"].department = moved
    scenario.items["gongan"].save(update_fields=["department"])
    before = state()
    with pytest.raises(Refused) as exc:
        services.definition_activate(actor=None, definition=wf)
    assert exc.value.code == "catalog_changed"
    assert state() == before
    again = services.definition_save(actor=None, text=wf.text)
    assert moved in again.departments.all() and d["gongan"] not in again.departments.all()


def test_imported_joint_stages_of_an_item_are_active_without_approvals(db):
    a, b = DepartmentFactory(kind="gongan"), DepartmentFactory(kind="zhengwu")
    item = ServiceItemFactory(department=a, promised_days=4)
    JointStage.objects.create(item=item, department=b, stage="accept")
    wf = services.workflow_for(item=item)
    assert (wf.source, wf.status, wf.needs_consent) == ("imported", "active", False)
    assert set(wf.departments.all()) == {a, b}
    assert not wf.approvals.exists()


def test_the_awaiting_list_and_the_consent_state_agree_for_every_version_and_admin(
    scenario, outsider
):
    d = scenario.departments
    author = admin_of(d["gongan"])
    drafts = [
        services.definition_save(actor=author, text=scenario.workflow.text) for _n in range(3)
    ]
    services.definition_decide(
        actor=admin_of(d["renshe"]), definition=drafts[0], department=d["renshe"], decision=APPROVED
    )
    services.definition_decide(
        actor=admin_of(d["yibao"]),
        definition=drafts[1],
        department=d["yibao"],
        decision=REFUSED,
        note="不同意",
    )
    services.definition_save(actor=admin_of(d["yibao"]), text=item_text(scenario.items["yibao"]))
    # An admin of two departments waits as long as either has not decided.
    two_hats = admin_of(d["weijian"])
    Membership.objects.create(user=two_hats, department=d["renshe"], role="admin")
    admins = [*(admin_of(x) for x in d.values()), two_hats, outsider, scenario.clerks["renshe"]]
    for user in admins:
        mine = selectors.admin_department_ids(user)
        expected = {
            wf.pk
            for wf in WorkflowDefinition.objects.all()
            if wf.status == "draft" and {x.pk for x in selectors.consent_of(wf).waiting} & mine
        }
        awaiting = set(
            selectors.definitions_awaiting_decision(user=user).values_list("pk", flat=True)
        )
        assert awaiting == expected, user
    renshe = set(
        selectors.definitions_awaiting_decision(user=admin_of(d["renshe"])).values_list(
            "pk", flat=True
        )
    )
    assert renshe == {drafts[1].pk, drafts[2].pk}


# ---------------------------------------------------------------- admin


@pytest.fixture
def shared_draft(scenario):
    return services.definition_save(
        actor=admin_of(scenario.departments["gongan"]),
        text=scenario.workflow.text.replace(SOCIAL_CARD_3, SOCIAL_CARD_1),
    )


def review_url(wf) -> str:
    return f"{CHANGELIST}{wf.pk}/review/"


def test_the_review_page_shows_a_departments_steps_before_and_after_and_records_a_decision(
    client, scenario, shared_draft
):
    renshe = scenario.departments["renshe"]
    client.force_login(admin_of(renshe))
    response = client.get(review_url(shared_draft))
    assert response.status_code == 200
    [section] = response.context["sections"]
    assert section["department"] == renshe and section["approval"] is None
    [change] = section["changes"]
    assert (change.name, change.kind) == ("social_card", "changed")
    assert (change.before["due_workdays"], change.after["due_workdays"]) == (3, 1)
    assert (change.needs_before, change.needs_after) == ("citizen_id_number",) * 2
    assert (change.gives_before, change.gives_after) == ("social_card_no",) * 2
    page = response.content.decode()
    assert "social_card" in page and "hukou" not in page.split('id="content-main"')[1]

    # Refusing without a reason is refused; nothing is recorded.
    before = state()
    client.post(review_url(shared_draft), {"department": renshe.pk, "decision": REFUSED})
    assert state() == before
    response = client.post(
        review_url(shared_draft),
        {"department": renshe.pk, "decision": REFUSED, "note": "制卡至少 3 个工作日"},
    )
    assert response.status_code == 302
    approval = WorkflowApproval.objects.get(definition=shared_draft)
    assert (approval.department, approval.decision, approval.note) == (
        renshe,
        REFUSED,
        "制卡至少 3 个工作日",
    )
    # Once decided, the page shows the decision and no form.
    page = client.get(review_url(shared_draft)).content.decode()
    assert 'name="decision"' not in page and "制卡至少 3 个工作日" in page
    # The decision is in the version's history on its change page.
    page = client.get(f"{CHANGELIST}{shared_draft.pk}/change/").content.decode()
    history = page.split('class="workflow-history"')[1]
    assert "制卡至少 3 个工作日" in history and renshe.name in history
    # …and on admin's history page of the version.
    page = client.get(f"{CHANGELIST}{shared_draft.pk}/history/").content.decode()
    history = page.split('id="workflow-versions"')[1]
    assert "制卡至少 3 个工作日" in history and renshe.name in history
    assert "v1" in history and "v2" in history


def test_the_review_page_is_only_for_the_admins_of_the_departments_a_version_binds(
    client, scenario, shared_draft, outsider
):
    client.force_login(outsider)
    assert client.get(review_url(shared_draft)).status_code == 404  # not even visible
    client.force_login(scenario.supervisors["renshe"])  # sees it, decides nothing
    assert client.get(review_url(shared_draft)).status_code == 403
    before = state()
    d = scenario.departments
    response = client.post(
        review_url(shared_draft), {"department": d["renshe"].pk, "decision": APPROVED}
    )
    assert response.status_code == 403
    # An admin cannot decide for another bound department by posting its id.
    client.force_login(admin_of(d["renshe"]))
    client.post(review_url(shared_draft), {"department": d["yibao"].pk, "decision": APPROVED})
    assert state() == before


def test_an_admin_sees_what_awaits_their_approval_in_constant_queries(client, scenario):
    renshe_admin = admin_of(scenario.departments["renshe"])
    client.force_login(renshe_admin)
    author = admin_of(scenario.departments["gongan"])

    def listed():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(CHANGELIST, {"decision": "awaiting"})
        assert response.status_code == 200
        return list(response.context["cl"].result_list), len(ctx.captured_queries)

    first = services.definition_save(actor=author, text=scenario.workflow.text)
    rows, small = listed()
    assert rows == [first]
    for _n in range(4):
        services.definition_save(actor=author, text=scenario.workflow.text)
    rows, large = listed()
    assert len(rows) == 5 and large == small
    page = client.get(CHANGELIST, {"decision": "awaiting"}).content.decode()
    assert review_url(first) in page
    assert zh("waiting for %(depts)s", depts=names(*scenario.departments.values())) in page
    approve_all(first)
    rows, _queries = listed()
    assert first not in rows and len(rows) == 4


def test_another_departments_admin_cannot_save_or_change_an_items_workflow_in_admin(
    client, scenario
):
    d = scenario.departments
    item = scenario.items["weijian"]
    wf = services.definition_save(actor=admin_of(d["weijian"]), text=item_text(item))
    client.force_login(admin_of(d["gongan"]))
    before = state()
    response = client.post(f"{CHANGELIST}add/", {"text": item_text(item, by=d["gongan"].code)})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["text"] == [
        zh(
            "You may not change the workflow of %(subject)s: an item's workflow is edited by "
            "its own department's administrators, a bundle's by those of the departments it "
            "binds or of the government service centre coordinating it.",
            subject=item.name,
        )
    ]
    # 卫健's item workflow binds only 卫健: 公安 does not see it (admin sends it home).
    assert client.get(f"{CHANGELIST}{wf.pk}/change/").status_code == 302  # admin redirects home
    # A bundle version 公安 is bound by is shown read-only to it when it may not edit…
    client.force_login(scenario.supervisors["gongan"])
    page = client.get(f"{CHANGELIST}{scenario.workflow.pk}/change/")
    assert page.status_code == 200 and 'name="text"' not in page.content.decode()
    # …and posting to it is refused.
    response = client.post(
        f"{CHANGELIST}{scenario.workflow.pk}/change/", {"text": scenario.workflow.text}
    )
    assert response.status_code == 403
    response = client.post(CHANGELIST, {"action": "activate", "_selected_action": [wf.pk]})
    assert state() == before


def test_the_admin_add_form_saves_a_bundle_version_for_a_bound_departments_admin(client, scenario):
    client.force_login(admin_of(scenario.departments["yibao"]))
    text = scenario.workflow.text.replace(SOCIAL_CARD_3, SOCIAL_CARD_1)
    response = client.post(f"{CHANGELIST}add/", {"text": text}, follow=True)
    assert response.status_code == 200
    new = WorkflowDefinition.objects.latest("pk")
    assert (new.version, new.status, new.author) == (
        2,
        "draft",
        admin_of(scenario.departments["yibao"]),
    )
    assert (
        zh(
            "Version %(v)d needs the approval of %(depts)s before it can be activated.",
            v=2,
            depts=names(*scenario.departments.values()),
        )
        in response.content.decode()
    )


# ---------------------------------------------------------------- data and demo


def test_the_migration_records_the_departments_each_existing_version_binds(scenario):
    d = scenario.departments
    item_wf = services.workflow_for(item=scenario.items["yibao"])
    WorkflowDefinition.departments.through.objects.all().delete()
    WorkflowDefinition.objects.update(needs_consent=False)
    migration = importlib.import_module("workflows.migrations.0003_workflow_consent")
    migration.bind_departments(apps, None)
    scenario.workflow.refresh_from_db()
    item_wf.refresh_from_db()
    assert set(scenario.workflow.departments.all()) == set(d.values())
    assert scenario.workflow.needs_consent is True
    assert list(item_wf.departments.all()) == [d["yibao"]]
    assert item_wf.needs_consent is False


def test_the_demo_bundles_are_active_with_every_departments_approval():
    from .fixtures import newborn_demo

    demo = newborn_demo()
    for wf in WorkflowDefinition.objects.filter(bundle__isnull=False).select_related("author"):
        assert (wf.status, wf.version, wf.needs_consent) == ("active", 1, True)
        assert wf.author.username == "330100-zhengwu-admin"
        decisions = list(
            wf.approvals.order_by("department__code").values_list(
                "department__code", "approver__username", "decision"
            )
        )
        assert decisions == [
            (code, f"{code}-admin", APPROVED)
            for code in wf.departments.order_by("code").values_list("code", flat=True)
        ]
    newborn = demo.bundle.workflows.get()
    assert sorted(newborn.departments.values_list("code", flat=True)) == [
        f"330100-{k}" for k in ("gongan", "renshe", "weijian", "yibao")
    ]


def test_the_issues_two_writes_on_the_demo_province_are_refused_and_change_nothing(client):
    """330106-gongan-admin (a district) saves a workflow for a city item routed to itself; then
    330100-gongan-admin cuts 人社's limit in the active newborn bundle from 3 working days to 1."""
    from catalog.models import ServiceItem

    from .fixtures import newborn_demo, newborn_submit

    demo = newborn_demo()
    district_admin = User.objects.get(username="330106-gongan-admin")
    city_item = ServiceItem.objects.filter(department__code="330100-gongan").order_by("code")[0]
    text = item_text(city_item, by="330106-gongan")
    before = state()
    with pytest.raises(Forbidden) as exc:
        services.definition_save(actor=district_admin, text=text)
    assert exc.value.code == "not_your_workflow"
    client.force_login(district_admin)
    response = client.post(f"{CHANGELIST}add/", {"text": text})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["text"] == [exc.value.message]
    assert state() == before

    city_admin = User.objects.get(username="330100-gongan-admin")
    active = demo.bundle.workflows.get(status="active")
    cut = active.text.replace(
        "needs: [citizen_id_number], gives: [social_card_no], due: 3 workdays",
        "needs: [citizen_id_number], gives: [social_card_no], due: 1 workday",
    )
    assert cut != active.text
    client.force_login(city_admin)
    assert client.post(f"{CHANGELIST}add/", {"text": cut}).status_code == 302
    draft = demo.bundle.workflows.get(version=2)
    before = state()
    response = client.post(
        CHANGELIST, {"action": "activate", "_selected_action": [draft.pk]}, follow=True
    )
    bound = Department.objects.filter(
        code__in=[f"330100-{k}" for k in ("gongan", "renshe", "weijian", "yibao")]
    )
    message = (
        zh("Version %(v)d cannot be activated before every department it binds approves it.", v=2)
        + " "
        + zh("Still to approve: %(depts)s.", depts=names(*bound))
    )
    shown = [str(m) for m in response.context["messages"]]
    assert shown[-1] == f"{draft}: {message}"
    assert state() == before
    assert newborn_submit(demo, key="after-the-cut").tasks.get(step="social_card").due_workdays == 3

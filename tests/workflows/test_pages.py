import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext

from catalog.models import Material
from departments.models import Membership
from tests.factories import MembershipFactory, StaffFactory, UserFactory
from workflows import services
from workflows.models import Application, Attachment, Task, TaskEvent, WorkflowDefinition

from .conftest import OUTPUTS
from .consent import approve_all

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ" + b"\x90\x00" * 30 + b"\x00" * 60 + b"PE\x00\x00" + b"\x00" * 200


def apply_url(scenario):
    return f"/apply/bundle/{scenario.bundle.slug}/"


def form_post(scenario, **extra):
    data = {**scenario.answers(), "action": "submit", "submit_key": "page-key"}
    data.update(extra)
    return data


def test_the_form_asks_each_field_once_and_prefills_from_the_profile(client, scenario):
    scenario.citizen.phone = "13800000009"
    scenario.citizen.save()
    client.force_login(scenario.citizen)
    page = client.get(apply_url(scenario)).content.decode()
    assert page.count('name="baby_name"') == 1
    assert page.count('name="birth_date"') == 1
    # Produced by a step, never asked.
    assert 'name="birth_certificate_no"' not in page
    assert f'value="{scenario.citizen.id_number}"' not in page  # mother's ID is not the profile's
    assert 'value="13800000009"' in page  # contact phone from the profile
    # The shared material is fetched, not uploaded.
    assert "出生医学证明" in page and 'type="file"' not in page


def test_double_submission_makes_one_application(client, scenario):
    client.force_login(scenario.citizen)
    first = client.post(apply_url(scenario), form_post(scenario))
    second = client.post(apply_url(scenario), form_post(scenario))
    assert first.status_code == 302
    app = Application.objects.exclude(status="draft").get(applicant=scenario.citizen)
    assert first["Location"] == app.get_absolute_url()
    # The second click finds the draft gone; it lands on a fresh draft page, not a second case.
    assert second.status_code in (200, 302)
    assert (
        Application.objects.exclude(status="draft").filter(applicant=scenario.citizen).count() == 1
    )


def test_a_wrong_id_number_is_refused_and_nothing_is_submitted(client, scenario):
    client.force_login(scenario.citizen)
    bad = scenario.citizen.id_number[:-1] + ("0" if scenario.citizen.id_number[-1] != "0" else "1")
    response = client.post(apply_url(scenario), form_post(scenario, mother_id_number=bad))
    assert response.status_code == 400
    assert "mother_id_number_error" in response.content.decode()
    assert not Application.objects.exclude(status="draft").exists()
    assert not Task.objects.exists()


def test_draft_is_saved_and_resumed(client, scenario):
    client.force_login(scenario.citizen)
    response = client.post(apply_url(scenario), {"baby_name": "陈小满", "action": "save"})
    assert response.status_code == 302
    draft = Application.objects.get(applicant=scenario.citizen)
    assert draft.status == "draft" and draft.data == {"baby_name": "陈小满"}
    page = client.get(apply_url(scenario)).content.decode()
    assert 'value="陈小满"' in page
    assert Application.objects.filter(applicant=scenario.citizen).count() == 1


@pytest.fixture
def upload_material(scenario):
    return Material.objects.create(item=scenario.items["gongan"], name="父母结婚证", required=True)


def test_an_executable_renamed_pdf_is_refused_and_nothing_changes(
    client, scenario, upload_material
):
    from workflows.forms import material_key

    client.force_login(scenario.citizen)
    key = material_key(upload_material.name)
    response = client.post(
        apply_url(scenario),
        form_post(scenario, **{key: SimpleUploadedFile("结婚证.pdf", EXE, "application/pdf")}),
    )
    assert response.status_code == 400
    assert f"{key}_error" in response.content.decode()
    assert not Attachment.objects.exists()
    assert not Application.objects.exclude(status="draft").exists()


def test_a_200_mb_upload_is_refused_without_reading_it(client, scenario, upload_material, settings):
    from django.core.files.uploadedfile import TemporaryUploadedFile

    from workflows.forms import material_key

    client.force_login(scenario.citizen)
    key = material_key(upload_material.name)
    big = TemporaryUploadedFile("big.pdf", "application/pdf", 0, None)
    big.write(PDF)
    big.seek(200 * 1024 * 1024 - 1)
    big.write(b"\0")
    big.seek(0)
    big.size = 200 * 1024 * 1024
    response = client.post(apply_url(scenario), form_post(scenario, **{key: big}))
    # Refused on its announced length, before the body is read, naming the request's limit.
    assert response.status_code == 413
    assert "101.0" in response.content.decode()
    assert not Attachment.objects.exists()
    assert not Application.objects.exclude(status="draft").exists()


def test_a_real_pdf_is_stored_privately_and_served_only_to_those_allowed(
    client, scenario, upload_material
):
    from workflows.forms import material_key

    client.force_login(scenario.citizen)
    key = material_key(upload_material.name)
    client.post(apply_url(scenario), form_post(scenario, **{key: SimpleUploadedFile("a.pdf", PDF)}))
    attachment = Attachment.objects.get(source=Attachment.Source.UPLOAD)
    assert attachment.content_type == "application/pdf"
    url = f"/files/{attachment.pk}/"
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["X-Content-Type-Options"] == "nosniff"
    stranger = UserFactory()
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    # The material is the gongan item's: its clerks may open it; the other departments of the
    # case need not know it.
    client.force_login(scenario.clerks["gongan"])
    assert client.get(url).status_code == 200
    client.force_login(scenario.clerks["weijian"])
    assert client.get(url).status_code == 404
    other_department = MembershipFactory(role=Membership.Role.CLERK).user
    client.force_login(other_department)
    assert client.get(url).status_code == 404


def test_staff_cannot_see_or_move_another_departments_task(client, scenario):
    app = scenario.submit()
    task = app.tasks.get(step="birth_certificate")
    client.force_login(scenario.clerks["gongan"])
    assert client.get(f"/staff/tasks/{task.pk}/").status_code == 404
    response = client.post(
        f"/staff/tasks/{task.pk}/act/", {"action": "claim", "version": task.version}
    )
    assert response.status_code == 404
    listing = client.get("/staff/tasks/").content.decode()
    assert app.reference not in listing
    task.refresh_from_db()
    assert task.claimed_by is None and task.state == "ready"
    # Admin as well: the changelist does not list it and its page is refused.
    client.force_login(scenario.clerks["gongan"])
    changelist = client.get("/admin/workflows/task/").content.decode()
    assert f"/admin/workflows/task/{task.pk}/change/" not in changelist
    assert client.get(f"/admin/workflows/task/{task.pk}/change/").status_code == 302


def staff_links(client) -> set[str]:
    """The staff pages the site navigation links to, on the home page."""
    page = client.get("/").content.decode()
    return {url for url in ("/staff/tasks/", "/staff/tickets/") if f'href="{url}"' in page}


@pytest.mark.parametrize("role", ["dispatcher", "admin"])
def test_staff_who_work_on_no_tasks_get_no_worklist_link_and_a_403(client, scenario, role):
    app = scenario.submit()
    task = app.tasks.get(step="birth_certificate")
    member = MembershipFactory(department=scenario.departments["weijian"], role=role).user
    client.force_login(member)
    assert staff_links(client) == {"/staff/tickets/"}
    assert client.get("/staff/tickets/").status_code == 200
    assert client.get("/staff/tasks/").status_code == 403
    assert client.get(f"/staff/tasks/{task.pk}/").status_code == 403
    response = client.post(
        f"/staff/tasks/{task.pk}/act/", {"action": "claim", "version": task.version}
    )
    assert response.status_code == 403
    assert client.post(f"/staff/tasks/{task.pk}/verify/", {}).status_code == 403
    task.refresh_from_db()
    assert task.claimed_by is None and task.state == "ready"


def test_the_navigation_links_each_user_only_to_the_staff_pages_they_may_use(client, scenario):
    client.force_login(scenario.clerks["weijian"])
    assert staff_links(client) == {"/staff/tasks/", "/staff/tickets/"}
    assert client.get("/staff/tasks/").status_code == 200
    assert client.get("/staff/tickets/").status_code == 200
    client.force_login(scenario.supervisors["weijian"])
    assert staff_links(client) == {"/staff/tasks/", "/staff/tickets/"}
    # staff with no department, and citizens: no staff link, and the pages say no (403)
    for user in (StaffFactory(), scenario.citizen):
        client.force_login(user)
        assert staff_links(client) == set()
        assert client.get("/staff/tasks/").status_code == 403
        assert client.get("/staff/tickets/").status_code == 403


def test_a_transition_from_a_stale_page_answers_409_and_changes_nothing(client, scenario):
    app = scenario.submit()
    task = app.tasks.get(step="birth_certificate")
    client.force_login(scenario.clerks["weijian"])
    old_version = task.version
    client.post(f"/staff/tasks/{task.pk}/act/", {"action": "claim", "version": old_version})
    events = TaskEvent.objects.count()
    response = client.post(
        f"/staff/tasks/{task.pk}/act/", {"action": "accept", "version": old_version}
    )
    assert response.status_code == 409
    assert "weijian窗口" in response.content.decode()
    task.refresh_from_db()
    # The refused page shows the holder the case unmasked: only that reveal is logged.
    assert task.state == "ready"
    assert list(TaskEvent.objects.values_list("action", flat=True)[events:]) == ["reveal"]


def test_a_claimed_task_names_its_holder_to_a_colleague(client, scenario):
    app = scenario.submit()
    task = app.tasks.get(step="birth_certificate")
    colleague = MembershipFactory(department=scenario.departments["weijian"], role="clerk").user
    client.force_login(scenario.clerks["weijian"])
    client.post(f"/staff/tasks/{task.pk}/act/", {"action": "claim", "version": task.version})
    task.refresh_from_db()
    client.force_login(colleague)
    response = client.post(
        f"/staff/tasks/{task.pk}/act/", {"action": "claim", "version": task.version}
    )
    assert response.status_code == 409
    assert "weijian窗口" in response.content.decode()
    task.refresh_from_db()
    assert task.claimed_by == scenario.clerks["weijian"]


def build_cases(scenario, n):
    apps = [scenario.submit(key=f"bulk-{n}-{i}") for i in range(n)]
    for app in apps[: n // 2]:
        scenario.act(
            app,
            "birth_certificate",
            "claim",
            "accept",
            "complete",
            outputs=OUTPUTS["birth_certificate"],
        )
    return apps


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def count_task_queries(client, url):
    """A task page's queries once the viewer has seen it: when they hold its claim, their first
    view logs the reveal of its ID numbers and phones (once per claim)."""
    client.get(url)
    return count_queries(client, url)


def test_worklist_and_case_pages_run_fixed_queries(client, scenario):
    build_cases(scenario, 2)
    clerk = scenario.clerks["weijian"]
    client.force_login(clerk)
    small_list = count_queries(client, "/staff/tasks/")
    small_task = count_task_queries(
        client, f"/staff/tasks/{Task.objects.filter(step='birth_certificate').first().pk}/"
    )
    client.force_login(scenario.citizen)
    app = Application.objects.exclude(status="draft").first()
    small_case = count_queries(client, app.get_absolute_url())
    small_mine = count_queries(client, "/my/applications/")
    small_notices = count_queries(client, "/my/notices/")
    small_data = count_queries(client, "/my/data-use/")

    build_cases(scenario, 30)
    client.force_login(clerk)
    assert count_queries(client, "/staff/tasks/") == small_list
    assert (
        count_task_queries(
            client, f"/staff/tasks/{Task.objects.filter(step='birth_certificate').last().pk}/"
        )
        == small_task
    )
    client.force_login(scenario.citizen)
    app = Application.objects.exclude(status="draft").filter(status="in_progress").last()
    assert count_queries(client, app.get_absolute_url()) == small_case
    assert count_queries(client, "/my/applications/") == small_mine
    assert count_queries(client, "/my/notices/") == small_notices
    assert count_queries(client, "/my/data-use/") == small_data
    assert small_list <= 12 and small_case <= 14


def test_case_page_shows_each_departments_delivery(
    client, scenario, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        app = scenario.submit()
    client.force_login(scenario.citizen)
    page = client.get(app.get_absolute_url()).content.decode()
    # 卫健 has received the task; the others have not been sent anything yet.
    assert page.count("未发送") + page.count("Not sent yet") == 3


def test_admin_refuses_broken_workflow_text_with_line_numbers(admin_client, scenario):
    before = WorkflowDefinition.objects.count()
    text = scenario.workflow.text.replace("after: [birth_certificate]", "after: [social_card]")
    response = admin_client.post("/admin/workflows/workflowdefinition/add/", {"text": text})
    assert response.status_code == 200
    body = response.content.decode()
    assert "hukou" in body and "social_card" in body
    assert "line " in body or "第" in body
    assert WorkflowDefinition.objects.count() == before
    response = admin_client.post("/admin/workflows/workflowdefinition/add/", {"text": "steps: [\n"})
    assert response.status_code == 200
    assert WorkflowDefinition.objects.count() == before


def test_admin_saves_a_version_draws_it_and_activates_it_once_approved(admin_client, scenario):
    text = scenario.workflow.text.replace("due: 1 workday", "due: 2 workdays")
    response = admin_client.post("/admin/workflows/workflowdefinition/add/", {"text": text})
    assert response.status_code == 302
    new = WorkflowDefinition.objects.latest("created_at")
    assert (new.version, new.status, new.needs_consent) == (2, "draft", True)
    page = admin_client.get(
        f"/admin/workflows/workflowdefinition/{new.pk}/change/"
    ).content.decode()
    assert "<svg" in page and "hukou" in page
    activate = {"action": "activate", "_selected_action": [new.pk]}
    page = admin_client.post("/admin/workflows/workflowdefinition/", activate, follow=True)
    names = "、".join(d.name for d in sorted(scenario.departments.values(), key=lambda d: d.code))
    with translation.override("zh-hans"):
        waiting = gettext("Still to approve: %(depts)s.") % {"depts": names}
    assert waiting in page.content.decode()
    new.refresh_from_db()
    assert new.status == "draft"
    approve_all(new)
    admin_client.post("/admin/workflows/workflowdefinition/", activate)
    new.refresh_from_db()
    scenario.workflow.refresh_from_db()
    assert (new.status, scenario.workflow.status) == ("active", "retired")
    assert scenario.workflow.retired_at == new.activated_at


def test_admin_status_fields_are_read_only(admin_client, scenario):
    app = scenario.submit()
    task = app.tasks.get(step="birth_certificate")
    page = admin_client.get(f"/admin/workflows/task/{task.pk}/change/").content.decode()
    assert 'name="state"' not in page
    admin_client.post(f"/admin/workflows/task/{task.pk}/change/", {"state": "completed"})
    task.refresh_from_db()
    assert task.state == "ready"


@pytest.fixture
def admin_user(db):
    from tests.factories import StaffFactory

    return StaffFactory(is_superuser=True)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_admin_workflow_add_page_loads(admin_client, scenario):
    assert admin_client.get("/admin/workflows/workflowdefinition/add/").status_code == 200


def test_the_item_guide_shows_the_ratings_of_finished_cases(client, scenario):
    item = scenario.items["weijian"]
    before = client.get(item.get_absolute_url()).content.decode().split('id="item-ratings"')[1]
    assert "暂无评价" in before
    for key, score in (("r-1", 5), ("r-2", 2)):
        app = scenario.submit(key=key)
        for step in ("birth_certificate", "hukou", "social_card", "child_insurance"):
            scenario.act(app, step, "claim", "accept", "complete", outputs=OUTPUTS[step])
        app.refresh_from_db()
        services.rating_submit(applicant=scenario.citizen, application=app, score=score)
    section = client.get(item.get_absolute_url()).content.decode().split('id="item-ratings"')[1]
    assert "5 分制 3.5 分" in section and "共 2 条" in section

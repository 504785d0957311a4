"""A case's notices as PDF (受理通知书, 补正告知书, 不予受理决定书, 送达回证): made from the case as
it is now, in Chinese with an embedded font, the same from the page and the API, for those who
may read the case only."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.factories import StaffFactory
from tests.workflows.fixtures import (  # noqa: F401
    OUTPUTS,
    demo_seeded_once,
    english_client,
    newborn_submit,
    pages_in_english,
    step_complete,
)
from workflows import documents, services
from workflows.documents import chinese_date

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    """The PDF's text without the spaces and NULs text extraction puts between characters."""
    reader = PdfReader(io.BytesIO(data))
    text = "".join(page.extract_text() for page in reader.pages)
    return "".join(text.replace("\x00", "").split())


def fonts_of(data: bytes) -> set[str]:
    reader = PdfReader(io.BytesIO(data))
    found = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            assert "/FontFile3" in descendant["/FontDescriptor"] or (
                "/FontFile2" in descendant["/FontDescriptor"]
            ), "the font is embedded"
            found.add(str(font["/BaseFont"]))
    return found


def get_pdf(client, app, kind: str):
    return client.get(f"/cases/{app.pk}/documents/{kind}.pdf")


def test_the_notice_of_acceptance_names_the_case_items_and_promised_date(client, demo):
    app = newborn_submit(demo, key="doc-1")
    client.force_login(demo.citizen)
    answer = get_pdf(client, app, "acceptance")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(answer.content))
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(float(width)), round(float(height))) == (595, 842)  # A4 in points
    assert any("NotoSansSC" in name for name in fonts_of(answer.content))
    text = pdf_text(answer.content)
    assert "受理通知书" in text and app.reference in text
    assert "新生儿出生一件事" in text
    for task in app.tasks.all():
        assert task.item.name.replace(" ", "") in text
        assert task.department.name in text
    assert chinese_date(app.promised_date) in text
    assert demo.citizen.id_number_masked in text and demo.citizen.id_number not in text
    assert f"/my/applications/{app.pk}/" in text
    # the API gives the same document
    api = client.get(f"/api/v1/applications/{app.pk}/documents/acceptance/")
    assert api.status_code == 200 and api["Content-Type"] == "application/pdf"
    assert pdf_text(api.content) == text


def test_a_notice_the_case_does_not_have_is_404_on_the_page_and_the_api(client, demo):
    app = newborn_submit(demo, key="doc-2")
    client.force_login(demo.citizen)
    for kind in ("correction", "rejection", "service", "nonsense"):
        assert get_pdf(client, app, kind).status_code == 404
    answer = client.get(f"/api/v1/applications/{app.pk}/documents/service/")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert [d.kind for d in documents.documents_of(app)] == ["acceptance"]


def test_only_the_applicant_and_the_staff_working_on_the_case_read_its_notices(client, demo):
    app = newborn_submit(demo, key="doc-3")
    client.force_login(demo.clerks["weijian"])  # a department of the case
    assert get_pdf(client, app, "acceptance").status_code == 200
    for outsider in (StaffFactory(), demo.clerks["renshe"]):
        client.force_login(outsider)
        # 人社's step is waiting, but the department works on the case: it may read it
        expected = 200 if outsider == demo.clerks["renshe"] else 404
        assert get_pdf(client, app, "acceptance").status_code == expected
    from zheliban.accounts.models import User

    client.force_login(User.objects.get(username="citizen2"))
    assert get_pdf(client, app, "acceptance").status_code == 404
    answer = client.get(f"/api/v1/applications/{app.pk}/documents/acceptance/")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    client.logout()
    assert get_pdf(client, app, "acceptance").status_code == 302


def test_the_notice_to_correct_lists_exactly_the_fields_asked(client, demo):
    app = newborn_submit(demo, key="doc-4")
    step_complete(demo, app, "birth_certificate")
    task = app.tasks.get(step="hukou")
    clerk = demo.clerks["gongan"]
    for action in ("claim", "accept"):
        task = services.task_transition(actor=clerk, task_id=task.pk, action=action)
    services.task_transition(
        actor=clerk,
        task_id=task.pk,
        action="correction",
        reason="新生儿姓名含生僻字，请核对后重新填写。",
        fields=["baby_name"],
    )
    client.force_login(demo.citizen)
    answer = get_pdf(client, app, "correction")
    assert answer.status_code == 200
    text = pdf_text(answer.content)
    assert "补正告知书" in text and "新生儿姓名含生僻字，请核对后重新填写。" in text
    assert "需补正内容：新生儿姓名" in text
    assert "母亲" not in text.split("需补正内容")[1]
    page = client.get(app.get_absolute_url()).content.decode()
    assert f"/cases/{app.pk}/documents/correction.pdf" in page


def test_the_decision_not_to_accept_gives_the_reason_and_the_remedy(client, demo):
    app = newborn_submit(demo, key="doc-5")
    task = app.tasks.get(step="birth_certificate")
    clerk = demo.clerks["weijian"]
    for action in ("claim", "accept"):
        task = services.task_transition(actor=clerk, task_id=task.pk, action=action)
    services.task_transition(
        actor=clerk, task_id=task.pk, action="reject", reason="出生医学证明信息无法核实。"
    )
    client.force_login(demo.citizen)
    text = pdf_text(get_pdf(client, app, "rejection").content)
    assert "不予受理决定书" in text and "出生医学证明信息无法核实。" in text
    assert "六十日内" in text and "行政复议" in text and "六个月内" in text
    assert "行政诉讼" in text


def test_the_proof_of_service_once_the_case_is_completed(client, demo):
    app = newborn_submit(demo, key="doc-6")
    for step in ("birth_certificate", "vaccination", "hukou", "social_card", "child_insurance"):
        step_complete(demo, app, step)
    app.refresh_from_db()
    assert app.status == "completed"
    client.force_login(demo.citizen)
    text = pdf_text(get_pdf(client, app, "service").content)
    assert "送达回证" in text and chinese_date(app.finished_at) in text
    assert OUTPUTS["hukou"]["hukou_no"] in text
    # the baby's ID number is masked like any other
    assert OUTPUTS["hukou"]["citizen_id_number"] not in text

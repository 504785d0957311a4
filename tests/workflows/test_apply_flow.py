"""A form a person can finish: confirmed fields, "same as above", a check-your-answers page,
errors summarised at the top, uploads kept across a failed submit, and registering from an apply
page returning to it."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from registers.models import Record
from workflows import selectors, services
from workflows.forms import material_key
from workflows.models import Application, Attachment
from zheliban.accounts.models import User

from .fixtures import SMALL_PDF, demo_seeded_once, english_client, pages_in_english  # noqa: F401

pytestmark = pytest.mark.django_db

APPLY = "/apply/bundle/newborn/"
CHECK = "/apply/bundle/newborn/check/"
PHOTO = material_key("新生儿近期免冠彩色照片")


def inputs(body: str) -> set[str]:
    form = body[body.index('class="apply-form"') :]
    return set(re.findall(r'<(?:input|select|textarea)[^>]* name="([^"]+)"', form)) - {
        "csrfmiddlewaretoken",
        "submit_key",
        "action",
    }


def submitted() -> int:
    return Application.objects.exclude(status=Application.Status.DRAFT).count()


def test_the_father_types_the_name_ticks_same_as_above_checks_and_files(demo, client):
    client.force_login(demo.citizen)
    hukou = Record.objects.get(register="population", subject=demo.citizen.id_number)
    body = client.get(APPLY).content.decode()
    # Only what no register holds is asked: the baby's name, addresses (or "same as above"),
    # and the baby's photo for the social security card, which no department has.
    assert inputs(body) == {
        PHOTO,
        "baby_name",
        "contact_phone",
        "same_mailing_address",
        "mailing_address",
        "same_residence_address",
        "residence_address",
    }
    assert re.search(r'name="contact_phone"[^>]*autocomplete="tel"', body) or re.search(
        r'autocomplete="tel"[^>]*name="contact_phone"', body
    )
    assert 'inputmode="tel"' in body and 'autocomplete="street-address"' in body
    assert "Continue to check your answers" in body

    # Forgetting the name: errors summarised at the top, linked to the field; nothing filed.
    before = submitted()
    refused = client.post(APPLY, {"action": "review", "contact_phone": demo.citizen.phone})
    page = refused.content.decode()
    assert refused.status_code == 400
    summary = page[
        page.index('id="error-summary"') : page.index("</div>", page.index('id="error-summary"'))
    ]
    assert set(re.findall(r'href="#id_([a-z_]+)"', summary)) == {
        "baby_name",
        "mailing_address",
        "residence_address",
    }
    assert submitted() == before

    # Ticking "same as above" copies the confirmed hukou address; the review page shows it all.
    draft_key = re.search(r'name="submit_key" value="([^"]+)"', body).group(1)
    moved = client.post(
        APPLY,
        {
            "action": "review",
            "baby_name": "张安宁",
            "contact_phone": demo.citizen.phone,
            "same_mailing_address": "on",
            "same_residence_address": "on",
            PHOTO: SimpleUploadedFile("photo.pdf", SMALL_PDF, "application/pdf"),
        },
    )
    assert moved.status_code == 302 and moved["Location"] == CHECK
    assert submitted() == before
    check = client.get(CHECK).content.decode()
    assert "Check your answers before submitting" in check
    assert "张安宁" in check and hukou.data["hukou_address"] in check and "陈静" in check
    filed = client.post(CHECK, {"submit_key": draft_key})
    app = Application.objects.get(applicant=demo.citizen, status=Application.Status.IN_PROGRESS)
    assert filed.status_code == 302 and filed["Location"] == app.get_absolute_url()
    assert app.data["baby_name"] == "张安宁"
    assert app.data["mailing_address"] == hukou.data["hukou_address"]
    assert app.data["residence_address"] == hukou.data["hukou_address"]
    assert app.data["mother_name"] == "陈静"
    assert list(
        app.attachments.filter(source=Attachment.Source.UPLOAD).values_list(
            "material_name", flat=True
        )
    ) == ["新生儿近期免冠彩色照片"]
    # Posting the check page again (a double click) files nothing more.
    again = client.post(CHECK, {"submit_key": draft_key})
    assert again.status_code == 302 and submitted() == before + 1


def test_an_incomplete_draft_goes_back_to_the_form_and_a_good_upload_is_kept(demo, client):
    citizen = User.objects.get(username="citizen2")
    client.force_login(citizen)
    assert client.get(CHECK)["Location"] == APPLY
    prepared = selectors.application_prepare(
        user=citizen,
        workflow=services.workflow_for(bundle=demo.bundle),
        bundle=demo.bundle,
    )
    asked = [m for m in prepared.spec.asked_materials if m.required]
    assert asked, "citizen2 has no registers: some document is asked"
    first = asked[0]
    response = client.post(
        APPLY,
        {"action": "review", first.key: SimpleUploadedFile("a.pdf", SMALL_PDF, "application/pdf")},
    )
    assert response.status_code == 400
    draft = Application.objects.get(applicant=citizen, bundle=demo.bundle, status="draft")
    assert list(draft.attachments.values_list("material_name", flat=True)) == [first.name]
    # The page no longer asks for it as required.
    body = client.get(APPLY).content.decode()
    assert re.search(rf'name="{first.key}"[^>]*required', body) is None


def test_registering_from_an_apply_page_returns_to_it(demo, client):
    login = client.get(APPLY)
    assert login.status_code == 302 and "next=/apply/bundle/newborn/" in login["Location"]
    page = client.get(login["Location"]).content.decode()
    assert "/accounts/register/?next=/apply/bundle/newborn/" in page
    registered = client.post(
        "/accounts/register/?next=/apply/bundle/newborn/",
        {
            "kind": "citizen",
            "real_name": "赵一",
            "phone": "13900000123",
            "id_number": "33010619900101123X",
            "password": "Zheliban-test-2026",
            "password_again": "Zheliban-test-2026",
            "next": "/apply/bundle/newborn/",
        },
    )
    assert registered.status_code == 302, registered.content.decode()[:2000]
    assert registered["Location"] == APPLY
    # An outside address is never followed.
    client.logout()
    outside = client.post(
        "/accounts/register/",
        {
            "kind": "citizen",
            "real_name": "赵二",
            "phone": "13900000124",
            "id_number": "330106199001021235",
            "password": "Zheliban-test-2026",
            "password_again": "Zheliban-test-2026",
            "next": "https://evil.example/",
        },
    )
    assert outside.status_code == 302 and outside["Location"] == "/accounts/me/"

"""一窗受理 in Chromium: a mother without an account walks in to the 西湖区 service centre; the
counter clerk registers her from her ID card, files the newborn bundle for her (the hospital has
registered her baby), prints the 受理通知书; she sets a password through the one-time link she was
handed and sees the case and the notice online. Every page passes axe at phone width."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_newborn import fits_and_passes_axe, path_of
from tests.workflows.fixtures import newborn_demo
from tests.workflows.test_counter import (
    COUNTER_USER,
    WALK_IN_ID,
    WALK_IN_NAME,
    walk_in_records,
)
from tests.workflows.test_documents import pdf_text
from workflows.documents import chinese_date
from workflows.models import Application
from zheliban.accounts.models import User

pytestmark = pytest.mark.e2e

PASSWORD = "Xihu-lake-2026!"


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def go(page, locator) -> None:
    """Click what leads to another page, wait for it, check it with axe."""
    expect(locator).to_have_count(1)
    with page.expect_navigation():
        locator.click()
    fits_and_passes_axe(page)


def test_a_walk_in_citizen_is_filed_for_at_the_counter_and_then_sees_it_online(new_context, log_in):
    demo = newborn_demo()
    walk_in_records(demo)
    assert not User.objects.filter(id_number=WALK_IN_ID).exists()

    # The counter clerk: find nobody, register her from her ID card.
    desk = new_context().new_page()
    log_in(desk, COUNTER_USER, demo.password)
    desk.goto("/counter/")
    fits_and_passes_axe(desk)
    desk.locator("#find-form [name=q]").fill(WALK_IN_ID)
    go(desk, desk.locator("#find-form button[type=submit]"))
    expect(desk.locator("#find-none")).to_be_visible()
    assert WALK_IN_ID not in desk.url
    card = desk.locator("#register-form")
    card.locator("[name=real_name]").fill(WALK_IN_NAME)
    card.locator("[name=sex][value=女]").check()
    card.locator("[name=birth_date]").fill("1993-04-12")
    card.locator("[name=id_number]").fill(WALK_IN_ID)
    go(desk, card.locator("button[type=submit]"))
    citizen = User.objects.get(id_number=WALK_IN_ID)
    assert path_of(desk) == f"/counter/citizens/{citizen.pk}/"
    set_password_link = desk.locator("#set-password-link").inner_text().strip()
    assert "/accounts/set-password/" in set_password_link

    # File the newborn bundle for her: her own form, what the registers hold shown to confirm.
    desk.locator("main form[role=search] [name=q]").fill("出生")
    go(desk, desk.locator("main form[role=search] button[type=submit]"))
    go(desk, desk.locator("a[data-bundle=newborn]"))
    form = desk.locator("main form.counter-form")
    expect(desk.locator("main .confirm-list")).to_contain_text("赵志强")
    form.locator("[name=baby_name]").fill("赵小川")
    form.locator("[name=same_mailing_address]").check()
    form.locator("[name=same_residence_address]").check()
    phone = form.locator("[name=contact_phone]")
    if phone.count():
        phone.fill("13800000077")
    boxes = form.locator("#checklist input[name=received]")
    for n in range(boxes.count()):
        boxes.nth(n).check()
    go(desk, desk.locator("#counter-file"))
    app = Application.objects.get(applicant=citizen)
    assert path_of(desk) == f"/counter/cases/{app.pk}/"
    assert app.filed_by.username == COUNTER_USER

    # Print the 受理通知书: its text names the case, the items and the promised date in Chinese.
    notice_url = desk.locator("a[data-document=acceptance]").get_attribute("href")
    printed = desk.request.get(notice_url)
    assert printed.status == 200 and printed.headers["content-type"] == "application/pdf"
    text = pdf_text(printed.body())
    assert "受理通知书" in text and app.reference in text
    assert "新生儿出生一件事" in text
    for item in app.form_spec["items"]:
        assert item["name"].replace(" ", "") in text
    assert chinese_date(app.promised_date) in text  # e.g. 2026年12月14日
    assert WALK_IN_ID not in text

    # At home: she sets a password through the link, logs in, sees the case and the notice.
    home = new_context().new_page()
    home.goto(set_password_link)
    fits_and_passes_axe(home)
    home.locator("[name=new_password1]").fill(PASSWORD)
    home.locator("[name=new_password2]").fill(PASSWORD)
    go(home, home.locator("main form button[type=submit]"))
    assert path_of(home) == "/accounts/login/"
    log_in(home, WALK_IN_ID, PASSWORD)
    home.goto("/my/applications/")
    go(home, home.locator(f"main a[href='{app.get_absolute_url()}']").first)
    expect(home.locator("#case-status")).to_be_visible()
    link = home.locator("#case-documents a[data-document=acceptance]")
    expect(link).to_have_count(1)
    mine = home.request.get(link.get_attribute("href"))
    assert mine.status == 200
    assert pdf_text(mine.body()) == text

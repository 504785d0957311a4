"""Citizen journeys through the real pages in the system Chromium, at phone width."""

from urllib.parse import urlparse

import pytest
from django.utils import translation
from playwright.sync_api import expect

from tests.factories import PASSWORD, UserFactory, make_id_number
from zheliban.accounts.models import User
from zheliban.core.identity import id_number_check_char

pytestmark = pytest.mark.e2e

LANGUAGE_FORM = "#language-form"
ELDER_BUTTON = "form[action='/elder-mode/'] button[type=submit]"


def path_of(page) -> str:
    return urlparse(page.url).path


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def computed_font_size(page, selector: str) -> float:
    value = page.evaluate("s => getComputedStyle(document.querySelector(s)).fontSize", selector)
    assert value.endswith("px"), value
    return float(value[:-2])


def is_logged_in(page) -> bool:
    return page.locator("form[action='/accounts/logout/']").count() > 0


def test_first_visit_language_switch_and_login_show_only_the_masked_id(page, log_in):
    citizen = UserFactory()

    # A first visit on a phone: Chinese whatever the browser asks for, and nothing wider than it.
    response = page.goto("/")
    assert response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    assert response.headers["content-language"] == "zh-hans"
    assert scroll_width(page) <= 360
    expect(page.get_by_role("search")).to_be_visible()

    # The header offers English; choosing it reloads the same page in English.
    switch = page.locator(f"{LANGUAGE_FORM} button[name=language]")
    expect(switch).to_have_count(1)
    expect(switch).to_have_attribute("value", "en")
    expect(switch).to_have_text("English")
    with page.expect_navigation():
        switch.click()
    assert path_of(page) == "/"
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(f"{LANGUAGE_FORM} button[name=language]")).to_have_attribute(
        "value", "zh-hans"
    )
    expect(page.locator(f"{LANGUAGE_FORM} button[name=language]")).to_have_text("简体中文")
    assert scroll_width(page) <= 360

    # The choice persists on the next page.
    page.goto("/departments/")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # Log in with the mobile number: the profile page follows, still in English.
    log_in(page, citizen.phone, PASSWORD)
    assert path_of(page) == "/accounts/me/"
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert is_logged_in(page)

    masked = citizen.id_number_masked
    assert masked == citizen.id_number[:4] + "*" * 10 + citizen.id_number[-4:]
    expect(page.locator("dd.masked").first).to_have_text(masked)
    html = page.content()
    assert masked in html
    assert citizen.id_number not in html
    assert citizen.phone not in html
    assert scroll_width(page) <= 360


def test_failed_login_shows_an_error_and_stays_anonymous(page, log_in):
    citizen = UserFactory()

    log_in(page, citizen.phone, PASSWORD + "-wrong")

    assert path_of(page) == "/accounts/login/"
    error = page.locator("main .form-errors[role=alert]")
    expect(error).to_be_visible()
    with translation.override("zh-hans"):
        expected = translation.gettext("The account or password is wrong. Please try again.")
    expect(error).to_have_text(expected)
    # The typed account stays in the box, the password does not.
    expect(page.locator("input[name=username]")).to_have_value(citizen.phone)
    expect(page.locator("input[name=password]")).to_have_value("")
    assert not is_logged_in(page)

    # Still anonymous: the profile sends the visitor to the login page.
    page.goto("/accounts/me/")
    assert path_of(page) == "/accounts/login/"
    assert not is_logged_in(page)


def test_registration_with_a_wrong_id_check_digit_shows_the_error_and_creates_nobody(page):
    first17 = make_id_number(517)[:17]
    right = id_number_check_char(first17)
    wrong = next(c for c in "0123456789X" if c != right)
    users_before = User.objects.count()

    page.goto("/accounts/register/")
    expect(page.locator("input[name=kind][value=citizen]")).to_be_checked()
    page.locator("input[name=real_name]").fill("张三")
    page.locator("input[name=id_number]").fill(first17 + wrong)
    page.locator("input[name=phone]").fill("13812345678")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password_again]").fill(PASSWORD)
    with page.expect_navigation() as navigation:
        page.locator("main form button[type=submit]").click()

    assert navigation.value.status == 400
    assert path_of(page) == "/accounts/register/"
    field = page.locator(".field.has-error")
    expect(field).to_have_count(1)
    expect(field.locator("input")).to_have_attribute("name", "id_number")
    expect(field.locator("input")).to_have_attribute("aria-invalid", "true")
    with translation.override("zh-hans"):
        expected = translation.gettext(
            "The check digit of this ID number is wrong; please check the number."
        )
    expect(field.locator("p.error[role=alert]")).to_have_text(expected)
    # The message is the field's accessible description, read out with it by screen readers.
    described_by = page.locator("#id_id_number").get_attribute("aria-describedby").split()
    assert "id_id_number_error" in described_by
    expect(page.locator("#id_id_number_error")).to_have_text(expected)
    description = page.evaluate(
        """ids => ids.map(id => document.getElementById(id)?.textContent.trim() ?? null)""",
        described_by,
    )
    assert None not in description, described_by
    assert expected in description
    # What the visitor typed is kept (passwords excepted) so only the number needs correcting.
    expect(page.locator("input[name=id_number]")).to_have_value(first17 + wrong)
    expect(page.locator("input[name=phone]")).to_have_value("13812345678")
    expect(page.locator("input[name=password]")).to_have_value("")

    assert User.objects.count() == users_before
    assert not User.objects.filter(phone="13812345678").exists()
    assert not is_logged_in(page)


def test_elder_mode_enlarges_text_and_can_be_turned_off(page):
    page.goto("/services/?q=%E5%87%BA%E7%94%9F")
    body = page.locator("body")
    expect(body).not_to_have_class("elder")
    button = page.locator(ELDER_BUTTON)
    expect(button).to_have_attribute("aria-pressed", "false")
    root_before = computed_font_size(page, "html")
    body_before = computed_font_size(page, "body")
    heading_before = computed_font_size(page, "main h1")

    with page.expect_navigation():
        button.click()
    # Back on the same page, with its query.
    assert urlparse(page.url).path == "/services/"
    assert urlparse(page.url).query == "q=%E5%87%BA%E7%94%9F"
    expect(body).to_have_class("elder")
    expect(page.locator(ELDER_BUTTON)).to_have_attribute("aria-pressed", "true")
    assert computed_font_size(page, "html") > root_before
    assert computed_font_size(page, "body") > body_before
    assert computed_font_size(page, "main h1") > heading_before
    assert scroll_width(page) <= 360

    # Remembered on the next page.
    page.goto("/")
    expect(body).to_have_class("elder")
    assert computed_font_size(page, "body") > body_before

    with page.expect_navigation():
        page.locator(ELDER_BUTTON).click()
    expect(body).not_to_have_class("elder")
    expect(page.locator(ELDER_BUTTON)).to_have_attribute("aria-pressed", "false")
    assert computed_font_size(page, "html") == root_before
    assert computed_font_size(page, "body") == body_before


def test_first_tab_reaches_the_skip_link_which_moves_focus_to_main(page):
    page.goto("/")
    assert page.evaluate("document.activeElement === document.body")

    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_have_attribute("href", "#main")
    # Visible once focused, so a sighted keyboard user sees where they are.
    expect(skip).to_be_in_viewport()

    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    assert page.evaluate("document.activeElement.tagName") == "MAIN"

    # The next Tab goes on from main's content, not back to the header.
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")

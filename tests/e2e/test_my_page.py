"""/my/ on a phone (360 px): reached from the site navigation after logging in, in Chinese, what
waits for the citizen first and one tap from the case that needs it; nothing wider than the
phone, and axe finds nothing serious."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.citizen.world import CITIZEN_ID, seed_me
from tests.complaints.desk import desk  # noqa: F401
from tests.e2e.test_newborn import fits_and_passes_axe
from tests.factories import PASSWORD
from tests.workflows.conftest import scenario  # noqa: F401

pytestmark = pytest.mark.e2e


@pytest.fixture
def me(scenario, desk):  # noqa: F811 (the scenario and the desk imported above)
    return seed_me(scenario, desk)


def test_a_citizen_opens_my_page_on_a_phone_and_goes_to_the_case_awaiting_them(page, log_in, me):
    correction = me.applications["correction"]

    log_in(page, me.user.username, PASSWORD)
    with page.expect_navigation():
        page.locator(".site-nav a[href='/my/']").click()
    assert urlparse(page.url).path == "/my/"
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("#my-waiting li")).to_have_count(3)
    expect(page.locator("#my-applications li.card").first).to_have_attribute(
        "data-status", "correction"
    )
    expect(page.locator("#my-tickets li.card").first).to_have_attribute("data-state", "called_back")
    expect(page.locator("#my-licences li.card")).to_have_count(4)
    assert CITIZEN_ID not in page.content()
    fits_and_passes_axe(page)

    with page.expect_navigation() as navigation:
        page.locator("#my-applications a[data-awaiting=correct]").click()
    assert navigation.value.status == 200
    assert urlparse(page.url).path == correction.get_absolute_url()

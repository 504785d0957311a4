"""新生儿出生一件事 on a phone, as a parent does it: from the home page to the confirmation.

citizen1, logged in beforehand, starts at ``/`` in Chromium at 360×740 and only clicks links and
buttons, types and ticks what the pages ask. Counted: the pages from ``/`` to the confirmation
(the case page) inclusive, the values typed (ticking a box or choosing an option is not typing),
the files uploaded; every page passes axe. A parent whose hukou is in another province is told
why not and what to do instead, before any form, and nothing is filed.
"""

from __future__ import annotations

import pytest
from django.utils import translation
from playwright.sync_api import expect

from tests.e2e.test_newborn import fits_and_passes_axe, path_of, zh_label
from tests.workflows.fixtures import SMALL_PDF, newborn_demo
from tests.workflows.test_eligibility import stranger_parent
from workflows import selectors, services
from workflows.models import Application, Attachment, DataAccess

pytestmark = pytest.mark.e2e

PHONE = {"width": 360, "height": 740}
BABY_NAME = "张小禾"
MAX_PAGES = 5
MAX_TYPED = 3
# The one document the catalog lists as the parent's to give, which no register holds.
PHOTO = "新生儿近期免冠彩色照片"


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


class Journey:
    """A parent's way through the pages: each page reached is checked with axe and counted, and
    so is each value typed and each file uploaded."""

    def __init__(self, page):
        self.page = page
        self.pages: list[str] = []
        self.loads: list[str] = []
        self.typed: list[str] = []
        self.uploads: list[str] = []
        page.on("load", lambda loaded: self.loads.append(path_of(loaded)))

    def arrived(self) -> str:
        """The page now shown: counted, and it must pass axe at phone width."""
        path = path_of(self.page)
        self.pages.append(path)
        fits_and_passes_axe(self.page)
        return path

    def go(self, path: str) -> str:
        assert self.page.goto(path).status == 200
        return self.arrived()

    def click(self, locator) -> str:
        """Click a link or a button that leads to another page."""
        expect(locator).to_have_count(1)
        expect(locator).to_be_visible()
        with self.page.expect_navigation():
            locator.click()
        return self.arrived()

    def type(self, locator, value: str) -> None:
        locator.fill(value)
        if value:
            self.typed.append(value)

    def upload(self, locator, name: str) -> None:
        locator.set_input_files(
            files=[{"name": name, "mimeType": "application/pdf", "buffer": SMALL_PDF}]
        )
        self.uploads.append(name)


def test_a_parent_on_a_phone_goes_from_the_home_page_to_the_confirmation(new_context, log_in):
    demo = newborn_demo()
    citizen = demo.citizen
    workflow = services.workflow_for(bundle=demo.bundle)
    asked = selectors.application_prepare(
        user=citizen, workflow=workflow, bundle=demo.bundle
    ).spec.asked_materials
    page = new_context(viewport=PHONE).new_page()
    log_in(page, citizen.username, demo.password)
    journey = Journey(page)
    bundle_url = demo.bundle.get_absolute_url()
    apply_url = f"/apply/bundle/{demo.bundle.slug}/"

    # The home page offers the bundle among "get it done in one go"; its page, "apply".
    assert journey.go("/") == "/"
    assert journey.click(page.locator(f"main .bundle-card a[href='{bundle_url}']")) == bundle_url
    assert journey.click(page.locator("#apply-bundle")) == apply_url
    expect(page.locator("#ineligible")).to_have_count(0)
    form = page.locator("main form.apply-form")
    expect(form.locator("[name=contact_phone]")).to_have_value(citizen.phone)
    expect(page.locator("main dl.confirm-list .confirm-row").first).to_be_visible()

    # Only what no register holds: the baby's name, "same as the hukou address" twice, and the
    # uploads the page still asks for, each with the page's words for why.
    journey.type(form.locator("[name=baby_name]"), BABY_NAME)
    form.locator("[name=same_mailing_address]").check()
    form.locator("[name=same_residence_address]").check()
    files = form.locator("input[type=file]")
    upload_names = files.evaluate_all("els => els.map(e => e.name)")
    assert upload_names == [m.key for m in asked]
    said = {
        m.name: page.locator("main section[aria-labelledby=materials-heading] li")
        .filter(has_text=m.name)
        .inner_text()
        for m in asked
    }
    for n in range(files.count()):
        journey.upload(files.nth(n), f"材料{n}.pdf")
    assert journey.click(form.locator("button[name=action][value=review]")) == f"{apply_url}check/"
    assert not Application.objects.filter(applicant=citizen).exclude(status="draft").exists()

    journey.click(page.locator("main form.check-form button[type=submit]"))
    app = Application.objects.get(applicant=citizen, status=Application.Status.IN_PROGRESS)
    assert journey.pages[-1] == app.get_absolute_url()
    expect(page.locator("#case-status")).to_have_text(zh_label(Application.Status.IN_PROGRESS))
    assert app.data["baby_name"] == BABY_NAME

    print(
        f"\nnewborn bundle on a phone: {len(journey.pages)} pages {journey.pages}, "
        f"{len(journey.typed)} typed {journey.typed}, {len(journey.uploads)} uploads "
        f"{list(said.values())}"
    )
    # Every page loaded is one counted (no redirect page, no reload), and all passed axe.
    assert journey.loads == journey.pages
    assert journey.pages == [
        "/",
        bundle_url,
        apply_url,
        f"{apply_url}check/",
        app.get_absolute_url(),
    ]
    assert len(journey.pages) <= MAX_PAGES
    assert journey.typed == [BABY_NAME] and len(journey.typed) <= MAX_TYPED
    # The target is no upload at all. One remains: the baby's photo for the social security
    # card, which the catalog lists as the parent's to give and no register holds.
    assert [m.name for m in asked] == [PHOTO]
    assert len(journey.uploads) == 1
    assert list(
        app.attachments.filter(source=Attachment.Source.UPLOAD).values_list(
            "material_name", flat=True
        )
    ) == [PHOTO]


def test_a_parent_from_another_province_is_told_why_and_what_to_do_instead(new_context, log_in):
    demo = newborn_demo()
    parent = stranger_parent(demo, hukou_region="320102")
    rule = next(
        e
        for e in services.workflow_for(bundle=demo.bundle).compiled["eligible"]
        if "hukou_city" in e["rule"]
    )
    assert rule["says"] == "父母至少一方须为本市户籍。"
    before = (
        Application.objects.exclude(status=Application.Status.DRAFT).count(),
        DataAccess.objects.count(),
        Attachment.objects.count(),
    )
    page = new_context(viewport=PHONE).new_page()
    log_in(page, parent.username, "x-Zheliban-2026")
    journey = Journey(page)

    journey.go(demo.bundle.get_absolute_url())
    assert journey.click(page.locator("#apply-bundle")) == f"/apply/bundle/{demo.bundle.slug}/"
    ineligible = page.locator("main #ineligible")
    expect(ineligible).to_be_visible()
    expect(ineligible.locator("li")).to_have_count(1)  # the baby is 3 days old: that rule holds
    expect(ineligible.locator("li")).to_contain_text(rule["says"])
    expect(ineligible.locator("li")).to_contain_text(rule["instead"])
    with translation.override("zh-hans"):
        expect(ineligible).to_contain_text(translation.gettext("What to do instead:"))
    expect(page.locator("main form.apply-form")).to_have_count(0)
    expect(page.locator("main input[type=file]")).to_have_count(0)
    expect(page.locator(f"main a[href='{demo.bundle.get_absolute_url()}']")).to_have_count(1)

    # Nothing was filed, read or attached.
    assert not Application.objects.filter(applicant=parent).exclude(status="draft").exists()
    assert (
        Application.objects.exclude(status=Application.Status.DRAFT).count(),
        DataAccess.objects.count(),
        Attachment.objects.count(),
    ) == before

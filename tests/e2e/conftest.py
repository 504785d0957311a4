"""Browser fixtures: one system Chromium per session, a fresh context (and page) per test.

Playwright must never download a browser: it drives Debian's chromium found by the
``chromium_path`` fixture of ``tests/conftest.py`` (skipped on a newcomer's machine, failing in CI).
"""

import os

# Playwright's sync API runs an event loop in the main thread; Django's ORM would refuse to run
# beside it. The tests only touch the database between browser calls, never concurrently.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE_VIEWPORT = {"width": 360, "height": 740}
TIMEOUT_MS = 10_000


class _BrowserHolder:
    """Starts Playwright and Chromium on first use, stops them at the end of the session."""

    def __init__(self):
        self.playwright = None
        self.browser = None

    def get(self, executable_path: str):
        if self.browser is None:
            from playwright.sync_api import sync_playwright

            self.playwright = sync_playwright().start()
            self.browser = self.playwright.chromium.launch(
                executable_path=executable_path, args=CHROMIUM_ARGS, headless=True
            )
        return self.browser

    def close(self):
        if self.browser is not None:
            self.browser.close()
        if self.playwright is not None:
            self.playwright.stop()


@pytest.fixture(scope="session")
def _browser_holder():
    holder = _BrowserHolder()
    yield holder
    holder.close()


@pytest.fixture
def browser(_browser_holder, chromium_path):
    """The session's Chromium, launched once (the first test that needs it pays the start-up)."""
    return _browser_holder.get(chromium_path)


@pytest.fixture
def new_context(browser, live_server, transactional_db):
    """Make fresh browser contexts (no cookies, no storage) pointed at the live server."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", PHONE_VIEWPORT)
        # The browser asks for English: pages must still default to Chinese.
        options.setdefault("locale", "en-US")
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def context(new_context):
    return new_context()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def set_cookies(live_server):
    """Set cookies for the live server on a context, as a previous visit would have left them."""

    def set_(context, **cookies: str) -> None:
        context.add_cookies(
            [{"name": k, "value": v, "url": live_server.url} for k, v in cookies.items()]
        )

    return set_


@pytest.fixture
def log_in():
    """Log in through the login page, as a visitor would, and wait for the next page."""

    def log_in_(page, identifier: str, password: str) -> None:
        page.goto("/accounts/login/")
        page.locator("input[name=username]").fill(identifier)
        page.locator("input[name=password]").fill(password)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()

    return log_in_

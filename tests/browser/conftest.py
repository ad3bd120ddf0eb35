"""Headless Chromium for the browser tests: Playwright's sync API against pytest-django's `live_server`.

The browser is the system's Chromium (Debian's, or CHROMIUM_PATH); these tests never download one.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

# Playwright's sync API keeps an event loop running in the main thread for as long as the browser
# lives (the whole session), and Django refuses ORM calls while a loop runs. The tests call the ORM
# only from synchronous code, so relax the check; it has to hold for the rest of the session too.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENS_DIR = Path(__file__).resolve().parents[2] / "var" / "screens"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM_PATH).is_file():
        pytest.fail(
            f"Chromium is not at {CHROMIUM_PATH}. Install it (apt-get install chromium) or point "
            "CHROMIUM_PATH at a Chromium binary; the browser tests do not download one.",
            pytrace=False,
        )
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS)
    except PlaywrightError as error:
        playwright.stop()
        pytest.fail(f"Chromium at {CHROMIUM_PATH} did not start: {error}", pytrace=False)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(browser):
    """A fresh page (own cookies) per test. JavaScript errors on any page fail the test."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    page = context.new_page()
    js_errors = []
    page.on("pageerror", lambda error: js_errors.append(error))
    yield page
    context.close()
    assert not js_errors, f"JavaScript errors in the page: {js_errors}"


@pytest.fixture
def screenshot(page):
    """`screenshot("customer-list")` saves the whole page as var/screens/customer-list.png."""
    SCREENS_DIR.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENS_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take

"""What the browser tests share besides the `page` fixture (tests/e2e/conftest.py): the site owner logged
in through the admin's own form, and screenshots saved as test artifacts under var/screenshots/."""

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.factories import SuperuserFactory
from tests.support.paths import BASE_DIR

# The browser types it into the login form, so its owner's hash is paid for (once per test that logs in).
PASSWORD = "correct horse battery staple 42"
SCREENSHOTS = BASE_DIR / "var" / "screenshots"


def log_in(page: Page) -> None:
    SuperuserFactory(username="owner", email="owner@example.com", raw_password=PASSWORD)
    page.goto("/admin/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text("owner")


def screenshot_path(name: str) -> Path:
    """var/screenshots/<name>.png (the folder made if need be), for a screenshot of more or less than
    `screenshot` takes; docs/admin.md shows copies of these."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


def screenshot(page: Page, name: str) -> Path:
    """Save the page's content (the admin's header and sidebar left out, to keep the file small) as
    var/screenshots/<name>.png."""
    path = screenshot_path(name)
    page.locator("#content").screenshot(path=str(path))
    return path

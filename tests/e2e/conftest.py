"""Browser fixtures: a Chromium page on pytest-django's live server (Debian's Chromium, no download), a
logged-in site owner, and screenshots saved as test artifacts under var/screenshots/."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple 42"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def page(live_server, monkeypatch) -> Iterator[Page]:
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are still plain
    # synchronous code, which Django would otherwise refuse next to a running loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        context.set_default_timeout(15_000)
        yield context.new_page()
        context.close()
        browser.close()


def log_in(page: Page) -> None:
    get_user_model().objects.create_superuser("owner", "owner@example.com", PASSWORD)
    page.goto("/admin/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text("owner")


def screenshot(page: Page, name: str) -> Path:
    """Save the page's content (the admin's header and sidebar left out, to keep the file small) as
    var/screenshots/<name>.png; docs/admin.md shows copies of these."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.locator("#content").screenshot(path=str(path))
    return path

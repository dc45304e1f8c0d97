"""Browser fixtures: a Chromium page on pytest-django's live server (Debian's Chromium, no download), and
the live site against the sandbox. Logging the owner in and saving screenshots are tests.support.browser's."""

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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


@pytest.fixture
def site(settings: Any, live_server: Any, site_sandbox: Any, access_key: str) -> Any:
    """The live site against the sandbox (`site_sandbox`: its clients, the imports' too, pointed at it), its
    SITE_URL set to where it answers (the pages build their URLs from it)."""
    settings.SITE_URL = live_server.url
    return site_sandbox

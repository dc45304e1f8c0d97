"""A member in a real Chromium, against the live site and the sandbox over HTTP: logs in, is refused the
members' page (which names no tag), gains the tag in Ontraport, whose webhook the site applies, and is let
in. The guarded views are tests/accounts/tag_guards_urls.py's, beside the site's own URLs."""

from typing import Any

import pytest
import requests
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from accounts.models import Tag
from ontraport_client.sandbox.ping import build_webhook
from tests.e2e.conftest import PASSWORD
from webhooks.models import Delivery

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.urls("tests.accounts.tag_guards_urls"),
]
NOAH = 4  # a demo contact tagged Newsletter (3) only
MEMBERS = 1


def test_a_member_is_let_in_once_ontraport_tags_them(
    page: Page, live_server: Any, site_sandbox: Any, access_key: str
) -> None:
    get_user_model().objects.create_user("noah", "noah@example.net", PASSWORD, contact_id=NOAH)

    page.goto("/guarded/members/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/guarded/members/")
    page.fill("#id_username", "noah")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/guarded/members/")
    expect(page.locator("#tags-denied")).to_have_text("Your account does not include this page")
    assert "members" not in page.content().lower()  # the page names no tag

    # Ontraport: the tag is applied to the contact, and its rule pings the site.
    contact = site_sandbox.get_contact(NOAH)
    site_sandbox.add_contact({**contact, "contact_cat": f"*/*{MEMBERS}*/*3*/*"})
    webhook = build_webhook(
        f"{live_server.url}/webhooks/ontraport/",
        f"wpf_action=update_tags&access_key={access_key}&contact_id=[Contact ID]",
        "post-form",
        site_sandbox.get_contact(NOAH),
        site_sandbox.fields(),
    )
    answer = requests.request(
        webhook.method, webhook.url, data=webhook.body, headers=webhook.headers, timeout=30
    )
    assert answer.status_code == 202, answer.text
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.DONE, delivery.message
    assert Tag.objects.get(id=MEMBERS).name == "Members"  # the name read from Ontraport's tag list

    page.reload()
    expect(page.locator("#content")).to_have_text("Members' lessons")
    page.goto("/guarded/lessons/")
    expect(page.locator("#content")).to_have_text("Lessons (class)")
    page.goto("/guarded/vip/")  # a tag Noah still lacks
    expect(page.locator("#tags-denied")).to_be_visible()

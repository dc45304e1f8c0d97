"""A member in a real Chromium, against the live site and the sandbox over HTTP: logs in, is refused the
members' page (which names no tag), gains the tag in Ontraport, whose webhook the site applies, and is let
in. Ontraport tells the site either way it can: a rule's "Ping a URL" (built from the contact by the
sandbox's `ping`), or a tag subscription, whose event the sandbox itself POSTs when the tag is added. The
guarded views are tests/support/tag_guards_urls.py's, beside the site's own URLs."""

from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from accounts.models import Tag
from accounts.ontraport import ontraport_client
from accounts.services.tag_subscriptions import tag_subscriptions_create
from ontraport_client.sandbox.ping import build_webhook
from tests.support.browser import PASSWORD
from tests.support.factories import TagFactory, UserFactory
from tests.support.waiting import wait_until
from webhooks.models import Delivery
from webhooks.sender_urls import events_url_for_ontraport

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.urls("tests.support.tag_guards_urls"),
]
NOAH = 4  # a demo contact tagged Newsletter (3) only
MEMBERS = 1


def rule_pings_the_site(sandbox: Any, site_url: str, access_key: str) -> None:
    webhook = build_webhook(
        f"{site_url}/webhooks/ontraport/",
        f"wpf_action=update_tags&access_key={access_key}&contact_id=[Contact ID]",
        "post-form",
        sandbox.get_contact(NOAH),
        sandbox.fields(),
    )
    answer = requests.request(
        webhook.method, webhook.url, data=webhook.body, headers=webhook.headers, timeout=30
    )
    assert answer.status_code == 202, answer.text


@pytest.mark.parametrize("told_by", ["rule", "subscription"])
def test_a_member_is_let_in_once_ontraport_tags_them(
    page: Page, live_server: Any, site_sandbox: Any, access_key: str, settings: Any, told_by: str
) -> None:
    settings.SITE_URL = live_server.url
    # Noah types his password into the login form: his is hashed.
    UserFactory(username="noah", email="noah@example.net", raw_password=PASSWORD, contact_id=NOAH)
    if told_by == "subscription":
        members = TagFactory(id=MEMBERS, name="Members")  # the site's tag list, as the admin shows it
        url = events_url_for_ontraport(base_url=settings.SITE_URL, access_key=access_key)
        tag_subscriptions_create(tags=[members], url=url, client=ontraport_client())

    page.goto("/guarded/members/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/guarded/members/")
    page.fill("#id_username", "noah")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/guarded/members/")
    expect(page.locator("#tags-denied")).to_have_text("Your account does not include this page")
    assert "members" not in page.content().lower()  # the page names no tag

    # Ontraport: the tag is applied to the contact (the sandbox's control API, as an owner's click would).
    site_sandbox.add_contact({**site_sandbox.get_contact(NOAH), "contact_cat": f"*/*{MEMBERS}*/*3*/*"})
    if told_by == "rule":
        rule_pings_the_site(site_sandbox, live_server.url, access_key)
    else:
        site_sandbox.webhooks()  # waits until the sandbox's event has been answered
    wait_until(
        lambda: Delivery.objects.exclude(status=Delivery.Status.PENDING).exists(),
        timeout=10,
        what="the delivery",
    )
    delivery = Delivery.objects.get()
    assert (delivery.action, delivery.status) == ("update_tags", Delivery.Status.DONE), delivery.message
    assert Tag.objects.get(id=MEMBERS).name == "Members"  # named from Ontraport's tag list when unknown

    page.reload()
    expect(page.locator("#content")).to_have_text("Members' lessons")
    page.goto("/guarded/lessons/")
    expect(page.locator("#content")).to_have_text("Lessons (class)")
    page.goto("/guarded/vip/")  # a tag Noah still lacks
    expect(page.locator("#tags-denied")).to_be_visible()

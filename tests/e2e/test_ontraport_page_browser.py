"""The site owner's journeys through the admin in a real Chromium, against the sandbox over HTTP: copy a
URL from the Ontraport page and fire it; find out why a webhook failed, fix it, replay; change a field
mapping; subscribe a tag; send a test webhook. Each page is saved under var/screenshots/ (docs/admin.md)."""

import pytest
import requests
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from accounts.models import Tag
from tests.support.browser import log_in, screenshot, screenshot_path
from tests.support.factories import UserFactory
from tests.support.waiting import wait_until
from webhooks.models import Delivery

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
User = get_user_model()


def open_delivery(page: Page, contact_id: int) -> None:
    page.goto(f"/admin/webhooks/delivery/?q={contact_id}")
    page.locator("#result_list tbody tr th a").first.click()


def test_copy_a_url_from_the_ontraport_page_and_fire_it(page, site, access_key, live_server):
    log_in(page)
    page.get_by_role("link", name="Ontraport", exact=True).click()
    expect(page.locator("#connection .op-status")).to_contain_text("Connected")
    expect(page.locator("#op-endpoint")).to_contain_text("local Ontraport sandbox")
    assert access_key not in page.content()
    screenshot(page, "ontraport-page")

    page.click("#op-show-key")
    expect(page.locator(".op-url").first).to_contain_text(access_key)
    row = page.locator("#op-query-urls tr").filter(has_text="Create a user (or update the existing one)")
    row.get_by_role("button", name="Copy").click()
    expect(row.get_by_role("button")).to_have_text("Copied")
    url = page.evaluate("navigator.clipboard.readText()")
    assert url == f"{live_server.url}/?wpf_action=add&access_key={access_key}&contact_id=[Contact ID]"

    # Ontraport fills in the merge field and calls the URL.
    answer = requests.post(url.replace("[Contact ID]", "3"), timeout=30)
    assert answer.status_code == 202, answer.text
    # The header form: the URL without the key, the key in the header the page gives.
    headers = page.locator("#op-header-urls tr")
    headers.filter(has_text="Header").get_by_role("button", name="Copy").click()
    name, _, value = page.evaluate("navigator.clipboard.readText()").partition(": ")
    headers.filter(has_text="Update a user's tags and fields").get_by_role("button", name="Copy").click()
    header_url = page.evaluate("navigator.clipboard.readText()")
    assert "access_key" not in header_url
    answer = requests.post(header_url.replace("[Contact ID]", "3"), headers={name: value}, timeout=30)
    assert answer.status_code == 202, answer.text

    page.goto("/admin/webhooks/delivery/")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    delivery_row = page.locator("#result_list tbody tr").filter(has_text="created user")
    expect(delivery_row.locator(".field-status_badge")).to_have_text("Done")
    expect(delivery_row.locator(".field-message_preview")).to_contain_text("created user sofia.martinez")
    screenshot(page, "deliveries")


def test_a_failure_its_reason_the_fix_and_the_replay(page, site, access_key):
    log_in(page)
    # Break contact 5: an e-mail address with a typo.
    contact = site.get_contact(5)
    site.add_contact({**contact, "email": "amara.okafor@@example.com"})
    assert (
        requests.get(
            f"{page.url.split('/admin')[0]}/?wpf_action=add&access_key={access_key}&contact_id=5", timeout=30
        ).status_code
        == 202
    )

    open_delivery(page, 5)
    expect(page.locator("#op-delivery-status")).to_have_text("Failed")
    expect(page.locator("#op-delivery-reason")).to_contain_text("invalid_email")
    expect(page.locator("#op-delivery-advice")).to_contain_text("Correct the contact's e-mail in Ontraport")
    screenshot(page, "delivery-failed")

    # The Ontraport page lists it among the latest failures, with its reason and what to do.
    page.goto("/admin/ontraport/")
    failures = page.locator("#last-24h .op-failures")
    expect(failures).to_contain_text("invalid_email")
    expect(page.locator("#op-count-failed")).to_have_text("1")
    page.locator("#last-24h").screenshot(path=str(screenshot_path("ontraport-last-24h")))
    failures.get_by_role("link", name=f"#{Delivery.objects.get().pk}").click()

    site.add_contact(contact)  # fixed in Ontraport
    page.click("#op-replay")
    expect(page.locator(".messagelist")).to_contain_text("replayed")
    expect(page.locator("#op-delivery-status")).to_have_text("Done")
    expect(page.locator("#op-delivery-message")).to_contain_text("created user amara.okafor@example.com")
    screenshot(page, "delivery-replayed")


def test_a_field_mapping_edited_in_the_admin_applies_to_the_next_webhook(page, site, access_key):
    log_in(page)
    page.goto("/admin/accounts/fieldmapping/")
    page.get_by_role("button", name="Load fields from Ontraport").click()
    expect(page.locator(".messagelist")).to_contain_text("Loaded fields from Ontraport")
    row = page.locator("#result_list tbody tr").filter(has_text="f1535")
    row.locator("input[type=checkbox][name$=enabled]").check()
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("changed successfully")
    screenshot(page, "field-mappings")

    origin = page.url.split("/admin")[0]
    webhook = f"{origin}/?wpf_action=add&access_key={access_key}&contact_id=3"
    assert requests.get(webhook, timeout=30).status_code == 202
    user = User.objects.get(contact_id=3)
    assert "Gold" in user.profile.values()
    page.goto(f"/admin/accounts/user/{user.pk}/change/")
    expect(page.locator(".field-profile_table")).to_contain_text("Gold")


def test_subscribe_a_tag_and_see_a_users_tags_change_with_no_webhook_url(page, site, access_key):
    log_in(page)
    user = UserFactory(username="liam", email="liam.chen@example.com", contact_id=2)
    page.goto("/admin/accounts/tag/")
    page.get_by_role("button", name="Refresh tag names from Ontraport").click()
    expect(page.locator(".messagelist")).to_contain_text("Refreshed tag names")
    page.locator("#result_list tbody tr").filter(has_text="VIP").locator("input.action-select").check()
    page.select_option("select[name=action]", "subscribe_in_ontraport")
    page.locator("button[name=index]").first.click()
    expect(page.locator(".messagelist")).to_contain_text("Made 2 subscriptions in Ontraport")
    expect(page.locator("#result_list tbody tr").filter(has_text="VIP")).to_contain_text("tag added")
    screenshot(page, "tags-subscribed")

    # Someone tags Liam "VIP" in Ontraport: Ontraport (the sandbox) POSTs the event to the site.
    site.add_contact({**site.get_contact(2), "contact_cat": "*/*1*/*3*/*4*/*"})
    site.webhooks()  # the event has been answered
    wait_until(lambda: user.tags.filter(id=4).exists(), timeout=10, what="Liam's tag VIP")
    page.goto("/admin/accounts/user/?q=liam")
    expect(page.locator("#result_list tbody tr .field-tag_chips")).to_contain_text("VIP")
    screenshot(page, "users")

    page.goto("/admin/accounts/tagsubscription/")
    page.get_by_role("button", name="Refresh response codes from Ontraport").click()
    expect(page.locator("#result_list")).to_contain_text("202")
    screenshot(page, "tag-subscriptions")
    assert Tag.objects.get(id=4).subscriptions.count() == 2


def test_send_a_test_webhook_from_the_page(page, site):
    log_in(page)
    page.goto("/admin/ontraport/")
    page.fill("#op-contact", "1")
    page.select_option("#op-action", "add")
    page.get_by_role("button", name="Send a test webhook").click()
    expect(page.locator("#op-test-status")).to_contain_text("Done")
    expect(page.locator("#op-test-message")).to_contain_text("created user dana.adams@example.com")
    expect(page.locator("#op-test-user a")).to_have_text("dana.adams@example.com")
    screenshot(page, "test-webhook")
    assert Delivery.objects.get().user == User.objects.get(contact_id=1)

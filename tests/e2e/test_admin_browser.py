"""The admin in a real Chromium: a webhook creates a user from a demo contact, the site owner finds it with
its name, tags and role, sees the delivery in the log and replays it.

The site runs in pytest-django's live server (a thread of this process) against the sandbox; the inline
task backend processes each webhook before its answer, so the pages can be checked right after.
"""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.support.browser import log_in
from tests.support.factories import GroupFactory
from webhooks.models import Delivery

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_site_owner_follows_a_webhook_from_user_to_log_and_replays_it(page, site_sandbox, access_key):
    GroupFactory(name="customer")
    log_in(page)

    # Ontraport pings the site for demo contact 3 (Sofía Martínez, tags Members, Customers, VIP, Gold).
    answer = page.goto(f"/?wpf_action=add&access_key={access_key}&contact_id=3&role=customer")
    assert answer is not None
    assert answer.status == 202
    assert answer.json()["status"] == "accepted"

    # The users changelist: found by search, with the contact's name, role and tag count.
    page.goto("/admin/accounts/user/")
    page.fill("#searchbar", "martínez")
    page.press("#searchbar", "Enter")
    row = page.locator("#result_list tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".field-full_name")).to_have_text("Sofía Martínez")
    expect(row.locator(".field-contact_link")).to_have_text("3")
    expect(row.locator(".field-roles")).to_have_text("customer")
    expect(row.locator(".field-tag_chips .chip")).to_have_count(4)

    # Filtered by one of its tags it is still there; the change page names every tag.
    page.goto("/admin/accounts/user/")
    page.locator("#changelist-filter").get_by_role("link", name="VIP", exact=True).click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.locator("#result_list tbody tr th a").click()
    chosen = page.locator(".field-tags .select2-selection__choice")  # editable: sent to Ontraport
    expect(chosen).to_have_count(4)
    for name in ("Members", "Customers", "VIP", "Gold Members"):
        expect(page.locator(".field-tags")).to_contain_text(name)

    # The delivery log: the webhook is there, done, linked to the user.
    page.goto("/admin/webhooks/delivery/")
    delivery_row = page.locator("#result_list tbody tr").filter(has_text="sofia.martinez@example.org")
    expect(delivery_row).to_have_count(1)
    expect(delivery_row.locator(".field-status_badge")).to_have_text("Done")
    expect(delivery_row.locator(".field-action")).to_have_text("add")
    expect(delivery_row.locator(".field-message_preview")).to_have_text(
        "created user sofia.martinez@example.org: tags added: Customers, Gold Members, Members, VIP"
    )

    # Replay it: processed again at once, this time updating the user it created.
    site_sandbox.add_contact({**site_sandbox.get_contact(3), "lastname": "Martínez Ruiz"})
    delivery_row.locator("input.action-select").check()
    page.select_option("select[name=action]", "replay")
    page.locator("button[name=index]").first.click()  # "Run"
    expect(page.locator(".messagelist")).to_contain_text("Replayed 1 of 1 selected deliveries.")
    expect(delivery_row.locator(".field-status_badge")).to_have_text("Done")
    expect(delivery_row.locator(".field-message_preview")).to_have_text(
        "updated user sofia.martinez@example.org: Last Name"
    )
    assert get_user_model().objects.get(contact_id=3).last_name == "Martínez Ruiz"
    assert Delivery.objects.get().status == Delivery.Status.DONE

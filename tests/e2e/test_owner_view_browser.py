"""The site owner's view, in a real Chromium at 1280 px with the admin's sidebar open, against the sandbox
over HTTP: what the log says changed, the alarms (a false one gone, a real one on every page), imports that
ask first and look like imports, a user's page (its deliveries, Resync, tags edited and sent to Ontraport),
the lists' columns, the site's own name, and the small untruths put right. Pages are saved under
var/screenshots/ (docs/admin.md).
"""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import Page, expect

from accounts.models import FieldMapping, Tag
from tests.support.browser import log_in, screenshot, screenshot_path
from tests.support.factories import DeliveryFactory, GroupFactory, UserFactory
from tests.support.webhooks import deliver
from webhooks.adoption.models import Run
from webhooks.models import Delivery
from webhooks.telemetry.heartbeat import worker_heartbeat_beat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
User = get_user_model()


def sidebar_is_open(page: Page) -> None:
    expect(page.locator("#nav-sidebar")).to_be_visible()


def test_the_log_names_what_changed_and_agrees_with_the_runs(page, site, access_key, live_server):
    log_in(page)
    deliver(live_server.url, "add", 2)  # Liam Chen: Members, Newsletter
    site.add_contact({**site.get_contact(2), "lastname": "Chen-Lee", "contact_cat": "*/*1*/*4*/*"})
    deliver(live_server.url, "update", 2)
    deliver(live_server.url, "update", 2)  # nothing differs any more

    page.goto("/admin/webhooks/delivery/")
    sidebar_is_open(page)
    messages = page.locator("#result_list tbody tr .field-message_preview")
    expect(messages.nth(0)).to_have_text("no change to user liam.chen@example.com")
    expect(messages.nth(1)).to_have_text(
        "updated user liam.chen@example.com: Last Name; tags added: VIP; tags removed: Newsletter"
    )
    expect(messages.nth(2)).to_have_text(
        "created user liam.chen@example.com: tags added: Members, Newsletter"
    )
    page.screenshot(path=str(screenshot_path("log-says-what-changed")))

    # A resync of the same user finds nothing to change, and its run counts it so.
    user = User.objects.get(contact_id=2)
    page.goto(f"/admin/accounts/user/{user.pk}/change/")
    page.click("#user-resync")
    expect(page.locator(".messagelist")).to_contain_text("no change to user liam.chen@example.com")
    run = Run.objects.get(kind="resync")
    assert (run.unchanged, run.updated) == (1, 0)


def test_a_scheduled_retry_is_no_alarm_but_an_overdue_delivery_is(page, site, database_tasks):
    # The database task backend: a real queue, where deliveries wait for a worker.
    worker_heartbeat_beat(worker_id="w1")
    now = timezone.now()
    DeliveryFactory(
        contact_id=5,
        action="update",
        attempts=1,
        reason="retrying",
        message="Ontraport error: HTTP 503",
        received_at=now - datetime.timedelta(minutes=16),
        next_attempt_at=now + datetime.timedelta(minutes=4),
    )
    log_in(page)
    page.goto("/admin/ontraport/")
    expect(page.locator("#op-workers")).to_contain_text("1 running")
    expect(page.locator("#op-oldest")).to_have_text("none")
    expect(page.locator("#op-retries")).to_contain_text("1 waiting for a retry at its scheduled time")
    expect(page.locator("#last-24h")).not_to_contain_text("is the worker running")
    page.locator("#last-24h").screenshot(path=str(screenshot_path("ontraport-scheduled-retry")))

    # Due 20 minutes ago and still not taken, with the worker "running": that is worth an alarm.
    Delivery.objects.filter(contact_id=5).update(next_attempt_at=now - datetime.timedelta(minutes=20))
    page.reload()
    expect(page.locator("#op-oldest")).to_contain_text("has been due for 20 minutes")
    expect(page.locator("#op-oldest")).to_contain_text("the workers may be stuck")


def test_no_worker_is_said_on_every_admin_page_while_it_lasts(page, site, database_tasks):
    log_in(page)
    for url in ("/admin/", "/admin/webhooks/delivery/", "/admin/accounts/user/", "/admin/ontraport/"):
        page.goto(url)
        warning = page.locator("#worker-warning")
        expect(warning).to_be_visible()
        expect(warning).to_contain_text("No worker has ever run")
        assert warning.bounding_box()["y"] < 200  # at the top of the page, not 1,400 px down
    page.goto("/admin/")
    page.screenshot(path=str(screenshot_path("worker-down")))

    worker_heartbeat_beat(worker_id="w1")
    page.reload()
    expect(page.locator("#worker-warning")).to_have_count(0)


def test_an_imports_rows_say_import_and_the_import_asks_first(page, site):
    GroupFactory(name="customer")
    log_in(page)
    page.goto("/admin/accounts/tag/")
    page.get_by_role("button", name="Refresh tag names from Ontraport").click()
    page.locator("input.action-select[value='1']").check()  # tag 1, Members
    page.select_option("select[name=action]", "import_users_with_tag")
    page.locator("button[name=index]").first.click()

    # Nothing started yet: the command's options, and a dry run.
    expect(page.locator("#import-confirm")).to_contain_text(
        "Creates or links a user for every Ontraport contact"
    )
    assert not Run.objects.exists()
    page.select_option("#id_role", "customer")
    page.fill("#id_limit", "3")
    page.click("#import-dry-run")
    expect(page.locator("#import-preview")).to_contain_text("Dry run: nothing was written")
    expect(page.locator("#preview-created")).to_have_text("3")
    screenshot(page, "import-confirm")
    assert not Run.objects.exists() and not User.objects.filter(contact_id__isnull=False).exists()

    page.click("#import-start")
    expect(page.locator(".messagelist")).to_contain_text("Started in the background")
    run = Run.objects.get()
    assert run.arguments["role"] == "customer" and run.arguments["limit"] == 3
    assert User.objects.filter(contact_id__isnull=False, groups__name="customer").count() == 3

    # In the log, the import's rows are the import's, not webhooks from an unknown address.
    page.goto("/admin/webhooks/delivery/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(3)
    for n in range(3):
        expect(rows.nth(n).locator(".field-source_label")).to_have_text(f"Import #{run.pk}")
    rows.first.locator("th a").click()
    expect(page.locator("#delivery-story")).to_contain_text("written by the import itself")
    expect(page.locator("#delivery-story")).not_to_contain_text("unknown address")


def test_a_users_page_links_its_deliveries_and_resyncs_it(page, site, access_key, live_server):
    log_in(page)
    deliver(live_server.url, "add", 3)
    user = User.objects.get(contact_id=3)
    site.add_contact({**site.get_contact(3), "lastname": "Martínez Ruiz"})  # changed in Ontraport

    page.goto(f"/admin/accounts/user/{user.pk}/change/")
    expect(page.locator("#user-deliveries")).to_have_text("Deliveries (1)")
    page.click("#user-resync")
    expect(page.locator(".messagelist")).to_contain_text("Resynced from Ontraport (Resync #")
    expect(page.locator(".messagelist")).to_contain_text(f"updated user {user.username}: Last Name")
    expect(page.locator("#id_last_name")).to_have_value("Martínez Ruiz")
    page.screenshot(path=str(screenshot_path("user-resynced")))  # the message and the buttons

    page.click("#user-deliveries")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)  # the webhook and the resync's line
    expect(rows.nth(0).locator(".field-source_label")).to_contain_text("Resync #")
    expect(rows.nth(1).locator(".field-source_label")).to_have_text("Webhook")


def test_an_invalid_email_shows_the_address_and_the_test_webhook_gives_advice(page, site):
    site.add_contact({**site.get_contact(5), "email": "amara.okafor@@example.com"})
    log_in(page)
    page.goto("/admin/ontraport/")
    page.fill("#op-contact", "5")
    page.select_option("#op-action", "add")
    page.get_by_role("button", name="Send a test webhook").click()
    expect(page.locator("#op-test-status")).to_contain_text("Failed")
    expect(page.locator("#op-test-message")).to_contain_text("'amara.okafor@@example.com'")
    expect(page.locator("#op-test-advice")).to_contain_text("Correct the contact's e-mail in Ontraport")
    screenshot(page, "test-webhook-advice")


def test_tags_edited_on_a_users_page_reach_the_contact_in_ontraport(page, site, access_key, live_server):
    from ontraport_client.contact import parse_tag_ids

    log_in(page)
    deliver(live_server.url, "add", 3)
    user = User.objects.get(contact_id=3)
    page.goto(f"/admin/accounts/user/{user.pk}/change/")
    tags = page.locator(".field-tags")
    for name in ("Members", "Customers", "VIP", "Gold Members"):
        expect(tags).to_contain_text(name)
    ontraport = page.locator("fieldset").filter(has_text="Tags edited here are applied at once")
    expect(ontraport).to_contain_text("sent to the contact in Ontraport")
    tags.locator(".select2-selection__choice", has_text="VIP").locator(
        ".select2-selection__choice__remove"
    ).click()
    page.keyboard.press("Escape")  # the removal opens the list of tags; close it for the picture
    ontraport.screenshot(path=str(screenshot_path("user-tags-editable")))
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("changed successfully")
    assert set(user.tags.values_list("id", flat=True)) == {1, 2, 5}
    assert parse_tag_ids(site.get_contact(3)["contact_cat"]) == {1, 2, 5}  # sent (the inline worker)


@pytest.mark.parametrize(
    ("url", "columns"),
    [
        ("/admin/accounts/user/", ("account_name", "full_name", "contact_link", "roles", "tag_chips")),
        ("/admin/webhooks/delivery/", ("received", "source_label", "action", "status_badge", "user_link")),
    ],
)
def test_every_column_is_in_view_at_1280_px_with_the_sidebar_open(
    page, site, access_key, live_server, url, columns
):
    log_in(page)
    for contact_id in (1, 3, 5, 7):
        deliver(live_server.url, "add", contact_id)
    page.goto(url)
    assert page.viewport_size == {"width": 1280, "height": 900}
    sidebar_is_open(page)
    expect(page.locator("#changelist-filter")).to_be_visible()
    right_edge = page.locator(".results").bounding_box()
    assert right_edge is not None
    for column in (*columns, "message_preview" if "delivery" in url else "account_flags"):
        box = page.locator(f"#result_list thead th.column-{column}").bounding_box()
        assert box is not None, column
        assert box["x"] + box["width"] <= right_edge["x"] + right_edge["width"] + 1, column
    widths = page.evaluate(
        "[...document.querySelectorAll('.results')].map(r => [r.scrollWidth, r.clientWidth])"
    )
    assert widths[0][0] <= widths[0][1]  # nothing to scroll to
    # The whole window: the sidebar, the list and the filters, as the owner sees them.
    page.screenshot(path=str(screenshot_path("users-1280" if "user" in url else "deliveries-1280")))


def test_the_sites_own_name_on_the_admin_home_and_set_password_pages(page, site, settings):
    settings.FUSION_SITE_NAME = "Acme Members"
    member = UserFactory(username="newbie", email="newbie@example.com")
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Welcome to Acme Members")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.screenshot(path=str(screenshot_path("home")))

    # The welcome e-mail's link: the set-password page a new member reaches.
    uid = urlsafe_base64_encode(force_bytes(member.pk))
    page.goto(f"/accounts/reset/{uid}/{default_token_generator.make_token(member)}/")
    expect(page.locator("h1")).to_have_text("Choose your password")
    expect(page.locator("body")).not_to_contain_text("Django")
    assert "Acme Members" in page.title()
    page.fill("#id_new_password1", "a long new password 4 me")
    page.fill("#id_new_password2", "a long new password 4 me")
    page.get_by_role("button", name="Set my password").click()
    expect(page.locator("h1")).to_have_text("Your password is set")

    log_in(page)
    expect(page.locator("#site-name")).to_have_text("Acme Members administration")
    assert "Django" not in page.title()


def test_copy_without_a_clipboard_says_so_and_no_network_is_said_in_words(page, site, settings):
    # A plain-http host: no clipboard API, and the old copy command refused.
    page.add_init_script(
        "Object.defineProperty(navigator, 'clipboard', {value: undefined});"
        "document.execCommand = () => false;"
    )
    log_in(page)
    page.goto("/admin/ontraport/")
    row = page.locator("#op-query-urls tr").filter(has_text="Create a user (or update the existing one)")
    row.get_by_role("button", name="Copy").click()
    expect(row.get_by_role("button")).to_have_text("Selected: press Ctrl+C")
    selected = page.evaluate("window.getSelection().toString()")
    assert selected.startswith(f"{settings.SITE_URL}/?wpf_action=add&access_key=")

    settings.ONTRAPORT_API_URL = "http://127.0.0.1:9/1/"  # nothing listens there
    page.reload()
    status = page.locator("#connection .op-status")
    expect(status).to_contain_text("No network")
    expect(status).to_contain_text("127.0.0.1 refused the connection on port 9 (nothing listens there)")
    expect(status).not_to_contain_text("HTTPConnectionPool")
    page.locator("#connection").screenshot(path=str(screenshot_path("ontraport-no-network")))


def test_loaded_fields_read_as_their_labels_and_username_is_mapped(page, site, access_key, live_server):
    log_in(page)
    page.goto("/admin/accounts/fieldmapping/")
    page.get_by_role("button", name="Load fields from Ontraport").click()
    expect(page.locator(".messagelist")).to_contain_text("Loaded fields from Ontraport")
    level = page.locator("#result_list tbody tr").filter(has_text="f1535")
    expect(level.locator(".field-attribute")).to_have_text("membership_level")
    username = page.locator("#result_list tbody tr").filter(has_text="f1534")
    expect(username.locator(".field-target")).to_have_text("User attribute")
    expect(username.locator(".field-attribute")).to_have_text("username")
    level.locator("input[type=checkbox][name$=enabled]").check()
    username.locator("input[type=checkbox][name$=enabled]").check()
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("changed successfully")
    screenshot(page, "field-mappings-labels")

    deliver(live_server.url, "add", 3)
    user = User.objects.get(contact_id=3)
    assert user.username == "sofia.m"  # Ontraport's Username field, with no re-mapping by hand
    page.goto(f"/admin/accounts/user/{user.pk}/change/")
    expect(page.locator(".field-profile_table")).to_contain_text("Membership Level")
    expect(page.locator(".field-profile_table")).to_contain_text("Gold")
    expect(page.locator(".field-profile_table")).not_to_contain_text("f1535")
    assert FieldMapping.objects.get(ontraport_field="f1535").attribute in user.profile


def test_a_tags_user_count_links_to_its_users_and_add_tag_says_what_it_does(
    page, site, access_key, live_server
):
    log_in(page)
    for contact_id in (1, 3, 5):  # Members: all three; VIP: Sofía only
        deliver(live_server.url, "add", contact_id)
    page.goto("/admin/accounts/tag/")
    expect(page.locator("#tags-help")).to_contain_text("does not create one in Ontraport")
    vip = page.locator("#result_list tbody tr").filter(has_text="VIP")
    vip.locator(".field-user_count a").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("sofia.martinez@example.org")

    page.goto("/admin/accounts/tag/add/")
    expect(page.locator("#content")).to_contain_text("it does not create the tag in Ontraport")
    screenshot(page, "tag-add")
    assert Tag.objects.get(id=4).name == "VIP"

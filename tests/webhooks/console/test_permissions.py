"""Permissions like the admin's own: whatever creates or changes users takes the user permissions the admin's
user pages take; a delivery's outcome is shown only to those who may view deliveries; the staff flag alone
grants nothing. And every test webhook, replay, import, resync, subscription and link records who did it
(on its row, and in the admin's history)."""

import pytest
from django.contrib.auth import get_user_model

from tests.support.admin_clients import ADD_CHANGE, history_of, messages_of, staff_client
from tests.support.factories import DeliveryFactory, UserFactory
from tests.support.waiting import wait_until
from webhooks.models import Delivery, DeliveryAttempt

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()
PAGE = "/admin/ontraport/"
LOG = "/admin/webhooks/delivery/"


def test_a_staff_user_without_permissions_sends_no_test_webhook(site_sandbox, settings, live_server):
    settings.SITE_URL = live_server.url
    kate = UserFactory(username="kate", email="dana.adams@example.com")  # contact 1's e-mail
    nobody = staff_client(username="nobody")

    page = nobody.get(PAGE)
    for action in ("add", "update", "update_tags"):
        answer = nobody.post(f"{PAGE}test-webhook/", {"contact_id": "1", "action": action})
        assert answer.status_code == 403

    html = page.content.decode()
    assert page.status_code == 200 and 'action="/admin/ontraport/test-webhook/"' not in html
    assert 'id="op-test-not-allowed"' in html
    assert not Delivery.objects.exists()
    kate.refresh_from_db()
    assert (kate.contact_id, kate.first_name) == (None, "")  # not linked, not renamed
    assert site_sandbox.stats()["by_endpoint"].get("GET /Contacts", 0) == 0


def test_change_only_sends_update_but_not_add(site_sandbox, settings, live_server):
    settings.SITE_URL = live_server.url
    changer = staff_client("accounts.change_user", username="changer")

    assert [o for o in changer.get(PAGE).context["test_actions"]] == ["update", "update_tags"]
    assert changer.post(f"{PAGE}test-webhook/", {"contact_id": "1", "action": "add"}).status_code == 403
    assert not User.objects.filter(contact_id=1).exists()
    sent = changer.post(f"{PAGE}test-webhook/", {"contact_id": "1", "action": "update"})
    assert sent.status_code == 302
    assert Delivery.objects.get().started_by.username == "changer"


def test_add_and_change_send_add_recorded_but_the_outcome_needs_the_log(site_sandbox, settings, live_server):
    settings.SITE_URL = live_server.url
    sender = staff_client(*ADD_CHANGE, username="sender")

    response = sender.post(f"{PAGE}test-webhook/", {"contact_id": "1", "action": "add"})

    delivery = Delivery.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{PAGE}#test-webhook"
    assert messages_of(sender.get(PAGE)) == [f"Test webhook sent: stored as delivery #{delivery.pk}."]
    assert delivery.started_by.username == "sender"
    assert history_of(delivery) == [("sender", 'Sent with "Send a test webhook" (add)')]
    # Its outcome (and any other delivery's) is the deliveries log's, which this user may not read.
    assert sender.get(f"{PAGE}test-webhook/{delivery.pk}/").status_code == 403
    assert sender.get(f"{LOG}{delivery.pk}/change/").status_code == 403


def test_with_the_log_the_sender_follows_it_and_sees_who_sent_it(site_sandbox, settings, live_server):
    settings.SITE_URL = live_server.url
    sender = staff_client(*ADD_CHANGE, "webhooks.view_delivery", username="sender")

    response = sender.post(f"{PAGE}test-webhook/", {"contact_id": "1", "action": "add"})

    delivery = Delivery.objects.get()
    assert response["Location"] == f"{PAGE}test-webhook/{delivery.pk}/"
    wait_until(
        lambda: not sender.get(response["Location"]).context["waiting"], timeout=10, what="the outcome"
    )
    story = sender.get(f"{LOG}{delivery.pk}/change/").content.decode()
    assert 'id="op-started-by">sender, with the Ontraport page' in story


def test_the_latest_failures_only_for_those_who_may_view_deliveries(site_sandbox):
    DeliveryFactory(
        failed=True,
        action="update",
        contact_id=7,
        reason="email_conflict",
        message="e-mail secret.person@example.com belongs to another contact's user",
    )
    nobody = staff_client(username="nobody")
    reader = staff_client("webhooks.view_delivery", username="reader")

    hidden, shown = nobody.get(PAGE).content.decode(), reader.get(PAGE).content.decode()

    assert "secret.person@example.com" not in hidden and 'id="op-failures-hidden"' in hidden
    assert "secret.person@example.com" in shown


def test_replay_needs_the_user_permissions_too_and_records_who(site_sandbox, webhook):
    webhook("update", 424242)  # no such contact: failed, not_found
    delivery = Delivery.objects.get()
    log_only = staff_client("webhooks.view_delivery", "webhooks.change_delivery", username="logonly")
    full = staff_client("webhooks.view_delivery", "webhooks.change_delivery", *ADD_CHANGE, username="alice")

    assert log_only.post(f"{LOG}{delivery.pk}/replay/").status_code == 403
    log_only.post(LOG, {"action": "replay", "_selected_action": [str(delivery.pk)]})
    assert DeliveryAttempt.objects.filter(kind="replay").count() == 0

    full.post(f"{LOG}{delivery.pk}/replay/")

    [replay] = DeliveryAttempt.objects.filter(kind="replay")
    assert (replay.by.username, replay.message) == ("alice", "replayed by alice")
    assert history_of(delivery) == [("alice", "Replayed (manual)")]


def test_replay_page_summary_is_true(site_sandbox, webhook):
    """Once: "Done after 1 attempt" above a list of two attempts. The summary counts since the replay,
    says who replayed it by hand, and the attempts in all."""
    webhook("add", 9001)  # not in Ontraport yet: failed, not_found
    site_sandbox.add_contact({"id": "9001", "firstname": "Nina", "email": "nina@example.com"})
    delivery = Delivery.objects.get()
    alice = staff_client("webhooks.view_delivery", "webhooks.change_delivery", *ADD_CHANGE, username="alice")
    alice.post(f"{LOG}{delivery.pk}/replay/")

    delivery.refresh_from_db()
    html = alice.get(f"{LOG}{delivery.pk}/change/").content.decode()
    summary = html[html.index('id="op-attempts-summary"') :]
    summary = " ".join(summary[: summary.index("</span>")].split())
    assert delivery.status == "done" and delivery.attempts == 1
    assert "after 1 attempt since alice replayed it by hand" in summary
    assert "2 attempts in all" in summary
    log = html[html.index('id="op-attempts"') :]
    log = log[: log.index("</table>")]
    assert log.count("<tr") == 4  # a header, the first attempt, the manual replay, the second attempt
    assert log.index(">1<") < log.index("manual replay") < log.rindex(">1<")


def test_a_replay_from_the_command_names_the_command(site_sandbox, webhook):
    from io import StringIO

    from django.core.management import call_command

    webhook("add", 9001)  # not in Ontraport: failed
    delivery = Delivery.objects.get()
    reader = staff_client("webhooks.view_delivery", username="reader")

    call_command("deliveries_replay", "--id", str(delivery.pk), stdout=StringIO())

    html = reader.get(f"{LOG}{delivery.pk}/change/").content.decode()
    assert "since manage.py deliveries_replay replayed it by hand" in " ".join(html.split())

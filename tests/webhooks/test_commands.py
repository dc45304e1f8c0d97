"""The webhooks management commands: webhook_urls, deliveries_replay, deliveries_process, deliveries_prune."""

import datetime
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.support.factories import DeliveryFactory
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def days_ago(days: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


# --- webhook_urls ----------------------------------------------------------------------------------------


def test_webhook_urls_prints_the_seed_urls_with_the_key(access_key):
    text = run("webhook_urls", "--base-url", "https://mydomain.com/")

    urls = re.findall(r"^  (.+)$", text, flags=re.MULTILINE)
    assert urls == [
        f"https://mydomain.com/?wpf_action=update_tags&access_key={access_key}&contact_id=[Contact ID]",
        f"https://mydomain.com/?wpf_action=update&access_key={access_key}&contact_id=[Contact ID]",
        f"https://mydomain.com/?wpf_action=add&access_key={access_key}&contact_id=[Contact ID]",
        f"https://mydomain.com/?wpf_action=add&access_key={access_key}&contact_id=[Contact ID]"
        "&send_notification=true&role=customer",
        f"https://mydomain.com/?wpf_action=test&access_key={access_key}",
    ]


def test_webhook_urls_default_to_site_url_and_work_as_printed(access_key, settings, site_sandbox, client):
    settings.SITE_URL = "https://members.example.com"
    urls = re.findall(r"^  (.+)$", run("webhook_urls"), flags=re.MULTILINE)
    assert all(url.startswith("https://members.example.com/?wpf_action=") for url in urls)

    def send(url: str):
        # What Ontraport does with it: fill in the merge field and request it.
        return client.get(url.removeprefix("https://members.example.com").replace("[Contact ID]", "2"))

    assert send(urls[-1]).json() == {"success": True}
    assert send(urls[2]).status_code == 202
    assert User.objects.filter(contact_id=2).exists()


def test_webhook_urls_refuses_a_base_url_without_a_scheme(access_key):
    with pytest.raises(CommandError, match="must start with http"):
        run("webhook_urls", "--base-url", "mydomain.com")


# --- deliveries_replay -----------------------------------------------------------------------------------


def test_replay_failed_reprocesses_them(site_sandbox, webhook):
    webhook("add", 701)  # no such contact yet: failed
    webhook("add", 1)  # done
    site_sandbox.add_contact({"id": "701", "email": "new@example.com", "firstname": "New"})

    assert run("deliveries_replay", "--failed") == "replayed 1 of 1 selected deliveries\n"

    replayed = Delivery.objects.get(contact_id=701)
    assert (replayed.status, replayed.user.email) == ("done", "new@example.com")


def test_replay_selectors_combine(monkeypatch):
    # Only the selection matters here.
    monkeypatch.setattr("webhooks.tasks.wake_worker", lambda: None)
    a = DeliveryFactory(failed=True, contact_id=5, received_at=days_ago(10))
    b = DeliveryFactory(done=True, contact_id=5, received_at=days_ago(1))
    c = DeliveryFactory(done=True, contact_id=6, received_at=days_ago(1))
    test_ping = DeliveryFactory(action="test", contact_id=None, done=True, received_at=days_ago(1))

    since = days_ago(2).date().isoformat()
    assert run("deliveries_replay", "--contact", "5", "--dry-run") == (
        "would replay 2 of 2 selected deliveries (dry run)\n"
    )
    assert not Delivery.objects.filter(status="pending").exists()

    assert (
        run("deliveries_replay", "--since", since, "--contact", "5")
        == "replayed 1 of 1 selected deliveries\n"
    )
    assert set(Delivery.objects.filter(status="pending").values_list("pk", flat=True)) == {b.pk}

    text = run("deliveries_replay", "--id", str(a.pk), str(c.pk), str(test_ping.pk))
    assert text.startswith("replayed 2 of 3 selected deliveries\nskipped 1:")
    assert set(Delivery.objects.filter(status="pending").values_list("pk", flat=True)) == {a.pk, b.pk, c.pk}


def test_replay_since_accepts_a_datetime_with_offset(monkeypatch):
    monkeypatch.setattr("webhooks.tasks.wake_worker", lambda: None)
    DeliveryFactory(done=True, received_at=datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC))

    assert run("deliveries_replay", "--since", "2024-05-01T13:30:00+02:00", "--dry-run").startswith(
        "would replay 1 of 1"
    )
    assert run("deliveries_replay", "--since", "2024-05-01T12:00:01Z", "--dry-run").startswith(
        "would replay 0 of 0"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "say which deliveries"),
        (("--since", "last tuesday"), "not an ISO date"),
        (("--since", "2024-13-45"), "not an ISO date"),
    ],
)
def test_replay_refuses_unclear_selections(args, message):
    DeliveryFactory(failed=True)
    with pytest.raises(CommandError, match=message):
        run("deliveries_replay", *args)
    assert Delivery.objects.get().status == "failed"


# --- deliveries_process ----------------------------------------------------------------------------------


def test_process_drains_ready_deliveries_inline(site_sandbox):
    DeliveryFactory(action="add", contact_id=1)
    DeliveryFactory(action="update_tags", contact_id=1)
    DeliveryFactory(action="add", contact_id=999)  # no such contact
    waiting = DeliveryFactory(
        action="add", contact_id=2, next_attempt_at=timezone.now() + datetime.timedelta(hours=1)
    )

    text = run("deliveries_process")

    expected = (
        "claimed: 3, done: 2, failed: 1, retrying: 0, outbox_sent: 0, outbox_failed: 0, "
        "passwords_returned: 0, welcome_emails_sent: 0, email_change_notices_sent: 0\n"
    )
    assert text == expected
    assert User.objects.filter(contact_id=1).count() == 1
    waiting.refresh_from_db()
    assert waiting.status == "pending"
    assert run("deliveries_process").startswith("claimed: 0, done: 0")


# --- deliveries_prune ------------------------------------------------------------------------------------


def test_prune_deletes_finished_deliveries_older_than_the_cutoff():
    old_finished = [
        DeliveryFactory(status=status, received_at=days_ago(91)).pk
        for status in ("done", "failed", "rejected")
    ]
    kept = {
        DeliveryFactory(done=True, received_at=days_ago(89)).pk,
        DeliveryFactory(received_at=days_ago(400)).pk,  # work still to do, however old
        DeliveryFactory(processing=True, received_at=days_ago(400)).pk,
    }

    assert (
        run("deliveries_prune", "--dry-run")
        == "would delete 3 finished deliveries older than 90 days (dry run)\n"
    )
    assert Delivery.objects.count() == 6

    assert run("deliveries_prune") == "deleted 3 finished deliveries older than 90 days\n"
    assert set(Delivery.objects.values_list("pk", flat=True)) == kept
    assert not Delivery.objects.filter(pk__in=old_finished).exists()


def test_prune_days_option_and_batches(monkeypatch):
    monkeypatch.setattr("webhooks.services.retention.DELETE_BATCH", 2)
    for _ in range(5):
        DeliveryFactory(done=True, received_at=days_ago(8))
    recent = DeliveryFactory(done=True, received_at=days_ago(6))

    assert run("deliveries_prune", "--days", "7") == "deleted 5 finished deliveries older than 7 days\n"
    assert list(Delivery.objects.values_list("pk", flat=True)) == [recent.pk]
    with pytest.raises(CommandError, match="--days must be 0 or more"):
        run("deliveries_prune", "--days", "-1")

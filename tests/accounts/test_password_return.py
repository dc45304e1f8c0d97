"""Return Password never hurts the user it is owed to: a password the user chose is kept through any number
of failed writes, retries back off and stop, two workers never both generate one, and the webhook our own
write may cause changes nothing."""

import datetime
import threading

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.db import connection
from django.utils import timezone

from accounts.services.password_return import password_is_generated, password_return_retry_due
from tests.support.factories import FieldMappingFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()
FIELD = "f1536"
# Built at run time so no source line quoted in a report matches it.
OWN_PASSWORD = "-".join(["My", "Own", "Choice", "2468"])


@pytest.fixture
def returning(site_sandbox, settings):
    settings.FUSION_RETURN_PASSWORD_FIELD = FIELD
    return site_sandbox


def created_with_failing_write(sandbox, webhook, contact_id: int):
    """A user whose first Return Password write failed (the contact fetch succeeds, the PUT fails)."""
    sandbox.add_contact({**sandbox.get_contact(contact_id), FIELD: ""})
    sandbox.fault(status=500, count=1, endpoint="PUT /Contacts")
    assert webhook("add", contact_id).status_code == 202
    user = User.objects.get(contact_id=contact_id)
    assert user.password_return_due_at is not None and "failed" in user.password_return_note
    return user


def make_due(user) -> None:
    User.objects.filter(pk=user.pk).update(password_return_due_at=timezone.now())


def put_calls(sandbox) -> int:
    return sandbox.stats()["by_endpoint"].get("PUT /Contacts", 0)


def test_a_user_who_set_their_own_password_keeps_it_through_any_number_of_failed_writes(
    returning, webhook, caplog
):
    user = created_with_failing_write(returning, webhook, 9)
    user.set_password(OWN_PASSWORD)  # through the welcome link: a full-strength hash
    user.save()
    returning.fault(status=500, count=50, endpoint="PUT /Contacts")
    writes_before = put_calls(returning)
    for _ in range(5):
        make_due(user)
        assert password_return_retry_due() == 0
    user.refresh_from_db()
    assert authenticate(username=user.username, password=OWN_PASSWORD) == user
    assert user.password_return_due_at is None  # abandoned: never retried again
    assert "set a password of their own" in user.password_return_note
    assert put_calls(returning) == writes_before  # not even a write was tried
    assert f"return password for user {user.pk} abandoned" in caplog.text


def test_a_user_who_has_logged_in_is_not_given_a_new_password(returning, webhook, client):
    user = created_with_failing_write(returning, webhook, 9)
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    old_hash = user.password
    make_due(user)
    assert password_return_retry_due() == 0
    user.refresh_from_db()
    assert user.password == old_hash and user.password_return_due_at is None
    assert "logged in" in user.password_return_note


def test_retries_back_off_and_stop_after_the_maximum_attempts(returning, webhook, settings):
    settings.FUSION_MAX_ATTEMPTS = 4
    user = created_with_failing_write(returning, webhook, 9)  # attempt 1
    returning.fault(status=500, count=50, endpoint="PUT /Contacts")
    delays = []
    for attempt in (2, 3, 4):
        make_due(user)
        before = timezone.now()
        assert password_return_retry_due() == 0
        user.refresh_from_db()
        assert user.password_return_attempts == attempt
        assert password_is_generated(user)
        delays.append(user.password_return_due_at - before)
    assert delays[0] < delays[1] < delays[2]  # doubling from the first delay
    assert delays[0] >= datetime.timedelta(seconds=110)
    make_due(user)
    assert password_return_retry_due() == 0
    user.refresh_from_db()
    assert user.password_return_due_at is None
    assert "gave up after 4 failed writes" in user.password_return_note
    assert user.password_return_attempts == 4


def test_a_successful_retry_returns_a_password_that_logs_in_and_clears_the_note(returning, webhook):
    user = created_with_failing_write(returning, webhook, 9)
    make_due(user)
    assert password_return_retry_due() == 1
    user.refresh_from_db()
    returned = returning.get_contact(9)[FIELD]
    assert authenticate(username=user.username, password=returned) == user
    assert (user.password_return_due_at, user.password_return_note) == (None, "")


def test_a_sweep_does_not_take_over_a_return_the_creator_is_still_writing(returning, webhook):
    user = created_with_failing_write(returning, webhook, 9)
    # The creator's hold: the first write's due time is one lease away, not due to a sweep yet.
    User.objects.filter(pk=user.pk).update(
        password_return_due_at=timezone.now() + datetime.timedelta(seconds=300)
    )
    writes_before = put_calls(returning)
    assert password_return_retry_due() == 0
    assert put_calls(returning) == writes_before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two sweeps at once need a concurrent database")
def test_two_sweeps_at_once_generate_one_password_per_user(returning, webhook):
    users = [created_with_failing_write(returning, webhook, n) for n in (1, 2, 3, 8, 9)]
    User.objects.filter(pk__in=[u.pk for u in users]).update(password_return_due_at=timezone.now())
    writes_before = put_calls(returning)
    start = threading.Barrier(2)
    written: list[int] = []

    def sweep() -> None:
        from django.db import connection as thread_connection

        try:
            start.wait(timeout=10)
            written.append(password_return_retry_due())
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(written) == len(users)
    assert put_calls(returning) - writes_before == len(users)  # one password generated and written each
    for user in users:
        returned = returning.get_contact(user.contact_id)[FIELD]
        assert authenticate(username=user.username, password=returned) == user


def test_a_webhook_caused_by_our_own_write_changes_nothing(returning, webhook):
    # Even a mapping that sends the return field back to the user's password is ignored on an update.
    FieldMappingFactory(ontraport_field=FIELD, target="user", attribute="password")
    returning.add_contact({**returning.get_contact(9), FIELD: ""})
    assert webhook("add", 9).status_code == 202
    user = User.objects.get(contact_id=9)
    returned = returning.get_contact(9)[FIELD]
    assert returned and user.password_return_due_at is None
    writes_before, hash_before = put_calls(returning), user.password

    assert webhook("update", 9).status_code == 202  # what an Ontraport rule on the field would send
    user.refresh_from_db()
    assert user.password == hash_before
    assert put_calls(returning) == writes_before  # no write back: no loop
    assert returning.get_contact(9)[FIELD] == returned
    assert authenticate(username=user.username, password=returned) == user

"""Conflicts between the two directions have one rule (docs/sync.md): the later change wins, in the order
Ontraport sees them. A site change takes effect in Ontraport when it is sent, so a contact read from
Ontraport before that is applied with the site's unsent changes over it; once sent, Ontraport's state is
the truth. Each race is played out with the real sandbox, on SQLite and PostgreSQL (`make test`)."""

import pytest

from accounts.models import OutboxChange, User
from accounts.ontraport import ontraport_client
from accounts.services.contacts_apply import ContactRequest, SyncAction, users_sync_from_contacts
from accounts.services.outbox import contact_push, user_tags_apply, user_tags_remove
from accounts.services.outbox_send import outbox_send
from accounts.signals import tags_applied, tags_removed
from tests.support.factories import TagFactory, UserFactory

pytestmark = pytest.mark.django_db
UPDATE = ContactRequest(action=SyncAction.UPDATE)


@pytest.fixture
def signals():
    seen: list[tuple[str, frozenset[int]]] = []
    tags_applied.connect(lambda sender, user, tag_ids, **kw: seen.append(("applied", tag_ids)), weak=False,
                         dispatch_uid="conflicts-applied")  # fmt: skip
    tags_removed.connect(lambda sender, user, tag_ids, **kw: seen.append(("removed", tag_ids)), weak=False,
                         dispatch_uid="conflicts-removed")  # fmt: skip
    yield seen
    tags_applied.disconnect(dispatch_uid="conflicts-applied")
    tags_removed.disconnect(dispatch_uid="conflicts-removed")


@pytest.fixture
def dana(site_sandbox):
    for tag in ontraport_client().list_tags():
        TagFactory(id=tag.id, name=tag.name)
    # Tags 1 and 2, as contact 1 has them.
    return UserFactory(
        username="dana", email="dana.adams@example.com", contact_id=1, first_name="Dana", tags=[1, 2]
    )


def webhook_applied(contacts):
    """What the worker does with a webhook for contact 1: its fetched state handed to the one service."""
    return users_sync_from_contacts(requests={1: UPDATE}, contacts=contacts)[1]


def tags_of(user):
    return set(user.tags.values_list("id", flat=True))


def contact_tags():
    return ontraport_client().get_contacts([1])[1].tag_ids


def send():
    return outbox_send(client=ontraport_client(), worker_id="test")


def test_a_tag_removed_in_ontraport_while_the_sites_apply_waits_ends_applied(dana, site_sandbox, signals):
    client = ontraport_client()
    client.add_tags([1], [4])  # Ontraport tags the contact; the site has not heard yet
    user_tags_apply(user=dana, tags=[4])  # the site applies it too: waiting in the outbox
    client.remove_tags([1], [4])  # then Ontraport removes it, and a webhook says the contact changed

    outcome = webhook_applied(client.get_contacts([1]))

    # The site's apply is not in Ontraport yet, so it is the later change: kept, not undone and redone.
    assert tags_of(dana) == {1, 2, 4}
    assert "waiting to be sent to Ontraport were kept" in outcome.message
    assert signals == [("applied", frozenset({4}))]
    assert send().sent == 1
    assert contact_tags() == {1, 2, 4}  # sent after the removal: Ontraport ends with it, as the site does
    webhook_applied(client.get_contacts([1]))  # the echo
    assert tags_of(dana) == {1, 2, 4} and signals == [("applied", frozenset({4}))]


def test_an_admin_edit_committed_while_a_webhooks_contact_was_fetched_is_kept(dana, site_sandbox, signals):
    stale = ontraport_client().get_contacts([1])  # the worker fetched the contact ...
    user_tags_apply(user=dana, tags=[4])  # ... the admin's edit commits ...
    user_tags_remove(user=dana, tags=[2])
    User.objects.filter(pk=dana.pk).update(first_name="Danielle")  # a profile edit, pushed
    dana.refresh_from_db()
    contact_push(user=dana)

    webhook_applied(stale)  # ... and the worker applies what it fetched

    dana.refresh_from_db()
    assert tags_of(dana) == {1, 4} and dana.first_name == "Danielle"
    assert signals == [("applied", frozenset({4})), ("removed", frozenset({2}))]  # the admin's, once each
    send()
    assert contact_tags() == {1, 4}
    assert site_sandbox.get_contact(1)["firstname"] == "Danielle"
    webhook_applied(ontraport_client().get_contacts([1]))
    dana.refresh_from_db()
    assert tags_of(dana) == {1, 4} and dana.first_name == "Danielle" and len(signals) == 2


def test_a_webhook_applied_before_an_admin_edit_is_followed_by_the_edit(dana, site_sandbox, signals):
    ontraport_client().add_tags([1], [7])  # Ontraport tags the contact ...
    webhook_applied(ontraport_client().get_contacts([1]))  # ... the site applies the webhook first ...
    user_tags_remove(user=dana, tags=[7])  # ... then the admin removes the tag: the later change

    assert send().sent == 1
    assert contact_tags() == {1, 2} and tags_of(dana) == {1, 2}
    assert signals == [("applied", frozenset({7})), ("removed", frozenset({7}))]


def test_once_sent_ontraport_is_the_truth_again(dana, site_sandbox, signals):
    user_tags_apply(user=dana, tags=[4])
    send()
    ontraport_client().remove_tags([1], [4])  # removed in Ontraport after the site's change reached it

    webhook_applied(ontraport_client().get_contacts([1]))

    assert tags_of(dana) == {1, 2}
    assert signals == [("applied", frozenset({4})), ("removed", frozenset({4}))]
    assert not OutboxChange.objects.exclude(status="sent").exists()  # nothing sent back: no loop

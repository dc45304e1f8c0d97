"""The way out: the service API records the site's changes in the outbox and the worker sends them to the
sandbox, batched, with outcomes in words (accounts.services.outbox, outbox_send)."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import OutboxChange, Tag
from accounts.ontraport import ontraport_client
from accounts.services.outbox import contact_push, user_contact_create, user_tags_apply, user_tags_remove
from accounts.services.outbox_send import outbox_replay, outbox_send
from accounts.signals import tags_applied, tags_removed
from ontraport_client.contact import parse_tag_ids
from tests.support.factories import StaffFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signals():
    seen: list[tuple[str, int, frozenset[int]]] = []

    def applied(sender, user, tag_ids, **kwargs):
        seen.append(("applied", user.pk, tag_ids))

    def removed(sender, user, tag_ids, **kwargs):
        seen.append(("removed", user.pk, tag_ids))

    tags_applied.connect(applied, dispatch_uid="test-outbox-applied")
    tags_removed.connect(removed, dispatch_uid="test-outbox-removed")
    yield seen
    tags_applied.disconnect(dispatch_uid="test-outbox-applied")
    tags_removed.disconnect(dispatch_uid="test-outbox-removed")


def contact_tags(sandbox, contact_id):
    return parse_tag_ids(sandbox.get_contact(contact_id)["contact_cat"])


def send():
    return outbox_send(client=ontraport_client(), worker_id="test-worker")


def send_all():
    """Send batches (50 users each) until none is ready: (changes sent, calls made)."""
    sent = calls = 0
    while (report := send()).claimed:
        sent, calls = sent + report.sent, calls + report.calls
    return sent, calls


def test_tags_applied_by_name_and_id_reach_the_contact_and_signal_once(site_sandbox, signals):
    TagFactory(id=4, name="VIP")
    dana = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1)

    applied = user_tags_apply(user=dana, tags=["VIP", 7, "Members"])

    # Applied on the site at once (Members is a name the site did not know: found in Ontraport, once).
    assert applied == {1, 4, 7}
    assert set(dana.tags.values_list("id", flat=True)) == {1, 4, 7}
    assert Tag.objects.get(id=1).name == "Members"
    assert signals == [("applied", dana.pk, frozenset({1, 4, 7}))]
    change = OutboxChange.objects.get()
    assert (change.status, change.tags_added) == ("pending", [1, 4, 7])
    assert contact_tags(site_sandbox, 1) == {1, 2}  # not sent before the worker sends it

    report = send()

    assert (report.sent, report.failed) == (1, 0)
    assert contact_tags(site_sandbox, 1) == {1, 2, 4, 7}
    change.refresh_from_db()
    assert change.status == "sent" and change.contact_id == 1
    assert "added tags 1, 4, 7" in change.message
    assert signals == [("applied", dana.pk, frozenset({1, 4, 7}))]


def test_an_unknown_tag_name_is_made_in_ontraport_once(site_sandbox):
    dana = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1)
    liam = UserFactory(username="liam", email="liam.chen@example.com", contact_id=2)

    user_tags_apply(user=dana, tags=["Early Birds"])
    user_tags_apply(user=liam, tags=["Early Birds"])
    send()

    made = [tag for tag in ontraport_client().list_tags() if tag.name == "Early Birds"]
    assert len(made) == 1
    assert made[0].id in contact_tags(site_sandbox, 1) and made[0].id in contact_tags(site_sandbox, 2)
    assert site_sandbox.stats()["by_endpoint"].get("POST /Tags") == 1


def test_many_users_gaining_one_tag_cost_one_call_per_50_contacts(site_sandbox):
    ids = site_sandbox.add_contacts([{"email": f"m{n}@example.com"} for n in range(120)])
    users = [UserFactory(username=f"m{n}", contact_id=cid) for n, cid in enumerate(ids)]
    TagFactory(id=3, name="Newsletter")
    for user in users:
        user_tags_apply(user=user, tags=[3])
    before = site_sandbox.stats()["by_endpoint"].get("PUT /objects/tag", 0)

    sent, calls = send_all()

    assert (sent, calls) == (120, 3)  # ceil(120 / 50)
    assert site_sandbox.stats()["by_endpoint"]["PUT /objects/tag"] - before == 3
    assert all(3 in contact_tags(site_sandbox, cid) for cid in ids)


def test_changes_to_one_contact_merge_into_its_net_change(site_sandbox, signals):
    TagFactory(id=4, name="VIP")
    TagFactory(id=7, name="Webinar Attendees")
    dana = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1)
    dana.tags.add(TagFactory(id=1, name="Members"))
    user_tags_apply(user=dana, tags=[4])
    user_tags_apply(user=dana, tags=[7])
    user_tags_remove(user=dana, tags=[1])
    user_tags_apply(user=dana, tags=[1])  # put back: the later change wins, nothing to remove

    report = send()

    assert report.sent == 4 and report.calls == 1  # one PUT adding 1, 4 and 7, no DELETE
    assert contact_tags(site_sandbox, 1) == {1, 2, 4, 7}
    assert OutboxChange.objects.filter(status="sent").count() == 4


def test_removing_a_tag_the_user_lacks_changes_and_sends_nothing(site_sandbox, signals):
    dana = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1)
    assert user_tags_remove(user=dana, tags=["Nobody Has This"]) == frozenset()
    assert not OutboxChange.objects.exists() and signals == []
    assert not Tag.objects.filter(name="Nobody Has This").exists()


def test_a_transient_failure_backs_off_then_sends(site_sandbox):
    TagFactory(id=4, name="VIP")
    dana = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1)
    user_tags_apply(user=dana, tags=[4])
    site_sandbox.fault(status=503, endpoint="PUT /objects/tag")

    report = send()

    change = OutboxChange.objects.get()
    assert report.retrying == 1 and change.status == "pending" and change.attempts == 1
    assert "retrying" in change.message and "503" in change.message
    assert change.next_attempt_at > change.created_at
    assert 4 not in contact_tags(site_sandbox, 1)
    OutboxChange.objects.update(next_attempt_at=change.created_at)  # due now

    assert send().sent == 1
    assert 4 in contact_tags(site_sandbox, 1)


def test_a_user_without_a_contact_fails_with_the_reason_and_can_be_replayed(site_sandbox, settings):
    settings.FUSION_PUSH_NEW_USERS = False
    TagFactory(id=4, name="VIP")
    zoe = UserFactory(username="zoe", email="zoe@example.com")
    user_tags_apply(user=zoe, tags=[4])

    assert send().failed == 1
    change = OutboxChange.objects.get()
    assert change.status == "failed" and "no Ontraport contact" in change.message
    assert zoe.tags.filter(id=4).exists()  # the site's change stands; only the send failed

    settings.FUSION_PUSH_NEW_USERS = True
    assert outbox_replay(ids=[change.pk]) == 1
    assert send().sent == 1
    zoe.refresh_from_db()
    assert zoe.contact_id is not None
    assert 4 in contact_tags(site_sandbox, zoe.contact_id)


def test_a_new_site_user_gets_a_contact_and_an_existing_one_is_linked_not_duplicated(site_sandbox):
    new = UserFactory(username="zoe", email="zoe@example.com", first_name="Zoe")
    known = UserFactory(username="noah", email="NOAH@example.net")  # contact 4 has noah@example.net
    user_contact_create(user=new)
    user_contact_create(user=known)
    count = ontraport_client().contact_count()

    assert send().sent == 2

    new.refresh_from_db()
    known.refresh_from_db()
    assert known.contact_id == 4
    assert site_sandbox.get_contact(new.contact_id)["firstname"] == "Zoe"
    assert len(ontraport_client().find_contact_ids_by_email("noah@example.net")) == 1
    assert ontraport_client().contact_count() == count + 1  # one made (zoe), none for noah


def test_a_contact_linked_to_another_user_is_never_linked_twice(site_sandbox):
    UserFactory(username="dana", email="other@example.com", contact_id=1)
    twin = UserFactory(username="dana2", email="dana.adams@example.com")  # contact 1's e-mail
    user_contact_create(user=twin)

    assert send().failed == 1
    twin.refresh_from_db()
    assert twin.contact_id is None
    assert "linked to another user" in OutboxChange.objects.get().message


def test_a_profile_push_sends_the_site_owned_fields(site_sandbox):
    dana = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1, first_name="Danielle")
    contact_push(user=dana)
    assert send().sent == 1
    stored = site_sandbox.get_contact(1)
    assert stored["firstname"] == "Danielle" and stored["email"] == "dana.adams@example.com"


def test_staff_are_never_pushed(site_sandbox):
    boss = StaffFactory(username="boss", email="boss@example.com")
    assert contact_push(user=boss) is None and user_contact_create(user=boss) is None
    assert not OutboxChange.objects.exists()


def test_while_changes_keep_coming_whole_groups_of_50_go_and_a_partial_one_waits(site_sandbox, settings):
    settings.FUSION_COALESCE_SECONDS = 5.0
    ids = site_sandbox.add_contacts([{"email": f"p{n}@example.com"} for n in range(120)])
    users = [UserFactory(username=f"p{n}", contact_id=cid) for n, cid in enumerate(ids)]
    TagFactory(id=3, name="Newsletter")
    for user in users:
        user_tags_apply(user=user, tags=[3])

    assert send_all() == (100, 2)  # two full calls; 20 wait for more
    assert OutboxChange.objects.filter(status="pending").count() == 20

    # Changes stopped 3 s ago (past the quiet gap of half a window): the partial group goes as it is.
    OutboxChange.objects.update(created_at=timezone.now() - datetime.timedelta(seconds=3))
    assert send_all() == (20, 1)
    assert all(3 in contact_tags(site_sandbox, cid) for cid in ids)


def test_a_lone_change_waits_only_for_the_quiet_gap(site_sandbox, settings):
    settings.FUSION_COALESCE_SECONDS = 5.0
    dana = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1)
    user_tags_apply(user=dana, tags=[4])
    assert send().claimed == 0  # just made: more may follow
    OutboxChange.objects.update(created_at=timezone.now() - datetime.timedelta(seconds=3))
    assert send().sent == 1


def test_a_partial_group_waits_five_windows_at_most_however_busy(site_sandbox, settings):
    settings.FUSION_COALESCE_SECONDS = 5.0
    dana = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1)
    liam = UserFactory(username="liam", email="liam.chen@example.com", contact_id=2)
    user_tags_apply(user=dana, tags=[4])
    OutboxChange.objects.update(created_at=timezone.now() - datetime.timedelta(seconds=30))
    user_tags_apply(user=liam, tags=[4])  # changes still coming: the newest is fresh
    assert send().sent == 2  # dana's waited 30 s > 25 s: her group goes, liam's with it


def test_the_outbox_steps_aside_when_the_budget_is_down_to_the_webhooks_reserve(site_sandbox):
    from ontraport_client import OntraportClient, Pacer
    from ontraport_client.sandbox import SandboxServer

    with SandboxServer(data="demo", rate_limit=3, window=60) as limited:
        client = OntraportClient(limited.app_id, limited.api_key, limited.url, pacer=Pacer(reserve=1))
        dana = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1)
        user_tags_apply(user=dana, tags=[4])
        client.get_contact(1)
        client.get_contact(2)  # one call of the window left: the webhooks'

        report = outbox_send(client=client, worker_id="test-worker")

        assert report.claimed == 0 and client.calls_made == 2
        change = OutboxChange.objects.get()
        assert (change.status, change.attempts) == ("pending", 0)  # waiting, no attempt spent
        client.close()

"""Tag subscriptions from the Tags page: subscribed in Ontraport (the sandbox, over HTTP), listed with
Ontraport's last response code, removed; and the whole loop: the sandbox POSTs the event to the running
site, which updates the user's tags with no webhook URL in any Ontraport rule."""

from urllib.parse import parse_qs, urlsplit

import pytest

from accounts.models import TagSubscription
from tests.support.admin_clients import messages_of, staff_client
from tests.support.factories import TagFactory, TagSubscriptionFactory, UserFactory
from tests.support.waiting import wait_until
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
TAGS_URL = "/admin/accounts/tag/"
SUBSCRIPTIONS_URL = "/admin/accounts/tagsubscription/"


def subscribe(admin, *tag_ids: int):
    return admin.post(
        TAGS_URL,
        {"action": "subscribe_in_ontraport", "_selected_action": [str(t) for t in tag_ids]},
        follow=True,
    )


def test_subscribing_tags_makes_two_subscriptions_per_tag_once(admin, site_sandbox, access_key, settings):
    settings.SITE_URL = "https://members.example.com"
    TagFactory(id=3, name="Newsletter")
    TagFactory(id=4, name="VIP")

    response = subscribe(admin, 3, 4)
    assert "Made 4 subscriptions in Ontraport" in messages_of(response)[0]
    again = subscribe(admin, 3)
    assert "Made 0 subscriptions" in messages_of(again)[0]

    rows = site_sandbox.webhooks()
    # Ontraport's documented shape: the tag named in the event, data holding the payload options.
    assert sorted((row["event"], row["data"]) for row in rows) == [
        ("sub_tag(3)", '{"format":"notify"}'),
        ("sub_tag(4)", '{"format":"notify"}'),
        ("unsub_tag(3)", '{"format":"notify"}'),
        ("unsub_tag(4)", '{"format":"notify"}'),
    ]
    url = urlsplit(rows[0]["url"])
    assert (url.scheme, url.netloc, url.path) == (
        "https",
        "members.example.com",
        "/webhooks/ontraport/events/",
    )
    assert parse_qs(url.query) == {"access_key": [access_key]}
    stored = {(s.tag_id, s.event): s.ontraport_id for s in TagSubscription.objects.all()}
    assert {(int(row["event"][-2]), row["event"][:-3]): int(row["id"]) for row in rows} == stored

    listing = admin.get(TAGS_URL).content.decode()
    assert "tag added, tag removed" in listing


def test_removing_unsubscribes_in_ontraport(admin, site_sandbox, access_key):
    TagFactory(id=3, name="Newsletter")
    subscribe(admin, 3)
    added = TagSubscription.objects.get(event="sub_tag")

    response = admin.post(
        SUBSCRIPTIONS_URL, {"action": "unsubscribe", "_selected_action": [str(added.pk)]}, follow=True
    )

    assert "Removed 1 subscriptions." in messages_of(response)
    assert [row["event"] for row in site_sandbox.webhooks()] == ["unsub_tag(3)"]
    assert list(TagSubscription.objects.values_list("event", flat=True)) == ["unsub_tag"]


def test_refresh_reads_last_codes_and_forgets_subscriptions_gone_from_ontraport(
    admin, site_sandbox, access_key
):
    TagFactory(id=3, name="Newsletter")
    subscribe(admin, 3)
    site_sandbox.reset(data="demo")  # Ontraport lost them all (e.g. removed by hand)

    response = admin.post(f"{SUBSCRIPTIONS_URL}refresh/", follow=True)

    assert "0 subscriptions of this site" in messages_of(response)[0]
    assert not TagSubscription.objects.exists()


def test_a_subscription_ontraport_already_has_for_the_site_is_taken_over_not_made_twice(
    admin, site_sandbox, access_key, settings
):
    settings.SITE_URL = "https://members.example.com"
    TagFactory(id=3, name="Newsletter")
    subscribe(admin, 3)
    kept = dict(TagSubscription.objects.values_list("event", "ontraport_id"))
    TagSubscription.objects.all().delete()  # the site lost its rows; Ontraport still has both

    response = subscribe(admin, 3)

    assert "Made 0 subscriptions" in messages_of(response)[0]
    assert dict(TagSubscription.objects.values_list("event", "ontraport_id")) == kept
    assert sorted(row["event"] for row in site_sandbox.webhooks()) == ["sub_tag(3)", "unsub_tag(3)"]


def test_ontraport_errors_are_told_not_raised(admin, site_sandbox, access_key):
    TagFactory(id=3, name="Newsletter")
    # Twice: after the first 500 the client looks the subscription up (not made) and sends it once more.
    site_sandbox.fault(status=500, endpoint="POST /Webhook/subscribe", count=2)

    response = subscribe(admin, 3)

    assert messages_of(response)[0].startswith("Could not subscribe in Ontraport:")
    assert not TagSubscription.objects.exists()
    assert site_sandbox.webhooks() == []


def test_an_account_with_60_other_subscriptions_loses_nothing_and_gains_no_duplicate(
    admin, site_sandbox, access_key
):
    """GET /Webhooks is paged and lists other apps' subscriptions: ours sit on its second page."""
    site_sandbox.add_foreign_webhooks(
        [{"event": f"sub_tag({n % 5 + 1})", "url": f"https://hooks.example.net/{n}"} for n in range(60)]
    )
    TagFactory(id=3, name="Newsletter")
    subscribe(admin, 3)
    stored = set(TagSubscription.objects.values_list("ontraport_id", flat=True))

    response = admin.post(f"{SUBSCRIPTIONS_URL}refresh/", follow=True)
    again = subscribe(admin, 3)

    assert "2 subscriptions of this site" in messages_of(response)[0]
    assert set(TagSubscription.objects.values_list("ontraport_id", flat=True)) == stored
    assert "Made 0 subscriptions" in messages_of(again)[0]
    rows = site_sandbox.webhooks()
    assert len(rows) == 62
    assert sorted(row["event"] for row in rows if "hooks.example.net" not in row["url"]) == [
        "sub_tag(3)",
        "unsub_tag(3)",
    ]


def test_staff_without_change_permission_cannot_subscribe(site_sandbox, access_key):
    TagFactory(id=3, name="Newsletter")
    viewer = staff_client("accounts.view_tag")

    response = viewer.post(TAGS_URL, {"action": "subscribe_in_ontraport", "_selected_action": ["3"]})

    assert response.status_code in (200, 302, 403)
    assert not TagSubscription.objects.exists()
    assert site_sandbox.webhooks() == []


def test_the_whole_loop_without_any_webhook_url(admin, site_sandbox, access_key, settings, live_server):
    """Subscribe tag 3, add it to a contact in the sandbox: the sandbox POSTs the event to the live site,
    which stores an update_tags delivery and updates the user's tags."""
    settings.SITE_URL = live_server.url
    TagFactory(id=3, name="Newsletter")
    user = UserFactory(username="sofia", email="sofia.martinez@example.org", contact_id=3)
    subscribe(admin, 3)

    site_sandbox.add_contact({**site_sandbox.get_contact(3), "contact_cat": "*/*1*/*3*/*"})  # control API
    rows = {row["event"]: row for row in site_sandbox.webhooks()}  # waits for the event to be answered

    assert rows["sub_tag(3)"]["last_code"] == "202"
    wait_until(
        lambda: Delivery.objects.filter(status=Delivery.Status.DONE).exists(), timeout=10, what="the delivery"
    )
    delivery = Delivery.objects.get()
    assert (delivery.action, delivery.contact_id, delivery.status) == ("update_tags", 3, "done")
    assert delivery.options == {"event": "sub_tag", "tag_id": 3}
    assert sorted(user.tags.values_list("id", flat=True)) == [1, 3]

    admin.post(f"{SUBSCRIPTIONS_URL}refresh/")
    assert TagSubscription.objects.get(event="sub_tag").last_code == 202


def test_tags_and_subscriptions_pages_answer_in_a_fixed_number_of_queries(
    admin, django_assert_max_num_queries
):
    tags = [TagFactory(id=n, name=f"T{n}") for n in range(1, 41)]
    for tag in tags:
        for i, event in enumerate(["sub_tag", "unsub_tag"]):
            TagSubscriptionFactory(tag=tag, event=event, ontraport_id=tag.pk * 10 + i)
    for n in range(20):
        UserFactory(username=f"u{n}", tags=tags[:5])

    with django_assert_max_num_queries(10):
        tags_page = admin.get(TAGS_URL)
    with django_assert_max_num_queries(10):
        subscriptions_page = admin.get(SUBSCRIPTIONS_URL)

    assert tags_page.content.decode().count("tag added, tag removed") == 40
    assert 'title="The users with this tag">20</a></td>' in tags_page.content.decode()
    assert len(subscriptions_page.context["cl"].result_list) == 80

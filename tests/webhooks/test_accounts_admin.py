"""What webhooks adds to accounts' Users and Tags pages: "Subscribe" points Ontraport at the one events URL
(webhooks.sender_urls), and a user's page links that user's deliveries for those who may view the log."""

import pytest

from accounts.models import TagSubscription
from tests.support.admin_clients import messages_of, staff_client
from tests.support.factories import DeliveryFactory, TagFactory, UserFactory
from webhooks.sender_urls import events_url_for_ontraport

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
TAGS_URL = "/admin/accounts/tag/"
USERS_URL = "/admin/accounts/user/"


def test_subscribe_subscribes_the_events_url_the_site_gives_ontraport(admin, site_sandbox, settings):
    settings.SITE_URL = "https://members.example.com/club"
    settings.FUSION_ACCESS_KEY = "key with/odd&chars=+ÿ-0123456789abcdef"
    TagFactory(id=3, name="Newsletter")

    response = admin.post(
        TAGS_URL, {"action": "subscribe_in_ontraport", "_selected_action": ["3"]}, follow=True
    )

    assert messages_of(response) == [
        "Made 2 subscriptions in Ontraport: adding or removing these tags now updates the users' tags on "
        "their own. Events go to https://members.example.com/club/webhooks/ontraport/events/."
    ]
    expected = events_url_for_ontraport(base_url=settings.SITE_URL, access_key=settings.FUSION_ACCESS_KEY)
    assert [row["url"] for row in site_sandbox.webhooks()] == [expected, expected]
    assert TagSubscription.objects.count() == 2


def test_subscribe_takes_the_tags_change_permission_and_the_users(site_sandbox, access_key):
    TagFactory(id=3, name="Newsletter")
    tags_only = staff_client("accounts.view_tag", "accounts.change_tag", username="tags_only")

    tags_only.post(TAGS_URL, {"action": "subscribe_in_ontraport", "_selected_action": ["3"]})

    assert not TagSubscription.objects.exists() and site_sandbox.webhooks() == []
    both = staff_client("accounts.view_tag", "accounts.change_tag", "accounts.change_user", username="both")
    response = both.post(
        TAGS_URL, {"action": "subscribe_in_ontraport", "_selected_action": ["3"]}, follow=True
    )
    assert "Made 2 subscriptions in Ontraport" in messages_of(response)[0]


def test_a_users_page_links_and_counts_their_deliveries_for_who_may_view_the_log():
    dana = UserFactory(username="dana", contact_id=7)
    other = UserFactory(username="other", contact_id=8)
    for user in (dana, dana, other):
        DeliveryFactory(contact_id=user.contact_id, user=user)
    reader = staff_client("accounts.view_user", "webhooks.view_delivery", username="reader")

    page = reader.get(f"{USERS_URL}{dana.pk}/change/").content.decode()

    log = f"/admin/webhooks/delivery/?user__id__exact={dana.pk}"
    assert f'<a href="{log}" id="user-deliveries">Deliveries (2)</a>' in page
    assert 'id="user-resync"' not in page  # resyncing takes the right to change users (the adoption layer)
    no_log = staff_client("accounts.view_user", username="no_log").get(f"{USERS_URL}{dana.pk}/change/")
    assert 'id="user-deliveries"' not in no_log.content.decode()

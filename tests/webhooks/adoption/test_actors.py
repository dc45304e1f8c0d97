"""Imports, resyncs, links and subscriptions started from the admin: each takes the user permissions the
admin's user pages take for the same change, and records who started it (its row and the admin's history)."""

import pytest
from django.contrib.auth import get_user_model

from accounts.models import Tag, TagSubscription
from tests.support.admin_clients import ADD_CHANGE, history_of, staff_client
from tests.support.factories import TagFactory, UserFactory
from webhooks.adoption.models import Run

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()


def test_import_resync_link_and_subscription_record_who(bulk_sandbox, settings):
    settings.SITE_URL = "https://members.example.com"
    TagFactory(id=1, name="Members")
    owner = staff_client(*ADD_CHANGE, "accounts.view_tag", "accounts.change_tag", username="owner")

    owner.post(
        "/admin/accounts/tag/",
        {"action": "import_users_with_tag", "_selected_action": ["1"], "confirm": "start"},
    )
    run = Run.objects.get(kind="import")
    liam = User.objects.get(contact_id=2)
    owner.post("/admin/accounts/user/", {"action": "resync_from_ontraport", "_selected_action": [liam.pk]})
    resync = Run.objects.get(kind="resync")
    owner.post(f"/admin/accounts/user/{liam.pk}/resync/")  # the user page's Resync button
    button = Run.objects.filter(kind="resync").exclude(pk=resync.pk).get()
    loner = UserFactory(username="loner", email="loner@example.com")
    bulk_sandbox.add_contact({"id": "9100", "email": "loner@example.com"})
    owner.post(f"/admin/accounts/user/{loner.pk}/link-contact/", {"contact_id": "9100"})
    owner.post("/admin/accounts/tag/", {"action": "subscribe_in_ontraport", "_selected_action": ["1"]})

    assert {run.started_by.username, resync.started_by.username, button.started_by.username} == {"owner"}
    assert history_of(run) == [("owner", "Started from the admin")]
    assert history_of(resync) == [("owner", "Started from the admin")]
    assert history_of(loner) == [("owner", "Ontraport: linked to contact 9100 by hand")]
    assert {s.created_by.username for s in TagSubscription.objects.all()} == {"owner"}
    assert len(history_of(Tag.objects.get(pk=1))) == 2  # both events


def test_resync_link_and_subscribe_need_the_change_user_permission(bulk_sandbox):
    TagFactory(id=1, name="Members")
    linked = UserFactory(username="liam", email="liam@example.com", contact_id=2)
    viewer = staff_client("accounts.view_user", "accounts.view_tag", "accounts.change_tag", username="v")

    viewer.post("/admin/accounts/user/", {"action": "resync_from_ontraport", "_selected_action": [linked.pk]})
    linking = viewer.post(f"/admin/accounts/user/{linked.pk}/link-contact/", {"contact_id": "5"})
    viewer.post("/admin/accounts/tag/", {"action": "subscribe_in_ontraport", "_selected_action": ["1"]})

    assert linking.status_code == 403
    assert not Run.objects.exists() and not TagSubscription.objects.exists()
    linked.refresh_from_db()
    assert linked.contact_id == 2

"""The admin: runs listed and shown; "Import users with this tag" (Tags), "Resync from Ontraport" (Users)."""

import pytest
from django.core.management import call_command

from accounts.models import Run, Tag, User
from tests.admin_support import messages_of, staff_client, superuser_client
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

TAGS_URL = "/admin/accounts/tag/"
USERS_URL = "/admin/accounts/user/"
RUNS_URL = "/admin/accounts/run/"


@pytest.fixture
def admin(bulk_sandbox):
    Tag.objects.create(id=1, name="Members")
    return superuser_client()


def test_import_action_starts_a_run_links_to_it_and_the_worker_imports(admin):
    response = admin.post(
        TAGS_URL, {"action": "import_users_with_tag", "_selected_action": ["1"]}, follow=True
    )

    run = Run.objects.get()
    assert (run.kind, run.started_from, run.started_by.username) == ("import", "admin", "root")
    # The test settings run tasks inline: the run is done by the time the page answers.
    assert (run.state, run.created) == ("done", 7)
    assert User.objects.filter(contact_id__isnull=False).count() == 7
    [message] = messages_of(response)
    assert f'href="{RUNS_URL}{run.pk}/change/"' in message and "Import #" in message


def test_resync_action_starts_a_run_for_the_selected_linked_users(admin):
    call_command("ontraport_import", "--tag", "Members", "--json")
    liam = User.objects.get(contact_id=2)
    loner = User.objects.create_user("loner", email="loner@example.com")
    admin.post(
        USERS_URL, {"action": "resync_from_ontraport", "_selected_action": [str(liam.pk), str(loner.pk)]}
    )

    run = Run.objects.get(kind="resync")
    assert (run.arguments, run.state, run.started_from, run.unchanged) == (
        {"user_ids": [liam.pk]},
        "done",
        "admin",
        1,
    )


def test_runs_are_listed_and_shown_with_their_deliveries(admin):
    call_command("ontraport_import", "--tag", "Members", "--json")
    run = Run.objects.get()

    listing = admin.get(RUNS_URL).content.decode()
    assert "tag Members" in listing and "done" in listing
    detail = admin.get(f"{RUNS_URL}{run.pk}/change/").content.decode()
    assert f"/admin/webhooks/delivery/?run__id__exact={run.pk}" in detail
    logged = admin.get(f"/admin/webhooks/delivery/?run__id__exact={run.pk}")
    assert logged.status_code == 200 and logged.context["cl"].result_count == 7
    assert Delivery.objects.filter(run=run).count() == 7
    assert admin.get(f"{RUNS_URL}add/").status_code == 403  # runs start from commands and actions only


def test_import_action_needs_the_right_to_create_users(bulk_sandbox):
    Tag.objects.create(id=1, name="Members")
    viewer = staff_client("accounts.view_tag", "accounts.change_tag", username="viewer")

    response = viewer.post(TAGS_URL, {"action": "import_users_with_tag", "_selected_action": ["1"]})

    assert response.status_code in (200, 302)
    assert not Run.objects.exists()

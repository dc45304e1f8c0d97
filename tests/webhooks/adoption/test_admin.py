"""The admin: runs listed and shown; "Import users with this tag" (Tags), "Resync from Ontraport" (Users)."""

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin as django_admin
from django.core.management import call_command

from accounts.admin.tags import TagAdmin as AccountsTagAdmin
from accounts.admin.users import UserAdmin as AccountsUserAdmin
from accounts.models import Tag, User
from tests.support.admin_clients import messages_of, staff_client, superuser_client
from tests.support.factories import GroupFactory, SuperuserFactory, TagFactory, UserFactory
from webhooks.accounts_admin import DeliveriesOfUserLink, SubscribeTagsInOntraport
from webhooks.adoption.admin.imports import ImportUsersWithTag
from webhooks.adoption.admin.resyncs import ResyncFromOntraport
from webhooks.adoption.models import Run
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

TAGS_URL = "/admin/accounts/tag/"
USERS_URL = "/admin/accounts/user/"
RUNS_URL = "/admin/adoption/run/"


@pytest.fixture
def admin(bulk_sandbox):
    TagFactory(id=1, name="Members")
    return superuser_client()


IMPORT = {"action": "import_users_with_tag", "_selected_action": ["1"]}


def test_import_action_asks_first_and_starts_nothing(admin):
    page = admin.post(TAGS_URL, IMPORT)

    assert page.status_code == 200
    html = page.content.decode()
    assert "Start the import" in html and "Dry run" in html
    assert 'name="role"' in html and 'name="notify"' in html and 'name="limit"' in html
    assert not Run.objects.exists() and not User.objects.filter(contact_id__isnull=False).exists()


def test_import_dry_run_shows_what_the_first_page_would_do_and_writes_nothing(admin):
    page = admin.post(TAGS_URL, {**IMPORT, "confirm": "dry_run"})

    preview = page.context["preview"]
    [(tag, run)] = preview
    assert (tag.pk, run.total, run.processed, run.created, run.skipped) == (1, 7, 7, 7, 0)
    assert "nothing was written" in page.content.decode()
    assert (
        not Run.objects.exists()
        and not User.objects.filter(contact_id__isnull=False).exists()
        and not Delivery.objects.exists()
    )


def test_import_with_role_notify_and_limit_as_the_command_has_them(admin):
    GroupFactory(name="customer")
    response = admin.post(
        TAGS_URL,
        {**IMPORT, "confirm": "start", "role": "customer", "notify": "on", "limit": "3"},
        follow=True,
    )

    run = Run.objects.get()
    assert run.arguments == {
        "tag_id": 1,
        "tag_name": "Members",
        "role": "customer",
        "notify": True,
        "limit": 3,
    }
    assert (run.state, run.created) == ("done", 3)
    assert (
        list(User.objects.filter(contact_id__isnull=False).values_list("groups__name", flat=True))
        == ["customer"] * 3
    )
    # Owed and sent once the page commits (this test's transaction never does): owed to all three.
    assert User.objects.filter(welcome_email_due_at__isnull=False).count() == 3
    assert "Started in the background" in messages_of(response)[0]


def test_import_refuses_a_bad_limit_and_starts_nothing(admin):
    page = admin.post(TAGS_URL, {**IMPORT, "confirm": "start", "limit": "0"})

    assert page.status_code == 200
    assert "greater than or equal to 1" in page.content.decode()
    assert not Run.objects.exists()


def test_import_action_starts_a_run_links_to_it_and_the_worker_imports(admin):
    response = admin.post(TAGS_URL, {**IMPORT, "confirm": "start"}, follow=True)

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
    loner = UserFactory(username="loner", email="loner@example.com")
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
    TagFactory(id=1, name="Members")
    viewer = staff_client("accounts.view_tag", "accounts.change_tag", username="viewer")

    response = viewer.post(TAGS_URL, {**IMPORT, "confirm": "start"})

    assert response.status_code in (200, 302)
    assert not Run.objects.exists()


def test_a_users_page_resyncs_that_user_now_and_links_to_its_deliveries(admin):
    call_command("ontraport_import", "--tag", "Members", "--json")
    liam = User.objects.get(contact_id=2)
    page = admin.get(f"{USERS_URL}{liam.pk}/change/").content.decode()
    assert f"/admin/webhooks/delivery/?user__id__exact={liam.pk}" in page
    assert 'id="user-resync"' in page
    listed = admin.get(f"/admin/webhooks/delivery/?user__id__exact={liam.pk}")
    assert listed.status_code == 200 and listed.context["cl"].result_count == 1  # the import's line

    response = admin.post(f"{USERS_URL}{liam.pk}/resync/", follow=True)
    [message] = messages_of(response)
    assert "Resynced from Ontraport" in message and f"no change to user {liam.username}" in message
    run = Run.objects.filter(kind="resync").get()
    assert (run.state, run.arguments, run.unchanged, run.started_by.username) == (
        "done",
        {"user_ids": [liam.pk]},
        1,
        "root",
    )


def test_the_resync_button_says_what_changed(admin, bulk_sandbox):
    call_command("ontraport_import", "--tag", "Members", "--json")
    liam = User.objects.get(contact_id=2)
    bulk_sandbox.add_contact({**bulk_sandbox.get_contact(2), "lastname": "Chen-Lee"})

    response = admin.post(f"{USERS_URL}{liam.pk}/resync/", follow=True)

    assert f"updated user {liam.username}: Last Name" in messages_of(response)[0]
    liam.refresh_from_db()
    assert liam.last_name == "Chen-Lee"
    assert Run.objects.get(kind="resync").updated == 1


def test_resync_and_the_deliveries_link_need_their_permissions(bulk_sandbox):
    user = UserFactory(username="dana", email="dana@example.com", contact_id=1)
    viewer = staff_client("accounts.view_user", username="viewer")

    page = viewer.get(f"{USERS_URL}{user.pk}/change/").content.decode()
    assert 'id="user-resync"' not in page and "user__id__exact" not in page
    assert viewer.post(f"{USERS_URL}{user.pk}/resync/").status_code == 403
    assert not Run.objects.exists()


# --- the Users and Tags pages: accounts' admins, extended by webhooks and adoption, registered once -----


def test_users_and_tags_are_registered_once_with_every_layers_actions(rf):
    root = SuperuserFactory(username="root")
    request = rf.get(USERS_URL)
    request.user = root

    users = django_admin.site.get_model_admin(User)
    assert all(
        isinstance(users, layer) for layer in (AccountsUserAdmin, DeliveriesOfUserLink, ResyncFromOntraport)
    )
    assert list(users.get_actions(request)) == ["delete_selected", "resync_from_ontraport"]

    tags = django_admin.site.get_model_admin(Tag)
    assert all(
        isinstance(tags, layer) for layer in (AccountsTagAdmin, SubscribeTagsInOntraport, ImportUsersWithTag)
    )
    assert list(tags.get_actions(request)) == [
        "delete_selected",
        "refresh_from_ontraport",  # accounts
        "subscribe_in_ontraport",  # webhooks
        "import_users_with_tag",  # adoption
    ]


def test_no_admin_is_registered_twice_or_unregistered():
    """Each layer extends the one below it; none replaces another's registration."""
    registered: list[str] = []
    for package in ("accounts", "webhooks", "fusion_site"):
        for source in (Path(settings.BASE_DIR) / package).rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text())):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    assert node.func.attr != "unregister", f"{source} unregisters an admin"
                    if node.func.attr == "register" and node.args and isinstance(node.args[0], ast.Name):
                        registered.append(node.args[0].id)
    assert registered.count("User") == 1 and registered.count("Tag") == 1


def test_a_users_page_offers_each_layers_tools_in_order(admin):
    liam = UserFactory(username="liam", contact_id=2)

    page = admin.get(f"{USERS_URL}{liam.pk}/change/").content.decode()

    tools = [page.index(tool) for tool in ('id="user-deliveries"', 'id="user-resync"', 'class="historylink"')]
    assert tools == sorted(tools)  # webhooks', then adoption's, then Django's History
    assert 'id="link-contact"' in page  # accounts' own form, below the fields

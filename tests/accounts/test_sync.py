"""What add / update / update_tags do to users, end to end: webhook → sandbox contact → user."""

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group

from accounts.models import FieldMapping, Tag
from accounts.signals import tags_applied, tags_removed
from tests.support.factories import FieldMappingFactory, GroupFactory, StaffFactory, TagFactory, UserFactory
from webhooks.models import Delivery
from webhooks.tasks import process_deliveries

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()


def last_delivery() -> Delivery:
    return Delivery.objects.order_by("-id").first()


def test_add_twice_never_makes_a_duplicate(site_sandbox, webhook):
    webhook("add", 3)
    webhook("add", 3)
    assert User.objects.filter(contact_id=3).count() == 1
    assert last_delivery().status == Delivery.Status.DONE


def test_add_links_an_existing_user_with_the_same_email_whatever_its_case(site_sandbox, webhook):
    existing = UserFactory(username="oliver", email="oliver.smith@example.com")
    webhook("add", 12)  # the contact's e-mail is Oliver.Smith@Example.com
    existing.refresh_from_db()
    assert existing.contact_id == 12
    assert User.objects.count() == 1
    assert "linked by e-mail" in last_delivery().message


def test_update_tags_replaces_the_tags_and_signals_the_difference(site_sandbox, webhook):
    webhook("add", 1)  # tags 1, 2
    site_sandbox.add_contact({**site_sandbox.get_contact(1), "contact_cat": "*/*2*/*3*/*"})
    applied, removed = [], []
    tags_applied.connect(
        lambda sender, user, tag_ids, **kw: applied.append(tag_ids), weak=False, dispatch_uid="a"
    )
    tags_removed.connect(
        lambda sender, user, tag_ids, **kw: removed.append(tag_ids), weak=False, dispatch_uid="r"
    )
    try:
        webhook("update_tags", 1)
    finally:
        tags_applied.disconnect(dispatch_uid="a")
        tags_removed.disconnect(dispatch_uid="r")
    user = User.objects.get(contact_id=1)
    assert set(user.tags.values_list("id", flat=True)) == {2, 3}
    assert applied == [frozenset({3})]
    assert removed == [frozenset({1})]


def test_update_tags_does_not_touch_fields(site_sandbox, webhook):
    webhook("add", 1)
    site_sandbox.add_contact({**site_sandbox.get_contact(1), "firstname": "Changed"})
    webhook("update_tags", 1)
    assert User.objects.get(contact_id=1).first_name == "Dana"


def test_update_writes_mapped_fields_and_profile_values_but_empty_values_erase_nothing(site_sandbox, webhook):
    FieldMappingFactory(ontraport_field="f1535", target="profile", attribute="membership_level")
    webhook("add", 1)
    site_sandbox.add_contact(
        {**site_sandbox.get_contact(1), "firstname": "Danielle", "lastname": "", "f1535": "2"}
    )
    webhook("update", 1)
    user = User.objects.get(contact_id=1)
    assert (user.first_name, user.last_name) == ("Danielle", "Adams")
    assert user.profile["membership_level"] == "2"


@pytest.mark.parametrize("action", ["update", "update_tags"])
def test_update_without_a_matching_user_is_done_with_that_reason(site_sandbox, webhook, action):
    webhook(action, 4)
    delivery = last_delivery()
    assert (delivery.status, delivery.message) == (Delivery.Status.DONE, "no matching user")
    assert User.objects.count() == 0


def test_update_finds_an_unlinked_user_by_email_and_links_it(site_sandbox, webhook):
    UserFactory(username="noah", email="noah@example.net")
    webhook("update", 4)
    assert User.objects.get(username="noah").contact_id == 4


def test_a_contact_with_no_email_is_tried_again_then_fails_with_the_reason(site_sandbox, webhook, settings):
    """Ontraport's 'Contact is created' trigger fires before the e-mail is typed: wait a while for it."""
    settings.FUSION_NO_EMAIL_ATTEMPTS = 2
    webhook("add", 10)
    delivery = last_delivery()
    assert (delivery.status, delivery.reason) == (Delivery.Status.PENDING, "no_email")
    wait = delivery.next_attempt_at - delivery.updated_at
    assert wait.total_seconds() == pytest.approx(settings.FUSION_NO_EMAIL_RETRY_SECONDS, abs=1)

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.updated_at)
    process_deliveries.call()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.reason) == (Delivery.Status.FAILED, "no_email")
    assert "no e-mail" in delivery.message
    assert User.objects.count() == 0


def test_a_contact_whose_email_arrives_while_we_wait_is_created(site_sandbox, webhook):
    webhook("add", 10)
    delivery = last_delivery()
    site_sandbox.add_contact({**site_sandbox.get_contact(10), "email": "late@example.com"})
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.updated_at)
    process_deliveries.call()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DONE
    assert User.objects.get(contact_id=10).email == "late@example.com"


def test_a_contact_ontraport_does_not_know_fails_as_not_found(site_sandbox, webhook):
    webhook("add", 424242)
    delivery = last_delivery()
    assert (delivery.status, delivery.reason) == (Delivery.Status.FAILED, "not_found")
    assert "424242" in delivery.message


def test_role_from_the_webhook_when_the_group_exists(site_sandbox, webhook):
    GroupFactory(name="customer")
    webhook("add", 2, role="customer")
    assert list(User.objects.get(contact_id=2).groups.values_list("name", flat=True)) == ["customer"]


@pytest.mark.parametrize("role", ["administrator", "Administrator", "superuser", "staff", "missing-group"])
def test_unknown_or_administrative_roles_fall_back_to_the_default_with_the_reason_noted(
    site_sandbox, webhook, role
):
    GroupFactory(name="administrator")
    webhook("add", 2, role=role)
    user = User.objects.get(contact_id=2)
    assert list(user.groups.values_list("name", flat=True)) == ["subscriber"]
    assert not user.is_staff
    assert not user.is_superuser
    assert role in last_delivery().message


def test_staff_users_keep_their_email_password_and_groups(site_sandbox, webhook):
    admin = StaffFactory(
        username="boss", email="dana.adams@example.com", raw_password="secret-pw", contact_id=1
    )
    admins = GroupFactory(name="editors")
    admin.groups.add(admins)
    site_sandbox.add_contact({**site_sandbox.get_contact(1), "email": "attacker@example.com"})
    webhook("add", 1, role="subscriber")
    admin.refresh_from_db()
    assert admin.email == "dana.adams@example.com"
    assert admin.check_password("secret-pw")
    assert list(admin.groups.all()) == [admins]
    assert admin.is_staff


def test_mapped_username_and_password_fields_are_used_on_creation(site_sandbox, webhook):
    FieldMappingFactory(ontraport_field="f1534", target="user", attribute="username")
    FieldMappingFactory(ontraport_field="f1536", target="user", attribute="password")
    site_sandbox.add_contact(
        {**site_sandbox.get_contact(5), "f1534": "amara", "f1536": "correct horse battery"}
    )
    webhook("add", 5)
    user = User.objects.get(contact_id=5)
    assert user.username == "amara"
    assert authenticate(username="amara", password="correct horse battery") == user


@pytest.mark.parametrize(
    ("username_format", "expected"),
    [("email", "liam.chen@example.com"), ("firstname_lastname", "liamchen")],
)
def test_username_formats(site_sandbox, webhook, settings, username_format, expected):
    settings.FUSION_USERNAME_FORMAT = username_format
    webhook("add", 2)
    assert User.objects.get(contact_id=2).username == expected


def test_firstname_random_format(site_sandbox, webhook, settings):
    settings.FUSION_USERNAME_FORMAT = "firstname_random"
    webhook("add", 2)
    username = User.objects.get(contact_id=2).username
    assert username.startswith("liam") and username[4:].isdigit()


def test_username_collisions_get_digits(site_sandbox, webhook, settings):
    settings.FUSION_USERNAME_FORMAT = "firstname_lastname"
    UserFactory(username="liamchen", email="someone@example.com")
    UserFactory(username="liamchen1", email="someone2@example.com")
    webhook("add", 2)
    assert User.objects.get(contact_id=2).username == "liamchen2"


def test_generated_passwords_are_strong_and_cheap_to_hash(site_sandbox, webhook):
    webhook("add", 1)
    user = User.objects.get(contact_id=1)
    assert user.password.startswith("pbkdf2_sha256_generated$")
    assert user.has_usable_password()


def test_welcome_email_has_the_links_and_never_a_password(site_sandbox, webhook, mailoutbox, settings):
    settings.FUSION_RETURN_PASSWORD_FIELD = "f1536"
    webhook("add", 2, send_notification="true")
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["liam.chen@example.com"]
    text, (html, _) = message.body, message.alternatives[0]
    assert f"{settings.SITE_URL}/accounts/login/" in text
    assert f"{settings.SITE_URL}/accounts/reset/" in text and "/accounts/reset/" in html
    returned = site_sandbox.get_contact(2)["f1536"]
    assert returned and returned not in text and returned not in html


def test_welcome_email_setting_sends_without_the_parameter(site_sandbox, webhook, mailoutbox, settings):
    settings.FUSION_SEND_WELCOME_EMAIL = True
    webhook("add", 2)
    assert len(mailoutbox) == 1


def test_no_email_for_existing_users(site_sandbox, webhook, mailoutbox):
    webhook("add", 2)
    webhook("add", 2, send_notification="true")
    assert mailoutbox == []


def test_return_password_writes_a_password_that_logs_the_user_in(site_sandbox, webhook, settings):
    settings.FUSION_RETURN_PASSWORD_FIELD = "f1536"
    webhook("add", 9)
    returned = site_sandbox.get_contact(9)["f1536"]
    assert returned and len(returned) >= 16
    user = User.objects.get(contact_id=9)
    assert authenticate(username=user.username, password=returned) == user
    assert user.password_return_due_at is None


def test_a_failed_return_password_is_retried_with_a_fresh_password(site_sandbox, webhook, settings):
    from django.utils import timezone

    from accounts.services.password_return import password_return_retry_due

    settings.FUSION_RETURN_PASSWORD_FIELD = "f1536"
    site_sandbox.add_contact({**site_sandbox.get_contact(9), "f1536": ""})
    # The contact fetch succeeds; the PUT that follows fails.
    site_sandbox.fault(status=500, count=1, endpoint="PUT /Contacts")
    webhook("add", 9)
    user = User.objects.get(contact_id=9)
    assert user.password_return_due_at is not None
    assert not site_sandbox.get_contact(9)["f1536"]

    User.objects.filter(pk=user.pk).update(password_return_due_at=timezone.now())
    assert password_return_retry_due() == 1
    returned = site_sandbox.get_contact(9)["f1536"]
    assert authenticate(username=user.username, password=returned) == user
    user.refresh_from_db()
    assert user.password_return_due_at is None


def test_tag_names_come_from_ontraport_and_the_list_is_fetched_only_for_unknown_ids(site_sandbox, webhook):
    webhook("add", 1)
    assert Tag.objects.get(id=1).name == "Members"
    lists_after_first = site_sandbox.stats()["by_endpoint"].get("GET /Tags", 0)
    webhook("add", 2)  # tags 1 and 3: all known now
    webhook("update_tags", 1)
    assert site_sandbox.stats()["by_endpoint"].get("GET /Tags", 0) == lists_after_first
    assert lists_after_first == 1


def test_the_data_migration_creates_the_default_role_and_mappings():
    assert Group.objects.filter(name="subscriber").exists()
    assert set(FieldMapping.objects.values_list("ontraport_field", "attribute")) >= {
        ("firstname", "first_name"),
        ("lastname", "last_name"),
        ("email", "email"),
    }


def test_a_bad_role_on_update_leaves_an_existing_users_groups_alone(site_sandbox, webhook):
    GroupFactory(name="customer")
    webhook("add", 2, role="customer")
    webhook("update", 2, role="custmer")  # a typo in the rule's URL
    user = User.objects.get(contact_id=2)
    assert list(user.groups.values_list("name", flat=True)) == ["customer"]
    assert "groups unchanged" in last_delivery().message


def test_a_valid_role_on_update_changes_the_role(site_sandbox, webhook):
    GroupFactory(name="customer")
    webhook("add", 2)
    webhook("update", 2, role="customer")
    assert list(User.objects.get(contact_id=2).groups.values_list("name", flat=True)) == ["customer"]


def test_password_fields_are_never_stored_as_profile_values(site_sandbox, webhook, settings):
    settings.FUSION_RETURN_PASSWORD_FIELD = "f1536"
    FieldMappingFactory(ontraport_field="f1536", target="profile", attribute="site_password")
    site_sandbox.add_contact({**site_sandbox.get_contact(1), "f1536": "plaintext-secret"})
    webhook("add", 1)
    assert "site_password" not in User.objects.get(contact_id=1).profile


def test_a_deleted_default_role_group_is_created_again(site_sandbox, webhook):
    webhook("add", 1)
    Group.objects.filter(name="subscriber").delete()
    webhook("add", 2)
    assert list(User.objects.get(contact_id=2).groups.values_list("name", flat=True)) == ["subscriber"]
    assert last_delivery().status == Delivery.Status.DONE


def test_a_welcome_email_the_mail_server_refused_is_sent_later(site_sandbox, webhook, settings, mailoutbox):
    import datetime
    import socket

    from django.utils import timezone

    from accounts.services.welcome import welcome_emails_send_due

    with socket.socket() as probe:  # a port with nothing listening: the SMTP connection is refused
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    locmem = settings.MAILERS
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": closed_port, "timeout": 2},
        }
    }
    webhook("add", 2, send_notification="true")
    user = User.objects.get(contact_id=2)
    assert user.welcome_email_due_at is not None
    assert last_delivery().status == Delivery.Status.DONE  # the user stands; only the e-mail is owed

    settings.MAILERS = locmem
    assert welcome_emails_send_due() == 0  # not due yet
    User.objects.filter(pk=user.pk).update(
        welcome_email_due_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert welcome_emails_send_due() == 1
    assert [m.to for m in mailoutbox] == [["liam.chen@example.com"]]
    user.refresh_from_db()
    assert user.welcome_email_due_at is None
    assert welcome_emails_send_due() == 0  # sent once, never twice


def test_a_sent_welcome_email_is_no_longer_owed(site_sandbox, webhook, mailoutbox):
    webhook("add", 2, send_notification="true")
    assert len(mailoutbox) == 1
    assert User.objects.get(contact_id=2).welcome_email_due_at is None


def test_dropdown_profile_values_are_stored_as_their_labels(site_sandbox, webhook):
    from accounts.ontraport import ontraport_client
    from accounts.services.fields_sync import field_mappings_sync_from_ontraport

    field_mappings_sync_from_ontraport(client=ontraport_client())
    FieldMapping.objects.filter(ontraport_field="f1535").update(enabled=True)
    site_sandbox.add_contact({**site_sandbox.get_contact(3), "f1535": "3"})
    webhook("add", 3)
    assert User.objects.get(contact_id=3).profile["membership_level"] == "Gold"  # keyed by its label


def test_the_log_names_what_changed_and_says_when_nothing_did(site_sandbox, webhook):
    """Fields by their label, tags added and removed by name, "no change" when none: what the Runs count."""
    for tag_id, name in ((1, "Members"), (2, "Customers"), (4, "VIP")):
        TagFactory(id=tag_id, name=name)
    webhook("add", 2)  # Liam Chen: Members, Newsletter (named from Ontraport's list)
    user = User.objects.get(contact_id=2)
    site_sandbox.add_contact(
        {**site_sandbox.get_contact(2), "lastname": "Chen-Lee", "contact_cat": "*/*1*/*4*/*"}
    )

    webhook("update", 2)
    updated = last_delivery()
    assert (
        updated.message
        == f"updated user {user.username}: Last Name; tags added: VIP; tags removed: Newsletter"
    )

    webhook("update", 2)  # nothing differs now
    assert last_delivery().message == f"no change to user {user.username}"

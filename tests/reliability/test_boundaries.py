"""Identity's boundaries (roles, usernames, e-mail changes, passwords in profiles), replayed over HTTP
against a running site (a live server whose requests apply contacts inline), on SQLite and on PostgreSQL.
Each must change nothing it should not. docs/security.md lists them; docs/identity.md states the rules."""

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from tests.support.admin_clients import grant, superuser_client
from tests.support.factories import (
    FieldMappingFactory,
    GroupFactory,
    StaffFactory,
    SuperuserFactory,
    UserFactory,
)
from tests.support.webhooks import deliver
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()


def with_permission(name: str) -> Group:
    group = GroupFactory(name=name)
    group.permissions.add(Permission.objects.get(codename="change_user"))
    return group


# --- roles, symmetric ------------------------------------------------------------------------------------


def test_a_role_update_never_removes_a_group_with_permissions_granted_by_hand(site_sandbox, live_site):
    GroupFactory(name="customer")
    newsletter = GroupFactory(name="newsletter")  # no permissions: a webhook's to manage
    editors = with_permission("editors")
    deliver(live_site.url, "add", 1)
    dana = User.objects.get(contact_id=1)
    dana.groups.add(editors, newsletter)  # the owner, by hand

    delivery = deliver(live_site.url, "update", 1, "&role=customer")

    assert delivery.status == Delivery.Status.DONE, delivery.message
    assert sorted(dana.groups.values_list("name", flat=True)) == ["customer", "editors"]


def test_a_role_with_permissions_is_neither_granted_nor_removed(site_sandbox, live_site):
    with_permission("editors")
    deliver(live_site.url, "add", 1)
    dana = User.objects.get(contact_id=1)

    refused = deliver(live_site.url, "update", 1, "&role=editors")

    assert "carries permissions" in refused.message and "groups unchanged" in refused.message
    assert list(dana.groups.values_list("name", flat=True)) == ["subscriber"]


def test_a_default_role_with_permissions_is_not_given_and_check_says_so(site_sandbox, live_site, capsys):
    with_permission("subscriber")  # FUSION_DEFAULT_ROLE
    with_permission("editors")

    plain = deliver(live_site.url, "add", 1)
    fallback = deliver(live_site.url, "add", 2, "&role=editors")

    for delivery in (plain, fallback):
        assert delivery.status == Delivery.Status.DONE, delivery.message
        assert "the default role 'subscriber' carries permissions" in delivery.message
        assert "no role given" in delivery.message
        assert not User.objects.get(pk=delivery.user_id).groups.exists()
    call_command("check")
    assert "fusion.W010" in capsys.readouterr().err


def test_check_is_quiet_for_a_plain_default_role(site_sandbox, capsys):
    assert Group.objects.filter(name="subscriber").exists()  # made by a migration, with no permissions
    call_command("check")
    assert "fusion.W010" not in capsys.readouterr().err


# --- usernames --------------------------------------------------------------------------------------------


@pytest.fixture
def mapped_username(site_sandbox):
    FieldMappingFactory(ontraport_field="f1600", label="Username", target="user", attribute="username")

    def contact_named(contact_id: int, username: str, email: str) -> None:
        site_sandbox.add_contact({"id": str(contact_id), "email": email, "f1600": username})

    return contact_named


@pytest.mark.parametrize("raw", ["   ", "a b", "<img src=x>", "a/b", "\u202eevil", "x" * 151])
def test_an_invalid_mapped_username_falls_back_to_the_format_with_a_note(mapped_username, live_site, raw):
    mapped_username(9200, raw, "fallback@example.com")

    delivery = deliver(live_site.url, "add", 9200)

    user = User.objects.get(contact_id=9200)
    assert delivery.status == Delivery.Status.DONE, delivery.message
    assert user.username == "fallback@example.com"  # FUSION_USERNAME_FORMAT's default: the e-mail
    assert "used FUSION_USERNAME_FORMAT instead" in delivery.message
    user.full_clean()  # the admin can save it


def test_a_mapped_username_is_stripped_and_nfkc_normalised(mapped_username, live_site):
    mapped_username(9201, "  \uff4aane ", "jane@example.com")  # full-width j, spaces around

    deliver(live_site.url, "add", 9201)

    assert User.objects.get(contact_id=9201).username == "jane"


def test_taken_is_decided_on_one_key_on_both_databases(mapped_username, live_site):
    UserFactory(username="\u00c9mile", email="emile@example.com")  # Émile, made by hand
    mapped_username(9202, "\u00e9mile", "other.emile@example.com")  # émile

    deliver(live_site.url, "add", 9202)

    assert User.objects.get(contact_id=9202).username == "\u00e9mile1"


@pytest.mark.parametrize(
    "look_alike", ["r\u043e\u043et", "R\u03bf\u03bfT", "r00t"], ids=["cyrillic", "greek", "zeros"]
)
def test_a_confusable_of_a_superusers_name_is_never_given(mapped_username, live_site, look_alike):
    SuperuserFactory(username="root", email="root@example.com")
    mapped_username(9203, look_alike, "mallory@example.com")

    delivery = deliver(live_site.url, "add", 9203)

    user = User.objects.get(contact_id=9203)
    assert user.username == "mallory@example.com"
    assert "looks like a staff user's name" in delivery.message


def test_a_generated_name_that_looks_like_a_staff_name_gets_digits(site_sandbox, live_site, settings):
    settings.FUSION_USERNAME_FORMAT = "firstname_lastname"
    StaffFactory(username="adm\u0456n", email="boss@example.com")  # Cyrillic i
    site_sandbox.add_contact({"id": "9204", "email": "a@example.com", "firstname": "Ad", "lastname": "min"})

    deliver(live_site.url, "add", 9204)

    assert User.objects.get(contact_id=9204).username == "admin1"


# --- no password in a profile -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "label"),
    [("f1536", "Site Password"), ("f1601", "PWD"), ("f1602", "member pass"), ("sitePassword", "")],
)
def test_a_password_field_is_refused_as_a_profile_value_in_the_admin(site_sandbox, field, label):
    mapping = FieldMappingFactory(ontraport_field=field, label=label, attribute=field, enabled=False)
    admin = superuser_client()

    response = admin.post(
        "/admin/accounts/fieldmapping/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(mapping.pk),
            "form-0-enabled": "on",
            "_save": "Save",
        },
    )

    assert response.status_code == 200
    assert "holds a password: a profile value is stored in clear" in response.content.decode()
    mapping.refresh_from_db()
    assert mapping.enabled is False


def test_a_password_field_enabled_some_other_way_is_never_stored(site_sandbox, live_site, capsys):
    FieldMappingFactory(ontraport_field="f1536", label="Site Password", attribute="site_password")
    FieldMappingFactory(ontraport_field="f1535", label="Membership Level", attribute="level")
    site_sandbox.add_contact(
        {"id": "9300", "email": "p@example.com", "f1536": "hunter2-secret", "f1535": "Gold"}
    )

    deliver(live_site.url, "add", 9300)

    user = User.objects.get(contact_id=9300)
    assert user.profile == {"level": "Gold"}
    assert not Delivery.objects.filter(message__contains="hunter2-secret").exists()
    call_command("check")
    assert "fusion.W011" in capsys.readouterr().err


# --- e-mail changes ---------------------------------------------------------------------------------------


def _emails_changed_by_ontraport(site_sandbox, live_site, *, logged_in: bool):
    from django.core import mail
    from django.utils import timezone

    FieldMappingFactory(target="user", attribute="email", ontraport_field="email")
    user = UserFactory(username="dana", email="dana.adams@example.com")  # contact 1's e-mail
    if logged_in:
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    deliver(live_site.url, "add", 1)  # links dana by her e-mail (she is unlinked and not staff)
    mail.outbox.clear()
    site_sandbox.add_contact({**site_sandbox.get_contact(1), "email": "new.owner@evil.example"})
    delivery = deliver(live_site.url, "update", 1)
    user.refresh_from_db()
    return user, delivery, list(mail.outbox)


def test_the_old_address_is_told_when_ontraport_changes_a_used_accounts_email(site_sandbox, live_site):
    user, delivery, outbox = _emails_changed_by_ontraport(site_sandbox, live_site, logged_in=True)

    assert user.email == "new.owner@evil.example"
    [notice] = outbox
    assert notice.to == ["dana.adams@example.com"]
    assert "from dana.adams@example.com to new.owner@evil.example" in notice.body
    assert "the old address is sent a notice" in delivery.message
    assert (user.email_change_notice_to, user.email_change_notice_due_at) == (None, None)  # sent, not owed


def test_no_notice_for_an_account_nobody_has_used(site_sandbox, live_site):
    user, delivery, outbox = _emails_changed_by_ontraport(site_sandbox, live_site, logged_in=False)

    assert user.email == "new.owner@evil.example"
    assert outbox == [] and "notice" not in delivery.message


def test_a_notice_that_cannot_be_sent_is_owed_and_sent_by_a_later_drain(site_sandbox, live_site, monkeypatch):
    import datetime

    from django.core import mail
    from django.utils import timezone

    from accounts.services.email_change import email_change_notices_send_due

    def failing(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("accounts.services.email_change.email_change_notice_send", failing)
    user, _, outbox = _emails_changed_by_ontraport(site_sandbox, live_site, logged_in=True)
    assert outbox == [] and user.email_change_notice_to == "dana.adams@example.com"
    monkeypatch.undo()
    User.objects.filter(pk=user.pk).update(
        email_change_notice_due_at=timezone.now() - datetime.timedelta(seconds=1)
    )

    assert email_change_notices_send_due() == 1
    assert [message.to for message in mail.outbox] == [["dana.adams@example.com"]]


# --- permissions, over HTTP -------------------------------------------------------------------------------


def _signed_in(site, settings, username: str, *permissions: str) -> requests.Session:
    """A browser-like session of a staff user holding exactly `permissions`, signed in through the admin's
    own login form (over plain http here, so the cookies cannot be Secure-only)."""
    import re

    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    # Signed in through the login form: this user's password is hashed (the others' never are).
    user = StaffFactory(username=username, raw_password="a-long-enough-password-1")
    grant(user, *permissions)
    session = requests.Session()
    form = session.get(f"{site.url}/admin/login/", timeout=30).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    answer = session.post(
        f"{site.url}/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token, "username": username, "password": "a-long-enough-password-1"},
        headers={"Referer": f"{site.url}/admin/login/"},
        timeout=30,
    )
    assert answer.status_code == 200 and "Log out" in answer.text, answer.text[:500]
    return session


def _post_form(session: requests.Session, site, path: str, data: dict[str, str]) -> requests.Response:
    token = session.cookies["csrftoken"]
    return session.post(
        f"{site.url}{path}",
        data={"csrfmiddlewaretoken": token, **data},
        headers={"Referer": f"{site.url}/admin/ontraport/"},
        allow_redirects=False,
        timeout=30,
    )


def test_staff_alone_sends_no_test_webhook_and_reads_no_outcome(site_sandbox, live_site, settings):
    settings.SITE_URL = live_site.url
    kate = UserFactory(username="kate", email="dana.adams@example.com")  # contact 1's e-mail
    existing = deliver(live_site.url, "update", 424242)  # someone else's delivery
    nobody = _signed_in(live_site, settings, "nobody")

    answers = [
        _post_form(nobody, live_site, "/admin/ontraport/test-webhook/", {"contact_id": "1", "action": a})
        for a in ("add", "update", "update_tags")
    ]
    outcome = nobody.get(f"{live_site.url}/admin/ontraport/test-webhook/{existing.pk}/", timeout=30)
    page = nobody.get(f"{live_site.url}/admin/ontraport/", timeout=30)

    assert [answer.status_code for answer in answers] == [403, 403, 403]
    assert outcome.status_code == 403
    assert page.status_code == 200 and "424242" not in page.text  # no failure listed
    assert Delivery.objects.count() == 1
    kate.refresh_from_db()
    assert (kate.contact_id, kate.first_name) == (None, "")


def test_exactly_the_needed_permissions_send_an_add_and_record_who(site_sandbox, live_site, settings):
    settings.SITE_URL = live_site.url
    sender = _signed_in(live_site, settings, "sender", "accounts.add_user", "accounts.change_user")

    answer = _post_form(
        sender, live_site, "/admin/ontraport/test-webhook/", {"contact_id": "1", "action": "add"}
    )

    assert answer.status_code == 302
    delivery = Delivery.objects.get()
    assert delivery.started_by.username == "sender"
    assert User.objects.filter(contact_id=1).exists()

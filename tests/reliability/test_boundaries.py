"""The boundaries of issue 17 (roles, usernames, e-mail changes, passwords in profiles), replayed over HTTP
against a running site (a live server whose requests apply contacts inline), on SQLite and on PostgreSQL.
Each must change nothing it should not. docs/security.md lists them; docs/identity.md states the rules."""

from urllib.parse import quote

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from tests.django_fixtures import ACCESS_KEY
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()


def send(site, action: str, contact_id: int, raw_extra: str = "") -> Delivery:
    url = f"{site.url}/?wpf_action={action}&access_key={quote(ACCESS_KEY)}&contact_id={contact_id}{raw_extra}"
    response = requests.get(url, timeout=30)
    assert response.status_code == 202, response.text
    return Delivery.objects.get(pk=response.json()["delivery_id"])


def with_permission(name: str) -> Group:
    group, _ = Group.objects.get_or_create(name=name)
    group.permissions.add(Permission.objects.get(codename="change_user"))
    return group


# --- roles, symmetric ------------------------------------------------------------------------------------


def test_a_role_update_never_removes_a_group_with_permissions_granted_by_hand(site_sandbox, live_site):
    Group.objects.create(name="customer")
    newsletter = Group.objects.create(name="newsletter")  # no permissions: a webhook's to manage
    editors = with_permission("editors")
    send(live_site, "add", 1)
    dana = User.objects.get(contact_id=1)
    dana.groups.add(editors, newsletter)  # the owner, by hand

    delivery = send(live_site, "update", 1, "&role=customer")

    assert delivery.status == Delivery.Status.DONE, delivery.message
    assert sorted(dana.groups.values_list("name", flat=True)) == ["customer", "editors"]


def test_a_role_with_permissions_is_neither_granted_nor_removed(site_sandbox, live_site):
    with_permission("editors")
    send(live_site, "add", 1)
    dana = User.objects.get(contact_id=1)

    refused = send(live_site, "update", 1, "&role=editors")

    assert "carries permissions" in refused.message and "groups unchanged" in refused.message
    assert list(dana.groups.values_list("name", flat=True)) == ["subscriber"]


def test_a_default_role_with_permissions_is_not_given_and_check_says_so(site_sandbox, live_site, capsys):
    with_permission("subscriber")  # FUSION_DEFAULT_ROLE
    with_permission("editors")

    plain = send(live_site, "add", 1)
    fallback = send(live_site, "add", 2, "&role=editors")

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

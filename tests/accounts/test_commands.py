"""The accounts management commands: ontraport_user, ontraport_sync_tags, ontraport_sync_fields."""

import json
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from accounts.models import FieldMapping, Tag
from tests.support.factories import GroupFactory, TagFactory, UserFactory


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def sofia(db):
    return UserFactory(
        username="sofia.m",
        email="sofia.martinez@example.org",
        first_name="Sofía",
        last_name="Martínez",
        contact_id=3,
        profile={"membership_level": "3"},
        groups=[Group.objects.get(name="subscriber")],
        tags=[TagFactory(id=4, name="VIP"), TagFactory(id=1, name="Members")],
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ontraport_user_json_for_a_user_created_by_a_webhook(site_sandbox, webhook):
    GroupFactory(name="customer")
    webhook("add", 3, role="customer")

    summary = json.loads(run("ontraport_user", "3", "--json"))

    assert summary == {
        "username": "sofia.martinez@example.org",
        "email": "sofia.martinez@example.org",
        "first_name": "Sofía",
        "last_name": "Martínez",
        "contact_id": 3,
        "roles": ["customer"],
        "tags": ["Customers", "Gold Members", "Members", "VIP"],
        "profile": {},
        "is_active": True,
    }


@pytest.mark.parametrize("who", ["sofia.martinez@example.org", "SOFIA.Martinez@Example.ORG", " 3 "])
def test_ontraport_user_finds_by_email_in_any_case_or_by_contact_id(sofia, who):
    assert json.loads(run("ontraport_user", who, "--json"))["username"] == "sofia.m"


def test_ontraport_user_human_readable(sofia):
    text = run("ontraport_user", "sofia.martinez@example.org")

    assert "username: sofia.m\n" in text
    assert "contact_id: 3\n" in text
    assert "roles: subscriber\n" in text
    assert "tags: Members, VIP\n" in text
    assert "profile:\n  membership_level: 3\n" in text


@pytest.mark.parametrize("who", ["nobody@example.com", "4", "", "4x"])
def test_ontraport_user_unknown(sofia, who):
    with pytest.raises(CommandError, match="no such user"):
        run("ontraport_user", who)


@pytest.mark.django_db
def test_ontraport_sync_tags_stores_the_names(site_sandbox):
    TagFactory(id=6, name="")

    assert run("ontraport_sync_tags") == "8 tags in Ontraport; names stored.\n"

    assert Tag.objects.get(id=6).name == "Cancelled"
    assert Tag.objects.count() == 8


@pytest.mark.django_db
def test_ontraport_sync_tags_fails_clearly(site_sandbox):
    site_sandbox.fault(status=401, body="Invalid API key", endpoint="GET /Tags")

    with pytest.raises(CommandError, match=r"could not fetch the tag list from Ontraport: .*401"):
        run("ontraport_sync_tags")

    assert Tag.objects.count() == 0


@pytest.mark.django_db
def test_ontraport_sync_fields_prints_counts(site_sandbox):
    before = FieldMapping.objects.count()
    enabled = FieldMapping.objects.filter(enabled=True).count()

    text = run("ontraport_sync_fields")

    created = FieldMapping.objects.count() - before
    assert created > 3
    assert (
        text
        == f"{created} new field mappings (disabled); {enabled} of {before + created} mappings enabled.\n"
    )
    assert run("ontraport_sync_fields").startswith("0 new field mappings")


@pytest.mark.django_db
def test_ontraport_sync_fields_fails_clearly(site_sandbox):
    site_sandbox.fault(status=500, count=5, endpoint="GET /Contacts/meta")

    with pytest.raises(CommandError, match="could not fetch the contact fields from Ontraport"):
        run("ontraport_sync_fields")

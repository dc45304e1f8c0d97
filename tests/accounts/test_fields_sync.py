"""Loading Ontraport's contact field list into field mappings (through the sandbox's Contacts/meta)."""

import pytest

from accounts.models import FieldMapping
from accounts.ontraport import ontraport_client
from accounts.services.fields_sync import field_mappings_sync_from_ontraport
from ontraport_client import OntraportError
from tests.support.factories import FieldMappingFactory

pytestmark = pytest.mark.django_db


def remote_keys(sandbox) -> set[str]:
    return set(sandbox.fields())


def test_every_unmapped_field_becomes_a_disabled_mapping_keyed_by_its_label(site_sandbox):
    already = set(
        FieldMapping.objects.values_list("ontraport_field", flat=True)
    )  # firstname, lastname, email
    enabled_before = set(FieldMapping.objects.filter(enabled=True).values_list("pk", flat=True))

    created = field_mappings_sync_from_ontraport(client=ontraport_client())

    new = FieldMapping.objects.exclude(ontraport_field__in=already)
    expected = remote_keys(site_sandbox) - already - {"id", "contact_cat"}
    assert created == len(expected) == new.count()
    assert set(new.values_list("ontraport_field", flat=True)) == expected
    level = FieldMapping.objects.get(ontraport_field="f1535")
    assert (level.label, level.target, level.attribute, level.enabled) == (
        "Membership Level",
        FieldMapping.Target.PROFILE,
        "membership_level",  # the label as a key, not Ontraport's id
        False,
    )
    # A field labelled "Username" is loaded as the username mapping, not as a profile value to re-map.
    username = FieldMapping.objects.get(ontraport_field="f1534")
    assert (username.target, username.attribute, username.enabled) == (
        FieldMapping.Target.USER,
        "username",
        False,
    )
    assert set(FieldMapping.objects.filter(enabled=True).values_list("pk", flat=True)) == enabled_before


def test_a_second_load_creates_nothing_and_refreshes_labels(site_sandbox):
    field_mappings_sync_from_ontraport(client=ontraport_client())
    count = FieldMapping.objects.count()
    FieldMapping.objects.filter(ontraport_field="f1534").update(label="stale", enabled=True)
    FieldMapping.objects.filter(ontraport_field="email").update(label="")

    assert field_mappings_sync_from_ontraport(client=ontraport_client()) == 0

    assert FieldMapping.objects.count() == count
    username = FieldMapping.objects.get(ontraport_field="f1534")
    assert (username.label, username.enabled) == ("Username", True)  # an enabled mapping stays enabled
    assert FieldMapping.objects.get(ontraport_field="email").label == "Email"


def test_a_field_mapped_elsewhere_keeps_its_mapping(site_sandbox):
    FieldMappingFactory(ontraport_field="f1534", target="user", attribute="username", label="")
    # A profile key equal to a field key that another mapping already uses is not created twice.
    FieldMappingFactory(ontraport_field="f1536", target="profile", attribute="city", label="")

    field_mappings_sync_from_ontraport(client=ontraport_client())

    assert list(FieldMapping.objects.filter(ontraport_field="f1534").values_list("target", "label")) == [
        ("user", "Username")
    ]
    assert not FieldMapping.objects.filter(ontraport_field="city").exists()
    assert FieldMapping.objects.filter(target="profile", attribute="city").count() == 1


def test_an_ontraport_error_changes_nothing(site_sandbox):
    count = FieldMapping.objects.count()
    site_sandbox.fault(status=401, body="Invalid API key", endpoint="GET /Contacts/meta")

    with pytest.raises(OntraportError):
        field_mappings_sync_from_ontraport(client=ontraport_client())

    assert FieldMapping.objects.count() == count

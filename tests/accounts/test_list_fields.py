"""The site's Ontraport client asks contact lists for what the site uses only (listFields): the ids,
e-mail, names, tags and the enabled mappings' fields, read afresh at each call."""

import pytest

from accounts.ontraport import ontraport_client
from tests.support.factories import FieldMappingFactory

pytestmark = pytest.mark.django_db

BASE = {"id", "email", "firstname", "lastname", "contact_cat"}


def test_contact_answers_carry_the_enabled_mappings_fields_and_nothing_else(site_sandbox):
    FieldMappingFactory(ontraport_field="f1535", target="profile", attribute="membership_level")
    FieldMappingFactory(ontraport_field="f1536", target="profile", attribute="off", enabled=False)

    first = ontraport_client().get_contacts([1])[1]
    FieldMappingFactory(ontraport_field="f1534", target="user", attribute="username")
    second = ontraport_client().get_contacts([1])[1]

    assert set(first.fields) == BASE | {"f1535"}  # no city, company, dates, disabled f1536 ...
    assert first.fields["f1535"] == "3"
    assert set(second.fields) == BASE | {"f1534", "f1535"}  # a mapping enabled counts from the next call

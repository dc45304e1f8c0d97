"""Contact, Tag and ContactField parsing, without HTTP."""

from __future__ import annotations

import pickle

import pytest

from ontraport_client import Contact, ContactField, Tag
from ontraport_client.contact import format_tag_ids, parse_tag_ids


@pytest.mark.parametrize(
    ("contact_cat", "tag_ids"),
    [
        ("*/*12*/*34*/*", {12, 34}),
        ("*/*15*/*", {15}),
        ("", set()),
        ("*/*", set()),
        ("*/**/*", set()),
        (None, set()),
        ("12", {12}),  # no separators at all
        ("*/*12*/*34", {12, 34}),  # missing trailing separator
        ("12*/*34*/*", {12, 34}),  # missing leading separator
        ("*/* 7 */*", {7}),  # stray spaces
        ("*/*12*/*12*/*", {12}),
        ("*/*abc*/*5*/*", {5}),  # garbage part skipped
        ("*/*-3*/*0*/*4*/*", {4}),  # not a tag id
        ("*/*1.5*/*²*/*9*/*", {9}),  # "²".isdigit() is True, but it is not an id
        ("*/*12,34*/*", set()),
        (12, set()),  # not a string at all
    ],
)
def test_parse_tag_ids(contact_cat, tag_ids):
    assert parse_tag_ids(contact_cat) == frozenset(tag_ids)


def test_format_tag_ids_is_the_inverse():
    assert format_tag_ids({34, 12}) == "*/*12*/*34*/*"
    assert format_tag_ids(set()) == ""
    assert parse_tag_ids(format_tag_ids({1, 2, 3})) == {1, 2, 3}


class TestContactFromApi:
    LIVE = {
        "id": "526",
        "owner": "1",
        "firstname": "Dana",
        "lastname": "Adams",
        "email": "dana@example.com",
        "date": "1759911360",
        "contact_cat": "*/*15*/*",
        "bulk_mail": "1",
        "f2147": "0",
        "address": None,
    }

    def test_trimmed_live_response(self):
        contact = Contact.from_api(self.LIVE)

        assert contact == Contact(
            id=526,
            email="dana@example.com",
            first_name="Dana",
            last_name="Adams",
            tag_ids=frozenset({15}),
            fields=self.LIVE,
        )
        assert contact.fields["f2147"] == "0"
        assert contact.fields["address"] is None

    def test_nulls_and_missing_fields_become_empty_strings(self):
        contact = Contact.from_api({"id": "7", "email": None, "firstname": None})

        assert (contact.email, contact.first_name, contact.last_name) == ("", "", "")
        assert contact.tag_ids == frozenset()

    def test_values_are_kept_as_text(self):
        contact = Contact.from_api({"id": 8, "bulk_mail": 1, "f1": None})

        assert contact.id == 8
        assert contact.fields == {"id": "8", "bulk_mail": "1", "f1": None}

    def test_whitespace_around_email_and_names_is_dropped(self):
        contact = Contact.from_api({"id": "1", "email": " a@b.c ", "firstname": " Ann "})

        assert (contact.email, contact.first_name) == ("a@b.c", "Ann")
        assert contact.fields["email"] == " a@b.c "  # raw value untouched

    @pytest.mark.parametrize("bad_id", [None, "", "abc", "0", "-4", "1.5"])
    def test_without_a_usable_id_raises_value_error(self, bad_id):
        with pytest.raises(ValueError, match="usable id"):
            Contact.from_api({"id": bad_id, "email": "a@b.c"})

    def test_is_frozen_hashable_and_picklable(self):
        contact = Contact.from_api(self.LIVE)

        with pytest.raises(AttributeError):
            contact.email = "x"  # type: ignore[misc]
        assert len({contact, Contact.from_api(self.LIVE)}) == 1
        assert pickle.loads(pickle.dumps(contact)) == contact

    def test_fields_are_a_copy(self):
        data = dict(self.LIVE)
        contact = Contact.from_api(data)

        data["firstname"] = "Changed"

        assert contact.fields["firstname"] == "Dana"

    def test_repr_leaves_out_the_raw_fields(self):
        assert "f2147" not in repr(Contact.from_api(self.LIVE))


def test_tag_from_api():
    assert Tag.from_api({"tag_id": "12", "tag_name": "Members", "object_type_id": "0"}) == Tag(12, "Members")
    with pytest.raises(ValueError):
        Tag.from_api({"tag_id": None, "tag_name": "X"})


class TestContactField:
    def test_dropdown_options_as_an_object(self):
        field = ContactField.from_api("f1535", {"alias": "Level", "type": "drop", "options": {"1": "Gold"}})

        assert field == ContactField("f1535", "Level", "drop", {"1": "Gold"})

    def test_options_as_a_list_of_rows_or_labels(self):
        rows = ContactField.from_api("f1", {"type": "list", "options": [{"id": "4", "name": "Red"}]})
        labels = ContactField.from_api("f2", {"type": "drop", "options": ["Red", "Blue"]})

        assert dict(rows.options) == {"4": "Red"}
        assert dict(labels.options) == {"0": "Red", "1": "Blue"}

    def test_label_falls_back_to_the_key(self):
        assert ContactField.from_api("f9", {}).label == "f9"

"""Every call of OntraportClient against the sandbox, over real HTTP."""

from __future__ import annotations

import pytest
import requests

from ontraport_client import (
    Contact,
    ContactField,
    NotFoundError,
    OntraportClient,
    RetryPolicy,
    Tag,
    __version__,
)


def contacts_holding(sandbox, tag_id: int, ids) -> set[int]:
    marker = f"*/*{tag_id}*/*"
    return {i for i in ids if marker in (sandbox.get_contact(i)["contact_cat"] or "")}


class TestGetContact:
    def test_reads_every_field_and_parses_names_email_and_tags(self, ontraport):
        contact = ontraport.get_contact(3)

        assert isinstance(contact, Contact)
        assert (contact.id, contact.first_name, contact.last_name) == (3, "Sofía", "Martínez")
        assert contact.email == "sofia.martinez@example.org"
        assert contact.tag_ids == frozenset({1, 2, 4, 5})
        assert contact.fields["f1534"] == "sofia.m"
        assert contact.fields["f1536"] is None
        assert contact.fields["id"] == "3"

    def test_contact_without_email_or_name_gives_empty_strings(self, ontraport):
        contact = ontraport.get_contact(10)

        assert (contact.email, contact.first_name, contact.last_name) == ("", "", "")
        assert contact.tag_ids == frozenset()

    def test_missing_contact_raises_not_found(self, ontraport):
        with pytest.raises(NotFoundError) as caught:
            ontraport.get_contact(9999)

        assert caught.value.status == 404
        assert caught.value.body_excerpt == "Object not found"


class TestGetContacts:
    def test_120_ids_take_exactly_3_calls(self, sandbox, ontraport):
        new_ids = sandbox.add_contacts([{"email": f"bulk{n}@example.com"} for n in range(120)])

        contacts = ontraport.get_contacts(new_ids)

        assert set(contacts) == set(new_ids)
        assert contacts[new_ids[7]].email == "bulk7@example.com"
        stats = sandbox.stats()
        assert stats["by_endpoint"] == {"GET /Contacts": 3}
        assert stats["requests"] == 3
        assert ontraport.calls_made == 3

    def test_duplicates_are_asked_once_and_missing_ids_are_absent(self, sandbox, ontraport):
        contacts = ontraport.get_contacts([1, 2, 2, 1, 4040, 12])

        assert sorted(contacts) == [1, 2, 12]
        assert contacts[12].email == "Oliver.Smith@Example.com"
        assert ontraport.calls_made == 1

    def test_50_distinct_ids_with_repeats_fit_in_one_call(self, sandbox, ontraport):
        ids = sandbox.add_contacts([{"firstname": f"N{n}"} for n in range(38)]) + list(range(1, 13))

        contacts = ontraport.get_contacts(ids + ids)

        assert len(contacts) == 50
        assert sandbox.stats()["requests"] == 1

    def test_no_ids_means_no_call(self, sandbox, ontraport):
        assert ontraport.get_contacts([]) == {}
        assert ontraport.calls_made == 0
        assert sandbox.stats()["requests"] == 0

    def test_accepts_any_iterable(self, ontraport):
        contacts = ontraport.get_contacts(i for i in (5, 6))

        assert [contacts[5].first_name, contacts[6].first_name] == ["Amara", "Lucas"]


class TestFindContactIdsByEmail:
    def test_finds_the_contact(self, ontraport):
        assert ontraport.find_contact_ids_by_email("liam.chen@example.com") == [2]

    def test_ignores_case_like_ontraport(self, ontraport):
        assert ontraport.find_contact_ids_by_email("oliver.smith@example.com") == [12]

    def test_unknown_email_gives_none(self, ontraport):
        assert ontraport.find_contact_ids_by_email("nobody@example.com") == []

    def test_every_contact_with_the_email_in_one_call(self, sandbox, ontraport):
        twin = sandbox.add_contact({"email": "LIAM.chen@example.com"})
        before = sandbox.stats()["requests"]

        assert ontraport.find_contact_ids_by_email("liam.chen@example.com") == [2, int(twin["id"])]
        assert sandbox.stats()["requests"] - before == 1

    def test_email_is_sent_url_encoded(self, sandbox, ontraport):
        created = sandbox.add_contact({"email": "a+b&c@example.com"})

        assert ontraport.find_contact_ids_by_email("a+b&c@example.com") == [int(created["id"])]


class TestUpdateContact:
    def test_writes_fields_and_bumps_dlm(self, sandbox, ontraport):
        before = sandbox.get_contact(3)

        ontraport.update_contact(3, {"f1534": "sofia", "lastname": "Martín"})

        after = sandbox.get_contact(3)
        assert (after["f1534"], after["lastname"]) == ("sofia", "Martín")
        assert int(after["dlm"]) > int(before["dlm"])
        assert after["email"] == before["email"]

    def test_missing_contact_raises_not_found(self, ontraport):
        with pytest.raises(NotFoundError):
            ontraport.update_contact(9999, {"firstname": "X"})

    def test_refuses_an_id_among_the_fields(self, ontraport):
        with pytest.raises(ValueError, match="contact_id"):
            ontraport.update_contact(3, {"id": "4"})
        assert ontraport.calls_made == 0

    def test_sends_a_json_body_with_the_id(self, http_recorder):
        client = OntraportClient("app", "key", http_recorder.url + "/1/", retry=None)

        client.update_contact(8, {"f1534": "ethan"})

        [request] = http_recorder.requests
        assert (request.method, request.path) == ("PUT", "/1/Contacts")
        assert request.json() == {"id": 8, "f1534": "ethan"}


class TestContactFields:
    def test_lists_fields_with_labels_types_and_options(self, ontraport):
        fields = {field.key: field for field in ontraport.contact_fields()}

        assert fields["f1534"] == ContactField(key="f1534", label="Username", type="text", options={})
        level = fields["f1535"]
        assert (level.label, level.type) == ("Membership Level", "drop")
        assert dict(level.options) == {"1": "Bronze", "2": "Silver", "3": "Gold"}
        assert fields["email"].label == "Email"
        assert "contact_cat" in fields


class TestTags:
    def test_lists_the_demo_tags_in_one_call(self, ontraport):
        tags = ontraport.list_tags()

        assert Tag(id=1, name="Members") in tags
        assert len(tags) == 8
        assert ontraport.calls_made == 1

    @pytest.mark.parametrize(("count", "calls"), [(120, 3), (100, 3), (49, 1), (0, 1)])
    def test_reads_every_page_until_a_short_one(self, sandbox, ontraport, count, calls):
        sandbox.reset(data={"tags": [{"tag_id": n, "tag_name": f"Tag {n}"} for n in range(1, count + 1)]})

        tags = ontraport.list_tags()

        assert [tag.id for tag in tags] == list(range(1, count + 1))
        assert tags[-1:] == ([Tag(id=count, name=f"Tag {count}")] if count else [])
        assert sandbox.stats()["by_endpoint"] == {"GET /Tags": calls}

    def test_create_tag(self, ontraport):
        tag = ontraport.create_tag("Early Birds")

        assert tag == Tag(id=9, name="Early Birds")
        assert tag in ontraport.list_tags()

    def test_a_tag_list_that_ignores_start_is_kept_as_read_without_looping(self, sandbox, ontraport):
        sandbox.reset(data={"tags": [{"tag_id": n, "tag_name": f"Tag {n}"} for n in range(1, 61)]})
        headers = {"Api-Appid": sandbox.app_id, "Api-Key": sandbox.api_key}
        first = requests.get(f"{sandbox.url}Tags", headers=headers, timeout=5).text
        sandbox.fault(status=200, body=first, endpoint="GET /Tags", count=5)  # page 1, whatever the start
        before = sandbox.stats()["by_endpoint"]["GET /Tags"]

        tags = ontraport.list_tags()

        # Names are cosmetic: what could be read is kept (and logged) rather than failing webhooks.
        assert [tag.id for tag in tags] == list(range(1, 51))
        assert sandbox.stats()["by_endpoint"]["GET /Tags"] - before == 2  # page 1, its repeat: stop

    def test_only_contact_tags_are_listed(self, sandbox, ontraport):
        sandbox.add_tag("Hot Deal", tag_id=20, object_type_id=3)  # a deal's tag
        sandbox.add_tag("Custom Object Tag", tag_id=21, object_type_id=10003)

        ids = {tag.id for tag in ontraport.list_tags()}

        assert ids == set(range(1, 9))

    def test_a_timed_out_create_that_was_made_is_found_by_name_not_made_twice(self, sandbox, make_ontraport):
        client = make_ontraport(timeout=0.3, retry=RetryPolicy(max_attempts=3, base_delay=0))
        sandbox.fault(delay_ms=800, endpoint="POST /Tags")  # made, but answered too late

        tag = client.create_tag("Early Birds")

        assert tag == Tag(id=9, name="Early Birds")
        assert sandbox.stats()["by_endpoint"]["POST /Tags"] == 1
        assert [t.name for t in client.list_tags()].count("Early Birds") == 1

    def test_a_create_refused_before_it_was_made_is_sent_once_more(self, sandbox, make_ontraport):
        client = make_ontraport(retry=RetryPolicy(max_attempts=3, base_delay=0))
        sandbox.fault(status=503, endpoint="POST /Tags")

        assert client.create_tag("Early Birds") == Tag(id=9, name="Early Birds")
        assert sandbox.stats()["by_endpoint"]["POST /Tags"] == 2

    def test_add_and_remove_tags(self, sandbox, ontraport):
        ontraport.add_tags([4, 8], [6, 7])

        assert sandbox.get_contact(4)["contact_cat"] == "*/*3*/*6*/*7*/*"
        assert sandbox.get_contact(8)["contact_cat"] == "*/*6*/*7*/*"

        ontraport.remove_tags([4, 8], [3, 6])

        assert sandbox.get_contact(4)["contact_cat"] == "*/*7*/*"
        assert sandbox.get_contact(8)["contact_cat"] == "*/*7*/*"

    def test_tag_changes_are_chunked_by_50_contacts(self, sandbox, ontraport):
        ids = sandbox.add_contacts([{"firstname": f"N{n}"} for n in range(60)])

        ontraport.add_tags(ids, [1])

        assert contacts_holding(sandbox, 1, ids) == set(ids)
        assert sandbox.stats()["by_endpoint"] == {"PUT /objects/tag": 2}

    def test_nothing_to_change_means_no_call(self, ontraport):
        ontraport.add_tags([], [1])
        ontraport.remove_tags([1], [])

        assert ontraport.calls_made == 0

    def test_remove_sends_a_delete_with_a_body(self, http_recorder):
        client = OntraportClient("app", "key", http_recorder.url + "/1/")

        client.remove_tags([5, 5, 6], [2, 3])

        [request] = http_recorder.requests
        assert (request.method, request.path) == ("DELETE", "/1/objects/tag")
        assert request.json() == {"objectID": 0, "remove_list": "2,3", "ids": "5,6"}


class TestContactsWithTag:
    def test_yields_the_ids_of_contacts_holding_the_tag(self, ontraport):
        assert sorted(ontraport.contacts_with_tag(4)) == [3, 11]

    def test_pages_through_many_contacts(self, sandbox, ontraport):
        ids = sandbox.add_contacts([{"contact_cat": "*/*8*/*"} for _ in range(120)])

        found = list(ontraport.contacts_with_tag(8))

        assert sorted(found) == sorted([7, *ids])
        assert sandbox.stats()["by_endpoint"] == {"GET /objects/tag": 3}

    def test_is_lazy(self, sandbox, ontraport):
        ids = ontraport.contacts_with_tag(1)

        assert sandbox.stats()["requests"] == 0
        assert next(ids) == 1
        assert sandbox.stats()["requests"] == 1

    def test_unknown_tag_yields_nothing(self, ontraport):
        assert list(ontraport.contacts_with_tag(404)) == []


class TestRequests:
    def test_sends_credentials_and_user_agent_headers(self, http_recorder):
        client = OntraportClient("my-app", "my-key", http_recorder.url + "/1/")

        client.find_contact_ids_by_email("x@example.com")

        [request] = http_recorder.requests
        assert request.headers["api-appid"] == "my-app"
        assert request.headers["api-key"] == "my-key"
        assert request.headers["user-agent"] == f"fusion-site/{__version__} (+python-requests)"
        assert request.path == "/1/object/getByEmail"
        assert request.query == {"objectID": "0", "email": "x@example.com", "all": "1"}

    def test_base_url_without_trailing_slash_keeps_its_path(self, http_recorder):
        client = OntraportClient("app", "key", http_recorder.url + "/1")

        client.find_contact_ids_by_email("x@example.com")

        assert http_recorder.requests[0].path == "/1/object/getByEmail"

    def test_a_given_session_is_used_and_not_given_the_key(self, http_recorder):
        session = requests.Session()
        client = OntraportClient("app", "secret-key", http_recorder.url + "/1/", session=session)

        client.find_contact_ids_by_email("x@example.com")

        assert http_recorder.requests[0].headers["api-key"] == "secret-key"
        assert "Api-Key" not in session.headers

    def test_the_sandbox_also_answers_without_the_1_prefix(self, sandbox, make_ontraport):
        client = make_ontraport(base_url=sandbox.url.removesuffix("1/"))

        assert client.get_contact(1).first_name == "Dana"

"""The sandbox answers like Ontraport where the site depends on it. Raw HTTP, no client in between."""

from __future__ import annotations

import json

import pytest
import requests


class Api:
    """Raw calls to the sandbox's Ontraport API with its credentials."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.headers = {"Api-Appid": sandbox.app_id, "Api-Key": sandbox.api_key}

    def __call__(self, method, path, *, headers=None, **kwargs) -> requests.Response:
        return requests.request(
            method, self.sandbox.url + path, headers=headers or self.headers, timeout=5, **kwargs
        )

    def data(self, method, path, **kwargs):
        response = self(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()["data"]


@pytest.fixture
def api(sandbox) -> Api:
    return Api(sandbox)


def condition(*parts) -> str:
    return json.dumps(list(parts))


def equals(field, value):
    return {"field": {"field": field}, "op": "=", "value": {"value": value}}


def is_in(field, values):
    return {"field": {"field": field}, "op": "IN", "value": {"list": [{"value": v} for v in values]}}


class TestEnvelope:
    def test_single_object(self, api):
        payload = api("GET", "Contact", params={"id": 1}).json()

        assert set(payload) == {"code", "data", "account_id"}
        assert payload["code"] == 0
        assert payload["account_id"] == 12345
        assert payload["data"]["id"] == "1"

    def test_list_calls_add_misc(self, api):
        payload = api("GET", "Contacts").json()

        assert set(payload) == {"code", "data", "account_id", "misc"}
        assert payload["misc"] == []
        assert [row["id"] for row in payload["data"]] == [str(i) for i in range(1, 13)]

    def test_every_value_is_a_string_or_null(self, api, sandbox):
        sandbox.add_contact({"id": 77, "firstname": "Num", "bulk_mail": 1, "f1535": 2, "f1534": True})
        contacts = api.data("GET", "Contacts", params={"range": 50})
        tags = api.data("GET", "Tags")

        values = [value for row in contacts + tags for value in row.values()]
        assert len(values) > 300
        assert all(value is None or isinstance(value, str) for value in values)
        assert contacts[-1]["f1534"] == "1"

    def test_contacts_carry_every_field_null_when_unset(self, api):
        contact = api.data("GET", "Contact", params={"id": 10})

        assert contact["email"] is None
        assert contact["f1534"] is None
        assert contact["contact_cat"] == ""
        assert {"owner", "date", "dla", "dlm", "bulk_mail", "unique_id", "f1535"} <= set(contact)

    def test_with_or_without_the_1_prefix_and_trailing_slash(self, sandbox, api):
        base = sandbox.url.removesuffix("1/")
        for url in (base + "Contact", base + "1/Contact/", sandbox.url + "Contact"):
            response = requests.get(url, params={"id": 2}, headers=api.headers, timeout=5)
            assert response.json()["data"]["firstname"] == "Liam"


class TestErrors:
    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Api-Appid": "sandbox-app"},
            {"Api-Appid": "sandbox-app", "Api-Key": "wrong"},
            {"Api-Appid": "wrong", "Api-Key": "sandbox-key"},
        ],
    )
    def test_401_in_plain_text(self, api, headers):
        response = api("GET", "Contact", params={"id": 1}, headers=headers or {"X": "1"})

        assert response.status_code == 401
        assert response.headers["Content-Type"].startswith("text/plain")
        assert response.text == "Your App ID and API Key do not authenticate."

    def test_header_names_are_case_insensitive(self, api, sandbox):
        headers = {"api-appid": sandbox.app_id, "API-KEY": sandbox.api_key}

        assert api("GET", "Contact", params={"id": 1}, headers=headers).status_code == 200

    def test_404_in_plain_text(self, api):
        response = api("GET", "Contact", params={"id": 999})

        assert (response.status_code, response.text) == (404, "Object not found")
        assert response.headers["Content-Type"].startswith("text/plain")

    @pytest.mark.parametrize(
        ("method", "path", "params"),
        [
            ("GET", "Contact", {}),
            ("GET", "Contact", {"id": "abc"}),
            ("GET", "Contacts", {"ids": "1,x"}),
            ("GET", "Contacts", {"start": "-1"}),
            ("GET", "Contacts", {"condition": "not json"}),
            ("GET", "Contacts", {"condition": '[{"field":{"field":"email"},"op":"~","value":{"value":1}}]'}),
            ("GET", "objects", {"objectID": "99"}),
            ("GET", "objects", {}),
            ("GET", "object/getByEmail", {"objectID": "0"}),
        ],
    )
    def test_400_in_plain_text(self, api, method, path, params):
        response = api(method, path, params=params)

        assert response.status_code == 400
        assert response.headers["Content-Type"].startswith("text/plain")
        assert response.text.startswith(("Invalid", "Missing"))

    def test_unknown_endpoint_and_wrong_method(self, api):
        assert api("GET", "Invoices").status_code == 404
        assert api("PATCH", "Contacts").status_code == 405


class TestContacts:
    def test_range_is_capped_at_50(self, api, sandbox):
        sandbox.add_contacts([{"firstname": f"N{n}"} for n in range(120)])  # 132 in all

        assert len(api.data("GET", "Contacts", params={"range": 100})) == 50
        assert len(api.data("GET", "Contacts")) == 50
        last_page = api.data("GET", "Contacts", params={"start": 100, "range": 50})
        assert [row["id"] for row in last_page] == [str(i) for i in range(101, 133)]

    def test_ids_give_the_existing_ones_in_id_order(self, api):
        rows = api.data("GET", "Contacts", params={"ids": "12,3,999,3"})

        assert [row["id"] for row in rows] == ["3", "12"]

    def test_condition_email_equals_ignores_case(self, api):
        rows = api.data(
            "GET", "Contacts", params={"condition": condition(equals("email", "oliver.smith@example.com"))}
        )

        assert [row["id"] for row in rows] == ["12"]

    def test_condition_id_in(self, api):
        rows = api.data("GET", "Contacts", params={"condition": condition(is_in("id", [2, 5, 7, 404]))})

        assert [row["id"] for row in rows] == ["2", "5", "7"]

    def test_condition_and_or(self, api):
        both = condition(equals("country", "FR"), "AND", is_in("id", [7, 8]))
        either = condition(equals("country", "FR"), "OR", equals("country", "JP"), "AND", equals("id", 11))

        assert [row["id"] for row in api.data("GET", "Contacts", params={"condition": both})] == ["7"]
        assert [row["id"] for row in api.data("GET", "Contacts", params={"condition": either})] == ["7", "11"]

    def test_condition_with_paging(self, api):  # members: 1, 2, 3, 5, 7, 9, 11
        members = condition(
            {"field": {"field": "contact_cat"}, "op": "LIKE", "value": {"value": "%*/*1*/*%"}}
        )

        rows = api.data("GET", "Contacts", params={"condition": members, "start": 2, "range": 3})

        assert [row["id"] for row in rows] == ["3", "5", "7"]

    def test_list_fields(self, api):
        rows = api.data("GET", "Contacts", params={"ids": "1,2", "listFields": "email,f1534"})

        assert rows == [
            {"id": "1", "email": "dana.adams@example.com", "f1534": "dana"},
            {"id": "2", "email": "liam.chen@example.com", "f1534": "liamc"},
        ]

    def test_sort_and_search(self, api):
        rows = api.data("GET", "Contacts", params={"sort": "firstname", "sortDir": "desc", "range": 2})
        found = api.data("GET", "Contacts", params={"search": "MÜLLER"})

        assert [row["firstname"] for row in rows] == ["Sofía", "Priya"]
        assert [row["id"] for row in found] == ["6"]

    def test_get_info_counts(self, api):
        assert api.data("GET", "Contacts/getInfo")["count"] == "12"

    def test_put_json_writes_known_fields_and_bumps_dlm(self, api, sandbox):
        before = sandbox.get_contact(2)

        data = api.data(
            "PUT", "Contacts", json={"id": 2, "f1534": "liam", "lastname": "Chen", "nofield": "x"}
        )

        after = sandbox.get_contact(2)
        assert data["attrs"] == {
            "f1534": "liam",
            "dlm": after["dlm"],
            "id": "2",
        }  # unchanged lastname left out
        assert int(after["dlm"]) > int(before["dlm"])
        assert after["f1534"] == "liam"
        assert "nofield" not in after

    def test_put_form_encoded(self, api, sandbox):
        api.data("PUT", "Contacts", data={"id": "4", "firstname": "Noé", "f1535": "2"})

        stored = sandbox.get_contact(4)
        assert (stored["firstname"], stored["f1535"]) == ("Noé", "2")

    def test_two_puts_in_the_same_second_still_bump_dlm(self, api, sandbox):
        first = api.data("PUT", "Contacts", json={"id": 5, "city": "Abuja"})["attrs"]["dlm"]
        second = api.data("PUT", "Contacts", json={"id": 5, "city": "Lagos"})["attrs"]["dlm"]

        assert int(second) > int(first)

    def test_put_cannot_change_the_id_or_dates(self, api, sandbox):
        before = sandbox.get_contact(3)

        api.data("PUT", "Contacts", json={"id": 3, "date": "1", "unique_id": "X"})

        after = sandbox.get_contact(3)
        assert (after["date"], after["unique_id"]) == (before["date"], before["unique_id"])

    def test_put_errors(self, api):
        assert api("PUT", "Contacts", json={"firstname": "X"}).status_code == 400
        assert api("PUT", "Contacts", json={"id": 999, "firstname": "X"}).status_code == 404
        assert (
            api(
                "PUT",
                "Contacts",
                data="{not json",
                headers={**api.headers, "Content-Type": "application/json"},
            ).status_code
            == 400
        )

    def test_save_or_update_updates_the_contact_with_that_email(self, api, sandbox):
        data = api.data(
            "POST", "Contacts/saveorupdate", data={"email": "LIAM.CHEN@example.com", "city": "Victoria"}
        )

        assert data["attrs"]["id"] == "2"
        assert data["attrs"]["city"] == "Victoria"
        assert sandbox.get_contact(2)["city"] == "Victoria"

    def test_save_or_update_creates_a_new_contact(self, api, sandbox):
        data = api.data(
            "POST", "Contacts/saveorupdate", json={"email": "new@example.com", "firstname": "New"}
        )

        assert data["id"] == "13"
        assert data["contact_cat"] == ""
        assert data["date"] == data["dlm"]
        assert sandbox.get_contact(13)["firstname"] == "New"

    def test_get_by_email(self, api):
        assert api.data("GET", "object/getByEmail", params={"objectID": 0, "email": "noah@example.net"}) == {
            "id": "4"
        }
        missing = api("GET", "object/getByEmail", params={"objectID": 0, "email": "nobody@example.net"})
        assert (missing.status_code, missing.text) == (404, "Object not found")

    def test_generic_object_forms(self, api):
        assert api.data("GET", "object", params={"objectID": 0, "id": 9})["firstname"] == "Priya"
        rows = api.data("GET", "objects", params={"objectID": 0, "ids": "1,9"})
        assert [row["id"] for row in rows] == ["1", "9"]
        api.data("PUT", "objects", json={"objectID": 0, "id": 9, "city": "Mumbai"})
        assert api.data("GET", "object", params={"objectID": 0, "id": 9})["city"] == "Mumbai"

    def test_meta_by_id_and_by_name(self, api):
        by_id = api.data("GET", "Contacts/meta", params={"format": "byId"})
        by_name = api.data("GET", "objects/meta", params={"objectID": 0})

        assert by_id["0"]["name"] == "Contact"
        assert by_id["0"]["fields"]["f1535"]["options"] == {"1": "Bronze", "2": "Silver", "3": "Gold"}
        assert by_id["0"]["fields"]["email"]["alias"] == "Email"
        assert by_name["Contact"]["fields"] == by_id["0"]["fields"]


class TestTags:
    def test_tags_list_and_generic_form_are_the_same(self, api):
        rows = api.data("GET", "Tags")

        assert rows[0] == {"tag_id": "1", "tag_name": "Members", "object_type_id": "0"}
        assert len(rows) == 8
        assert api.data("GET", "objects", params={"objectID": 14}) == rows
        assert api.data("GET", "object", params={"objectID": 14, "id": 4})["tag_name"] == "VIP"

    def test_tags_are_paged_by_50(self, api, sandbox):
        sandbox.reset(data={"tags": [{"tag_id": n, "tag_name": f"T{n}"} for n in range(1, 121)]})

        pages = [api.data("GET", "Tags", params={"start": start, "range": 80}) for start in (0, 50, 100)]

        assert [len(page) for page in pages] == [50, 50, 20]

    def test_create_tag(self, api):
        created = api.data("POST", "Tags", json={"tag_name": "Trial"})

        assert created == {"tag_id": "9", "tag_name": "Trial", "object_type_id": "0"}
        assert api("POST", "Tags", json={"tag_name": "Trial"}).status_code == 400
        assert api("POST", "Tags", json={}).status_code == 400

    def test_add_and_remove_tags(self, api, sandbox):
        added = api("PUT", "objects/tag", json={"objectID": 0, "add_list": "6,7,404", "ids": "1,2,999"})

        assert added.json()["data"] == "The tag is now being processed."
        assert sandbox.get_contact(1)["contact_cat"] == "*/*1*/*2*/*6*/*7*/*"
        assert sandbox.get_contact(2)["contact_cat"] == "*/*1*/*3*/*6*/*7*/*"

        api.data("DELETE", "objects/tag", data={"objectID": "0", "remove_list": "1,6", "ids": "1"})
        assert sandbox.get_contact(1)["contact_cat"] == "*/*2*/*7*/*"

    def test_tag_change_bumps_dlm(self, api, sandbox):
        before = sandbox.get_contact(8)["dlm"]

        api.data("PUT", "objects/tag", json={"objectID": 0, "add_list": "3", "ids": "8"})

        assert int(sandbox.get_contact(8)["dlm"]) > int(before)

    def test_remove_list_in_the_query_string(self, api, sandbox):
        api.data("DELETE", "objects/tag", params={"objectID": 0, "remove_list": "2", "ids": "12"})

        assert sandbox.get_contact(12)["contact_cat"] == ""

    def test_tag_calls_need_object_type_and_lists(self, api):
        assert api("PUT", "objects/tag", json={"add_list": "1", "ids": "1"}).status_code == 400
        assert api("PUT", "objects/tag", json={"objectID": 0, "ids": "1"}).status_code == 400

    def test_contacts_with_a_tag(self, api):
        rows = api.data("GET", "objects/tag", params={"objectID": 0, "tag_id": 7, "range": 50, "start": 0})
        by_name = api.data("GET", "objects/tag", params={"objectID": 0, "tag_name": "Webinar Attendees"})

        assert [row["id"] for row in rows] == ["5", "9"]
        assert by_name == rows
        assert api.data("GET", "objects/tag", params={"objectID": 0, "tag_id": 7, "start": 2}) == []


class TestRateLimitHeaders:
    def test_absent_when_unlimited(self, api):
        response = api("GET", "Contact", params={"id": 1})

        assert not any(name.lower().startswith("x-rate-limit") for name in response.headers)

    def test_on_every_answer_and_429_past_the_limit(self, api, sandbox):
        sandbox.reset(rate_limit=3, window=60)

        answers = [api("GET", "Contact", params={"id": 1}) for _ in range(4)]
        unauthenticated = api("GET", "Contact", params={"id": 1}, headers={"Api-Key": "x"})

        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["X-Rate-Limit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert {a.headers["X-Rate-Limit-Limit"] for a in answers} == {"3"}
        assert {a.headers["X-Rate-Limit-Reset"] for a in answers} <= {"59", "60"}
        assert answers[3].headers["Content-Type"].startswith("text/plain")
        assert answers[3].text == "You have exceeded your maximum rate limit of 3 requests per minute."
        assert unauthenticated.status_code == 401
        assert unauthenticated.headers["X-Rate-Limit-Remaining"] == "0"
        assert sandbox.stats()["rate_limited"] == 1

    def test_a_reset_brings_back_the_start_configuration(self, api, sandbox):
        sandbox.reset(rate_limit=1)
        api("GET", "Tags")
        assert api("GET", "Tags").status_code == 429

        sandbox.reset()

        assert api("GET", "Tags").status_code == 200
        assert "X-Rate-Limit-Limit" not in api("GET", "Tags").headers

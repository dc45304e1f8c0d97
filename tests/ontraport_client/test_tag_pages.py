"""Contacts by tag, 50 at a time in id order, and their count: the calls an import is made of."""

import requests

from ontraport_client import Contact


def _ids(contacts: list[Contact]) -> list[int]:
    return [contact.id for contact in contacts]


def test_pages_come_in_id_order_after_the_last_id_seen(sandbox, ontraport):
    added = sandbox.add_contacts(
        [{"email": f"p{n}@example.com", "contact_cat": "*/*1*/*"} for n in range(60)]
    )
    members = sorted([1, 2, 3, 5, 7, 9, 11, *added])

    first = ontraport.contacts_with_tag_page(1)
    second = ontraport.contacts_with_tag_page(1, after_id=first[-1].id)

    assert _ids(first) == members[:50]
    assert _ids(second) == members[50:]
    assert ontraport.contacts_with_tag_page(1, after_id=members[-1]) == []
    assert first[0].email == "dana.adams@example.com"  # whole records, not only ids


def test_a_contact_untagged_meanwhile_does_not_shift_the_next_page(sandbox, ontraport):
    added = sandbox.add_contacts(
        [{"email": f"s{n}@example.com", "contact_cat": "*/*1*/*"} for n in range(60)]
    )
    first = ontraport.contacts_with_tag_page(1)
    sandbox.add_contact({"id": 1, "email": "dana.adams@example.com", "contact_cat": ""})  # untagged

    second = ontraport.contacts_with_tag_page(1, after_id=first[-1].id)

    assert _ids(first) + _ids(second) == sorted([1, 2, 3, 5, 7, 9, 11, *added])


def test_the_count_is_one_call(sandbox, ontraport):
    sandbox.add_contacts([{"email": f"c{n}@example.com", "contact_cat": "*/*4*/*12*/*"} for n in range(75)])
    before = sandbox.stats()["requests"]

    assert ontraport.count_contacts_with_tag(4) == 77  # demo contacts 3 and 11 hold VIP too
    assert ontraport.count_contacts_with_tag(1) == 7
    assert ontraport.count_contacts_with_tag(41) == 0  # */*4*/* is not */*41*/*
    assert sandbox.stats()["requests"] - before == 3
    assert sandbox.stats()["by_endpoint"]["GET /objects/tag"] == 3  # objects/tag?count=true, as documented


def test_the_sandbox_caps_range_at_50_and_narrows_with_listfields(sandbox):
    sandbox.add_contacts([{"email": f"r{n}@example.com", "contact_cat": "*/*1*/*"} for n in range(80)])
    headers = {"Api-Appid": sandbox.app_id, "Api-Key": sandbox.api_key}
    params = {"objectID": 0, "tag_id": 1, "range": 500, "start": 10, "listFields": "email"}

    answer = requests.get(f"{sandbox.url}objects/tag", params=params, headers=headers, timeout=5)

    rows = answer.json()["data"]
    assert len(rows) == 50
    assert set(rows[0]) == {"id", "email"}
    assert rows[0]["id"] == "16"  # by id: start=10 skips the demo's 7 members and new contacts 13-15
    assert sandbox.stats()["by_endpoint"]["GET /objects/tag"] == 1

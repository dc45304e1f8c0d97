"""The endpoint of Ontraport's tag subscriptions: form and JSON events become update_tags deliveries in the
same pipeline as every webhook; bad events get a clear answer and are recorded; a wrong key stores nothing."""

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model

from tests.support.factories import UserFactory
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()
EVENTS_PATH = "/webhooks/ontraport/events/"


def form_event(event_type: str, contact_id: object, tag_id: int = 3) -> dict[str, object]:
    return {
        "webhook_id": "7",
        "object_type_id": "0",
        "event[type]": event_type,
        "event[tag_id]": tag_id,
        "data[id]": contact_id,
        "data[email]": "ignored@example.com",
    }


def test_a_form_event_is_an_update_tags_delivery_that_updates_the_users_tags(site_sandbox, post_event):
    user = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1)
    site_sandbox.add_contact({**site_sandbox.get_contact(1), "contact_cat": "*/*1*/*3*/*"})

    response = post_event(form_event("sub_tag", 1))

    assert response.status_code == 202, response.content
    delivery = Delivery.objects.get(pk=response.json()["delivery_id"])
    assert (delivery.action, delivery.contact_id) == ("update_tags", 1)
    assert delivery.options == {"event": "sub_tag", "tag_id": 3}
    assert delivery.status == Delivery.Status.DONE, delivery.message
    assert delivery.user_id == user.pk
    assert "access_key=***" in delivery.path and "test-access-key" not in delivery.path
    assert sorted(user.tags.values_list("id", flat=True)) == [1, 3]


def _payload(name: str) -> list[tuple[str, str]]:
    """One of Ontraport's event payloads (tests/webhooks/payloads/), as the form fields it is POSTed as."""
    loaded = json.loads((Path(__file__).parent / "payloads" / f"{name}.json").read_text())
    return [(str(key), str(value)) for key, value in loaded["fields"]]


def test_ontraports_example_events_update_the_users_tags(site_sandbox, post_event):
    """Ontraport's own example payload (tag 4 added to contact 8), then the notify-format removal."""
    site_sandbox.add_contact(
        {"id": 8, "firstname": "Mary", "email": "mary@ontraport.com", "contact_cat": "*/*4*/*"}
    )
    user = UserFactory(username="mary", email="mary@ontraport.com", contact_id=8)

    added = post_event(_payload("ontraport_tag_added_example"))

    assert added.status_code == 202, added.content
    delivery = Delivery.objects.get(pk=added.json()["delivery_id"])
    assert (delivery.action, delivery.contact_id, delivery.status) == ("update_tags", 8, "done")
    assert delivery.options == {"event": "sub_tag", "tag_id": 4}
    assert list(user.tags.values_list("id", flat=True)) == [4]

    site_sandbox.add_contact({**site_sandbox.get_contact(8), "contact_cat": ""})
    removed = post_event(_payload("ontraport_tag_removed_notify"))

    assert removed.status_code == 202, removed.content
    assert Delivery.objects.get(pk=removed.json()["delivery_id"]).options == {
        "event": "unsub_tag",
        "tag_id": 4,
    }
    assert not user.tags.exists()


def test_a_json_event_is_read_too(site_sandbox, post_event):
    UserFactory(username="liam", email="liam.chen@example.com", contact_id=2)
    event = {"object_type_id": 0, "event": {"type": "unsub_tag", "tag_id": "1"}, "data": {"id": "2"}}

    response = post_event(event, as_json=True)

    assert response.status_code == 202
    delivery = Delivery.objects.get()
    assert delivery.options == {"event": "unsub_tag", "tag_id": 1}
    assert delivery.status == Delivery.Status.DONE


def test_an_event_for_a_contact_without_a_user_creates_nobody(site_sandbox, post_event):
    assert post_event(form_event("sub_tag", 4)).status_code == 202
    assert Delivery.objects.get().reason == "no_matching_user"
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({**form_event("sub_tag", 1), "data[id]": ""}, "missing_contact_id"),
        ({**form_event("sub_tag", 1), "data[id]": "[Contact ID]"}, "invalid_contact_id"),
        (form_event("field_update", 1), "unknown_event"),
        ({k: v for k, v in form_event("sub_tag", 1).items() if k != "event[type]"}, "missing_event"),
        ({**form_event("sub_tag", 1), "object_type_id": "14"}, "unsupported_object"),
    ],
)
def test_a_malformed_event_is_answered_400_and_recorded(site_sandbox, post_event, fields, reason):
    response = post_event(fields)

    assert response.status_code == 400
    assert response.json()["reason"] == reason
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.reason) == (Delivery.Status.REJECTED, reason)


def test_a_body_that_is_not_json_is_refused(client, access_key):
    response = client.post(
        f"{EVENTS_PATH}?access_key={access_key}", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_json"


def test_a_wrong_key_stores_nothing_and_is_not_echoed(site_sandbox, post_event):
    response = post_event(form_event("sub_tag", 1), key="wrong-key-1234567890")

    assert response.status_code == 403
    assert response.json()["reason"] == "invalid_access_key"
    assert b"wrong-key" not in response.content
    assert not Delivery.objects.exists()


def test_only_post_is_accepted(client, access_key):
    response = client.get(f"{EVENTS_PATH}?access_key={access_key}")
    assert response.status_code == 405
    assert not Delivery.objects.exists()


def test_the_key_may_come_in_a_header(client, site_sandbox, access_key):
    UserFactory(username="dana", email="dana.adams@example.com", contact_id=1)
    response = client.post(
        EVENTS_PATH,
        data=urlencode(form_event("sub_tag", 1)),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Fusion-Access-Key": access_key},
    )
    assert response.status_code == 202
    assert Delivery.objects.get().status == Delivery.Status.DONE

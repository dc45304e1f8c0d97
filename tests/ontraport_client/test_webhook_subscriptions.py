"""Webhook subscriptions: the client's three calls against the sandbox, and the sandbox really POSTing
sub_tag / unsub_tag events to the subscribed URL when a contact's tags change (API or control API)."""

from __future__ import annotations

import pytest

from ontraport_client import ApiError, NotFoundError

DEMO_CONTACT = 3  # Sofía Martínez: tags 1 Members, 2 Customers, 3 VIP, 5 Gold Members


def test_subscribe_list_and_unsubscribe(ontraport, http_recorder):
    added = ontraport.webhook_subscribe(url=http_recorder.url + "/events/?k=1", event="sub_tag", tag_id=3)
    removed = ontraport.webhook_subscribe(url=http_recorder.url + "/events/", event="unsub_tag", tag_id=3)
    assert (added.event, added.tag_id, added.last_code) == ("sub_tag", 3, 0)
    assert removed.id != added.id
    listed = {subscription.id: subscription for subscription in ontraport.webhook_subscriptions()}
    assert set(listed) == {added.id, removed.id}
    assert listed[added.id].url == http_recorder.url + "/events/?k=1"

    ontraport.webhook_unsubscribe(added.id)
    assert [subscription.id for subscription in ontraport.webhook_subscriptions()] == [removed.id]
    with pytest.raises(NotFoundError):
        ontraport.webhook_unsubscribe(added.id)


def test_an_unknown_event_or_a_missing_tag_is_refused(ontraport, http_recorder):
    with pytest.raises(ApiError, match="event"):
        ontraport.webhook_subscribe(url=http_recorder.url, event="sub_everything", tag_id=3)
    with pytest.raises(ApiError, match="tag_id"):
        ontraport.webhook_subscribe(url=http_recorder.url, event="sub_tag", tag_id=0)
    assert ontraport.webhook_subscriptions() == []


def test_adding_and_removing_a_subscribed_tag_posts_events(ontraport, sandbox, http_recorder):
    ontraport.webhook_subscribe(url=http_recorder.url + "/events/", event="sub_tag", tag_id=3)
    ontraport.webhook_subscribe(url=http_recorder.url + "/events/", event="unsub_tag", tag_id=3)
    ontraport.webhook_subscribe(url=http_recorder.url + "/other/", event="sub_tag", tag_id=2)

    ontraport.add_tags([DEMO_CONTACT], [3])  # through the API
    sandbox.webhooks()  # waits until the events in flight were answered
    assert len(http_recorder.requests) == 1
    event = http_recorder.requests[0]
    assert (event.method, event.path) == ("POST", "/events/")
    form = event.form()
    assert form["event[type]"] == "sub_tag"
    assert form["event[tag_id]"] == "3"
    assert form["object_type_id"] == "0"
    assert form["data[id]"] == str(DEMO_CONTACT)
    assert "*/*3*/*" in form["data[contact_cat]"]

    # Through the control API: the contact replaced without tag 3.
    contact = sandbox.get_contact(DEMO_CONTACT)
    sandbox.add_contact({**contact, "contact_cat": "*/*1*/*"})
    rows = {row["event"] + row["data"]: row for row in sandbox.webhooks()}
    assert len(http_recorder.requests) == 2
    assert http_recorder.requests[1].form()["event[type]"] == "unsub_tag"
    assert rows['unsub_tag{"tag_id": 3}']["last_code"] == "200"
    assert rows['sub_tag{"tag_id": 2}']["last_code"] == "0"  # tag 2 was removed, not added: nothing sent


def test_an_unreachable_url_is_recorded_and_the_api_call_still_answers(ontraport, sandbox):
    subscription = ontraport.webhook_subscribe(url="http://127.0.0.1:9/events/", event="sub_tag", tag_id=3)
    ontraport.add_tags([DEMO_CONTACT], [3])
    [row] = sandbox.webhooks()
    assert row["id"] == str(subscription.id)
    assert row["last_code"] == "0"
    assert row["last_hook"] != ""


def test_reset_drops_subscriptions(ontraport, sandbox, http_recorder):
    ontraport.webhook_subscribe(url=http_recorder.url, event="sub_tag", tag_id=3)
    sandbox.reset(data="demo")
    assert ontraport.webhook_subscriptions() == []

"""Webhook subscriptions: the client's three calls against the sandbox in Ontraport's documented shapes
(a form body, ``sub_tag(N)``, ``data={"format":"notify"}``, a paged ``GET /Webhooks`` holding other apps'
rows), and the sandbox really POSTing events in the payload of Ontraport's example."""

from __future__ import annotations

import json

import pytest
import requests

from ontraport_client import ApiError, NotFoundError, RetryPolicy, TransportError

DEMO_CONTACT = 3  # Sofía Martínez: tags 1 Members, 2 Customers, 3 VIP, 5 Gold Members


def _other_apps(count: int) -> list[dict[str, str]]:
    return [
        {"event": f"sub_tag({n % 7 + 1})", "url": f"https://hooks.example.net/zap/{n}", "data": ""}
        for n in range(count)
    ]


def test_subscribe_list_and_unsubscribe(ontraport, http_recorder):
    added = ontraport.webhook_subscribe(url=http_recorder.url + "/events/?k=1", event="sub_tag", tag_id=3)
    removed = ontraport.webhook_subscribe(url=http_recorder.url + "/events/", event="unsub_tag", tag_id=3)
    assert (added.event, added.tag_id, added.last_code) == ("sub_tag", 3, 0)
    assert (removed.event, removed.tag_id, removed.target) == ("unsub_tag", 3, "unsub_tag(3)")
    assert json.loads(added.data) == {"format": "notify"}
    listed = {subscription.id: subscription for subscription in ontraport.webhook_subscriptions()}
    assert set(listed) == {added.id, removed.id}
    assert listed[added.id].url == http_recorder.url + "/events/?k=1"

    ontraport.webhook_unsubscribe(added.id)
    assert [subscription.id for subscription in ontraport.webhook_subscriptions()] == [removed.id]
    with pytest.raises(NotFoundError):
        ontraport.webhook_unsubscribe(added.id)


def test_the_sandbox_takes_the_documented_shape_only(sandbox):
    headers = {"Api-Appid": sandbox.app_id, "Api-Key": sandbox.api_key}
    url = f"{sandbox.url}Webhook/subscribe"
    old_shape = {"url": "http://127.0.0.1:9/e", "event": "sub_tag", "data": '{"tag_id": 3}'}

    as_json = requests.post(url, json={**old_shape, "event": "sub_tag(3)"}, headers=headers, timeout=5)
    bare = requests.post(url, data=old_shape, headers=headers, timeout=5)
    made = requests.post(
        url,
        data={**old_shape, "event": "sub_tag(3)", "data": '{"format":"notify"}'},
        headers=headers,
        timeout=5,
    )

    assert (as_json.status_code, bare.status_code, made.status_code) == (400, 400, 200)
    assert "form" in as_json.text
    assert "sub_tag(N)" in bare.text
    assert made.json()["data"]["event"] == "sub_tag(3)"
    assert [row["event"] for row in sandbox.webhooks()] == ["sub_tag(3)"]


def test_an_unknown_event_or_a_missing_tag_is_refused(ontraport, http_recorder):
    with pytest.raises(ApiError, match="event"):
        ontraport.webhook_subscribe(url=http_recorder.url, event="sub_everything", tag_id=3)
    with pytest.raises(ApiError, match="tag id"):
        ontraport.webhook_subscribe(url=http_recorder.url, event="sub_tag", tag_id=0)
    assert ontraport.webhook_subscriptions() == []


def test_every_page_of_the_list_is_read_other_apps_included(ontraport, sandbox, http_recorder):
    sandbox.add_foreign_webhooks(_other_apps(60))
    ours = ontraport.webhook_subscribe(url=http_recorder.url + "/events/", event="sub_tag", tag_id=3)
    before = sandbox.stats()["by_endpoint"].get("GET /Webhooks", 0)

    listed = ontraport.webhook_subscriptions()

    assert len(listed) == 61
    assert ours.id in {subscription.id for subscription in listed}  # on the second page
    assert sandbox.stats()["by_endpoint"]["GET /Webhooks"] - before == 2
    other = next(subscription for subscription in listed if subscription.id == 1)
    assert (other.event, other.tag_id, other.url) == ("sub_tag", 1, "https://hooks.example.net/zap/0")


def test_a_timed_out_subscribe_that_was_made_is_found_not_made_twice(make_ontraport, sandbox, http_recorder):
    sandbox.add_foreign_webhooks(_other_apps(55))  # ours lands on the list's second page
    client = make_ontraport(timeout=0.3, retry=RetryPolicy(max_attempts=3, base_delay=0))
    sandbox.fault(delay_ms=800, endpoint="POST /Webhook/subscribe")  # made, but answered too late

    made = client.webhook_subscribe(url=http_recorder.url + "/events/", event="sub_tag", tag_id=3)

    ours = [row for row in sandbox.webhooks() if row["url"] == http_recorder.url + "/events/"]
    assert [row["id"] for row in ours] == [str(made.id)]
    assert sandbox.stats()["by_endpoint"]["POST /Webhook/subscribe"] == 1


def test_a_timed_out_subscribe_that_was_not_made_is_sent_once_more(make_ontraport, sandbox, http_recorder):
    client = make_ontraport(retry=RetryPolicy(max_attempts=3, base_delay=0))
    sandbox.fault(status=502, endpoint="POST /Webhook/subscribe")  # refused before anything was made

    made = client.webhook_subscribe(url=http_recorder.url + "/events/", event="unsub_tag", tag_id=3)

    assert [row["event"] for row in sandbox.webhooks()] == ["unsub_tag(3)"]
    assert made.target == "unsub_tag(3)"
    assert sandbox.stats()["by_endpoint"]["POST /Webhook/subscribe"] == 2


def test_a_list_that_ignores_start_raises_instead_of_ending_early(make_ontraport, sandbox, http_recorder):
    sandbox.add_foreign_webhooks(_other_apps(50))
    page = requests.get(
        f"{sandbox.url}Webhooks",
        headers={"Api-Appid": sandbox.app_id, "Api-Key": sandbox.api_key},
        timeout=5,
    ).text
    client = make_ontraport()
    sandbox.fault(status=200, body=page, endpoint="GET /Webhooks", count=5)

    with pytest.raises(TransportError, match="repeats"):
        client.webhook_subscriptions()


def test_adding_and_removing_a_subscribed_tag_posts_events(ontraport, sandbox, http_recorder):
    ontraport.webhook_subscribe(url=http_recorder.url + "/events/", event="sub_tag", tag_id=3)
    ontraport.webhook_subscribe(url=http_recorder.url + "/events/", event="unsub_tag", tag_id=3)
    ontraport.webhook_subscribe(url=http_recorder.url + "/other/", event="sub_tag", tag_id=2)
    sandbox.add_foreign_webhooks([{"event": "sub_tag(3)", "url": "http://127.0.0.1:9/never"}])

    ontraport.add_tags([DEMO_CONTACT], [3])  # through the API
    sandbox.webhooks()  # waits until the events in flight were answered
    assert len(http_recorder.requests) == 1
    event = http_recorder.requests[0]
    assert (event.method, event.path) == ("POST", "/events/")
    form = event.form()
    # Ontraport's example payload; format "notify": the contact's id and nothing personal.
    assert set(form) == {
        "webhook_id",
        "object_type_id",
        "event[type]",
        "event[tag_id]",
        "data[id]",
        "timestamp",
    }
    assert (form["event[type]"], form["event[tag_id]"], form["object_type_id"]) == ("sub_tag", "3", "0")
    assert form["data[id]"] == str(DEMO_CONTACT)
    assert form["timestamp"].isdigit()

    # Through the control API: the contact replaced without tag 3.
    contact = sandbox.get_contact(DEMO_CONTACT)
    sandbox.add_contact({**contact, "contact_cat": "*/*1*/*"})
    rows = {row["event"]: row for row in sandbox.webhooks() if "127.0.0.1:9" not in row["url"]}
    assert len(http_recorder.requests) == 2
    assert http_recorder.requests[1].form()["event[type]"] == "unsub_tag"
    assert rows["unsub_tag(3)"]["last_code"] == "200"
    assert "event%5Btype%5D=unsub_tag" in rows["unsub_tag(3)"]["last_payload"]
    assert rows["sub_tag(2)"]["last_code"] == "0"  # tag 2 was removed, not added: nothing sent


def test_without_the_notify_option_the_event_carries_the_record(sandbox, http_recorder):
    headers = {"Api-Appid": sandbox.app_id, "Api-Key": sandbox.api_key}
    for name, data in (("whole", ""), ("lightweight", '{"format":"lightweight"}')):
        requests.post(
            f"{sandbox.url}Webhook/subscribe",
            data={"url": f"{http_recorder.url}/{name}", "event": "sub_tag(3)", "data": data},
            headers=headers,
            timeout=5,
        ).raise_for_status()
    sandbox.add_contact({**sandbox.get_contact(1), "contact_cat": "*/*1*/*3*/*"})
    sandbox.webhooks()

    forms = {request.path: request.form() for request in http_recorder.requests}
    assert forms["/whole"]["data[email]"] == "dana.adams@example.com"  # Ontraport's default: every field
    assert "data[contact_cat]" in forms["/whole"]
    lightweight = {key for key in forms["/lightweight"] if key.startswith("data[")}
    assert lightweight == {"data[id]", "data[firstname]", "data[lastname]", "data[email]"}


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

"""Both endpoints' answers are counted in /metrics by the edge: webhooks by action, subscription events by
event type, each by HTTP status (refusals included)."""

from urllib.parse import urlencode

import pytest

from tests.webhooks.telemetry.test_metrics import samples

pytestmark = pytest.mark.django_db
EVENTS = "/webhooks/ontraport/events/"


def event(client, key: str, **fields: str):
    body = {"object_type_id": "0", "event[tag_id]": "3", "data[id]": "1", **fields}
    return client.post(
        f"{EVENTS}?access_key={key}", data=urlencode(body), content_type="application/x-www-form-urlencoded"
    )


def test_events_and_webhooks_are_counted_by_label_and_answer(client, access_key, site_sandbox, webhook):
    before = samples(client.get("/metrics"))

    assert event(client, access_key, **{"event[type]": "sub_tag"}).status_code == 202
    assert event(client, access_key, **{"event[type]": "unsub_tag"}).status_code == 202
    assert event(client, "wrong", **{"event[type]": "sub_tag"}).status_code == 403
    assert event(client, access_key, **{"event[type]": "dance"}).status_code == 400
    assert client.get(f"{EVENTS}?access_key={access_key}").status_code == 405
    assert webhook("update_tags", 1, method="post-form").status_code == 202

    after = samples(client.get("/metrics"))

    def grew(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0) - before.get(key, 0)

    events = "fusion_events_received_total"
    assert grew(events, event="sub_tag", answer="202") == 1
    assert grew(events, event="unsub_tag", answer="202") == 1
    assert grew(events, event="other", answer="403") == 1  # refused at the edge: no event read
    assert grew(events, event="other", answer="400") == 1
    assert grew(events, event="other", answer="405") == 1
    assert grew("fusion_webhooks_received_total", action="update_tags", answer="202") == 1

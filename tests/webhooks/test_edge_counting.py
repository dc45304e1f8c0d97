"""Both endpoints' answers are counted in /metrics by the edge: webhooks by action, subscription events by
event type, each by HTTP status (refusals included)."""

import pytest

from tests.support.metrics import samples

pytestmark = pytest.mark.django_db
EVENTS = "/webhooks/ontraport/events/"


def event(event_type: str) -> dict[str, str]:
    return {"object_type_id": "0", "event[tag_id]": "3", "data[id]": "1", "event[type]": event_type}


def test_events_and_webhooks_are_counted_by_label_and_answer(
    client, access_key, site_sandbox, webhook, post_event
):
    before = samples(client.get("/metrics"))

    assert post_event(event("sub_tag")).status_code == 202
    assert post_event(event("unsub_tag")).status_code == 202
    assert post_event(event("sub_tag"), key="wrong").status_code == 403
    assert post_event(event("dance")).status_code == 400
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

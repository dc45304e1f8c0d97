"""/metrics: who may scrape it, and what it says after real webhooks were received and applied."""

import json
import logging

import pytest

from fusion_site.log_json import JsonFormatter
from tests.support.metrics import samples
from webhooks.telemetry.counters import counters_flush
from webhooks.telemetry.heartbeat import worker_heartbeat_beat

pytestmark = pytest.mark.django_db


def test_metrics_refuses_an_address_not_listed_and_without_the_token(client, settings):
    settings.FUSION_METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    settings.FUSION_METRICS_TOKEN = "scrape-token-0123456789"

    refused = client.get("/metrics", REMOTE_ADDR="192.0.2.7")
    wrong = client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_AUTHORIZATION="Bearer nope")
    listed = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    token = client.get(
        "/metrics", REMOTE_ADDR="192.0.2.7", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789"
    )

    assert refused.status_code == wrong.status_code == 403
    assert refused.json()["reason"] == "metrics_forbidden"
    assert listed.status_code == token.status_code == 200


def test_metrics_count_webhooks_deliveries_and_ontraport_calls(
    client, webhook, site_sandbox, settings, django_capture_on_commit_callbacks
):
    counters_flush()  # counts left over from earlier tests in this process are not this test's
    worker_heartbeat_beat(worker_id="w")
    before = samples(client.get("/metrics"))

    with django_capture_on_commit_callbacks(execute=True):  # applied inline (ImmediateBackend)
        assert webhook("add", 1).status_code == 202
        assert webhook("update", 2).status_code == 202
    assert webhook("dance", 1).status_code == 400
    assert webhook("update", "x").status_code == 400

    response = client.get("/metrics")
    assert response.status_code == 200
    after = samples(response)

    def grew(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("fusion_webhooks_received_total", action="add", answer="202") == 1
    assert grew("fusion_webhooks_received_total", action="update", answer="202") == 1
    assert grew("fusion_webhooks_received_total", action="other", answer="400") == 1
    assert grew("fusion_webhooks_received_total", action="update", answer="400") == 1
    assert grew("fusion_deliveries_finished_total", status="done") == 2
    assert grew("fusion_delivery_apply_seconds_count") == 2
    assert grew("fusion_delivery_apply_seconds_bucket", le="+Inf") == 2
    # The two deliveries were claimed together (the drain ran once both were stored): one call for both.
    assert grew("fusion_ontraport_calls_total", endpoint="GET_Contacts", status="200") == 1
    assert after[("fusion_queue_depth", frozenset())] == 0
    assert after[("fusion_workers_alive", frozenset())] == 1
    assert settings.FUSION_ACCESS_KEY not in response.content.decode()


def test_json_logs_are_one_object_a_line_with_the_access_key_masked(rf):
    request = rf.get("/?wpf_action=add&access_key=supersecret-key-123&contact_id=1")
    record = logging.LogRecord(
        "django.server", logging.WARNING, __file__, 1, "GET %s", (request.get_full_path(),), None
    )
    record.request = request  # Django's server and request loggers pass the request as an extra
    record.status_code = 404

    line = JsonFormatter().format(record)
    entry = json.loads(line)

    assert "\n" not in line
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "django.server"
    assert entry["status_code"] == 404
    assert "supersecret" not in line
    assert "access_key=***" in entry["message"]

"""telemetry serves what the apps above it register (it imports none of them): a readiness check becomes
part of /readyz, a collector's metrics part of /metrics."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DatabaseError
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from webhooks.telemetry import health, metrics
from webhooks.telemetry.health import readiness_check_register
from webhooks.telemetry.heartbeat import worker_heartbeat_beat
from webhooks.telemetry.metrics import metrics_collector_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered_check() -> Iterator[dict[str, Any]]:
    """A check registered as `probe` that answers `answer` (or raises answer["raise"]); unregistered after."""
    answer: dict[str, Any] = {"ok": True, "detail": "all good"}

    def probe() -> dict[str, Any]:
        if "raise" in answer:
            raise answer["raise"]
        return dict(answer)

    readiness_check_register("probe", probe)
    yield answer
    health._checks.pop("probe")  # the registry has no unregistering: a process registers once


def test_readyz_includes_a_registered_check_and_is_503_while_it_fails(client, registered_check):
    worker_heartbeat_beat(worker_id="w")  # every other check passes

    passing = client.get("/readyz")
    registered_check["ok"] = False
    failing = client.get("/readyz")

    assert passing.status_code == 200
    assert passing.json()["checks"]["probe"] == {"ok": True, "detail": "all good"}
    assert failing.status_code == 503
    assert failing.json()["status"] == "unavailable"
    assert failing.json()["checks"]["probe"] == {"ok": False, "detail": "all good"}


def test_a_registered_check_whose_query_fails_makes_readyz_say_so(client, registered_check):
    worker_heartbeat_beat(worker_id="w")
    registered_check["raise"] = DatabaseError("no such table")

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {"ok": False, "detail": "query failed (DatabaseError)"}


class ProbeCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("fusion_test_probe", "A gauge registered by a test", value=42)


def test_metrics_include_a_registered_collectors_metric(client):
    collector = ProbeCollector()
    metrics_collector_register(collector)
    try:
        response = client.get("/metrics")
    finally:
        metrics._registry.unregister(collector)

    assert response.status_code == 200
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }
    assert values["fusion_test_probe"] == 42
    assert "fusion_workers_alive" in values  # telemetry's own, beside it

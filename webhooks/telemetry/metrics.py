"""/metrics in Prometheus' text format: the workers' liveness (this app's heartbeats) and whatever the apps
that report here registered (`metrics_collector_register`, from their AppConfig.ready): telemetry imports
none of them. webhooks.reporting registers the site's counters, the queue and the Ontraport budget.

Open to FUSION_METRICS_ALLOWED_IPS (default: this machine) or to a scraper that sends
"Authorization: Bearer <FUSION_METRICS_TOKEN>". Nothing secret is exposed either way.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from webhooks.telemetry.counters import counters_flush
from webhooks.telemetry.selectors import workers_health

_registry = CollectorRegistry(auto_describe=False)


def metrics_collector_register(collector: Collector) -> None:
    """Add `collector`'s metrics to every scrape (once per process: call it from AppConfig.ready)."""
    _registry.register(collector)


class WorkersCollector(Collector):
    """Two index lookups on the heartbeat table (one row per worker process)."""

    def collect(self) -> Iterator[Metric]:
        health = workers_health()
        yield GaugeMetricFamily(
            "fusion_workers_alive", "Workers that beat within FUSION_WORKER_STALE_SECONDS", value=health.alive
        )
        if health.last_seen_at is not None:
            yield GaugeMetricFamily(
                "fusion_worker_last_seen_timestamp_seconds",
                "When any worker last beat (Unix time)",
                value=health.last_seen_at.timestamp(),
            )


metrics_collector_register(WorkersCollector())


def scrape_allowed(request: HttpRequest) -> bool:
    token = settings.FUSION_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    address = request.META.get("REMOTE_ADDR", "")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for allowed in settings.FUSION_METRICS_ALLOWED_IPS:
        try:
            if ip in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not scrape_allowed(request):
        return JsonResponse(
            {
                "success": False,
                "reason": "metrics_forbidden",
                "detail": "Scrape from an address in FUSION_METRICS_ALLOWED_IPS, "
                "or send Authorization: Bearer FUSION_METRICS_TOKEN.",
            },
            status=403,
        )
    counters_flush()  # this process's own recent counts too
    return HttpResponse(generate_latest(_registry), content_type="text/plain; version=0.0.4; charset=utf-8")

"""/metrics in Prometheus' text format: what every process counted (telemetry.Counter, shared through the
database) and the queue as it stands (webhooks.queue_stats). One scrape: a few dozen counter rows, two
queries on the waiting rows' partial index and two on the heartbeat table, whatever the table's size.

Open to FUSION_METRICS_ALLOWED_IPS (default: this machine) or to a scraper that sends
"Authorization: Bearer <FUSION_METRICS_TOKEN>". Nothing secret is exposed either way.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections import defaultdict
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from accounts.ontraport import ontraport_client
from fusion_site.telemetry.counters import counter_add, counters_flush, counters_read
from fusion_site.telemetry.selectors import workers_health
from webhooks.queue_stats import queue_stats

# Seconds from a webhook's receipt to its delivery applied (the worker observes each delivery it finishes).
APPLY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

# Counter name (as stored, without _total) -> help text and label names.
COUNTERS = {
    "fusion_webhooks_received": (
        "Webhook requests answered, by action and HTTP status",
        ("action", "answer"),
    ),
    "fusion_events_received": (
        "Tag-subscription events answered, by event type and HTTP status",
        ("event", "answer"),
    ),
    "fusion_deliveries_finished": ("Deliveries a worker finished, by outcome", ("status",)),
    "fusion_deliveries_retried": ("Delivery attempts that failed and were scheduled again", ()),
    "fusion_ontraport_calls": ("Ontraport API requests, by endpoint and HTTP status", ("endpoint", "status")),
    "fusion_ontraport_rate_limited": ("Ontraport answers 429 (rate limited)", ()),
    "fusion_bulk_runs": ("Bulk runs (import, resync, sweep) ended, by kind and outcome", ("kind", "outcome")),
}


def delivery_applied_observe(seconds: float) -> None:
    """Count one delivery applied `seconds` after its receipt into the shared histogram."""
    for bound in APPLY_BUCKETS:
        if seconds <= bound:
            counter_add("fusion_delivery_apply_seconds_bucket", {"le": bound})
    counter_add("fusion_delivery_apply_seconds_bucket", {"le": "+Inf"})
    counter_add("fusion_delivery_apply_seconds_count")
    counter_add("fusion_delivery_apply_seconds_sum", amount=seconds)


class SiteCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        rows = counters_read()
        yield from _counters(rows)
        yield _apply_histogram(rows)
        stats = queue_stats()
        deliveries = GaugeMetricFamily(
            "fusion_deliveries_waiting", "Deliveries waiting, by status", labels=["status"]
        )
        deliveries.add_metric(["pending"], stats.pending)
        deliveries.add_metric(["processing"], stats.processing)
        yield deliveries
        yield GaugeMetricFamily("fusion_queue_depth", "Deliveries pending or in progress", value=stats.depth)
        yield GaugeMetricFamily(
            "fusion_queue_oldest_waiting_seconds",
            "How long the longest-waiting ready delivery has been due",
            value=stats.oldest_waiting_seconds,
        )
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
        budget = ontraport_client().pacer.state()
        if budget.remaining is not None:
            # Shared through the cache (CACHE_URL=redis://...): the whole site's budget. Otherwise what this
            # web process last saw, which is nothing unless it called Ontraport itself.
            yield GaugeMetricFamily(
                "fusion_ontraport_budget_remaining",
                "Ontraport requests left in the window",
                value=budget.remaining,
            )
        if budget.limit is not None:
            yield GaugeMetricFamily(
                "fusion_ontraport_budget_limit", "Ontraport requests allowed per window", value=budget.limit
            )


def _counters(rows: list[tuple[str, dict[str, str], float]]) -> Iterator[Metric]:
    by_name: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for name, labels, value in rows:
        by_name[name].append((labels, value))
    for name, (help_text, label_names) in COUNTERS.items():
        family = CounterMetricFamily(name, help_text, labels=list(label_names))
        for labels, value in by_name.get(name, []):
            family.add_metric([labels.get(label, "") for label in label_names], value)
        yield family


def _apply_histogram(rows: list[tuple[str, dict[str, str], float]]) -> Metric:
    buckets = {
        labels["le"]: value for name, labels, value in rows if name == "fusion_delivery_apply_seconds_bucket"
    }
    total = next((v for name, _, v in rows if name == "fusion_delivery_apply_seconds_sum"), 0.0)
    family = HistogramMetricFamily(
        "fusion_delivery_apply_seconds", "Seconds from a webhook's receipt to its delivery applied"
    )
    bounds = [*(str(float(b)) for b in APPLY_BUCKETS), "+Inf"]
    stored = {(k if k == "+Inf" else str(float(k))): v for k, v in buckets.items()}
    family.add_metric([], [(bound, stored.get(bound, 0.0)) for bound in bounds], total)
    return family


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


_registry = CollectorRegistry(auto_describe=False)
_registry.register(SiteCollector())


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

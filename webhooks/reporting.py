"""What the way in reports to telemetry, which imports none of the site's apps: the site's counters (named
here, with their help text) and the calls that add to them (the edge's answers, a drain's outcomes and their
apply histogram, a bulk run that ended, every Ontraport call: accounts announces each answer with a signal),
the queue and the Ontraport budget as /metrics gauges, and the queue's /readyz check.

`reporting_connect()` registers the collector, the check and the signal's receiver, once per process
(WebhooksConfig.ready). The counts themselves are an in-memory add on the hot path, written out with one
upsert per counter (webhooks.telemetry.counters).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from accounts.ontraport import ontraport_client
from accounts.signals import ontraport_answered
from webhooks.models import Delivery
from webhooks.selectors import queue_stats
from webhooks.telemetry.counters import counter_add, counters_flush, counters_read
from webhooks.telemetry.health import readiness_check_register
from webhooks.telemetry.metrics import metrics_collector_register

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

# The counter each endpoint's answers go to, and the name of the label its handler sets (webhooks.edge).
ENDPOINT_COUNTERS = {
    "webhook": ("fusion_webhooks_received", "action"),
    "events": ("fusion_events_received", "event"),
}


def request_counted(*, endpoint: str, label: str, answer: HttpResponse) -> None:
    """Count one answer of an endpoint (webhooks.edge, after the answer is sent)."""
    counter, label_name = ENDPOINT_COUNTERS[endpoint]
    counter_add(counter, {label_name: label, "answer": answer.status_code})


def delivery_applied_observe(seconds: float) -> None:
    """Count one delivery applied `seconds` after its receipt into the shared histogram."""
    for bound in APPLY_BUCKETS:
        if seconds <= bound:
            counter_add("fusion_delivery_apply_seconds_bucket", {"le": bound})
    counter_add("fusion_delivery_apply_seconds_bucket", {"le": "+Inf"})
    counter_add("fusion_delivery_apply_seconds_count")
    counter_add("fusion_delivery_apply_seconds_sum", amount=seconds)


def deliveries_finished_counted(outcomes: Iterable[Delivery]) -> None:
    """Add a batch's outcomes to the shared counters (one upsert per counter: they are flushed now)."""
    for delivery in outcomes:
        if delivery.status == Delivery.Status.PENDING:
            counter_add("fusion_deliveries_retried")
            continue
        counter_add("fusion_deliveries_finished", {"status": delivery.status})
        if delivery.status == Delivery.Status.DONE and delivery.finished_at is not None:
            delivery_applied_observe((delivery.finished_at - delivery.received_at).total_seconds())
    counters_flush()


def bulk_run_ended(*, kind: str, outcome: str) -> None:
    """Count a bulk run (import, resync, sweep) that ended, by how (webhooks.adoption)."""
    counter_add("fusion_bulk_runs", {"kind": kind, "outcome": outcome})


def ontraport_call_counted(*, what: str, status: int | None, **kwargs: Any) -> None:
    """Count every Ontraport request (by endpoint and HTTP status; "error": no answer): the receiver of
    accounts.signals.ontraport_answered."""
    counter_add("fusion_ontraport_calls", {"endpoint": what.replace(" ", "_"), "status": status or "error"})
    if status == 429:
        counter_add("fusion_ontraport_rate_limited")


class SiteCollector(Collector):
    """The shared counters (a few dozen rows), two queries on the waiting rows' partial index, and the
    Ontraport budget this process knows (the whole site's when the cache is shared)."""

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


def queue_ready() -> dict[str, Any]:
    """/readyz: no ready delivery has waited longer than FUSION_READY_MAX_WAIT_SECONDS."""
    stats = queue_stats()
    limit = settings.FUSION_READY_MAX_WAIT_SECONDS
    check: dict[str, Any] = {
        "ok": stats.oldest_waiting_seconds <= limit,
        "depth": stats.depth,
        "oldest_waiting_seconds": round(stats.oldest_waiting_seconds, 1),
    }
    if not check["ok"]:
        check["detail"] = f"a delivery has waited more than {limit} s"
    return check


def reporting_connect() -> None:
    """Register what the way in reports (once per process)."""
    metrics_collector_register(SiteCollector())
    readiness_check_register("queue", queue_ready)
    ontraport_answered.connect(ontraport_call_counted, dispatch_uid="webhooks.ontraport_call_counted")

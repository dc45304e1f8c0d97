"""The last 24 hours of webhooks, for the Ontraport page: a fixed, small number of queries whatever the
size of the log (each one served by an index on Delivery)."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Min, Q
from django.utils import timezone

from webhooks.adoption.models import Run
from webhooks.models import Delivery
from webhooks.selectors import queue_stats

LATEST_FAILURES = 10
RECENT_RUNS = 5
# A delivery due this long ago and still not taken means nothing is applying webhooks.
OVERDUE_ALARM = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class DeliveryHealth:
    by_status: dict[str, int]  # the last 24 hours, every status present (0 when none)
    queue_depth: int  # waiting now (pending or processing), whatever their age
    # How long the longest-overdue delivery has been due: aged by when it was due, not by when it arrived,
    # so a delivery waiting for its scheduled retry is no alarm (webhooks.selectors, the same figure
    # as /readyz and /metrics).
    overdue: datetime.timedelta
    retries_scheduled: int  # pending, due later (a retry's backoff)
    next_retry_at: datetime.datetime | None
    latest_failures: list[Delivery]

    @property
    def overdue_alarm(self) -> bool:
        return self.overdue > OVERDUE_ALARM


def runs_recent() -> list[Run]:
    """The latest imports, resyncs and sweeps (adoption), newest first: one query."""
    return list(Run.objects.select_related("started_by").order_by("-id")[:RECENT_RUNS])


def delivery_health(*, hours: int = 24) -> DeliveryHealth:
    since = timezone.now() - datetime.timedelta(hours=hours)
    counts = dict(
        Delivery.objects.filter(received_at__gte=since)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    stats = queue_stats()
    later = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__gt=timezone.now())
    scheduled = later.aggregate(n=Count("id"), first=Min("next_attempt_at"))
    failures = list(
        Delivery.objects.filter(Q(status=Delivery.Status.FAILED) | Q(status=Delivery.Status.REJECTED))
        .filter(received_at__gte=since)
        .select_related("user")
        .order_by("-received_at")[:LATEST_FAILURES]
    )
    return DeliveryHealth(
        by_status={status: counts.get(status, 0) for status in Delivery.Status.values},
        queue_depth=stats.depth,
        overdue=datetime.timedelta(seconds=stats.oldest_waiting_seconds),
        retries_scheduled=scheduled["n"],
        next_retry_at=scheduled["first"],
        latest_failures=failures,
    )

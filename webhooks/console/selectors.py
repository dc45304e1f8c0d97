"""What the Ontraport page shows of the deliveries log: the last hours' figures, gathered from
webhooks.selectors (a fixed, small number of queries whatever the size of the log, each served by an index
on Delivery), and when they are an alarm."""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from webhooks.models import Delivery
from webhooks.selectors import (
    deliveries_failed_latest,
    deliveries_status_counts,
    queue_stats,
    retries_scheduled,
)

LATEST_FAILURES = 10
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


def delivery_health(*, hours: int = 24) -> DeliveryHealth:
    since = timezone.now() - datetime.timedelta(hours=hours)
    stats = queue_stats()
    retries = retries_scheduled()
    return DeliveryHealth(
        by_status=deliveries_status_counts(since=since),
        queue_depth=stats.depth,
        overdue=datetime.timedelta(seconds=stats.oldest_waiting_seconds),
        retries_scheduled=retries.count,
        next_retry_at=retries.next_at,
        latest_failures=deliveries_failed_latest(since=since, limit=LATEST_FAILURES),
    )

"""The last 24 hours of webhooks, for the Ontraport page: a fixed, small number of queries whatever the
size of the log (each one served by an index on Delivery)."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Min, Q
from django.utils import timezone

from accounts.models import Run
from webhooks.models import Delivery

LATEST_FAILURES = 10
RECENT_RUNS = 5
WAITING = (Delivery.Status.PENDING, Delivery.Status.PROCESSING)


@dataclass(frozen=True)
class DeliveryHealth:
    by_status: dict[str, int]  # the last 24 hours, every status present (0 when none)
    queue_depth: int  # waiting now (pending or processing), whatever their age
    oldest_waiting: datetime.datetime | None
    latest_failures: list[Delivery]

    @property
    def oldest_waiting_age(self) -> datetime.timedelta | None:
        return timezone.now() - self.oldest_waiting if self.oldest_waiting else None


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
    waiting = Delivery.objects.filter(status__in=WAITING).aggregate(n=Count("id"), oldest=Min("received_at"))
    failures = list(
        Delivery.objects.filter(Q(status=Delivery.Status.FAILED) | Q(status=Delivery.Status.REJECTED))
        .filter(received_at__gte=since)
        .select_related("user")
        .order_by("-received_at")[:LATEST_FAILURES]
    )
    return DeliveryHealth(
        by_status={status: counts.get(status, 0) for status in Delivery.Status.values},
        queue_depth=waiting["n"],
        oldest_waiting=waiting["oldest"],
        latest_failures=failures,
    )

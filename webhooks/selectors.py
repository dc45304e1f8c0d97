"""How the delivery queue stands, from the partial index on waiting rows only: the cost follows the
backlog, never the millions of finished deliveries (no COUNT over the table)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Min
from django.utils import timezone

from webhooks.models import Delivery

WAITING = (Delivery.Status.PENDING, Delivery.Status.PROCESSING)


@dataclass(frozen=True)
class QueueStats:
    pending: int
    processing: int
    # How long the longest-waiting ready delivery has been due (0: none is waiting).
    oldest_waiting_seconds: float

    @property
    def depth(self) -> int:
        return self.pending + self.processing


def queue_stats() -> QueueStats:
    """Two queries on webhooks_delivery_ready_idx (status, next_attempt_at WHERE status IN waiting)."""
    now = timezone.now()
    counts = dict(
        Delivery.objects.filter(status__in=WAITING)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    oldest_due = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now).aggregate(
        first=Min("next_attempt_at")
    )["first"]
    waited = (now - oldest_due) if oldest_due is not None else datetime.timedelta(0)
    return QueueStats(
        pending=counts.get(Delivery.Status.PENDING, 0),
        processing=counts.get(Delivery.Status.PROCESSING, 0),
        oldest_waiting_seconds=max(waited.total_seconds(), 0.0),
    )

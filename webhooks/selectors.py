"""Read-only questions about deliveries: how the queue stands, when it is next due and how fast webhooks
arrive; what a replay or a prune would take, the last hours' outcomes, a user's deliveries.

The queue's questions are answered from the partial index on waiting rows and the (source, received_at)
index: their cost follows the backlog and the last seconds, never the millions of finished deliveries (no
COUNT over the table).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from accounts.services.contacts_apply import SyncAction
from webhooks.models import Delivery

# The arrival rate is taken over two spans: the last ARRIVAL_RECENT_SECONDS, and the last
# ARRIVAL_SUSTAINED_SECONDS (a burst that slows for a moment is still a burst: webhooks.services.claiming).
ARRIVAL_RECENT_SECONDS = 2.0
ARRIVAL_SUSTAINED_SECONDS = 6.0
# The shortest span a rate is taken over, so that a burst's first rows show as a burst without two webhooks
# a moment apart looking like thousands a second.
ARRIVAL_MIN_SPAN_SECONDS = 0.25

FINISHED_STATUSES = tuple(status for status in Delivery.Status if status not in Delivery.WAITING_STATUSES)
REPLAYABLE_STATUSES = (Delivery.Status.DONE, Delivery.Status.FAILED)
# Test pings and rejected (malformed) requests have nothing to apply.
REPLAYABLE_ACTIONS = tuple(SyncAction)


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
        Delivery.objects.filter(status__in=Delivery.WAITING_STATUSES)
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


@dataclass(frozen=True)
class WaitingDue:
    retry_at: datetime.datetime | None  # the earliest pending delivery's next attempt (past: ready now)
    lease_expires_at: datetime.datetime | None  # the earliest lease of a claimed delivery


def waiting_due() -> WaitingDue:
    """When the waiting deliveries fall due: one aggregate on the partial index of waiting rows."""
    due = Delivery.objects.filter(status__in=Delivery.WAITING_STATUSES).aggregate(
        retry=Min("next_attempt_at", filter=Q(status=Delivery.Status.PENDING)),
        lease=Min("lease_expires_at", filter=Q(status=Delivery.Status.PROCESSING)),
    )
    return WaitingDue(retry_at=due["retry"], lease_expires_at=due["lease"])


@dataclass(frozen=True)
class RetriesScheduled:
    count: int  # pending deliveries due later (a retry's backoff)
    next_at: datetime.datetime | None


def retries_scheduled() -> RetriesScheduled:
    later = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__gt=timezone.now())
    scheduled = later.aggregate(n=Count("id"), first=Min("next_attempt_at"))
    return RetriesScheduled(count=scheduled["n"], next_at=scheduled["first"])


@dataclass(frozen=True)
class ArrivalRates:
    """Webhooks stored per second over the last ARRIVAL_RECENT_SECONDS and ARRIVAL_SUSTAINED_SECONDS."""

    recent: float
    sustained: float


def arrival_rates(*, now: datetime.datetime | None = None) -> ArrivalRates:
    """How fast webhooks are being stored: one index range count over the last few seconds.

    Each rate is taken over its whole span, or from its first webhook when the stream started within it
    (at least ARRIVAL_MIN_SPAN_SECONDS), so a burst shows at its full rate from its first moments. Webhooks
    only: the rows an import or sweep logs (50 a page) are no burst."""
    now = now or timezone.now()
    recent_since = now - datetime.timedelta(seconds=ARRIVAL_RECENT_SECONDS)
    stored = Delivery.objects.filter(
        source=Delivery.Source.WEBHOOK,
        received_at__gt=now - datetime.timedelta(seconds=ARRIVAL_SUSTAINED_SECONDS),
        received_at__lte=now,
    ).aggregate(
        sustained=Count("id"),
        sustained_first=Min("received_at"),
        recent=Count("id", filter=Q(received_at__gt=recent_since)),
        recent_first=Min("received_at", filter=Q(received_at__gt=recent_since)),
    )
    return ArrivalRates(
        recent=_per_second(stored["recent"], stored["recent_first"], now),
        sustained=_per_second(stored["sustained"], stored["sustained_first"], now),
    )


def _per_second(count: int, first: datetime.datetime | None, now: datetime.datetime) -> float:
    if first is None:
        return 0.0
    span = max((now - first).total_seconds(), ARRIVAL_MIN_SPAN_SECONDS)
    return count / span


def deliveries_replayable(*, queryset: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """The deliveries of `queryset` a replay would take: finished ones of a real action with a contact.

    Pending and processing ones are left alone, so a replay never races the worker over a claimed row.
    """
    return queryset.filter(
        status__in=REPLAYABLE_STATUSES, action__in=REPLAYABLE_ACTIONS, contact_id__isnull=False
    )


def deliveries_prunable(*, older_than_days: int) -> QuerySet[Delivery]:
    """Finished deliveries received more than `older_than_days` days ago. Pending and processing ones are
    never pruned, however old: they are work still to do."""
    cutoff = timezone.now() - datetime.timedelta(days=older_than_days)
    return Delivery.objects.filter(status__in=FINISHED_STATUSES, received_at__lt=cutoff)


def deliveries_status_counts(*, since: datetime.datetime) -> dict[str, int]:
    """Deliveries received since `since`, by status: every status, 0 when none (the status index)."""
    counts = dict(
        Delivery.objects.filter(received_at__gte=since)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in Delivery.Status.values}


def deliveries_failed_latest(*, since: datetime.datetime, limit: int) -> list[Delivery]:
    """The latest failed or rejected deliveries received since `since`, newest first, with their users."""
    return list(
        Delivery.objects.filter(status__in=(Delivery.Status.FAILED, Delivery.Status.REJECTED))
        .filter(received_at__gte=since)
        .select_related("user")
        .order_by("-received_at")[:limit]
    )


def deliveries_of_user_count(*, user_id: int) -> int:
    """How many deliveries name the user (webhooks and runs' rows)."""
    return Delivery.objects.filter(user_id=user_id).count()

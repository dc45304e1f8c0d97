"""The claim policy: which ready deliveries a worker takes now, and when it should look again.

Two holds make a burst converge with the fewest Ontraport calls (docs/architecture.md):
- coalescing: a partial group of contacts waits up to FUSION_COALESCE_SECONDS to fill up to 50, but only
  while webhooks arrive fast enough to fill it (a lone webhook is fetched at once);
- the burst hold: while webhooks arrive faster than FUSION_BURST_RATE, new deliveries are held (at most
  FUSION_BURST_MAX_HOLD_SECONDS) so a contact's repeats merge into one fetch.

Both read the arrival rate (`arrival_rates`) from the durable log itself: how many webhooks were stored
lately, counted on the (source, received_at) index. Every worker on every machine reads the same table, so
all of them see a burst from its first rows, with nothing to share besides the database.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from ontraport_client import PAGE_SIZE
from webhooks.models import Delivery
from webhooks.wakeup import can_wait

# The arrival rate: webhooks stored over the last BURST_SAMPLE_SECONDS.
BURST_SAMPLE_SECONDS = 2.0
# A burst that slows for a few seconds (a web node restarting, a sender pausing) is still a burst: while
# the rate over the last BURST_SUSTAIN_SECONDS is a burst's, the hold lasts until the recent rate falls
# under BURST_DIP_FACTOR of it. Letting go in a dip spends calls on contacts whose next webhook is coming.
BURST_SUSTAIN_SECONDS = 6.0
BURST_DIP_FACTOR = 0.5
# The shortest span a rate is taken over, so that a burst's first rows show as a burst (every call spent
# then is spent again on the same contacts' later webhooks) without two webhooks a moment apart looking
# like thousands a second.
BURST_MIN_SPAN_SECONDS = 0.25


@dataclass(frozen=True)
class ArrivalRates:
    """Webhooks stored per second over the last BURST_SAMPLE_SECONDS (`recent`) and the last
    BURST_SUSTAIN_SECONDS (`sustained`); None when nothing needs them."""

    recent: float | None
    sustained: float | None


def arrival_rates(now: datetime.datetime | None = None) -> ArrivalRates:
    """How fast webhooks are being stored (one index range count over the last few seconds).

    Each rate is taken over its whole interval, or from its first webhook when the stream started within
    it (at least BURST_MIN_SPAN_SECONDS), so a burst shows at its full rate from its first moments. Webhooks
    only: the rows an import or sweep logs (50 a page) are no burst to hold webhooks for."""
    if not can_wait() or (settings.FUSION_BURST_RATE <= 0 and settings.FUSION_COALESCE_SECONDS <= 0):
        return ArrivalRates(None, None)
    now = now or timezone.now()
    recent_since = now - datetime.timedelta(seconds=BURST_SAMPLE_SECONDS)
    stored = Delivery.objects.filter(
        source=Delivery.Source.WEBHOOK,
        received_at__gt=now - datetime.timedelta(seconds=BURST_SUSTAIN_SECONDS),
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
    span = max((now - first).total_seconds(), BURST_MIN_SPAN_SECONDS)
    return count / span


def deliveries_claim(*, worker_id: str, limit: int | None = None) -> list[Delivery]:
    """Claim the deliveries this worker should apply now. While a burst is being held, only those that
    have waited FUSION_BURST_MAX_HOLD_SECONDS (with every other delivery of their contacts): a long burst
    keeps merging the rest, and no delivery waits longer than the hold."""
    rates = arrival_rates()
    held_since = None
    if burst_in_progress(rates):
        held_since = timezone.now() - datetime.timedelta(seconds=settings.FUSION_BURST_MAX_HOLD_SECONDS)
    Delivery.objects.give_up_abandoned(max_attempts=settings.FUSION_MAX_ATTEMPTS)
    return Delivery.objects.claim(
        worker_id=worker_id,
        limit=limit or settings.FUSION_BATCH_SIZE,
        lease=datetime.timedelta(seconds=settings.FUSION_LEASE_SECONDS),
        chunk=PAGE_SIZE,
        coalesce=coalesce_window() if _fills_a_group(rates.recent) else datetime.timedelta(0),
        due_before=held_since,
    )


def coalesce_window() -> datetime.timedelta:
    """How long a partial group of contacts may wait to fill up. Zero with an inline task backend, which
    cannot wake itself later."""
    if not can_wait():
        return datetime.timedelta(0)
    return datetime.timedelta(seconds=settings.FUSION_COALESCE_SECONDS)


def _fills_a_group(rate: float | None) -> bool:
    """Waiting for a partial group only pays when webhooks arrive fast enough to fill it in the coalesce
    window; a lone webhook is fetched at once."""
    return rate is not None and rate * settings.FUSION_COALESCE_SECONDS >= PAGE_SIZE


def burst_in_progress(rates: ArrivalRates) -> bool:
    """Are webhooks arriving faster than Ontraport's budget can fetch their contacts (FUSION_BURST_RATE)?

    Then fetching now spends calls on contacts whose next webhook is already on its way. Holding new
    deliveries until the flood slows (each at most FUSION_BURST_MAX_HOLD_SECONDS) merges those repeats into
    one fetch each: a burst converges with the fewest calls, and so the soonest.
    """
    burst_rate, recent = settings.FUSION_BURST_RATE, rates.recent
    if recent is None or burst_rate <= 0:
        return False
    slowed_for_a_moment = recent >= BURST_DIP_FACTOR * burst_rate and (rates.sustained or 0.0) >= burst_rate
    return recent >= burst_rate or slowed_for_a_moment


def next_due_at() -> datetime.datetime | None:
    """When the earliest waiting delivery becomes ready: a retry's due time or a claim's lease expiry."""
    due = Delivery.objects.filter(
        Q(status=Delivery.Status.PENDING) | Q(status=Delivery.Status.PROCESSING)
    ).aggregate(
        retry=Min("next_attempt_at", filter=Q(status=Delivery.Status.PENDING)),
        lease=Min("lease_expires_at", filter=Q(status=Delivery.Status.PROCESSING)),
    )
    retry, now = due["retry"], timezone.now()
    if retry is not None and retry <= now:
        # Ready, but held back to fill a group of contacts or while a burst lasts: look again shortly.
        retry = now + max(coalesce_window(), datetime.timedelta(seconds=BURST_SAMPLE_SECONDS / 2))
    times = [t for t in (retry, due["lease"]) if t is not None]
    return min(times) if times else None

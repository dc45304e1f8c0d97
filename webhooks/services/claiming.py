"""The claim policy: which ready deliveries a worker takes now, and when it should look again.

Two holds make a burst converge with the fewest Ontraport calls (docs/architecture.md):
- coalescing: a partial group of contacts waits up to FUSION_COALESCE_SECONDS to fill up to 50, but only
  while webhooks arrive fast enough to fill it (a lone webhook is fetched at once);
- the burst hold: while webhooks arrive faster than FUSION_BURST_RATE, new deliveries are held (at most
  FUSION_BURST_MAX_HOLD_SECONDS) so a contact's repeats merge into one fetch.

Both read the arrival rate from the durable log itself (webhooks.selectors.arrival_rates): how many
webhooks were stored lately, counted on the (source, received_at) index. Every worker on every machine reads
the same table, so all of them see a burst from its first rows, with nothing to share besides the database.
"""

import datetime

from django.conf import settings
from django.utils import timezone

from ontraport_client import PAGE_SIZE
from webhooks.models import Delivery
from webhooks.selectors import ARRIVAL_RECENT_SECONDS, ArrivalRates, arrival_rates, waiting_due
from webhooks.wakeup import can_wait

# A burst that slows for a few seconds (a web node restarting, a sender pausing) is still a burst: while
# the sustained rate is a burst's, the hold lasts until the recent rate falls under BURST_DIP_FACTOR of it.
# Letting go in a dip spends calls on contacts whose next webhook is coming.
BURST_DIP_FACTOR = 0.5


def _arrival_rates_if_needed() -> ArrivalRates | None:
    """The arrival rates, when a hold may use them: not with an inline task backend (it cannot come back
    for what it holds), nor with both holds off."""
    if not can_wait() or (settings.FUSION_BURST_RATE <= 0 and settings.FUSION_COALESCE_SECONDS <= 0):
        return None
    return arrival_rates()


def deliveries_claim(*, worker_id: str, limit: int | None = None) -> list[Delivery]:
    """Claim the deliveries this worker should apply now. While a burst is being held, only those that
    have waited FUSION_BURST_MAX_HOLD_SECONDS (with every other delivery of their contacts): a long burst
    keeps merging the rest, and no delivery waits longer than the hold."""
    rates = _arrival_rates_if_needed()
    held_since = None
    if burst_in_progress(rates):
        held_since = timezone.now() - datetime.timedelta(seconds=settings.FUSION_BURST_MAX_HOLD_SECONDS)
    Delivery.objects.give_up_abandoned(max_attempts=settings.FUSION_MAX_ATTEMPTS)
    return Delivery.objects.claim(
        worker_id=worker_id,
        limit=limit or settings.FUSION_BATCH_SIZE,
        lease=datetime.timedelta(seconds=settings.FUSION_LEASE_SECONDS),
        chunk=PAGE_SIZE,
        coalesce=coalesce_window() if _fills_a_group(rates) else datetime.timedelta(0),
        due_before=held_since,
    )


def coalesce_window() -> datetime.timedelta:
    """How long a partial group of contacts may wait to fill up. Zero with an inline task backend, which
    cannot wake itself later."""
    if not can_wait():
        return datetime.timedelta(0)
    return datetime.timedelta(seconds=settings.FUSION_COALESCE_SECONDS)


def _fills_a_group(rates: ArrivalRates | None) -> bool:
    """Waiting for a partial group only pays when webhooks arrive fast enough to fill it in the coalesce
    window; a lone webhook is fetched at once."""
    return rates is not None and rates.recent * settings.FUSION_COALESCE_SECONDS >= PAGE_SIZE


def burst_in_progress(rates: ArrivalRates | None) -> bool:
    """Are webhooks arriving faster than Ontraport's budget can fetch their contacts (FUSION_BURST_RATE)?

    Then fetching now spends calls on contacts whose next webhook is already on its way. Holding new
    deliveries until the flood slows (each at most FUSION_BURST_MAX_HOLD_SECONDS) merges those repeats into
    one fetch each: a burst converges with the fewest calls, and so the soonest.
    """
    burst_rate = settings.FUSION_BURST_RATE
    if rates is None or burst_rate <= 0:
        return False
    slowed_for_a_moment = rates.recent >= BURST_DIP_FACTOR * burst_rate and rates.sustained >= burst_rate
    return rates.recent >= burst_rate or slowed_for_a_moment


def next_due_at() -> datetime.datetime | None:
    """When a worker should look at the queue again: the earliest retry's due time or claim's lease expiry;
    shortly, when a delivery is ready but held (to fill a group of contacts, or while a burst lasts)."""
    due, now = waiting_due(), timezone.now()
    retry = due.retry_at
    if retry is not None and retry <= now:
        retry = now + max(coalesce_window(), datetime.timedelta(seconds=ARRIVAL_RECENT_SECONDS / 2))
    times = [t for t in (retry, due.lease_expires_at) if t is not None]
    return min(times) if times else None
